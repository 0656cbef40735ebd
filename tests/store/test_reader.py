"""The one reader of results folders: what it gives back, and what it refuses.

A folder written by the store reads back as the tables that were written (the report
and the API both read through it), a CSV is read with names kept as text when there is
no parquet, and a folder that lacks a table or a table's columns is refused with one
sentence naming the folder and what is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import simulation
from simulation.experiment.experiment import ExperimentResult, run_experiment
from simulation.scenario.loading import scenario_to_yaml
from simulation.store.reader import (
    NotAResultsFolder,
    RunFolder,
    read_results_folder,
    read_table,
)
from simulation.store.writer import write_results
from tests.builders import mmc_scenario


def tiny() -> dict[str, Any]:
    data = mmc_scenario(horizon_years=0.2, warmup_days=10, name="tiny")
    data["replications"] = 2
    return data


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return run_experiment(simulation.load_scenario_dict(tiny()), workers=1, keep_events=True)


@pytest.fixture
def folder(result: ExperimentResult, tmp_path: Path) -> Path:
    """A folder with the per-replication tables as CSV too, as ``pathways run --csv`` writes."""
    return write_results(result, tmp_path / "results", csv=True)


def read_run(folder: Path) -> RunFolder:
    read = read_results_folder(folder)
    assert isinstance(read, RunFolder)
    return read


def test_a_run_folder_reads_back_as_written(folder: Path, result: ExperimentResult) -> None:
    run = read_run(folder)
    assert run.name == "tiny" and run.replications == 2
    assert run.scenario_yaml == scenario_to_yaml(result.scenario)
    assert run.scenario["name"] == "tiny"
    pd.testing.assert_frame_equal(run.kpis, result.kpis)
    pd.testing.assert_frame_equal(run.monthly, result.monthly)
    assert run.events is not None and len(run.events) == len(result.events)  # type: ignore[arg-type]
    assert list(run.summary["kpi"]) == list(result.summary["kpi"])
    assert run.ledger is not None and run.ledger_summary is not None


def test_a_folder_without_per_replication_csv_reads_back_the_same(
    folder: Path, result: ExperimentResult, tmp_path: Path
) -> None:
    plain = write_results(result, tmp_path / "plain")
    assert not list(plain.glob("kpis.csv")) and not list(plain.glob("monthly.csv"))
    assert {p.name for p in plain.glob("*.csv")} == {
        "summary.csv",
        "ledger.csv",
        "ledger_summary.csv",
    }
    ours, theirs = read_run(plain), read_run(folder)
    pd.testing.assert_frame_equal(ours.kpis, theirs.kpis)
    pd.testing.assert_frame_equal(ours.monthly, theirs.monthly)
    pd.testing.assert_frame_equal(ours.summary, theirs.summary)


def test_the_large_tables_are_read_only_when_asked_for(folder: Path) -> None:
    run = read_run(folder)
    assert "kpis" not in vars(run) and "events" not in vars(run)
    (folder / "kpis.parquet").unlink()
    (folder / "kpis.csv").unlink()
    with pytest.raises(NotAResultsFolder, match=r"has no kpis\.csv or kpis\.parquet"):
        _ = run.kpis


def test_a_few_kpis_are_read_alone_and_are_the_rows_of_the_whole_table(folder: Path) -> None:
    names, period = ("admissions", "wait_referral_mean_days"), "horizon"
    run = read_run(folder)
    few = run.kpis_of(names, period)
    assert "kpis" not in vars(run)  # read without the whole table
    assert run.kpis_of(names, period) is few  # and kept
    whole = read_run(folder).kpis
    expected = whole[whole["kpi"].isin(names) & (whole["period"] == period)]
    pd.testing.assert_frame_equal(few, expected.reset_index(drop=True))
    assert set(few["kpi"]) == set(names) and len(few) < len(whole) / 10
    # From CSV alone, or once the whole table is read, the same rows.
    (folder / "kpis.parquet").unlink()
    pd.testing.assert_frame_equal(read_run(folder).kpis_of(names, period), few)


def test_without_parquet_the_csv_is_read_and_names_stay_text(folder: Path) -> None:
    (folder / "kpis.parquet").unlink()
    kpis = pd.read_csv(folder / "kpis.csv", keep_default_na=False, na_values=[""])
    kpis.loc[kpis["place"] != "all", "place"] = "NA"
    kpis.to_csv(folder / "kpis.csv", index=False)
    read = read_run(folder).kpis
    assert "NA" in set(read["place"]) and read["place"].notna().all()
    assert all(isinstance(name, str) for name in read["pathway"])


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("manifest.json", "manifest.json"),
        ("scenario.yaml", "scenario.yaml"),
        ("monthly", "monthly.csv or monthly.parquet"),
        ("kpis", "kpis.csv or kpis.parquet"),
    ],
)
def test_a_run_folder_without_a_part_is_refused_naming_it(
    folder: Path, remove: str, named: str
) -> None:
    for path in [folder / remove, folder / f"{remove}.csv", folder / f"{remove}.parquet"]:
        if path.is_file():
            path.unlink()
    with pytest.raises(NotAResultsFolder) as refused:
        read_results_folder(folder)
    message = str(refused.value)
    assert str(folder) in message and named in message and "\n" not in message


def test_a_table_without_its_columns_is_refused_naming_them(folder: Path) -> None:
    (folder / "monthly.parquet").unlink()
    monthly = pd.read_csv(folder / "monthly.csv").drop(columns=["measure"])
    monthly.to_csv(folder / "monthly.csv", index=False)
    with pytest.raises(NotAResultsFolder, match=r"monthly\.csv .* lacks the column\(s\) measure"):
        read_results_folder(folder)


def test_an_absent_optional_table_is_none(folder: Path) -> None:
    assert read_table(folder, "events") is not None
    (folder / "events.parquet").unlink()
    assert read_table(folder, "events") is None and read_run(folder).events is None


def test_a_comparison_folder_reads_its_runs_and_table(tmp_path: Path) -> None:
    data = tiny()
    more = {**tiny(), "name": "more"}
    run = simulation.run([data, more], replications=2, workers=1)
    saved = run.save(tmp_path)
    read = read_results_folder(saved)
    assert not isinstance(read, RunFolder)
    assert [r.name for r in read.runs] == ["tiny", "more"]
    assert run.comparison is not None
    pd.testing.assert_series_equal(read.table["diff_mean"], run.comparison["diff_mean"])
    shutil.rmtree(saved / "more")
    with pytest.raises(NotAResultsFolder, match="no folder for scenario 'more'"):
        read_results_folder(saved)
