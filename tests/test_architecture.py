"""The package's structure: what a layer loads, what a resume trusts, what a wheel ships.

The layers themselves (each imports only from those below it, no import circles,
deferred imports included) are checked by ``lint-imports`` in ``make lint``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import simulation
from simulation.store.manifest import code_fingerprint
from tests.imports import imported_by

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(simulation.__file__).resolve().parent


def test_reading_a_scenario_loads_neither_simpy_nor_the_model() -> None:
    code = (
        "from simulation.scenario.loading import load_scenario\n"
        "load_scenario('scenarios/baseline.yaml')\n"
    )
    heavy = ("simpy", "pandas", "matplotlib", "scipy", "simulation.model", "simulation.results")
    heavy += ("simulation.experiment", "simulation.store", "simulation.report")
    assert imported_by(code, heavy) == []


def test_importing_the_package_loads_no_layer() -> None:
    assert imported_by("import simulation", ["simulation.", "simpy"]) == []


def test_the_code_fingerprint_covers_every_module_of_the_tree(tmp_path: Path) -> None:
    copy = tmp_path / "simulation"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(copy) == code_fingerprint()
    deep = copy / "model" / "pathway.py"
    deep.write_text(deep.read_text() + "\n# changed\n")
    changed = code_fingerprint(copy)
    assert changed != code_fingerprint()
    (copy / "results" / "extra.py").write_text("")
    assert code_fingerprint(copy) != changed


@pytest.mark.slow
def test_the_wheel_ships_every_module_and_the_command(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("pathways-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        commands = archive.read(entry_points).decode()
    for package in ("simulation", "calibration"):
        tree = {
            p.relative_to(ROOT).as_posix()
            for p in (ROOT / package).rglob("*.py")
            if "__pycache__" not in p.parts
        }
        assert tree <= names, sorted(tree - names)
    assert "simulation/py.typed" in names
    assert "pathways = simulation.cli.main:console" in commands
