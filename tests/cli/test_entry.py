"""The console command reads its arguments before the heavy imports, and starts a pool early.

``simulation.cli.main`` imports nothing but the argument parser and the executors, so
that a run on a local pool can start the pool's fork server before this process imports
the schema, pandas and the model (:mod:`simulation.cli.commands`). Whether it does is
decided from the arguments alone: a run or comparison whose scenario files exist, and
no resumed folder; :func:`~simulation.experiment.executors.start_pool_early` then decides
from the workers, the cluster and the replications.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import simulation.cli.main as entry
from simulation.cli.arguments import build_parser
from tests.imports import imported_by

ROOT = Path(__file__).resolve().parents[2]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
OTHER = str(ROOT / "scenarios" / "demand_growth.yaml")


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
