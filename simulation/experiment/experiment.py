"""Experiments: many replications of a scenario, serially, on local processes or on Dask.

A replication's result depends only on (scenario, seed, replication number): the
streams are derived from those alone, so the same numbers come out whatever the number
of workers and in whatever order replications finish. Results are gathered and sorted
by replication number before anything is summarised.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from simulation.experiment.executors import make_executor
from simulation.model.finance import LEDGER_ITEMS
from simulation.model.model import (
    ModelOutput,
    comparator_budgets,
    cycle_collector_paused,
    run_model,
)
from simulation.results.analysis import mark_part_years, summarise
from simulation.results.catalogue import ALL
from simulation.results.kpis import episodes_frame, kpi_rows, monthly_rows
from simulation.scenario.loading import derive
from simulation.scenario.schema import Scenario

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` each time a replication finishes."""


@dataclass
class ReplicationResult:
    """What one replication produced."""

    replication: int
    kpis: pd.DataFrame
    monthly: pd.DataFrame
    end_state: dict[str, Any]
    events_processed: int
    wall_seconds: float
    ledger: pd.DataFrame
    events: pd.DataFrame | None = None


def ledger_rows(output: ModelOutput) -> pd.DataFrame:
    """The replication's ledger as long rows: pathway, financial_year, item, value."""
    rows = [
        (row.pathway, row.financial_year, item, row.values[item])
        for row in output.ledger
        for item in LEDGER_ITEMS
    ]
    return pd.DataFrame(rows, columns=["pathway", "financial_year", "item", "value"])


def ledger_as_kpis(ledger: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows shaped as KPI rows (an item per financial year, for every dimension)."""
    ledger = ledger.rename(columns={"financial_year": "period", "item": "kpi"})
    return ledger.assign(service=ALL, unit=ALL, place=ALL)


def ledger_table_as_kpis(ledger: pa.Table) -> pa.Table:
    """:func:`ledger_as_kpis` of a ledger held as Arrow: the KPI keys and the value."""
    everywhere = pa.repeat(pa.scalar(ALL, type=pa.large_string()), ledger.num_rows)
    columns = {
        "pathway": ledger.column("pathway"),
        "service": everywhere,
        "unit": everywhere,
        "place": everywhere,
        "period": ledger.column("financial_year"),
        "kpi": ledger.column("item"),
        "value": ledger.column("value"),
    }
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def ledger_summary_of(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary of :func:`ledger_as_kpis` rows, back in the ledger's own columns."""
    summary = summary.drop(columns=["service", "unit", "place"])
    return summary.rename(columns={"period": "financial_year", "kpi": "item"})


def run_replication(
    scenario: Scenario, replication: int, keep_events: bool = False
) -> ReplicationResult:
    """Run one replication and reduce it to KPI rows and monthly series.

    The cycle collector is paused for the whole replication, as :meth:`Model.run` pauses
    it for the run (:func:`~simulation.model.model.cycle_collector_paused`), and the model
    is released when it has run (:func:`~simulation.model.model.run_model`). Building the
    model and making its tables allocated enough for some thirteen young collections a
    replication, each walking the replication's thousands of records again, and the
    dropped model, one structure of reference cycles, was found only by older
    collections that walked it again: 10 ms of a 5-year replication's 95. Now reference
    counting frees the model once it has run and its records once the tables are made,
    and the collector finds nothing to do: 0.01 ms a replication.
    """
    started = time.perf_counter()
    with cycle_collector_paused():
        budgets = comparator_budgets(scenario, replication)
        output = run_model(scenario, replication, budgets)
        kpis = kpi_rows(output)
        kpis.insert(0, "replication", replication)
        monthly = monthly_rows(output)
        monthly.insert(0, "replication", replication)
        ledger = ledger_rows(output)
        ledger.insert(0, "replication", replication)
        events = None
        if keep_events:
            events = episodes_frame(output)
            events.insert(0, "replication", replication)
        result = ReplicationResult(
            replication=replication,
            kpis=kpis,
            monthly=monthly,
            end_state=output.end_state,
            events_processed=output.events_processed,
            wall_seconds=0.0,
            ledger=ledger,
            events=events,
        )
        del output  # its records freed now, not walked by the collection to come
    result.wall_seconds = time.perf_counter() - started
    return result


@dataclass
class ExperimentResult:
    """Every replication of one scenario, with the summary over them."""

    scenario: Scenario
    replications: list[ReplicationResult]
    wall_seconds: float
    workers: int
    summary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.replications.sort(key=lambda r: r.replication)
        self.summary = mark_part_years(
            summarise(self.kpis), "period", self.scenario.start_date, self.scenario.horizon_days
        )

    @property
    def kpis(self) -> pd.DataFrame:
        """Per-replication KPI rows."""
        return pd.concat([r.kpis for r in self.replications], ignore_index=True)

    @property
    def monthly(self) -> pd.DataFrame:
        """Per-replication monthly series."""
        return pd.concat([r.monthly for r in self.replications], ignore_index=True)

    @property
    def ledger(self) -> pd.DataFrame:
        """Per-replication ledger: pathway, financial year, item, value."""
        return pd.concat([r.ledger for r in self.replications], ignore_index=True)

    @property
    def ledger_summary(self) -> pd.DataFrame:
        """Mean and 95% CI of each ledger item per pathway and financial year."""
        summary = ledger_summary_of(summarise(ledger_as_kpis(self.ledger)))
        return mark_part_years(
            summary, "financial_year", self.scenario.start_date, self.scenario.horizon_days
        )

    @property
    def events(self) -> pd.DataFrame | None:
        """Patient-level episode records, if they were kept."""
        frames = [r.events for r in self.replications if r.events is not None]
        return pd.concat(frames, ignore_index=True) if frames else None


def default_workers(replications: int) -> int:
    """One worker per core, no more than there are replications."""
    return max(1, min(os.cpu_count() or 1, replications))


def _run_indexed(
    index: int, scenario: Scenario, replication: int, keep_events: bool
) -> tuple[int, ReplicationResult]:
    """A replication of the ``index``-th scenario of a batch, tagged with that index."""
    return index, run_replication(scenario, replication, keep_events)


def run_experiments(
    scenarios: Sequence[Scenario],
    replications: int | None = None,
    workers: int | None = None,
    keep_events: bool = False,
    progress: Progress | None = None,
    first: int = 0,
    cluster: str | None = None,
) -> list[ExperimentResult]:
    """Run replications ``first .. first+n-1`` of several scenarios through one executor.

    As :func:`run_experiment` for each scenario, but every replication of every
    scenario is one task of the same process pool or cluster, so that no worker waits
    for one scenario's last replication before the next scenario starts, and a Dask
    ``LocalCluster`` is started once. ``progress`` counts replications of all the
    scenarios. Each result's wall time is that of the whole batch.
    """
    _check_arguments(scenarios, replications, first)
    counts = [replications if replications is not None else s.replications for s in scenarios]
    tasks = [
        (index, scenario, r, keep_events)
        for index, (scenario, n) in enumerate(zip(scenarios, counts, strict=True))
        for r in range(first, first + n)
    ]
    total = len(tasks)
    workers = workers if workers is not None else default_workers(total)
    executor = make_executor(workers, cluster, max(1, total))
    started = time.perf_counter()
    done: list[list[ReplicationResult]] = [[] for _ in scenarios]
    results = executor.map_unordered(_run_indexed, tasks)
    for finished, (index, result) in enumerate(results, start=1):
        done[index].append(result)
        if progress:
            progress(finished, total)
    wall = time.perf_counter() - started
    return [
        ExperimentResult(scenario, results, wall, workers)
        for scenario, results in zip(scenarios, done, strict=True)
    ]


def _check_arguments(scenarios: Sequence[Scenario], replications: int | None, first: int) -> None:
    """Refuse, in one sentence, what would otherwise fail deep in a replication."""
    for scenario in scenarios:
        if not isinstance(scenario, Scenario):
            raise TypeError(
                f"expected a loaded scenario, got a {type(scenario).__name__}: "
                "load a file or dict with simulation.load, or use simulation.run, which "
                "takes either"
            )
    if replications is not None:  # checked as the scenario's own field, in the same words
        for scenario in scenarios:
            derive(scenario, {"replications": replications}, "the argument replications")
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise ValueError(f"first must be a whole number of at least 0, got {first!r}")


def run_experiment(
    scenario: Scenario,
    replications: int | None = None,
    workers: int | None = None,
    keep_events: bool = False,
    progress: Progress | None = None,
    first: int = 0,
    cluster: str | None = None,
) -> ExperimentResult:
    """Run replications ``first .. first+n-1`` of a scenario and summarise them.

    ``replications`` defaults to the scenario's; ``workers`` to one per core (1 runs in
    this process). The results do not depend on ``workers``. ``first`` lets a caller add
    replications to ones already run (see :func:`combine`): replication ``r`` is the same
    whichever batch runs it.
    """
    (result,) = run_experiments(
        [scenario], replications, workers, keep_events, progress, first, cluster
    )
    return result


def combine(*results: ExperimentResult) -> ExperimentResult:
    """One result holding the replications of several batches of the same scenario.

    The batches must not share a replication number; wall times add up.
    """
    replications = [r for result in results for r in result.replications]
    numbers = [r.replication for r in replications]
    if len(set(numbers)) != len(numbers):
        raise ValueError("batches to combine share a replication number")
    return ExperimentResult(
        results[0].scenario,
        replications,
        sum(r.wall_seconds for r in results),
        max(r.workers for r in results),
    )
