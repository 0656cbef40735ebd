"""Results folders written from part files, one replication at a time.

``pathways run`` and ``pathways compare`` write their folders by reading each saved
replication back in turn. The folder must hold what the same replications held in
memory say (tables row for row, summaries and paired differences to 1e-9), must
not depend on the number of workers, and the assembly must never hold more than one
replication of each scenario.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import weakref
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simulation.cli.main import main
from simulation.experiment.comparison import aligned, run_comparison
from simulation.experiment.experiment import ExperimentResult, ReplicationResult, run_experiment
from simulation.scenario.loading import derive, load_scenario, scenario_to_yaml
from simulation.store import manifest, resume, writer
from simulation.store.resume import StreamedRun
from simulation.store.writer import FolderFiles, write_comparison, write_results
from tests.store.test_resume import scenario_file as resume_scenario_file

REPLICATIONS = 3


def scenario_file(tmp_path: Path, name: str = "small", beds: int = 6) -> Path:
    """SMALL over two years, under another name and bed count if asked."""
    return resume_scenario_file(tmp_path, name, years=2, beds=beds)


def only_folder(parent: Path) -> Path:
    (folder,) = [p for p in parent.iterdir() if not p.name.startswith(".")]
    return folder


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def as_read_back(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """A table as it reads back from CSV (how summaries are compared with the files)."""
    path = tmp_path / "expected.csv"
    frame.to_csv(path, index=False)
    return read_csv(path)


def assert_run_holds(
    folder: Path, result: ExperimentResult, tmp_path: Path, csv: bool = False
) -> None:
    """A streamed run folder holds the same results as ``result``, held in memory.

    Per-replication tables are parquet, and CSV as well when ``csv`` was asked for.
    """
    names = {"scenario.yaml", "manifest.json", "summary.csv", "ledger_summary.csv"}
    names |= {"kpis.parquet", "monthly.parquet", "ledger.csv"}
    if csv:
        names |= {"kpis.csv", "monthly.csv"}
    if result.events is not None:
        names.add("events.parquet")
    assert {p.name for p in folder.iterdir()} == names
    assert (folder / "scenario.yaml").read_text() == scenario_to_yaml(result.scenario)
    for stem in ("kpis", "monthly", "ledger") if csv else ("ledger",):
        expected = getattr(result, stem)
        assert (folder / f"{stem}.csv").read_text() == expected.to_csv(index=False), stem
    for stem in ("kpis", "monthly"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(folder / f"{stem}.parquet"), getattr(result, stem), check_exact=True
        )
    if result.events is not None:
        ours, theirs = pd.read_parquet(folder / "events.parquet"), result.events
        # A column of the event log with no value in any replication has no type in
        # memory (None); the file types it as text, as it would be had one replication
        # had a value (read back as NaN). Empty either way.
        empty = [c for c in theirs.columns if theirs[c].isna().all() and theirs[c].dtype == object]
        assert ours[empty].isna().all().all()
        pd.testing.assert_frame_equal(
            ours.drop(columns=empty), theirs.drop(columns=empty), check_exact=True
        )
    for name, expected in (
        ("summary.csv", result.summary),
        ("ledger_summary.csv", result.ledger_summary),
    ):
        pd.testing.assert_frame_equal(
            read_csv(folder / name), as_read_back(expected, tmp_path), check_exact=False, rtol=1e-9
        )
    info = json.loads((folder / "manifest.json").read_text())
    assert info["replications"] == len(result.replications)
    assert info["seed"] == result.scenario.seed
    assert info["events_processed"] == sum(r.events_processed for r in result.replications)


VARYING = {"created_utc", "wall_seconds", "workers", "command", "resumed_replications"}


def assert_same_run(ours: Path, theirs: Path) -> None:
    """Two run folders hold the same results (the manifests differ only in timing)."""
    assert {p.name for p in ours.iterdir()} == {p.name for p in theirs.iterdir()}
    for path in theirs.iterdir():
        if path.suffix == ".parquet":
            pd.testing.assert_frame_equal(
                pd.read_parquet(ours / path.name), pd.read_parquet(path), check_exact=True
            )
        elif path.name != "manifest.json":
            assert (ours / path.name).read_bytes() == path.read_bytes(), path.name
    mine, other = (json.loads((f / "manifest.json").read_text()) for f in (ours, theirs))
    assert {k: v for k, v in mine.items() if k not in VARYING} == {
        k: v for k, v in other.items() if k not in VARYING
    }


def test_a_streamed_run_writes_what_the_replications_held_in_memory_say(tmp_path: Path) -> None:
    file = scenario_file(tmp_path)
    args = ["run", str(file), "-r", str(REPLICATIONS), "-w", "1", "--events", "--csv", "-q"]
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    streamed = only_folder(tmp_path / "streamed" / "small")

    scenario = derive(load_scenario(file), {"replications": REPLICATIONS})
    result = run_experiment(scenario, workers=1, keep_events=True)
    assert result.events is not None
    assert_run_holds(streamed, result, tmp_path, csv=True)
    # The Python API's folder comes from the same writer.
    memory = write_results(result, tmp_path / "memory", file, csv=True)
    for name in ("kpis.csv", "monthly.csv", "ledger.csv", "summary.csv"):
        assert (memory / name).read_bytes() == (streamed / name).read_bytes(), name


def test_a_part_financial_year_is_flagged_in_the_summaries_a_planner_opens(
    tmp_path: Path,
) -> None:
    # Two years from 1 April 2026 are 730 days: 2027/28 (a leap year's 366 days) loses
    # its last day, so a mean "a year" for 2027/28 is of 365 days, and says so.
    file = scenario_file(tmp_path)
    scenario = load_scenario(file)
    assert scenario.start_date == dt.date(2026, 4, 1) and scenario.horizon_days == 730
    assert main(["run", str(file), "-r", "2", "-w", "1", "-q", "--out", str(tmp_path)]) == 0
    folder = only_folder(tmp_path / "small")
    for name, column in (("summary.csv", "period"), ("ledger_summary.csv", "financial_year")):
        table = read_csv(folder / name)
        flagged = set(table.loc[table["part_year"], column])
        assert flagged == {"2027/28"}, name
        assert {"2026/27"} <= set(table.loc[~table["part_year"], column]), name
    memory = run_experiment(derive(scenario, {"replications": 2}), workers=1)
    assert set(memory.summary.loc[memory.summary["part_year"], "period"]) == {"2027/28"}


def test_a_part_financial_year_is_flagged_in_a_comparison(tmp_path: Path) -> None:
    # As in the summaries: a difference over 2027/28's 365 days is not a year's.
    base_file, alt_file = scenario_file(tmp_path), scenario_file(tmp_path, "more", beds=8)
    args = ["compare", str(base_file), str(alt_file), "-r", "2", "-w", "1", "-q"]
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    table = read_csv(only_folder(tmp_path / "streamed" / "compare-small") / "comparison.csv")
    assert set(table.loc[table["part_year"], "period"]) == {"2027/28"}
    assert {"2026/27", "horizon"} <= set(table.loc[~table["part_year"], "period"])
    base = derive(load_scenario(base_file), {"replications": 2})
    memory = run_comparison(base, [load_scenario(alt_file)], workers=1).table
    assert set(memory.loc[memory["part_year"], "period"]) == {"2027/28"}


def test_a_streamed_comparison_writes_what_the_comparison_in_memory_says(tmp_path: Path) -> None:
    base_file, alt_file = scenario_file(tmp_path), scenario_file(tmp_path, "more", beds=8)
    args = ["compare", str(base_file), str(alt_file), "-r", str(REPLICATIONS), "-w", "1", "-q"]
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    streamed = only_folder(tmp_path / "streamed" / "compare-small")

    base = derive(load_scenario(base_file), {"replications": REPLICATIONS})
    comparison = run_comparison(base, [load_scenario(alt_file)], workers=1)
    names = {"small", "more", "comparison.csv", "comparison_notes.txt", "manifest.json"}
    assert {p.name for p in streamed.iterdir()} == names
    for run in (comparison.base, *comparison.alternatives):
        assert_run_holds(streamed / run.scenario.name, run, tmp_path)
    table = read_csv(streamed / "comparison.csv")
    assert (table["diff_mean"] != 0).any(), "the alternative must differ from the base"
    expected = as_read_back(comparison.table, tmp_path)
    pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=1e-9)
    notes = "".join(f"{name}: {text}\n" for name, text in comparison.notes.items())
    assert (streamed / "comparison_notes.txt").read_text() == notes
    info = json.loads((streamed / "manifest.json").read_text())
    assert (info["base"], info["alternatives"]) == ("small", ["more"])
    assert info["replications"] == REPLICATIONS
    memory = write_comparison(comparison, tmp_path / "memory", {})
    assert (memory / "comparison.csv").read_bytes() == (streamed / "comparison.csv").read_bytes()


@pytest.mark.slow
def test_the_files_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    file = scenario_file(tmp_path)
    folders = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        args = ["run", str(file), "-r", "4", "-w", workers, "--events", "-q", "--out", str(out)]
        assert main(args) == 0
        folders.append(only_folder(out / "small"))
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == sorted(p.name for p in folders[1].iterdir())
    for name in names:
        if name != "manifest.json":
            same = (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes()
            assert same, f"{name} differs between 1 and 2 workers"


def spy_on_rounds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, set[int]]]:
    """Record, at each round added to the files, its replication and the others still held."""
    alive: list[weakref.ref[ReplicationResult]] = []
    rounds: list[tuple[int, set[int]]] = []
    real = FolderFiles.add

    def add(self: FolderFiles, replications: list[ReplicationResult]) -> None:
        gc.collect()
        (replication,) = {r.replication for r in replications}
        held = {r.replication for ref in alive if (r := ref()) is not None}
        rounds.append((replication, held - {replication}))
        real(self, replications)
        alive.extend(weakref.ref(r) for r in replications)

    monkeypatch.setattr(FolderFiles, "add", add)
    return rounds


@pytest.mark.parametrize("alternatives", [0, 2])
def test_the_files_are_written_as_replications_finish_holding_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alternatives: int
) -> None:
    base = derive(load_scenario(scenario_file(tmp_path)), {"replications": 4})
    others = [load_scenario(scenario_file(tmp_path, f"alt{i}", 7 + i)) for i in range(alternatives)]
    scenarios = aligned(base, others)
    run = StreamedRun.create(tmp_path / "out", scenarios, {})
    rounds = spy_on_rounds(monkeypatch)
    added_by_tick: list[int] = []
    run.execute(workers=1, progress=lambda done, _: added_by_tick.append(len(rounds)))
    # Replication r of every scenario is added as soon as it is saved, not at the end.
    assert added_by_tick == [0, *(n // len(scenarios) for n in range(1, 4 * len(scenarios) + 1))]
    assert [r for r, _ in rounds] == [0, 1, 2, 3], "in order, once"
    assert all(not held for _, held in rounds), f"earlier replications still held: {rounds}"

    reads: list[Path] = []
    real = resume.read_part
    monkeypatch.setattr(resume, "read_part", lambda path, *a: reads.append(path) or real(path, *a))
    assembled = run.assemble()
    folder = run.finish()
    assert reads == [], "nothing is left to read back at the end of the run"
    assert len(rounds) == 4
    assert assembled.replications == 4
    assert json.loads((folder / "manifest.json").read_text())["replications"] == 4


class Swapping:
    """An executor whose replications finish in pairs, the later one first."""

    workers = 2

    def map_unordered(self, fn, tasks):  # type: ignore[no-untyped-def]
        results = [fn(*task) for task in tasks]
        for first, second in zip(results[::2], results[1::2], strict=False):
            yield second
            yield first
        if len(results) % 2:
            yield results[-1]


def test_a_replication_finished_before_its_turn_is_not_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = derive(load_scenario(scenario_file(tmp_path)), {"replications": 5})
    in_turn = StreamedRun.create(tmp_path / "in_turn", [base], {})
    in_turn.execute(workers=1)
    in_turn.assemble()
    expected = in_turn.finish()

    reads: list[Path] = []
    real = resume.read_part
    monkeypatch.setattr(resume, "read_part", lambda path, *a: reads.append(path) or real(path, *a))
    monkeypatch.setattr(resume, "make_executor", lambda *_: Swapping())
    swapped = StreamedRun.create(tmp_path / "swapped", [base], {})
    rounds = spy_on_rounds(monkeypatch)
    swapped.execute()
    assert [r for r, _ in rounds] == [0, 1, 2, 3, 4], "in order, once"
    assert reads == [], "each replication checked once, when it came back"
    swapped.assemble()
    assert_same_run(swapped.finish(), expected)


def test_the_manifest_records_the_inputs_as_the_run_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashed as the run starts, not once it is over: a file edited meanwhile is not what ran.

    The manifest's facts are taken while the first replications run, so nothing of them
    is left for the end of the run.
    """
    path = scenario_file(tmp_path)
    text = path.read_bytes()
    base = derive(load_scenario(path), {"replications": 3})
    run = StreamedRun.create(tmp_path / "out", [base], {base.name: str(path)})

    real = FolderFiles.add

    def add(self: FolderFiles, replications: list[ReplicationResult]) -> None:
        real(self, replications)
        path.write_bytes(text + b"\n# edited while the run ran\n")

    monkeypatch.setattr(FolderFiles, "add", add)
    run.execute(workers=1)
    hashed: list[object] = []
    monkeypatch.setattr(manifest, "file_sha256", lambda p: hashed.append(p) or "")
    run.assemble()
    info = json.loads((run.finish() / "manifest.json").read_text())
    assert hashed == [], "no input is hashed at the end of a run"
    original = hashlib.sha256(text).hexdigest()
    assert info["scenario_sha256"] == original
    assert [s["sha256"] for s in info["scenario_sources"]] == [original]
    assert [i["sha256"] for i in info["inputs"]] == [original]
    assert info["replications"] == 3


def test_csv_rows_are_written_as_the_run_goes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows read back from parts go to their CSV a few replications at a time, not at the end.

    However they are grouped, the bytes are those of the replications held in memory.
    """
    monkeypatch.setattr(writer, "CSV_TABLES_AT_ONCE", 2)
    file = scenario_file(tmp_path)
    written: list[int] = []  # ledger rows written so far
    rows_after_add: list[int] = []
    real_write, real_add = writer.write_csv, FolderFiles.add

    def write_csv(frame: pd.DataFrame, target: Any, **options: Any) -> None:
        if Path(getattr(target, "name", "")).name == "ledger.csv":
            written.append(len(frame))
        real_write(frame, target, **options)

    def add(self: FolderFiles, replications: list[ReplicationResult]) -> None:
        real_add(self, replications)
        rows_after_add.append(sum(written))

    monkeypatch.setattr(writer, "write_csv", write_csv)
    monkeypatch.setattr(FolderFiles, "add", add)
    args = ["run", str(file), "-r", "5", "-w", "1", "--csv", "-q"]
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    streamed = only_folder(tmp_path / "streamed" / "small")
    per = sum(written) // 5  # each replication has as many ledger rows
    assert per > 0 and sum(written) == 5 * per
    waiting = [(k + 1) * per - rows for k, rows in enumerate(rows_after_add)]
    assert all(0 <= w <= per for w in waiting), f"rows of 2 replications waited: {waiting}"

    scenario = derive(load_scenario(file), {"replications": 5})
    memory = write_results(run_experiment(scenario, workers=1), tmp_path / "memory", file, csv=True)
    for name in ("kpis.csv", "monthly.csv", "ledger.csv"):
        assert (memory / name).read_bytes() == (streamed / name).read_bytes(), name


def test_each_parquet_row_group_records_the_replication_it_holds(tmp_path: Path) -> None:
    """A reader picking replications skips the others' row groups by their statistics.

    The other columns span the same values in every replication, so nothing is recorded
    of them (a third of the time it takes to write a row group).
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    file = scenario_file(tmp_path)
    args = ["run", str(file), "-r", str(REPLICATIONS), "-w", "1", "--events", "-q"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    folder = only_folder(tmp_path / "out" / "small")
    for stem in ("kpis", "monthly", "events"):
        meta = pq.ParquetFile(folder / f"{stem}.parquet").metadata
        assert meta.num_row_groups == REPLICATIONS, stem
        for r in range(REPLICATIONS):
            group = meta.row_group(r)
            for c in range(group.num_columns):
                column = group.column(c)
                if column.path_in_schema == "replication":
                    assert column.statistics is not None and column.statistics.has_min_max
                    assert (column.statistics.min, column.statistics.max) == (r, r), stem
                else:
                    assert column.statistics is None or not column.statistics.has_min_max, (
                        f"{stem}.{column.path_in_schema}"
                    )
        picked = ds.dataset(folder / f"{stem}.parquet").to_table(
            filter=ds.field("replication") == 1
        )
        fragment = next(ds.dataset(folder / f"{stem}.parquet").get_fragments())
        kept = fragment.split_by_row_group(filter=ds.field("replication") == 1)
        assert len(kept) == 1, f"{stem}: the other row groups are not skipped"
        assert set(picked.column("replication").to_pylist()) == {1}
