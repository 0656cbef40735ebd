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
    mark_comparison_part_years,
    paired_rows,
    shared_arrivals,
    stack_differences,
)
from simulation.experiment.experiment import (
    ExperimentResult,
    ReplicationResult,
    ledger_summary_of,
    ledger_table_as_kpis,
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
from simulation.store.manifest import RunTally, comparison_manifest, run_facts, run_manifest
from simulation.store.parts import SavedReplication, Tables, arrow_of
from simulation.store.reader import ResultsFolder, RunFolder
from simulation.store.staging import StagedFolder

Replication = ReplicationResult | SavedReplication
"""A replication as run in this process, or as read back from its part."""


def tables_of(replication: Replication) -> Tables:
    """A replication's tables: a saved one's as they were read, a run one's frames."""
    if isinstance(replication, SavedReplication):
        return replication.tables
    frames = {KPIS: replication.kpis, MONTHLY: replication.monthly, LEDGER: replication.ledger}
    if replication.events is not None:
        frames[EVENTS] = replication.events
    return Tables(frames)


class TableFiles:
    """One table's ``<stem>.csv`` and ``<stem>.parquet``, appended a replication at a time.

    The CSV gets its header once; each replication's rows become parquet row groups
    under the columns' types of the first replication that has rows. Rows read back from
    a part go to parquet as the Arrow table they are; the first replication's are made
    a frame and back, so the file's schema (and pandas' metadata in it) is the one a frame
    gives.
    """

    def __init__(self, folder: Path, stem: str, csv: bool = True, parquet: bool = True):
        self.stem = stem
        self.csv_path = folder / f"{stem}.csv" if csv else None
        self.parquet_path = folder / f"{stem}.parquet" if parquet else None
        self._csv: IO[str] | None = None
        self._waiting: list[pa.Table] = []
        """Rows read back from parts, not yet written to the CSV."""
        self._parquet: pq.ParquetWriter | None = None
        self._empty: pd.DataFrame | None = None

    def append(self, tables: Tables) -> None:
        """Add one replication's rows (its table named as this file)."""
        if self.csv_path is not None:
            self._append_csv(tables)
        if self.parquet_path is None:
            return
        if tables.rows(self.stem) == 0:  # no rows, perhaps no types: only the columns count
            if self._empty is None:
                self._empty = tables.frame(self.stem)
            return
        if self._parquet is None:
            table = arrow_of(tables.frame(self.stem))
            # A column that is empty in this replication has no type yet; its values are
            # text wherever it has any.
            fields = [
                f.with_type(pa.large_string()) if pa.types.is_null(f.type) else f
                for f in table.schema
            ]
            schema = pa.schema(fields, metadata=table.schema.metadata)
            self._parquet = pq.ParquetWriter(
                self.parquet_path,
                schema,
                compression="snappy",
                write_statistics=[c for c in STATISTICS_OF if c in schema.names] or False,
            )
        else:
            table = tables.arrow(self.stem)
        schema = self._parquet.schema
        if not table.schema.equals(schema, check_metadata=False):
            table = table.cast(schema)
        self._parquet.write_table(table)

    def _append_csv(self, tables: Tables) -> None:
        """Add rows to the CSV: rows read back from parts a few replications at a time.

        Each cell is written as it would be alone, so writing several replications'
        rows at once (one frame made of them all) writes the same bytes, for less work
        per replication. Rows held as a frame are written at once, after those waiting.
        """
        if tables.has_frame(self.stem):
            self._write_waiting()
            self._write_csv(tables.frame(self.stem))
            return
        table = tables.arrow(self.stem)
        if self._waiting and not table.schema.equals(self._waiting[0].schema, check_metadata=True):
            self._write_waiting()
        self._waiting.append(table)
        if (
            len(self._waiting) >= CSV_TABLES_AT_ONCE
            or sum(t.num_rows for t in self._waiting) >= CSV_ROWS_AT_ONCE
        ):
            self._write_waiting()

    def _write_waiting(self) -> None:
        """Write the rows waiting for the CSV, as one frame."""
        if self._waiting:
            frame = pa.concat_tables(self._waiting).to_pandas(use_threads=False)
            self._waiting = []
            self._write_csv(frame)

    def _write_csv(self, frame: pd.DataFrame) -> None:
        """Write rows to the CSV, after its header if they are the first."""
        assert self.csv_path is not None
        header = self._csv is None
        if self._csv is None:
            self._csv = self.csv_path.open("w", encoding="utf-8", newline="")
        write_csv(frame, self._csv, header=header)

    def close(self, finish: bool = True) -> None:
        """Finish both files; a table that never had a row is written with its columns.

        ``finish=False`` closes them as they stand (rows waiting for the CSV are dropped:
        files left so are written again from the start).
        """
        if finish:
            self._write_waiting()
        self._waiting = []
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


STATISTICS_OF = ("replication",)
"""The columns whose least and greatest value each parquet row group records.

A row group is a replication, so only the replication number tells one from another:
a reader picking replications skips the rest by it. Every other column spans much the
same values in every replication, and recording them took a third of writing a row group.
"""
CSV_ROWS_AT_ONCE = 50_000
"""Rows read back from parts that wait to be written to a CSV in one go, at most."""
CSV_TABLES_AT_ONCE = 16
"""Replications whose rows wait to be written to a CSV in one go, at most: a small table
(the ledger's hundred-odd rows a replication) is written as the run goes too, and
little of it is left for the end of the run, when nothing else can be done meanwhile."""


class RunFiles:
    """One scenario's results folder, written as its replications are added in order.

    Add replications in increasing order (``0, 1, 2, ...`` for a whole run) with
    :meth:`add`, then :meth:`close` writes the summaries and the manifest and returns
    the summary. The per-replication tables are parquet (``kpis``, ``monthly``,
    ``events``); ``csv`` adds ``kpis.csv`` and ``monthly.csv``. The tables a planner
    opens (``summary``, ``ledger``, ``ledger_summary``) are CSV. ``scenario_yaml`` is
    the scenario's YAML (:func:`~simulation.scenario.loading.scenario_to_yaml`) when the
    caller has it already; ``scenario_file`` the file it was read from, if any, whose
    chain of files the manifest hashes now, as the run starts.
    """

    def __init__(
        self,
        folder: Path,
        scenario: Scenario,
        keep_events: bool,
        csv: bool = False,
        scenario_yaml: str | None = None,
        scenario_file: str | Path | None = None,
    ):
        folder.mkdir(exist_ok=True)  # a resumed run may have begun writing its files
        if scenario_yaml is None:
            scenario_yaml = scenario_to_yaml(scenario)
        (folder / SCENARIO).write_text(scenario_yaml)
        self.folder = folder
        self.scenario = scenario
        self._facts = run_facts(scenario, scenario_file)  # the manifest's, as the run starts
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

    def add(self, replication: Replication) -> None:
        """Append the next replication's tables and add it to the summaries."""
        if self._closed:
            raise ValueError(f"the files of {self.scenario.name} are closed")
        if replication.replication <= self._last:
            raise ValueError(
                f"replication {replication.replication} of {self.scenario.name} came after "
                f"{self._last}: a results folder is written in order"
            )
        self._last = replication.replication
        tables = tables_of(replication)
        self._kpis.append(tables)
        self._monthly.append(tables)
        self._ledger.append(tables)
        if self._events is not None and EVENTS in tables:
            self._events.append(tables)
        kpis = tables.arrow(KPIS)
        if self._summary is None:
            self._summary = Moments(summary_keys(kpis.column_names))
        self._summary.add(kpis)
        if self._ledger_summary is None:
            self._ledger_summary = Moments(KEYS)
        self._ledger_summary.add(ledger_table_as_kpis(tables.arrow(LEDGER)))
        self.replications += 1
        self.events_processed += replication.events_processed

    def close(self, command: list[str] | None, wall_seconds: float, workers: int) -> pd.DataFrame:
        """Finish the tables, write the summaries and manifest; return the summary."""
        self._close_tables(finish=True)
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
        info = run_manifest(self._facts, tally, command)
        (self.folder / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        return summary

    def abandon(self) -> None:
        """Close the table files as they stand (they are written again from the start)."""
        self._close_tables(finish=False)

    def _close_tables(self, finish: bool) -> None:
        """Close the table files, finished or as they stand."""
        if self._closed:
            return
        self._closed = True
        for files in (self._kpis, self._monthly, self._ledger, self._events):
            if files is not None:
                files.close(finish)


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
    table and the manifests. ``scenario_yaml``, if given, is each scenario's YAML;
    ``scenario_files`` the file each was read from, by name (see :class:`RunFiles`).
    """

    def __init__(
        self,
        folder: Path,
        scenarios: Sequence[Scenario],
        keep_events: bool,
        csv: bool = False,
        scenario_yaml: Sequence[str] | None = None,
        scenario_files: Mapping[str, str | Path | None] | None = None,
    ):
        self.folder = folder
        self.scenarios = list(scenarios)
        texts = list(scenario_yaml) if scenario_yaml is not None else [None] * len(scenarios)
        files = scenario_files or {}
        if len(self.scenarios) == 1:
            only = self.scenarios[0]
            self.runs = [RunFiles(folder, only, keep_events, csv, texts[0], files.get(only.name))]
        else:
            self.runs = [
                RunFiles(folder / s.name, s, keep_events, csv, text, files.get(s.name))
                for s, text in zip(self.scenarios, texts, strict=True)
            ]
        self.pairs = [Moments([*KEYS], PAIRED) for _ in self.scenarios[1:]]

    @property
    def replications(self) -> int:
        """Rounds added so far."""
        return self.runs[0].replications

    def add(self, replications: Sequence[Replication]) -> None:
        """Add replication ``r`` of every scenario (base first), and its pairs with the base's."""
        for run, replication in zip(self.runs, replications, strict=True):
            run.add(replication)
        for moments, alternative in zip(self.pairs, replications[1:], strict=True):
            moments.add(paired_rows(replications[0].kpis, alternative.kpis))

    def abandon(self) -> None:
        """Close every table file as it stands, to be written again from the start."""
        for run in self.runs:
            run.abandon()

    def close(
        self, command: list[str] | None = None, wall_seconds: float = 0.0, workers: int = 1
    ) -> Assembled:
        """Write the summaries (and a comparison's table and notes) and the manifests."""
        summaries = [run.close(command, wall_seconds, workers) for run in self.runs]
        if len(self.scenarios) == 1:
            return Assembled(self.scenarios, summaries, self.replications)
        base, alternatives = self.scenarios[0], self.scenarios[1:]
        tables = {
            alternative.name: difference_table(moments)
            for alternative, moments in zip(alternatives, self.pairs, strict=True)
        }
        table = mark_comparison_part_years(
            stack_differences(base.name, tables), base, list(alternatives)
        )
        notes = {alt.name: shared_arrivals(base, alt)[1] for alt in alternatives}
        write_comparison_table(self.folder, table, notes)
        count = self.replications
        info: dict[str, Any] = comparison_manifest(
            base, [a.name for a in alternatives], count, notes, command
        )
        (self.folder / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        return Assembled(self.scenarios, summaries, count, table, notes)


def write_streamed_run(
    replications: Iterable[Replication],
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
    files = FolderFiles(folder, [scenario], keep_events, csv, None, {scenario.name: scenario_file})
    for replication in replications:
        files.add([replication])
        del replication  # hold no replication while the next is read
    return files.close(command, wall_seconds, workers)


def write_streamed_comparison(
    rounds: Iterable[Sequence[Replication]],
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
    files = FolderFiles(folder, scenarios, keep_events, csv, None, scenario_files)
    for replications in rounds:
        files.add(replications)
        del replications  # hold no round while the next is read
    return files.close(command, wall_seconds, workers)


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
