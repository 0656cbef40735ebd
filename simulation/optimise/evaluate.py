"""Running candidates: replications on the existing executors, each saved as it finishes.

An evaluation is one replication of one candidate in one stage (the search, or the
clean-up with its fresh seed). It runs the ordinary model (``run_replication``) in a
worker of the process pool or the Dask cluster and keeps only the *measures* the
optimisation needs: each objective KPI and, per pathway, out-of-area bed days, the mean
wait and delayed discharge days, and total spend, each as a figure per year over the
judged financial years. Additive KPIs (counts, days, pounds) are summed over the judged
years and divided by their number; means (a wait) are averaged over them.

Each finished evaluation is written at once as a small JSON part file,
``evals/<stage>/<candidate>/r<NNNNNN>.json``, under the optimisation's partial folder,
named only by the candidate's grid indices (never by a name from the file). An
evaluation asked for again, by a resumed optimisation, is read from its part instead of
run. Parts are plain numbers: data, never code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulation.experiment.executors import make_executor
from simulation.experiment.experiment import run_replication
from simulation.optimise.problem import ADDITIVE_KPIS, OptimisationProblem
from simulation.optimise.space import Candidate, Space, candidate_scenario
from simulation.results.catalogue import ALL
from simulation.scenario.schema import Scenario
from simulation.store.staging import atomic_write

Measure = tuple[str, str]
"""(KPI, pathway or ``all``)."""
SPEND: Measure = ("cost_total_gbp", ALL)
PER_PATHWAY = ("ooa_bed_days", "wait_mean_days", "delayed_discharge_days")
EVALS = "evals"

Progress = Callable[[int, int], None]


def measures_of(problem: OptimisationProblem) -> tuple[Measure, ...]:
    """The measures kept from each replication: the objective's terms, then the rest."""
    out: list[Measure] = [(t.kpi, t.pathway) for t in problem.spec.objective.terms]
    for kpi in PER_PATHWAY:
        out += [(kpi, p) for p in problem.base.pathways]
    out.append(SPEND)
    unique: list[Measure] = []
    for measure in out:
        if measure not in unique:
            unique.append(measure)
    return tuple(unique)


def measure_replication(
    scenario: Scenario, replication: int, measures: Sequence[Measure], years: Sequence[str]
) -> list[float]:
    """Run one replication and return its measures, per year over ``years``."""
    kpis = run_replication(scenario, replication).kpis
    rows = kpis[
        (kpis["service"] == ALL)
        & (kpis["unit"] == ALL)
        & (kpis["place"] == ALL)
        & (kpis["period"].isin(list(years)))
    ]
    out = []
    for kpi, pathway in measures:
        mine = rows[rows["kpi"] == kpi]
        mine = mine[mine["pathway"] != ALL] if pathway == ALL else mine[mine["pathway"] == pathway]
        if kpi in ADDITIVE_KPIS:
            out.append(float(mine["value"].sum()) / len(years))
        else:
            by_year = mine.groupby("period")["value"].mean()
            out.append(float(by_year.mean()) if len(by_year) else math.nan)
    return out


def _task(
    stage: str,
    key: str,
    scenario: Scenario,
    replication: int,
    measures: tuple[Measure, ...],
    years: tuple[str, ...],
) -> tuple[str, str, int, list[float]]:
    return stage, key, replication, measure_replication(scenario, replication, measures, years)


@dataclass
class Evaluations:
    """Every evaluation of an optimisation, run once and saved as it finishes."""

    folder: Path
    space: Space
    measures: tuple[Measure, ...]
    workers: int | None = None
    cluster: str | None = None
    progress: Progress | None = None
    run: int = 0
    """Evaluations run (not read back from a part) by this session."""
    reused: int = 0
    _scenarios: dict[tuple[str, Candidate], Scenario] = field(default_factory=dict)

    def part(self, stage: str, candidate: Candidate, replication: int) -> Path:
        """The part file of one evaluation."""
        return self.folder / EVALS / stage / self.space.key(candidate) / f"r{replication:06d}.json"

    def scenario(self, stage: str, candidate: Candidate, seed: int) -> Scenario:
        """A candidate's scenario in a stage (its seed is the stage's)."""
        cached = self._scenarios.get((stage, candidate))
        if cached is None:
            cached = candidate_scenario(self.space, candidate, self.space.key(candidate), seed=seed)
            self._scenarios[(stage, candidate)] = cached
        return cached

    def measure(
        self, stage: str, seed: int, candidates: Sequence[Candidate], replications: range
    ) -> np.ndarray:
        """Measures of each candidate's replications: array (candidate, replication, measure)."""
        out = np.full((len(candidates), len(replications), len(self.measures)), np.nan)
        tasks = []
        where: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for i, candidate in enumerate(candidates):
            for j, r in enumerate(replications):
                path = self.part(stage, candidate, r)
                if path.is_file():
                    out[i, j] = json.loads(path.read_text(encoding="utf-8"))["values"]
                    self.reused += 1
                    continue
                key = self.space.key(candidate)
                if (key, r) not in where:
                    scenario = self.scenario(stage, candidate, seed)
                    tasks.append((stage, key, scenario, r, self.measures, self.space.problem.years))
                where.setdefault((key, r), []).append((i, j))
        if tasks:
            executor = make_executor(self.workers, self.cluster, len(tasks))
            for done, (_, key, r, values) in enumerate(
                executor.map_unordered(_task, tasks), start=1
            ):
                i, j = where[(key, r)][0]
                path = self.part(stage, candidates[i], r)
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, json.dumps({"values": values}).encode())
                for i, j in where[(key, r)]:
                    out[i, j] = values
                self.run += 1
                if self.progress:
                    self.progress(done, len(tasks))
        return out
