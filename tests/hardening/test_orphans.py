"""No worker outlives its run, and every way a run is stopped says how to finish it.

A pooled run is stopped with SIGKILL, SIGTERM or SIGHUP while its workers are busy; the
processes it started (fork server, workers, resource tracker) are listed with ``ps``
before, and must all be gone soon after. SIGTERM and SIGHUP print the resume command
as Ctrl-C does and exit with 128 plus the signal's number, and leave nothing in the
temporary folder (the pool's socket is there); after SIGKILL nothing can tidy it, so each
run is given a temporary folder of the test's own.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.store.test_resume import SECONDS, command, only_folder, scenario_file, start_and_wait

GONE_WITHIN = 20.0
"""Seconds for the system to end every process the run started."""


def table() -> dict[int, int]:
    """Every process on the machine and its parent, from ``ps``."""
    listing = subprocess.run(
        ["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True
    ).stdout
    return {int(pid): int(ppid) for pid, ppid in (line.split() for line in listing.splitlines())}


def descendants(root: int) -> set[int]:
    parents = table()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(table())


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_workers_die_with_their_run(
    tmp_path: Path, stop: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    file = scenario_file(tmp_path, years=20)
    out = tmp_path / "out"
    args = ["run", str(file), "-r", "200", "-w", "2", "--out", str(out), "-q"]
    process = start_and_wait(command(*args), out, at_least=2)
    started = descendants(process.pid)
    assert len(started) >= 3, started  # the fork server and two workers, at least
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=SECONDS)
    deadline = time.monotonic() + GONE_WITHIN
    while alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive(started) == set(), "processes of the stopped run are still running"
    if stop == signal.SIGKILL:
        return
    assert list(scratch.iterdir()) == []
    assert process.returncode == 128 + stop, stderr
    assert "Traceback" not in stderr
    folder = only_folder(out / "small")
    assert f"stopped ({stop.name})" in stderr
    assert f"Finish the run with:\n  pathways run --resume {folder}" in stderr
