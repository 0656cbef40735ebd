"""The console command reads its arguments before the heavy imports, and starts a pool early.

``simulation.cli.main`` imports nothing but the argument parser and the executors, so
that a run on a local pool can start the pool's fork server before this process imports
the schema, pandas and the model (:mod:`simulation.cli.commands`). Whether it does is
decided from the arguments alone: a run or comparison whose scenario files exist, and
no resumed folder; :func:`~simulation.experiment.executors.start_pool_early` then decides
from the workers, the cluster and the replications.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import simulation.cli.main as entry
from simulation.cli.arguments import build_parser
from simulation.experiment.executors import BLAS_THREADS
from tests.imports import imported_by

ROOT = Path(__file__).resolve().parents[2]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
OTHER = str(ROOT / "scenarios" / "demand_growth.yaml")


@pytest.fixture(autouse=True)
def blas_threads_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with OpenBLAS's thread count unset; whatever it was comes back after."""
    monkeypatch.delenv(BLAS_THREADS, raising=False)


def started_with(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(entry, "start_pool_early", lambda *a: calls.append(a))
    entry._start_pool_before_the_imports(build_parser().parse_args(argv))
    return calls


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", BASELINE, "-w", "2"], [(2, None, 2)]),
        (["run", BASELINE], [(None, None, 2)]),
        (["run", BASELINE, "-r", "7", "-w", "3"], [(3, None, 7)]),
        (["run", BASELINE, "-r", "auto"], [(None, None, 2)]),
        (["run", BASELINE, "--cluster", "local"], [(None, "local", 2)]),
        (["compare", BASELINE, OTHER, "-r", "4"], [(None, None, 4)]),
        (["run", "no/such/file.yaml", "-w", "2"], []),
        (["compare", BASELINE, "no/such/file.yaml"], []),
        (["run", "--resume", str(ROOT)], []),
        (["validate", BASELINE], []),
        (["show", BASELINE], []),
    ],
)
def test_which_commands_start_the_pool_early(
    argv: list[str], expected: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert started_with(argv, monkeypatch) == expected


def test_reading_the_arguments_imports_nothing_heavy() -> None:
    code = "from simulation.cli.arguments import build_parser\nimport simulation.cli.main\n"
    code += "build_parser().parse_args(['run', 'scenarios/baseline.yaml', '-w', '2'])"
    heavy = ("pandas", "pydantic", "scipy", "simpy", "rich", "simulation.scenario.schema")
    assert imported_by(code, [*heavy, "simulation.cli.commands"]) == []


def test_the_console_command_freezes_the_collectors_objects_before_it_ends(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    done: list[str] = []
    monkeypatch.setattr(sys, "argv", ["pathways", "validate", BASELINE])
    monkeypatch.setattr(entry.gc, "freeze", lambda: done.append("frozen"))
    with pytest.raises(SystemExit) as ended:
        entry.console()
    assert ended.value.code == 0
    assert done == ["frozen"]
    assert "baseline" in capsys.readouterr().out


def test_the_console_command_ends_with_the_commands_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["pathways", "validate", "no/such/file.yaml"])
    monkeypatch.setattr(entry.gc, "freeze", lambda: None)
    with pytest.raises(SystemExit) as ended:
        entry.console()
    assert ended.value.code == 2
    assert "file not found" in capsys.readouterr().err


def test_the_console_command_asks_openblas_for_no_threads_unless_the_user_has(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["pathways", "validate", BASELINE])
    monkeypatch.setattr(entry.gc, "freeze", lambda: None)
    with pytest.raises(SystemExit):
        entry.console()
    assert os.environ[BLAS_THREADS] == "1", "set for this process and all it starts"
    monkeypatch.setenv(BLAS_THREADS, "3")
    with pytest.raises(SystemExit):
        entry.console()
    assert os.environ[BLAS_THREADS] == "3", "the user's own setting stays"
    capsys.readouterr()


THREADS_PROBE = """
import os, sys
from simulation.cli import main as entry
sys.argv = ["pathways", "run", {scenario!r}, "-r", "1", "-w", "1", "-q", "--out", {out!r}]
try:
    entry.console()
except SystemExit as ended:
    assert ended.code == 0, ended.code
def named(thread):
    return open(f"/proc/self/task/{{thread}}/comm").read().strip()
threads = [named(t) for t in os.listdir("/proc/self/task")]
print(threads.count(named(os.getpid())))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads listed by Linux")
def test_a_run_in_the_console_commands_process_starts_no_blas_threads(tmp_path: Path) -> None:
    # numpy and scipy each load OpenBLAS; left to itself it starts a thread for every
    # other core, spinning at load, and they stay (named as the process is, as Python's
    # own threads are; Arrow's allocator thread is named apart and not counted).
    probe = THREADS_PROBE.format(scenario=BASELINE, out=str(tmp_path))
    environment = {k: v for k, v in os.environ.items() if k != BLAS_THREADS}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=environment
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1", "the main thread alone"
