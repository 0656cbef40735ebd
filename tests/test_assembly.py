"""Results folders written from part files, one replication at a time.

``pathways run`` and ``pathways compare`` write their folders by reading each saved
replication back in turn. The folder must be the one written from the same replications
held in memory (tables row for row, summaries and paired differences to 1e-9), must
not depend on the number of workers, and the assembly must never hold more than one
replication of each scenario.
"""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pandas as pd
import pytest

from simulation import resume
from simulation.cli import main
from simulation.comparison import aligned, run_comparison
from simulation.experiment import ReplicationResult, run_experiment
from simulation.loading import load_scenario
from simulation.results import write_comparison, write_results
from simulation.resume import StreamedRun
from tests.test_resume import scenario_file as resume_scenario_file

REPLICATIONS = 3
VARYING = {"created_utc", "wall_seconds", "workers", "command", "resumed_replications"}


def scenario_file(tmp_path: Path, name: str = "small", beds: int = 6) -> Path:
    """SMALL over two years, under another name and bed count if asked."""
    return resume_scenario_file(tmp_path, name, years=2, beds=beds)


def only_folder(parent: Path) -> Path:
    (folder,) = [p for p in parent.iterdir() if not p.name.startswith(".")]
    return folder


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def assert_same_run(streamed: Path, memory: Path) -> None:
    """Two run folders hold the same results (the manifests differ only in timing)."""
    assert {p.name for p in streamed.iterdir()} == {p.name for p in memory.iterdir()}
    for name in ("scenario.yaml", "kpis.csv", "monthly.csv", "ledger.csv"):
        assert (streamed / name).read_bytes() == (memory / name).read_bytes(), name
    for path in memory.glob("*.parquet"):
        ours, theirs = pd.read_parquet(streamed / path.name), pd.read_parquet(path)
        # A column of the event log with no value in any replication has no type in
        # memory (read back as None); the streamed file types it as text, as it would be
        # had one replication had a value (read back as NaN). Empty either way.
        empty = [c for c in theirs.columns if theirs[c].isna().all() and theirs[c].dtype == object]
        assert ours[empty].isna().all().all(), path.name
        pd.testing.assert_frame_equal(
            ours.drop(columns=empty), theirs.drop(columns=empty), check_exact=True
        )
    for name in ("summary.csv", "ledger_summary.csv"):
        pd.testing.assert_frame_equal(
            read_csv(streamed / name), read_csv(memory / name), check_exact=False, rtol=1e-9
        )
    ours, theirs = (json.loads((f / "manifest.json").read_text()) for f in (streamed, memory))
    assert {k: v for k, v in ours.items() if k not in VARYING} == {
        k: v for k, v in theirs.items() if k not in VARYING
    }


def test_a_streamed_run_writes_the_in_memory_folder(tmp_path: Path) -> None:
    file = scenario_file(tmp_path)
    args = ["run", str(file), "-r", str(REPLICATIONS), "-w", "1", "--events", "-q"]
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    streamed = only_folder(tmp_path / "streamed" / "small")
    assert (streamed / "events.parquet").is_file()

    scenario = load_scenario(file).model_copy(update={"replications": REPLICATIONS})
    result = run_experiment(scenario, workers=1, keep_events=True)
    memory = write_results(result, tmp_path / "memory", file)
    assert_same_run(streamed, memory)
    assert len(read_csv(streamed / "summary.csv")) == len(result.summary)


def test_a_streamed_comparison_writes_the_in_memory_folder(tmp_path: Path) -> None:
    base_file, alt_file = scenario_file(tmp_path), scenario_file(tmp_path, "more", beds=8)
    args = ["compare", str(base_file), str(alt_file), "-r", str(REPLICATIONS), "-w", "1", "-q"]
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    streamed = only_folder(tmp_path / "streamed" / "compare-small")

    base = load_scenario(base_file).model_copy(update={"replications": REPLICATIONS})
    comparison = run_comparison(base, [load_scenario(alt_file)], workers=1)
    files = {"small": base_file, "more": alt_file}
    memory = write_comparison(comparison, tmp_path / "memory", files)
    assert {p.name for p in streamed.iterdir()} == {p.name for p in memory.iterdir()}
    for name in ("small", "more"):
        assert_same_run(streamed / name, memory / name)
    table = read_csv(streamed / "comparison.csv")
    expected = read_csv(memory / "comparison.csv")
    assert (table["diff_mean"] != 0).any(), "the alternative must differ from the base"
    pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=1e-9)
    notes = "comparison_notes.txt"
    assert (streamed / notes).read_text() == (memory / notes).read_text()
    ours, theirs = (json.loads((f / "manifest.json").read_text()) for f in (streamed, memory))
    assert {k: v for k, v in ours.items() if k not in VARYING} == {
        k: v for k, v in theirs.items() if k not in VARYING
    }


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


def spy_on_parts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, set[int]]]:
    """Record, at each part read, its replication and the other replications still held."""
    alive: list[weakref.ref[ReplicationResult]] = []
    reads: list[tuple[int, set[int]]] = []
    real = resume.read_part

    def read_part(path: Path) -> ReplicationResult:
        gc.collect()
        replication = int(path.stem[1:])
        held = {r.replication for ref in alive if (r := ref()) is not None}
        reads.append((replication, held - {replication}))
        result = real(path)
        alive.append(weakref.ref(result))
        return result

    monkeypatch.setattr(resume, "read_part", read_part)
    return reads


@pytest.mark.parametrize("alternatives", [0, 2])
def test_assembly_holds_one_replication_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alternatives: int
) -> None:
    base = load_scenario(scenario_file(tmp_path)).model_copy(update={"replications": 4})
    others = [load_scenario(scenario_file(tmp_path, f"alt{i}", 7 + i)) for i in range(alternatives)]
    scenarios = aligned(base, others)
    run = StreamedRun.create(tmp_path / "out", scenarios, {})
    run.execute(workers=1)
    reads = spy_on_parts(monkeypatch)
    assembled = run.assemble()
    folder = run.finish()
    assert [r for r, _ in reads] == [r for r in range(4) for _ in scenarios], "in order, once"
    assert all(not held for _, held in reads), f"earlier replications still held: {reads}"
    assert assembled.replications == 4
    assert json.loads((folder / "manifest.json").read_text())["replications"] == 4
