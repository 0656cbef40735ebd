"""Results are never lost: atomic folders, a full disk, an unwritable folder, same-second runs.

A results folder appears whole or not at all; a failure while writing (simulated here
by a writer that raises part-way, or a disk that fills up) gives one clear message and
an exit status, and leaves every earlier results folder byte for byte as it was. An
output folder that cannot be written is refused before anything runs. Two runs that
start in the same second each get their own folder, even when they race.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

import simulation
from simulation.cli import main as cli
from simulation.experiment.experiment import ExperimentResult, run_experiment
from simulation.store import staging, writer
from tests.builders import mmc_scenario


def tiny() -> dict[str, Any]:
    data = mmc_scenario(horizon_years=0.1, warmup_days=10, name="tiny")
    data["replications"] = 2
    return data


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return run_experiment(simulation.load_scenario_dict(tiny()), workers=1)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny(), sort_keys=False))
    return path


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the SHA-256 of its bytes (hidden ones included)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def complete(folder: Path) -> bool:
    return (folder / "manifest.json").is_file() and (folder / "summary.csv").is_file()


class Frozen:
    """A stand-in for the ``datetime`` module whose clock never moves."""

    class datetime:
        @staticmethod
        def now(tz: Any = None) -> Any:
            import datetime as real

            return real.datetime(2026, 4, 1, 9, 30, 0, tzinfo=tz)

    UTC = None


def no_space(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# -- atomic folders ---------------------------------------------------------------------
def test_a_failure_part_way_leaves_no_folder_and_earlier_results_intact(
    result: ExperimentResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "results"
    earlier = writer.write_results(result, root)
    before = snapshot(root)
    calls = {"n": 0}
    real = pd.DataFrame.to_csv

    def fails_on_the_third_file(self: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.EIO, "simulated failure mid-write")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fails_on_the_third_file)
    with pytest.raises(OSError, match="simulated failure"):
        writer.write_results(result, root)
    assert calls["n"] == 3  # some files were written before the failure
    assert snapshot(root) == before  # no new folder, no staging left, earlier untouched
    assert [p.name for p in (root / "tiny").iterdir()] == [earlier.name]
    assert complete(earlier)


def test_a_results_folder_appears_whole(result: ExperimentResult, tmp_path: Path) -> None:
    folder = writer.write_results(result, tmp_path)
    assert complete(folder)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging left


def test_a_staging_folder_that_cannot_be_made_leaves_no_empty_folder(
    result: ExperimentResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging.tempfile, "mkdtemp", no_space)
    with pytest.raises(OSError):
        writer.write_results(result, tmp_path)
    assert list((tmp_path / "tiny").iterdir()) == []


# -- a full disk, through the command --------------------------------------------------
def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def earlier_run(scenario_file: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, stdout, stderr = run_cli(
        capsys, "run", scenario_file, "--out", out, "--quiet", "--workers", "1"
    )
    assert code == 0, stderr
    folder = Path(stdout.strip())
    assert complete(folder)
    return folder


@pytest.mark.parametrize("where", ["results files", "replication parts", "starting the run"])
def test_a_full_disk_gives_a_clear_message_and_keeps_earlier_results(
    where: str,
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    earlier = earlier_run(scenario_file, out, capsys)
    before = snapshot(earlier)
    if where == "results files":  # the parquet files, written whole or a replication at a time
        monkeypatch.setattr(pd.DataFrame, "to_parquet", no_space)
        monkeypatch.setattr(pq.ParquetWriter, "write_table", no_space)
    else:
        import simulation.store.resume

        real_write = simulation.store.resume.atomic_write

        def parts_fill_the_disk(path: Path, data: bytes) -> None:
            if path.parent.parent.name == simulation.store.resume.PARTS:
                no_space()
            real_write(path, data)

        if where == "starting the run":
            monkeypatch.setattr(simulation.store.resume, "atomic_write", no_space)
        else:
            monkeypatch.setattr(simulation.store.resume, "atomic_write", parts_fill_the_disk)
    code, stdout, stderr = run_cli(
        capsys, "run", scenario_file, "--out", out, "--quiet", "--workers", "1"
    )
    assert "Traceback" not in stdout + stderr
    assert code == 1, stderr
    assert "No space left on device" in stderr, stderr
    assert stderr.startswith("error: could not write results"), stderr
    assert snapshot(earlier) == before
    others = [p for p in (out / "tiny").iterdir() if p != earlier and not p.name.startswith(".")]
    assert not any(complete(p) for p in others)  # nothing that looks like a whole result
    if where == "starting the run":  # (later, the saved replications are kept for --resume)
        assert list((out / "tiny").iterdir()) == [earlier]  # nothing left behind at all
    else:
        assert "--resume" in stderr


def test_a_full_disk_with_automatic_replications(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    earlier = earlier_run(scenario_file, out, capsys)
    before = snapshot(earlier)
    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_parquet", no_space)
        patch.setattr(pq.ParquetWriter, "write_table", no_space)
        code, stdout, stderr = run_cli(
            capsys,
            "run",
            scenario_file,
            "--out",
            out,
            "--quiet",
            "--workers",
            "1",
            "--replications",
            "auto",
            "--max-replications",
            "3",
        )
    assert "Traceback" not in stdout + stderr
    assert code == 1, stderr
    assert "No space left on device" in stderr
    assert snapshot(earlier) == before
    others = [p for p in (out / "tiny").iterdir() if p != earlier and not p.name.startswith(".")]
    assert len(others) == 1 and not complete(others[0])  # nothing that looks like a result
    # As for a fixed number, the saved replications are kept, and the run can be finished.
    assert f"--resume {others[0]}" in stderr
    code, stdout, stderr = run_cli(capsys, "run", "--resume", others[0], "-q", "-w", "1")
    assert code == 0, stderr
    assert complete(others[0])


# -- an output folder that cannot be written -------------------------------------------
@pytest.mark.parametrize("kind", ["under a file", "in /proc"])
def test_an_unwritable_output_folder_is_refused_before_running(
    kind: str, scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "under a file":
        blocker = tmp_path / "results"
        blocker.write_text("earlier notes\n")
        out = blocker / "runs"
    else:
        out = Path("/proc/pathways-results")
    code, stdout, stderr = run_cli(capsys, "run", scenario_file, "--out", out, "--quiet")
    assert "Traceback" not in stdout + stderr
    assert code == 2, stderr
    assert stdout == ""
    assert stderr.startswith("error: --out:"), stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1
    if kind == "under a file":
        assert "is a file; --out must be a folder" in stderr
        assert blocker.read_text() == "earlier notes\n"
    else:
        assert "choose a folder you can write to" in stderr
    assert not out.exists()


# -- two runs in the same second -------------------------------------------------------
def test_runs_reserving_folders_in_the_same_second_never_share_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "dt", Frozen)
    start = threading.Barrier(16)
    got: list[Path] = []

    def reserve() -> None:
        start.wait()
        got.append(staging.new_run_folder(tmp_path, "same"))

    threads = [threading.Thread(target=reserve) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 16
    assert {p.name for p in got} == {"2026-04-01T09-30-00"} | {
        f"2026-04-01T09-30-00-{i}" for i in range(2, 17)
    }


def test_same_second_runs_write_separate_whole_folders(
    result: ExperimentResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "dt", Frozen)
    start = threading.Barrier(6)
    got: list[Path] = []

    def write() -> None:
        start.wait()
        got.append(writer.write_results(result, tmp_path))

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 6
    assert all(complete(p) for p in got)
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == sorted(p.name for p in got)


def test_a_name_stays_reserved_while_a_finished_run_moves_into_it(
    result: ExperimentResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run reserving at the very moment one finishes must get another name."""
    monkeypatch.setattr(staging, "dt", Frozen)
    real_replace = os.replace
    others: list[Path] = []

    def replace_with_a_rival(src: Any, dst: Any) -> None:
        if not others:
            others.append(staging.new_run_folder(tmp_path, "tiny"))
        real_replace(src, dst)

    monkeypatch.setattr(staging.os, "replace", replace_with_a_rival)
    folder = writer.write_results(result, tmp_path)
    assert others and others[0] != folder
    assert complete(folder)


def test_a_streamed_run_keeps_its_name_reserved_until_it_moves_in(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``pathways run`` (which saves each replication) against a rival in the same second."""
    import simulation.store.resume

    monkeypatch.setattr(staging, "dt", Frozen)
    out = tmp_path / "out"
    real_replace = os.replace
    others: list[Path] = []

    def replace_with_a_rival(src: Any, dst: Any) -> None:
        if Path(src).name.endswith(simulation.store.resume.SUFFIX) and not others:
            others.append(staging.new_run_folder(out, "tiny"))
        real_replace(src, dst)

    monkeypatch.setattr(staging.os, "replace", replace_with_a_rival)
    code, stdout, stderr = run_cli(
        capsys, "run", scenario_file, "--out", out, "--quiet", "--workers", "1"
    )
    assert code == 0, stderr
    folder = Path(stdout.strip())
    assert others and others[0] != folder
    assert complete(folder)
