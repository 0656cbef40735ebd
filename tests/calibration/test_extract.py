"""Reading an extract: every bad row reported by row number and column with what was
expected, nothing dropped silently, and ``pathways calibrate`` exits 2 without a trace.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from calibration.extract import COLUMN_NAMES, read_extract
from simulation import load_scenario
from simulation.core.problems import InputError

BASELINE = "scenarios/baseline.yaml"
GOOD = {
    "referral_id": "R1",
    "patient_id": "P1",
    "pathway": "adult_secure",
    "service": "medium",
    "home_place": "Northmoor",
    "source": "new",
    "priority": "routine",
    "referral_date": "2024-01-10",
    "decision": "accepted",
    "decision_date": "2024-02-01",
    "admission_date": "2024-03-01",
    "admitted_to": "Ashwood Medium Secure",
    "ready_date": "2025-01-01",
    "discharge_date": "2025-02-01",
    "discharge_to": "low",
}


def good(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def write(tmp_path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    frame = pd.DataFrame(rows, columns=columns or list(COLUMN_NAMES), dtype=object).fillna("")
    path = tmp_path / "extract.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASELINE)


START = dt.date(2023, 4, 1)
BAD_ROWS = [
    # (row as written, the column blamed, words the message must contain)
    (good(referral_id="R2", service="medum"), "service", "did you mean 'medium'"),
    (
        good(referral_id="R3", discharge_date="2024-02-15"),
        "discharge_date",
        "discharge before admission",
    ),
    (good(referral_id="R4", admission_date="01/03/2024"), "admission_date", "YYYY-MM-DD"),
    (good(referral_id="R5", admitted_to="Ashwood"), "admitted_to", "unit of medium"),
    (good(referral_id="R6", decision="not_accepted"), "admission_date", "only accepted"),
    (good(referral_id="R7", ready_date=""), "ready_date", "clinically ready"),
    (good(referral_id="R1"), "referral_id", "used twice (first on row 2)"),
    (good(referral_id="R8", home_place="Northmore"), "home_place", "did you mean 'Northmoor'"),
    (good(referral_id="R9", ready_date="2024-02-20"), "ready_date", "before admission"),
    (
        good(
            referral_id="R10",
            decision="maybe",
            admission_date="",
            admitted_to="",
            ready_date="",
            discharge_date="",
            discharge_to="",
        ),
        "decision",
        "expected one of accepted",
    ),
    (good(referral_id="R11", discharge_to="Nowhere"), "discharge_to", "expected one of home"),
    (good(referral_id="R12", pathway="forensic"), "pathway", "expected one of"),
]


def test_every_bad_row_is_reported_with_row_and_column(tmp_path: Path, base) -> None:
    rows = [good()] + [row for row, _, _ in BAD_ROWS] + [good(referral_id="R99")]
    with pytest.raises(InputError) as info:
        read_extract(write(tmp_path, rows), base, start=START)
    found: dict[tuple[int | None, str], str] = {}
    for p in info.value.problems:
        found[(p.line, p.field)] = found.get((p.line, p.field), "") + p.message + " | "
    expected = {(i + 3, column) for i, (_, column, _) in enumerate(BAD_ROWS)}
    assert set(found) == expected
    for i, (_, column, words) in enumerate(BAD_ROWS):
        assert words in found[(i + 3, column)], (column, found[(i + 3, column)])
    assert all(p.file.endswith("extract.csv") for p in info.value.problems)


def test_drop_bad_rows_says_how_many(tmp_path: Path, base) -> None:
    rows = [good()] + [row for row, _, _ in BAD_ROWS] + [good(referral_id="R99")]
    extract = read_extract(write(tmp_path, rows), base, start=START, drop_bad_rows=True)
    assert extract.dropped_rows == len(BAD_ROWS)
    assert list(extract.rows["referral_id"]) == ["R1", "R99"]
    assert len(extract.dropped) >= len(BAD_ROWS)


def test_header_problems_are_on_row_one(tmp_path: Path, base) -> None:
    columns = [c for c in COLUMN_NAMES if c != "discharge_to"] + ["dischrge_to"]
    row = good()
    row["dischrge_to"] = row.pop("discharge_to")
    with pytest.raises(InputError) as info:
        read_extract(write(tmp_path, [row], columns), base)
    found = {(p.line, p.field): p.message for p in info.value.problems}
    assert set(found) == {(1, "dischrge_to"), (1, "discharge_to")}
    assert "did you mean 'discharge_to'" in found[(1, "dischrge_to")]
    assert "missing column" in found[(1, "discharge_to")]


def test_dates_after_the_extract_date_and_before_the_period(tmp_path: Path, base) -> None:
    rows = [
        good(),
        good(referral_id="R2", discharge_date="2025-07-01"),
        # referred and discharged before the period start: not an extract of the period
        good(
            referral_id="R3",
            referral_date="2022-01-01",
            decision_date="2022-01-10",
            admission_date="2022-01-10",
            ready_date="2022-06-01",
            discharge_date="2022-07-01",
        ),
    ]
    with pytest.raises(InputError) as info:
        read_extract(
            write(tmp_path, rows),
            base,
            start=dt.date(2023, 4, 1),
            extract_date=dt.date(2025, 6, 30),
        )
    found = {(p.line, p.field): p.message for p in info.value.problems}
    assert set(found) == {(3, "discharge_date"), (4, "referral_date")}
    assert "after the extract date 2025-06-30" in found[(3, "discharge_date")]
    assert "before the period start 2023-04-01" in found[(4, "referral_date")]


def test_blank_where_nothing_has_happened_is_fine_and_parquet_reads_the_same(
    tmp_path: Path, base
) -> None:
    rows = [
        good(),
        good(referral_id="R2", ready_date="", discharge_date="", discharge_to=""),  # in bed
        good(
            referral_id="R3",
            admission_date="",
            admitted_to="",
            ready_date="",
            discharge_date="",
            discharge_to="",
        ),  # waiting
        good(
            referral_id="R4",
            decision="",
            decision_date="",
            admission_date="",
            admitted_to="",
            ready_date="",
            discharge_date="",
            discharge_to="",
        ),  # assessment
    ]
    path = write(tmp_path, rows)
    from_csv = read_extract(path, base)
    parquet = tmp_path / "extract.parquet"
    pd.read_csv(path, dtype=str, keep_default_na=False).to_parquet(parquet)
    from_parquet = read_extract(parquet, base)
    assert from_csv.rows.drop(columns="line").equals(from_parquet.rows.drop(columns="line"))
    assert from_csv.extract_date == dt.date(2025, 2, 1)  # the latest date in it


def test_not_a_csv_file(tmp_path: Path, base) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError) as info:
        read_extract(path, base)
    assert "UTF-8" in info.value.problems[0].message


def test_command_exits_2_on_a_bad_extract_and_writes_nothing(tmp_path: Path) -> None:
    rows = [good(), good(referral_id="R2", service="medum", discharge_date="2024-02-15")]
    path = write(tmp_path, rows)
    out = tmp_path / "fitted.yaml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulation.cli.main",
            "calibrate",
            str(path),
            "--base",
            BASELINE,
            "--out",
            str(out),
            "--start",
            "2023-04-01",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 3  # the discharge is before both the admission and readiness
    assert any(f"{path}:3: service:" in line for line in lines)
    assert any(f"{path}:3: discharge_date:" in line for line in lines)
    assert not out.exists() and not (tmp_path / "fitted-report").exists()


def test_command_refuses_to_overwrite_the_base(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    text = f"extends: {Path(BASELINE).resolve()}\nname: base\n"
    base.write_text(text)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulation.cli.main",
            "calibrate",
            "calibration/data/example_extract.csv",
            "--base",
            str(base),
            "--out",
            str(base),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "is the base scenario itself" in done.stderr
    assert base.read_text() == text


def test_only_an_earlier_fit_is_ever_replaced(tmp_path: Path) -> None:
    from simulation.cli.calibrate import FITTED_MARK, _check_out

    base = Path(BASELINE)
    report = tmp_path / "fitted-report"
    earlier = tmp_path / "fitted.yaml"
    earlier.write_text(FITTED_MARK + "pathways calibrate ...`\n")
    assert _check_out(earlier, base, report) == []
    other = tmp_path / "mine.yaml"
    other.write_text("name: mine\n")
    (problem,) = _check_out(other, base, report)
    assert "not written by pathways calibrate" in problem.message
    report.mkdir()
    (report / "notes.txt").write_text("mine")
    (problem,) = _check_out(earlier, base, report)
    assert problem.field == "--report"
    assert _check_out(tmp_path / "fitted.txt", base, tmp_path / "r")[0].message.startswith(
        "expected a .yaml"
    )
