"""The one writer of results folders: saved replications in, one at a time.

A streamed run (see :mod:`simulation.store.resume`) keeps each finished replication in a
part file. Its results folder is written by reading the parts back in replication
order, one replication at a time, like a clerk who copies each returned form into the
ledger and keeps a running tally, and then files the form away: every table is appended
to its file (``kpis``, ``monthly`` and ``events`` to parquet, ``ledger`` to CSV, and
``kpis`` and ``monthly`` to CSV as well when asked), and the summaries and paired
differences are built up as running counts, means and spreads per key
(:class:`~simulation.results.analysis.Moments`). Memory holds one replication (one per
scenario of a comparison) and the tallies, however many replications there are. A
streamed run adds each replication as soon as every earlier one has finished, while
later ones still run (:class:`FolderFiles`), so little is left to write at the end.

Replications held in memory (:func:`write_results`, :func:`write_comparison`) are
written by the same code, so a folder is the same whichever way its replications came,
and it does not depend on how many workers ran them. File and table names come from
:mod:`simulation.store.layout`; folders appear whole through
:mod:`simulation.store.staging`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulation.core.safetext import write_csv
from simulation.experiment.comparison import (
    PAIRED,
    ComparisonResult,
    difference_table,
    paired_rows,
    shared_arrivals,
    stack_differences,
)
from simulation.experiment.experiment import (
    ExperimentResult,
    ReplicationResult,
    ledger_as_kpis,
    ledger_summary_of,
)
from simulation.results.analysis import KEYS, Moments, mark_part_years, summary_keys, summary_table
from simulation.scenario.loading import scenario_to_yaml
from simulation.scenario.schema import Scenario
from simulation.store.layout import (
    COMPARISON,
    COMPARISON_NOTES,
    EVENTS,
    KPIS,
    LEDGER,
    LEDGER_SUMMARY,
    MANIFEST,
    MONTHLY,
    SCENARIO,
    SUMMARY,
)
from simulation.store.manifest import RunTally, comparison_manifest, run_manifest
from simulation.store.reader import ResultsFolder, RunFolder
from simulation.store.staging import StagedFolder


class TableFiles:
    """One table's ``<stem>.csv`` and ``<stem>.parquet``, appended a replication at a time.

    The CSV gets its header once; each replication's rows become parquet row groups
    under the columns' types of the first replication that has rows.
    """

    def __init__(self, folder: Path, stem: str, csv: bool = True, parquet: bool = True):
        self.csv_path = folder / f"{stem}.csv" if csv else None
        self.parquet_path = folder / f"{stem}.parquet" if parquet else None
        self._csv: IO[str] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._empty: pd.DataFrame | None = None

    def append(self, frame: pd.DataFrame) -> None:
        """Add one replication's rows."""
        if self.csv_path is not None:
            header = self._csv is None
            if self._csv is None:
                self._csv = self.csv_path.open("w", encoding="utf-8", newline="")
            write_csv(frame, self._csv, header=header)
        if self.parquet_path is None:
            return
        if frame.empty:  # no rows, and perhaps no types: only the columns are worth keeping
            if self._empty is None:
                self._empty = frame
            return
        table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
        if self._parquet is None:
            # A column that is empty in this replication has no type yet; its values are
            # text wherever it has any.
            fields = [
                f.with_type(pa.large_string()) if pa.types.is_null(f.type) else f
                for f in table.schema
            ]
            schema = pa.schema(fields, metadata=table.schema.metadata)
            self._parquet = pq.ParquetWriter(self.parquet_path, schema, compression="snappy")
        schema = self._parquet.schema
        if not table.schema.equals(schema, check_metadata=False):
            table = table.cast(schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        """Finish both files; a table that never had a row is written with its columns."""
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()
        elif self.parquet_path is not None and self._empty is not None:
            self._empty.to_parquet(self.parquet_path, index=False)

    def __enter__(self) -> TableFiles:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class RunFiles:
    """One scenario's results folder, written as its replications are added in order.

    Add replications in increasing order (``0, 1, 2, ...`` for a whole run) with
    :meth:`add`, then :meth:`close` writes the summaries and the manifest and returns
    the summary. The per-replication tables are parquet (``kpis``, ``monthly``,
    ``events``); ``csv`` adds ``kpis.csv`` and ``monthly.csv``. The tables a planner
    opens (``summary``, ``ledger``, ``ledger_summary``) are CSV.
    """

    def __init__(self, folder: Path, scenario: Scenario, keep_events: bool, csv: bool = False):
        folder.mkdir(exist_ok=True)  # a resumed run may have begun writing its files
        (folder / SCENARIO).write_text(scenario_to_yaml(scenario))
        self.folder = folder
        self.scenario = scenario
        self.replications = 0
        self.events_processed = 0
        self._last = -1
        self._kpis = TableFiles(folder, KPIS, csv=csv)
        self._monthly = TableFiles(folder, MONTHLY, csv=csv)
        self._ledger = TableFiles(folder, LEDGER, parquet=False)
        self._events = TableFiles(folder, EVENTS, csv=False) if keep_events else None
        self._summary: Moments | None = None
        self._ledger_summary: Moments | None = None
        self._closed = False

    def add(self, replication: ReplicationResult) -> None:
        """Append the next replication's tables and add it to the summaries."""
        if self._closed:
            raise ValueError(f"the files of {self.scenario.name} are closed")
        if replication.replication <= self._last:
            raise ValueError(
                f"replication {replication.replication} of {self.scenario.name} came after "
                f"{self._last}: a results folder is written in order"
            )
        self._last = replication.replication
        self._kpis.append(replication.kpis)
        self._monthly.append(replication.monthly)
        self._ledger.append(replication.ledger)
        if self._events is not None and replication.events is not None:
            self._events.append(replication.events)
        if self._summary is None:
            self._summary = Moments(summary_keys(replication.kpis.columns))
        self._summary.add(replication.kpis)
        if self._ledger_summary is None:
            self._ledger_summary = Moments(KEYS)
        self._ledger_summary.add(ledger_as_kpis(replication.ledger))
        self.replications += 1
        self.events_processed += replication.events_processed

    def close(
        self,
        scenario_file: str | Path | None,
        command: list[str] | None,
        wall_seconds: float,
        workers: int,
    ) -> pd.DataFrame:
        """Finish the tables, write the summaries and manifest; return the summary."""
        self.abandon()
        if self._summary is None or self._ledger_summary is None:
            raise ValueError(f"{self.scenario.name} has no replications to write")
        start, days = self.scenario.start_date, self.scenario.horizon_days
        summary = mark_part_years(summary_table(self._summary), "period", start, days)
        write_csv(summary, self.folder / f"{SUMMARY}.csv")
        ledger_summary = mark_part_years(
            ledger_summary_of(summary_table(self._ledger_summary)), "financial_year", start, days
        )
        write_csv(ledger_summary, self.folder / f"{LEDGER_SUMMARY}.csv")
        tally = RunTally(self.replications, self.events_processed, wall_seconds, workers)
        info = run_manifest(self.scenario, tally, scenario_file, command)
        (self.folder / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        return summary

    def abandon(self) -> None:
        """Close the table files as they stand (they are written again from the start)."""
        if self._closed:
            return
        self._closed = True
        for files in (self._kpis, self._monthly, self._ledger, self._events):
            if files is not None:
                files.close()


@dataclass(frozen=True)
class Assembled:
    """What a written folder says at a glance: each scenario's summary, and differences."""

    scenarios: list[Scenario]
    summaries: list[pd.DataFrame]
    replications: int
    table: pd.DataFrame | None = None
    """Paired differences of each alternative from the base (a comparison only)."""
    notes: Mapping[str, str] | None = None
    """Per alternative, whether it shares the base's referrals (a comparison only)."""


class FolderFiles:
    """A run's or a comparison's folder, written a round at a time as replications come.

    One scenario is a run, written into ``folder``; several are a comparison (base
    first), each scenario in its own sub-folder, with the paired differences of each
    alternative from the base. :meth:`add` takes replication ``r`` of every scenario
    (``r = 0, 1, 2, ...`` in turn), so the folder can be written while later
    replications are still running; :meth:`close` writes the summaries, the comparison
    table and the manifests.
    """

    def __init__(
        self, folder: Path, scenarios: Sequence[Scenario], keep_events: bool, csv: bool = False
    ):
        self.folder = folder
        self.scenarios = list(scenarios)
        if len(self.scenarios) == 1:
            self.runs = [RunFiles(folder, self.scenarios[0], keep_events, csv)]
        else:
            self.runs = [RunFiles(folder / s.name, s, keep_events, csv) for s in self.scenarios]
        self.pairs = [Moments([*KEYS], PAIRED) for _ in self.scenarios[1:]]

    @property
    def replications(self) -> int:
        """Rounds added so far."""
        return self.runs[0].replications

    def add(self, replications: Sequence[ReplicationResult]) -> None:
        """Add replication ``r`` of every scenario (base first), and its pairs with the base's."""
        for run, replication in zip(self.runs, replications, strict=True):
            run.add(replication)
        base = replications[0].kpis
        for moments, alternative in zip(self.pairs, replications[1:], strict=True):
            moments.add(paired_rows(base, alternative.kpis))

    def abandon(self) -> None:
        """Close every table file as it stands, to be written again from the start."""
        for run in self.runs:
            run.abandon()

    def close(
        self,
        scenario_files: Mapping[str, str | Path | None] | None = None,
        command: list[str] | None = None,
        wall_seconds: float = 0.0,
        workers: int = 1,
    ) -> Assembled:
        """Write the summaries (and a comparison's table and notes) and the manifests."""
        files = scenario_files or {}
        summaries = [
            run.close(files.get(run.scenario.name), command, wall_seconds, workers)
            for run in self.runs
        ]
        if len(self.scenarios) == 1:
            return Assembled(self.scenarios, summaries, self.replications)
        base, alternatives = self.scenarios[0], self.scenarios[1:]
        tables = {
            alternative.name: difference_table(moments)
            for alternative, moments in zip(alternatives, self.pairs, strict=True)
        }
        table = stack_differences(base.name, tables)
        notes = {alt.name: shared_arrivals(base, alt)[1] for alt in alternatives}
        write_comparison_table(self.folder, table, notes)
        count = self.replications
        info: dict[str, Any] = comparison_manifest(
            base, [a.name for a in alternatives], count, notes, command
        )
        (self.folder / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        return Assembled(self.scenarios, summaries, count, table, notes)


def write_streamed_run(
    replications: Iterable[ReplicationResult],
    folder: Path,
    scenario: Scenario,
    keep_events: bool,
    scenario_file: str | Path | None = None,
    command: list[str] | None = None,
    wall_seconds: float = 0.0,
    workers: int = 1,
    csv: bool = False,
) -> Assembled:
    """Write a run's files into ``folder`` from its replications, taken one at a time."""
    files = FolderFiles(folder, [scenario], keep_events, csv)
    for replication in replications:
        files.add([replication])
        del replication  # hold no replication while the next is read
    return files.close({scenario.name: scenario_file}, command, wall_seconds, workers)


def write_streamed_comparison(
    rounds: Iterable[Sequence[ReplicationResult]],
    folder: Path,
    scenarios: Sequence[Scenario],
    keep_events: bool,
    scenario_files: Mapping[str, str | Path | None] | None = None,
    command: list[str] | None = None,
    wall_seconds: float = 0.0,
    workers: int = 1,
    csv: bool = False,
) -> Assembled:
    """Write a comparison's files from rounds of replication ``r`` of every scenario.

    Each round holds replication ``r`` of the base and of each alternative (base first),
    so the paired differences are built up a replication at a time.
    """
    files = FolderFiles(folder, scenarios, keep_events, csv)
    for replications in rounds:
        files.add(replications)
        del replications  # hold no round while the next is read
    return files.close(scenario_files, command, wall_seconds, workers)


# -- replications held in memory --------------------------------------------------------
def write_results(
    result: ExperimentResult,
    root: str | Path = "results",
    scenario_file: str | Path | None = None,
    command: list[str] | None = None,
    csv: bool = False,
) -> Path:
    """Write a run's results folder and return its path (``csv``: per-replication CSV too)."""
    staged = StagedFolder(Path(root), result.scenario.name)
    with staged as folder:
        write_run_files(result, folder, scenario_file, command, csv)
    return staged.final


def write_run_files(
    result: ExperimentResult,
    folder: Path,
    scenario_file: str | Path | None,
    command: list[str] | None,
    csv: bool = False,
) -> None:
    """Write one scenario's files into an existing folder.

    The replications held in memory go through the same writer as a streamed run's
    saved replications (:mod:`simulation.store.writer`), so both folders are alike.
    """
    write_streamed_run(
        result.replications,
        folder,
        result.scenario,
        keep_events=any(r.events is not None for r in result.replications),
        scenario_file=scenario_file,
        command=command,
        wall_seconds=result.wall_seconds,
        workers=result.workers,
        csv=csv,
    )


def write_comparison(
    result: ComparisonResult,
    root: str | Path = "results",
    scenario_files: dict[str, str | Path] | None = None,
    command: list[str] | None = None,
    csv: bool = False,
) -> Path:
    """Write a comparison: one sub-folder per scenario, the comparison table and notes."""
    staged = StagedFolder(Path(root), f"compare-{result.base.scenario.name}")
    with staged as folder:
        write_comparison_files(result, folder, scenario_files, command, csv)
    return staged.final


def write_comparison_files(
    result: ComparisonResult,
    folder: Path,
    scenario_files: Mapping[str, str | Path | None] | None = None,
    command: list[str] | None = None,
    csv: bool = False,
) -> None:
    """Write a comparison's files into an existing folder, as a streamed comparison does."""
    runs = [result.base, *result.alternatives]
    write_streamed_comparison(
        zip(*(run.replications for run in runs), strict=True),
        folder,
        [run.scenario for run in runs],
        keep_events=any(r.events is not None for run in runs for r in run.replications),
        scenario_files=scenario_files,
        command=command,
        wall_seconds=result.base.wall_seconds,
        workers=result.base.workers,
        csv=csv,
    )


def write_comparison_table(folder: Path, table: pd.DataFrame, notes: Mapping[str, str]) -> None:
    """Write ``comparison.csv`` and ``comparison_notes.txt``."""
    write_csv(table, folder / f"{COMPARISON}.csv")
    text = "".join(f"{name}: {note}\n" for name, note in notes.items())
    (folder / COMPARISON_NOTES).write_text(text)


def copy_results_folder(results: ResultsFolder, root: str | Path = "results") -> Path:
    """Copy a results folder that was read back to a new ``<root>/<name>/<timestamp>/``."""
    name = results.name if isinstance(results, RunFolder) else f"compare-{results.base.name}"
    staged = StagedFolder(Path(root), name)
    with staged as folder:
        shutil.copytree(results.path, folder, dirs_exist_ok=True)
    return staged.final
