"""A census from a warmed-up run: the state of a scenario's own steady collaborative.

A scenario that should start from a census but has no data behind it (the shipped
baseline is fictional) can take its census from itself: run it from empty for a long
warm-up, and list who is where at the start date, community caseloads and readmissions
still to come included (:func:`calibration.census.census_from_episodes`). The census is
then consistent with the scenario's own parameters by construction, and every run
starts from the same, documented state instead of repeating the warm-up.

One warmed-up state can be far from typical: with beds nearly always full, the
out-of-area census wanders for years. So several replications are warmed up and the
most typical state is kept: the one nearest the median, over the replications, of the
number of patients in each state (in a bed, out of area, waiting, on a caseload) in
each pathway, each count scaled by its spread. The command::

    python -m calibration.warmstart scenarios/baseline.yaml --warmup-days 7305 \
        --candidates 10 --out scenarios/baseline-census.csv

uses the scenario's seed, so the same command writes the same file.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from calibration.census import census_from_episodes, summary
from simulation.core.problems import InputError
from simulation.model.model import Model
from simulation.scenario.census import write_census
from simulation.scenario.loading import load_scenario, load_scenario_dict
from simulation.scenario.schema import Scenario


def warmed_up_census(
    scenario: Scenario, warmup_days: float, replication: int = 0
) -> list[dict[str, str]]:
    """The census at the scenario's start date after ``warmup_days`` from empty."""
    data: dict[str, Any] = scenario.model_dump(mode="json")
    data.update(
        warmup_days=warmup_days,
        horizon_years=1.0 / 365.25,  # a day: only the state at day 0 is wanted
        census=None,
        changes=[],
        reinvestment=[],
    )
    data["money"] = {**data["money"], "budget_from": None, "one_off_costs": []}
    empty_start = load_scenario_dict(data, name=f"{scenario.name} (warming up)")
    output = Model(empty_start, replication).run()
    return census_from_episodes(output.episodes, empty_start, 0.0)


def state_counts(rows: list[dict[str, str]]) -> Counter[tuple[str, str]]:
    """Patients per (pathway, status) in a census."""
    return Counter((r["pathway"], r["status"]) for r in rows)


def typical_census(
    scenario: Scenario, warmup_days: float, candidates: int
) -> tuple[int, list[dict[str, str]]]:
    """The most typical of ``candidates`` warmed-up censuses, and its replication."""
    censuses = [warmed_up_census(scenario, warmup_days, r) for r in range(candidates)]
    counts = [state_counts(rows) for rows in censuses]
    keys = sorted({k for c in counts for k in c if k[1] != "discharged"})
    table = np.array([[c[k] for k in keys] for c in counts], dtype=float)
    median = np.median(table, axis=0)
    spread = np.median(np.abs(table - median), axis=0) + 1.0
    distance = (((table - median) / spread) ** 2).sum(axis=1)
    best = int(np.argmin(distance))
    return best, censuses[best]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the census of a scenario's warmed-up run."""
    parser = argparse.ArgumentParser(
        prog="python -m calibration.warmstart",
        description="Run a scenario from empty for a warm-up; write its census at the start date.",
    )
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--warmup-days", type=float, required=True, help="days from empty")
    parser.add_argument(
        "--candidates",
        type=int,
        default=10,
        help="warmed-up replications to choose the most typical state from (default 10)",
    )
    parser.add_argument("--out", required=True, help="census CSV file to write")
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except InputError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    replication, rows = typical_census(scenario, args.warmup_days, max(1, args.candidates))
    write_census(Path(args.out), rows)
    print(f"{args.out}: replication {replication}'s state; {summary(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
