r"""Synthetic extracts: a collaborative simulated from known parameters, written as data.

To check that calibration recovers what it should, it needs data whose truth is known.
:func:`synthetic_extract` runs one replication of a scenario (the "true" collaborative)
from an empty start with a long warm-up, and writes what its records would look like
in an extract taken on ``extract_date``: every referral made from ``start`` on, plus
every referral still open at ``start``, with dates blank where nothing has happened yet.
Patients are still in hospital and still waiting at the extract date, exactly as in a
real extract. Times become dates by taking the day each event falls on.

The example extract in ``calibration/data/`` is made by this module's command line::

    python -m calibration.synthetic scenarios/baseline.yaml \
        --start 2023-04-01 --extract-date 2026-03-31 \
        --out calibration/data/example_extract.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.extract import COLUMN_NAMES
from simulation.core.problems import InputError
from simulation.core.safetext import write_csv
from simulation.model.model import Model
from simulation.model.records import Episode
from simulation.scenario.loading import load_scenario, load_scenario_dict
from simulation.scenario.schema import Scenario

DEFAULT_WARMUP_DAYS = 7305.0
"""Warm-up before the period: 20 years, as the baseline needs for adult secure stays."""


def truth_scenario(
    scenario: Scenario, start: dt.date, extract_date: dt.date, warmup_days: float
) -> Scenario:
    """The scenario re-timed to run over the extract's period, from an empty start.

    Its start date is the period start; parameters are the scenario's own, so rates
    (and their growth) refer to that date. A census, dated changes, reinvestment and a
    budget comparator are left out: the truth is the steady collaborative.
    """
    days = (extract_date - start).days + 1
    data: dict[str, Any] = scenario.model_dump(mode="json")
    data.update(
        name=f"{scenario.name}-truth",
        start_date=start.isoformat(),
        horizon_years=days / 365.25,
        warmup_days=warmup_days,
        census=None,
        changes=[],
        reinvestment=[],
    )
    data["money"] = {**data["money"], "budget_from": None, "one_off_costs": []}
    truth = load_scenario_dict(data, name=f"{scenario.name} (re-timed)")
    assert truth.horizon_days == days
    return truth


def _date(start: dt.date, day: float | None) -> str:
    if day is None:
        return ""
    return (start + dt.timedelta(days=math.floor(day))).isoformat()


def _open_at(episode: Episode, day: float) -> bool:
    """Whether a referral was in assessment, waiting or in a bed at ``day``."""
    if episode.referral_day >= day:
        return False
    for closed in (episode.exit_day, episode.withdrawn_day):
        if closed is not None and closed < day:
            return False
    if episode.decision in ("not_accepted", "diverted"):
        assert episode.decision_day is not None
        return episode.decision_day >= day
    return True


def episode_rows(episodes: list[Episode], start: dt.date) -> list[dict[str, str]]:
    """Extract rows from a model's episode records (day 0 is ``start``).

    Rows are the referrals made from day 0 on and those still open at day 0, in the
    order referred; ids are made pseudonymous by renumbering.
    """
    kept = [e for e in episodes if e.referral_day >= 0 or _open_at(e, 0.0)]
    kept.sort(key=lambda e: (e.referral_day, e.episode_id))
    patients: dict[int, str] = {}
    rows = []
    for number, e in enumerate(kept, start=1):
        pid = patients.setdefault(e.patient_id, f"P{len(patients) + 1:05d}")
        decision = "" if e.decision == "pending" else e.decision
        discharge_to = ""
        if e.exit_day is not None:
            discharge_to = "home" if e.exit_to == "home" else str(e.step_down_to)
        rows.append(
            {
                "referral_id": f"R{number:05d}",
                "patient_id": pid,
                "pathway": e.pathway,
                "service": e.service,
                "home_place": e.home_place,
                # A transfer at 18 is a new referral of the adult service, as an extract has it.
                "source": "new" if e.source == "transfer_at_18" else e.source,
                "priority": e.priority,
                "referral_date": _date(start, e.referral_day),
                "decision": decision,
                "decision_date": _date(start, e.decision_day) if decision else "",
                "admission_date": _date(start, e.admission_day),
                "admitted_to": e.admitted_to or "",
                "repatriation_date": _date(start, e.repatriation_day),
                "repatriated_to": e.repatriated_to or "",
                "withdrawn_date": _date(start, e.withdrawn_day),
                "ready_date": _date(start, e.ready_day),
                "discharge_date": _date(start, e.exit_day),
                "discharge_to": discharge_to,
                "sex": e.sex or "",
                "stream": e.stream or "",
                "age_band": e.age_band or "",
            }
        )
    return rows


def synthetic_extract(
    scenario: Scenario,
    start: dt.date,
    extract_date: dt.date,
    replication: int = 0,
    warmup_days: float = DEFAULT_WARMUP_DAYS,
) -> pd.DataFrame:
    """Simulate ``scenario`` and return the extract it would give (text cells)."""
    truth = truth_scenario(scenario, start, extract_date, warmup_days)
    output = Model(truth, replication).run()
    rows = episode_rows(output.episodes, start)
    return pd.DataFrame(rows, columns=list(COLUMN_NAMES))


def write_extract(frame: pd.DataFrame, path: str | Path) -> None:
    """Write an extract as CSV (UTF-8, blank cells for missing values)."""
    write_csv(frame, path, lineterminator="\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write a synthetic extract of a scenario."""
    parser = argparse.ArgumentParser(
        prog="python -m calibration.synthetic",
        description="Simulate a scenario and write the extract it would give.",
    )
    parser.add_argument("scenario", help="the true collaborative (scenario YAML)")
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat, help="period start")
    parser.add_argument(
        "--extract-date", required=True, type=dt.date.fromisoformat, help="last day covered"
    )
    parser.add_argument("--replication", type=int, default=0, help="replication (default 0)")
    parser.add_argument(
        "--warmup-days",
        type=float,
        default=DEFAULT_WARMUP_DAYS,
        help=f"empty-start warm-up before the period (default {DEFAULT_WARMUP_DAYS:g})",
    )
    parser.add_argument("--out", required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
        frame = synthetic_extract(
            scenario, args.start, args.extract_date, args.replication, args.warmup_days
        )
    except InputError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    write_extract(frame, args.out)
    print(f"{len(frame)} rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
