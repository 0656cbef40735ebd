"""``pathways calibrate`` writes over nothing it did not write, and leaves nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulation.scenario.loading as loading
from simulation.cli.main import main
from simulation.core.problems import InputError, Problem

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "calibration" / "data" / "example_extract.csv")
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")


def calibrate(out: Path) -> int:
    return main(["calibrate", EXAMPLE, "--base", BASELINE, "--out", str(out), "-r", "0", "-q"])


def test_an_existing_census_it_did_not_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    census = tmp_path / "fitted-census.csv"
    census.write_text("a planner's own file\n")
    assert calibrate(tmp_path / "fitted.yaml") == 2
    err = capsys.readouterr().err
    assert f"error: {census}: --out: the census of the fitted scenario would be written" in err
    assert census.read_text() == "a planner's own file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fitted-census.csv"]


def test_fitted_files_are_taken_back_when_a_later_check_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fitted.yaml"
    load = loading.load_scenario

    def refuse_the_fitted_file(path: str | Path):
        if Path(path) == out:
            raise InputError([Problem(str(path), 1, "name", "refused by the test")])
        return load(path)

    monkeypatch.setattr(loading, "load_scenario", refuse_the_fitted_file)
    assert calibrate(out) == 2
    assert "refused by the test" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "fitted-census.csv").exists()


def test_a_fitted_scenario_names_its_extract_by_hash(tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "fitted.yaml"
    assert calibrate(out) == 0
    digest = hashlib.sha256(Path(EXAMPLE).read_bytes()).hexdigest()
    assert f"# Extract SHA-256: {digest}." in out.read_text().splitlines()[:6]
