"""A run folder is worked on by one process, from the inputs it started with.

Two real processes resume one interrupted folder at once: the second is refused in one
sentence while the first finishes, and the result is whole (each replication once,
tables readable, no NUL bytes). A killed process's lock is taken over at once. Every
input file is hashed in resume.json and manifest.json, and a resume after the census
changed is refused naming it; a damaged resume.json is refused in one sentence.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.cli.main import main
from simulation.scenario.loading import derive, load_scenario
from simulation.store.lock import FolderBusy, FolderLock
from simulation.store.reader import read_results_folder
from simulation.store.resume import RESUME_FILE, StreamedRun
from tests.cli.test_cli import SMALL
from tests.store.test_resume import (
    ROOT,
    SECONDS,
    command,
    interrupted_after,
    only_folder,
    parts,
    scenario_file,
    start_and_wait,
)

CENSUS = (
    "patient_id,pathway,service,home_place,status,priority,unit,team,since_date,ready_date,"
    "discharge_to\n"
    "P1,adult_secure,low,Northmoor,in_bed,routine,Beacon Low Secure,,2026-01-01,,\n"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_second_resume_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, years=40)
    out = tmp_path / "out"
    replications = 80  # the first resume runs for half a minute or more: time to be refused
    args = ["run", str(file), "-r", str(replications), "-w", "1", "--out", str(out), "-q"]
    killed = start_and_wait(command(*args), out, at_least=2)
    killed.send_signal(signal.SIGKILL)  # its lock is given back by the system
    killed.communicate(timeout=SECONDS)
    folder = only_folder(out / "small")
    saved = len(parts(out))

    first = subprocess.Popen(
        command("run", "--resume", str(folder), "-w", "1", "-q"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + SECONDS
    while len(parts(out)) <= saved:  # the first resume is running: it has saved one more
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    second = subprocess.run(
        command("run", "--resume", str(folder), "-w", "1", "-q"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    assert first.poll() is None, "the first resume finished before the second was refused"
    assert second.returncode == 2, second.stderr
    assert "Traceback" not in second.stderr
    assert second.stderr.startswith(
        f"error: --resume: {folder} is in use: another pathways process is running it now"
    )
    assert len(second.stderr.strip().splitlines()) == 1
    stdout, stderr = first.communicate(timeout=SECONDS)
    assert first.returncode == 0, stderr
    assert stdout.strip() == str(folder)
    kpis = read_results_folder(folder).kpis  # type: ignore[union-attr]
    assert sorted(kpis["replication"].unique()) == list(range(replications))
    assert len(kpis) == len(kpis.drop_duplicates())
    for path in folder.rglob("*.csv"):
        assert b"\x00" not in path.read_bytes(), path
    assert json.loads((folder / "manifest.json").read_text())["replications"] == replications


HOLD = """
import sys, time
from pathlib import Path
from simulation.store.reader import read_results_folder
from simulation.store.lock import FolderLock
FolderLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_lock_held_by_another_process_refuses_and_is_free_once_it_is_killed(
    tmp_path: Path,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusy, match="is in use: another pathways process"):
            FolderLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait(timeout=SECONDS)
    lock = FolderLock(tmp_path)
    lock.acquire()  # no stale lock after kill -9: nothing to clean up
    assert lock.held
    lock.release()


def census_run(tmp_path: Path) -> tuple[Path, Path, StreamedRun]:
    """An interrupted run of SMALL starting from a one-patient census."""
    census = tmp_path / "census.csv"
    census.write_text(CENSUS)
    file = tmp_path / "small.yaml"
    file.write_text(SMALL.replace("name: small", "name: small\ncensus: census.csv"))
    scenario = derive(load_scenario(file), {"replications": 3})
    run = StreamedRun.create(tmp_path / "out", [scenario], {"small": str(file)})
    interrupted_after(run, 1)
    return file, census, run


def test_inputs_are_hashed_and_a_changed_census_is_named_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file, census, run = census_run(tmp_path)
    (entry,) = json.loads((run.staging / RESUME_FILE).read_text())["scenarios"]
    recorded = {i["role"]: (i["path"], i["sha256"]) for i in entry["inputs"]}
    assert recorded == {
        "scenario": (str(file.resolve()), sha256(file)),
        "census": (str(census.resolve()), sha256(census)),
    }
    census.write_text(CENSUS.replace("2026-01-01", "2025-06-01"))
    assert main(["run", "--resume", str(run.final), "-w", "1"]) == 2
    message = capsys.readouterr().err
    assert message.count("\n") == 1, message
    assert (
        f"it was started from a different census: {census.resolve()} has changed since the run "
        "started" in message
    )
    assert len(run.done()) == 1  # nothing more was run

    census.write_text(CENSUS)  # restored: the run finishes and its manifest has the hashes
    assert main(["run", "--resume", str(run.final), "-w", "1", "-q"]) == 0
    manifest = json.loads((run.final / "manifest.json").read_text())
    assert {i["role"]: i["sha256"] for i in manifest["inputs"]} == {
        "scenario": sha256(file),
        "census": sha256(census),
    }


def test_a_resume_file_of_another_format_says_so_not_another_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, run = census_run(tmp_path)
    info = json.loads((run.staging / RESUME_FILE).read_text())
    info["format"] = 99
    (run.staging / RESUME_FILE).write_text(json.dumps(info))
    assert main(["run", "--resume", str(run.final), "-w", "1"]) == 2
    message = capsys.readouterr().err
    assert f"{run.final} cannot be resumed: its resume.json is of format 99" in message
    assert "different version" not in message and message.count("\n") == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda info: info.update(scenarios="x"),
        lambda info: info.update(replications="many"),
        lambda info: info.update(kind=None),
        lambda info: info["scenarios"][0].update(inputs=[{"path": 5}]),
        lambda info: info.update(auto={"precision": "tight"}),
        lambda info: info.clear(),
    ],
)
def test_a_damaged_resume_file_is_refused_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage
) -> None:
    _, _, run = census_run(tmp_path)
    info = json.loads((run.staging / RESUME_FILE).read_text())
    damage(info)
    (run.staging / RESUME_FILE).write_text(json.dumps(info))
    assert main(["run", "--resume", str(run.final), "-w", "1"]) == 2
    assert capsys.readouterr().err == (
        f"error: --resume: {run.final} cannot be resumed: its resume.json has been changed "
        "or damaged; start a new run\n"
    )
