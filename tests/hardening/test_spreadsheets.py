"""Formula injection: no CSV the package writes makes a spreadsheet evaluate a cell.

Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written
with a leading apostrophe; numbers (negative ones included) are written as numbers.
The files are opened back with Python's ``csv`` reader, as a spreadsheet would read
their cells. Every CSV writer goes through :mod:`simulation.core.safetext`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from simulation.cli.main import main
from simulation.core.safetext import FORMULA_STARTS, write_csv
from simulation.scenario.census import COLUMNS, write_census
from tests.cli.test_cli import SMALL

ROOT = Path(__file__).resolve().parents[2]
RISKY = ["=1+1", "+SUM(A1)", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")']


def cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def evaluated(cell: str) -> bool:
    """Whether a spreadsheet would evaluate this cell as a formula."""
    if not cell.startswith(FORMULA_STARTS):
        return False
    try:
        float(cell)  # a negative number is a number, not a formula
    except ValueError:
        return True
    return False


def test_risky_text_is_written_as_text_and_numbers_as_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": [*RISKY, "Northmoor"], "value": [-5.5] * 8})
    frame["=header"] = "x"
    path = tmp_path / "table.csv"
    write_csv(frame, path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["name", "value", "'=header"]
    expected = ["'" + text.replace("\r", "\n") for text in RISKY]
    assert [r[0] for r in rows[1:]] == [*expected, "Northmoor"]
    assert {r[1] for r in rows[1:]} == {"-5.5"}
    assert not any(evaluated(cell) for row in rows for cell in row)


def test_a_census_written_by_calibrate_escapes_its_cells(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    row = dict.fromkeys(COLUMNS, "")
    row.update(patient_id="=cmd|' /C calc'!A0", pathway="adult_secure", since_date="2020-01-01")
    write_census(path, [row])
    found = cells(path)
    assert "'=cmd|' /C calc'!A0" in found
    assert not any(evaluated(cell) for cell in found)


def test_every_csv_of_a_run_and_its_report_is_safe(tmp_path: Path) -> None:
    """Free text from the scenario file reaches the tables: a source comment, a description."""
    file = tmp_path / "small.yaml"
    text = SMALL.replace("name: small", "name: small\ndescription: '=HYPERLINK(\"http://x\")'")
    text = text.replace("beds: 6", 'beds: 6  # =HYPERLINK("http://x")')
    file.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(file), "-w", "1", "--out", str(out), "-q"]) == 0
    (folder,) = (out / "small").iterdir()
    assert main(["report", str(folder), "-q"]) == 0
    written = sorted(folder.rglob("*.csv"))
    assert len(written) > 10
    found = [cell for path in written for cell in cells(path)]
    assert '\'=HYPERLINK("http://x")' in found
    assert [c for c in found if evaluated(c)] == []


def test_no_csv_is_written_but_through_safetext() -> None:
    """A new writer that bypasses the escaping fails here."""
    offenders = []
    for package in ("simulation", "calibration"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "safetext.py":
                continue
            text = path.read_text(encoding="utf-8")
            for needle in (".to_csv(", "csv.writer(", "DictWriter("):
                if needle in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
