"""``pathways calibrate`` end to end on the shipped example extract: the fitted scenario
extends the base and states each value's evidence, its census loads, the report has
its figures, and the back-test reproduces the extract within stated bounds.

Back-test bounds, on synthetic data where the model is right:

- occupied footprint beds: monthly mean absolute error at most 10% of the observed
  monthly mean for every pathway (beds are nearly always full, so the error is small
  unless the census or the fitted stays are wrong);
- admissions over the three years: within 20% of the observed for every pathway, about
  three standard errors of a Poisson count of the smallest pathway's ~200 admissions
  plus the simulated mean's own error over 8 replications;
- admissions month by month: the observation inside the simulated 90% range in at
  least half of the months (with 8 replications the range is narrow, about 80%
  expected).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from simulation import load_scenario
from simulation.cli.main import main
from simulation.report.html import CSS

pytestmark = pytest.mark.slow  # one calibration with an 8-replication back-test, ~40 s

EXAMPLE = "calibration/data/example_extract.csv"
BASELINE = "scenarios/baseline.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("calibrate")
    code = main(
        [
            "calibrate",
            EXAMPLE,
            "--base",
            BASELINE,
            "--out",
            str(folder / "fitted.yaml"),
            "-r",
            "8",
            "-w",
            "2",
            "-q",
        ]
    )
    assert code == 0
    return folder


def test_fitted_scenario_extends_the_base_and_loads(run: Path) -> None:
    text = (run / "fitted.yaml").read_text()
    assert text.startswith("# Fitted by `pathways calibrate")
    extends = re.search(r"^extends: (.+)$", text, re.M)
    assert extends is not None
    assert (run / extends.group(1)).resolve() == Path(BASELINE).resolve()
    scenario = load_scenario(run / "fitted.yaml")
    assert scenario.warmup_days == 0
    assert str(scenario.start_date) == "2026-04-01"
    statuses = {p.status for p in scenario.census_patients}
    assert {"in_bed", "out_of_area", "community", "discharged"} <= statuses


def test_every_fitted_value_is_commented_with_estimate_ci_and_n(run: Path) -> None:
    lines = (run / "fitted.yaml").read_text().splitlines()
    fitted = re.compile(
        r"^\s+(-\s\{to:|referral_rate_per_100k_per_year:|length_of_stay:|assessment_delay:|"
        r"not_accepted_share:|priority_mix:|diversion:|readmission:|max_wait_days:|annual_growth:)"
    )
    checked = 0
    for i, line in enumerate(lines):
        if not fitted.match(line):
            continue
        comments = []
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith("#"):
            comments.append(lines[j])
            j -= 1
        block = " ".join(comments)
        assert "95% CI" in block and "n = " in block, line
        checked += 1
    assert checked >= 25


def test_report_has_its_figures_and_tables(run: Path) -> None:
    report = run / "fitted-report"
    page = (report / "report.html").read_text()
    assert CSS in page, "the page is styled by the simulation report's stylesheet"
    images = re.findall(r"<img src='([^']+)'", page)
    assert {
        "length_of_stay.png",
        "referrals.png",
        "backtest_admissions.png",
        "backtest_occupied_beds.png",
    } <= set(images)
    for image in images:
        assert (report / image).stat().st_size > 20_000
    parameters = pd.read_csv(report / "parameters.csv")
    assert (parameters["ci_low"] <= parameters["estimate"]).all()
    assert (parameters["estimate"] <= parameters["ci_high"]).all()
    assert (report / "backtest.yaml").exists()


def test_backtest_reproduces_the_extract_within_the_stated_bounds(run: Path) -> None:
    errors = pd.read_csv(run / "fitted-report" / "backtest_errors.csv")
    pathways = errors[errors["service"] == "all"].set_index(["pathway", "measure"])
    for pathway in ("adult_secure", "camhs_t4", "adult_ed"):
        occupied = pathways.loc[(pathway, "occupied_beds")]
        admissions = pathways.loc[(pathway, "admissions")]
        assert occupied["relative_mae"] <= 0.10, pathway
        assert abs(admissions["bias"]) <= 0.20, pathway
        assert admissions["coverage"] >= 0.5, pathway
