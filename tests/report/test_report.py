"""The report: produced for a run and for a comparison, right, readable and traceable.

Small, fast results folders (a busy two-place adult secure pathway, two years, three
replications) are written once per module; the report is built from them as a planner
would (``pathways report``), and then checked as a reader would check it: every figure
is there and is not blank; every number in the summary sentences agrees with the
results folder's own CSV files (the sentences are parsed and compared); the HTML opens
in headless Chromium with every image decoded, and a screenshot is saved; the PDF has
the pages it should and none is blank; a folder that is not results is refused with
one message and exit status 2.
"""

from __future__ import annotations

import base64
import doctest
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from simulation import load_scenario, run_experiment, write_results
from simulation.experiment.comparison import run_comparison
from simulation.report import wording
from simulation.report.publish import write_report
from simulation.store.writer import write_comparison
from tests.builders import flow_scenario

NUMBER = r"[−+]?£?[\d,]*\.?\d+m?%?"
CI = re.compile(
    rf"(?P<value>{NUMBER})(?: [a-z ]+?)? "
    rf"\((?:95% CI (?P<low>{NUMBER}) to (?P<high>{NUMBER})|{wording.SAME})\)"
)
"""A printed estimate: ``38 days (95% CI 17 to 60)``, ``£2.5m (95% CI £0 to £5.2m)``, or
``£160,000 (the same in every replication)``."""

RAW_NAMES = ("cost_total_gbp", "ooa_", "_pct", "adult_secure", "wait_mean_days", "ci_low", "_gbp")
"""Identifiers from the results folder that must never reach a reader."""

SOURCE_NOTE = "census of March 2026 (assumption for the test)"


def scenario_text(name: str = "report_base") -> str:
    """The flow scenario as a file, with places' deprivation, a budget and a rule."""
    data = flow_scenario(horizon_years=2.0, warmup_days=180.0, name=name)
    data["places"][0]["deprivation_quintile"] = 1
    data["places"][1]["deprivation_quintile"] = 4
    data["money"] = {"budget_gbp_per_year": {"adult_secure": 4_000_000}}
    data["reinvestment"] = [
        {
            "pathway": "adult_secure",
            "share_of_savings": 0.5,
            "teams": {"Forensic Team": 1.0},
            "recruitment_lag_days": 60,
        }
    ]
    text = yaml.safe_dump(data, sort_keys=False)
    # A planner's note on where a value came from, as scenario files carry them.
    return text.replace("beds: 8\n", f"beds: 8  # source: {SOURCE_NOTE}\n", 1)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "base.yaml").write_text(scenario_text())
    (folder / "more_team.yaml").write_text(
        "# The base with a larger community team.\n"
        "extends: base.yaml\nname: more_team\n"
        "community_teams:\n  - {name: Forensic Team, places: 12}\n"
    )
    return folder


@pytest.fixture(scope="module")
def run_report(files: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run's results folder with its report (and PDF) written by ``pathways report``."""
    root = tmp_path_factory.mktemp("results")
    scenario = load_scenario(files / "base.yaml")
    result = run_experiment(scenario, replications=3, workers=1)
    folder = write_results(result, root, files / "base.yaml")
    done = pathways("report", str(folder), "--pdf")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return folder


@pytest.fixture(scope="module")
def comparison_report(files: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A comparison's results folder with its report (and PDF)."""
    root = tmp_path_factory.mktemp("compare")
    base = load_scenario(files / "base.yaml")
    alternative = load_scenario(files / "more_team.yaml")
    result = run_comparison(base, [alternative], replications=3, workers=1)
    paths = {"report_base": files / "base.yaml", "more_team": files / "more_team.yaml"}
    folder = write_comparison(result, root, paths)
    write_report(folder, pdf=True)
    return folder


def pathways(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def report_info(folder: Path) -> dict:
    return json.loads((folder / "report" / "report.json").read_text())


def not_blank(image: Image.Image) -> bool:
    """Enough ink and contrast that something is drawn, not an empty canvas."""
    grey = np.asarray(image.convert("L"), dtype=float)
    return grey.std() > 8 and (grey < 200).mean() > 0.01


# -- figures and tables -------------------------------------------------------------------


@pytest.mark.parametrize("which", ["run", "comparison"])
def test_every_figure_exists_is_a_png_and_is_not_blank(which, run_report, comparison_report):
    folder = run_report if which == "run" else comparison_report
    info = report_info(folder)
    keys = {Path(f["file"]).stem for f in info["figures"]}
    expected = {"occupancy", "waiting_list", "out_of_area", "community_caseload", "spend"}
    expected |= {"equity", "reinvestment_ledger"}
    if which == "comparison":
        expected.add("forest_more_team")
    assert expected <= keys
    for figure in info["figures"]:
        path = folder / "report" / figure["file"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width >= 1000, "figures are drawn large enough to read"
            assert not_blank(image), f"{path.name} is blank"
        data = pd.read_csv(folder / "report" / figure["data"])
        assert len(data) > 0
        assert not any(c.startswith("_") for c in data.columns)


@pytest.mark.parametrize("which", ["run", "comparison"])
def test_every_table_is_a_csv_with_readable_columns(which, run_report, comparison_report):
    folder = run_report if which == "run" else comparison_report
    info = report_info(folder)
    names = {Path(t).stem for t in info["tables"]}
    assert {"kpi_summary", "parameters", "stress_des_checklist", "provenance"} <= names
    if which == "comparison":
        assert {"comparison", "scenario_differences"} <= names
    for table in info["tables"]:
        frame = pd.read_csv(folder / "report" / table)
        assert len(frame) > 0
        for column in frame.columns:
            assert "_" not in column and not column.islower(), f"{table}: raw name {column!r}"
    kpis = pd.read_csv(folder / "report" / "tables" / "kpi_summary.csv")
    years = set(kpis["Financial year"])
    assert "2026/27" in years, "financial years written 2026/27"
    assert any(str(y).startswith("2027/28") for y in years)
    assert "Total spend (£)" in set(kpis["KPI"])


def test_the_summary_of_a_run_covers_each_pathway_in_plain_english(run_report):
    html = (run_report / "report" / "report.html").read_text()
    summary = pd.read_csv(run_report / "report" / "summary.csv")
    texts = list(dict.fromkeys(summary["Text"]))
    assert any("a year were admitted" in t for t in texts)
    assert any("Spend averaged £" in t for t in texts)
    shown = visible_text(html).replace("&#x27;", "'")
    assert all(" ".join(t.split()) in " ".join(shown.split()) for t in texts), "on the page"


# -- the summary agrees with the results folder's CSV files ----------------------------------


def source_row(folder: Path, row: pd.Series) -> tuple[float, float, float]:
    """The numbers a sentence quotes, read afresh from the results folder's own CSV."""
    kind = row["Source table"]
    if kind == "comparison.csv":
        table = pd.read_csv(folder / "comparison.csv", keep_default_na=False, na_values=[""])
        match = table[
            (table["alternative"] == row["Alternative"])
            & (table["pathway"] == row["Pathway"])
            & (table["kpi"] == row["KPI"])
            & (table["period"] == row["Period"])
            & (table["service"] == "all")
            & (table["unit"] == "all")
            & (table["place"] == "all")
        ]
        column = row["Column"]
        low, high = (
            ("pct_ci_low", "pct_ci_high")
            if column == "pct_change"
            else ("diff_ci_low", "diff_ci_high")
        )
        columns = (column, low, high)
    elif kind == "equity.csv":
        # The report's equity table: a quintile's mean or the most minus least deprived gap.
        table = pd.read_csv(folder / "report" / "tables" / "equity.csv")
        match = table[
            (table["Scenario"] == wording.scenario_label(row["Scenario"]))
            & (table["Pathway"] == wording.pathway_label(row["Pathway"]))
            & (table["Measure"] == wording.kpi_label_with_unit(row["KPI"]))
            & (table["Group"] == row["Group"])
        ]
        columns = ("Mean", "95% CI low", "95% CI high")
    else:
        run = folder if (folder / "summary.csv").is_file() else folder / row["Scenario"]
        if kind == "ledger_summary.csv":
            table = pd.read_csv(run / "ledger_summary.csv", keep_default_na=False, na_values=[""])
            match = table[
                (table["pathway"] == row["Pathway"])
                & (table["financial_year"] == row["Period"])
                & (table["item"] == row["KPI"])
            ]
        else:
            table = pd.read_csv(run / "summary.csv", keep_default_na=False, na_values=[""])
            match = table[
                (table["pathway"] == row["Pathway"])
                & (table["kpi"] == row["KPI"])
                & (table["period"] == row["Period"])
                & (table["service"] == "all")
                & (table["unit"] == "all")
                & (table["place"] == "all")
            ]
        columns = ("mean", "ci_low", "ci_high")
    assert len(match) == 1, (kind, dict(row))
    factor = float(row["Factor"])
    value, low, high = (float(match.iloc[0][c]) * factor for c in columns)
    # The summary cuts an interval where the quantity itself ends (documented on the page).
    if row["Column"] == "mean":
        low = max(low, 0.0)
        if str(row["KPI"]).endswith("_pct"):
            high = min(high, 100.0)
    elif row["Column"] == "pct_change":
        low, high = max(low, -100.0), max(high, -100.0)
    return value, low, high


def close(printed: str, expected: float) -> bool:
    parsed = wording.parse_quantity(printed)
    return abs(parsed - expected) <= wording.printed_precision(printed) + 1e-9 * abs(expected)


def check_sentences(folder: Path) -> int:
    summary = pd.read_csv(folder / "report" / "summary.csv", keep_default_na=False, na_values=[""])
    checked = 0
    for _, rows in summary.groupby("Sentence", sort=True):
        text = rows["Text"].iloc[0]
        quoted = rows[rows["Printed"].notna()] if "Printed" in rows else rows.iloc[0:0]
        found = list(CI.finditer(text))
        assert len(found) == len(quoted), f"every number in {text!r} is accounted for"
        previous = 0
        for match, (_, row) in zip(found, quoted.iterrows(), strict=True):
            value, low, high = source_row(folder, row)
            before, previous = text[previous : match.start()], match.end()
            if str(row["Printed without sign"]) == "True":
                # After a verb ("cuts", "raises", "less", "more") the numbers are sizes; the
                # verb in front of each number is its sign.
                down = re.search(r"\b(cuts|less)\b", before) is not None
                up = re.search(r"\b(raises|more)\b", before) is not None
                assert down == (value < 0) and up == (value > 0), text
                assert (low > 0 and high > 0) or (low < 0 and high < 0), "a clear difference"
                value, (low, high) = abs(value), sorted((abs(low), abs(high)))
            elif row["Source table"] == "comparison.csv":
                assert "no clear difference" in text
                assert low <= 0 <= high, "no clear difference only when the CI includes zero"
            assert close(match["value"], value), (text, value)
            # Without an interval printed, every replication agreed: the bounds are the mean.
            assert close(match["low"] or match["value"], low), (text, low)
            assert close(match["high"] or match["value"], high), (text, high)
            checked += 1
    return checked


def test_run_summary_sentences_agree_with_the_results_csv(run_report):
    assert check_sentences(run_report) >= 10


def test_comparison_summary_sentences_agree_with_the_results_csv(comparison_report):
    summary = pd.read_csv(comparison_report / "report" / "summary.csv")
    assert (summary["Source table"] == "comparison.csv").sum() >= 5
    assert check_sentences(comparison_report) >= 5


def test_a_difference_whose_interval_includes_zero_reads_no_clear_difference(comparison_report):
    summary = pd.read_csv(comparison_report / "report" / "summary.csv")
    table = pd.read_csv(comparison_report / "comparison.csv", keep_default_na=False)
    quoted = summary[summary["Source table"] == "comparison.csv"]
    for _, row in quoted.iterrows():
        match = table[
            (table["kpi"] == row["KPI"])
            & (table["period"] == row["Period"])
            & (table["pathway"] == row["Pathway"])
            & (table["service"] == "all")
            & (table["unit"] == "all")
            & (table["place"] == "all")
        ].iloc[0]
        clear = str(match["clear"]) == "True"
        # A clear difference is quoted after a verb that carries its sign; any other is
        # quoted with its sign in a sentence that says there is no clear difference.
        assert clear == bool(row["Printed without sign"]), row["Text"]
        if not clear:
            assert "no clear difference" in row["Text"], row["Text"]


# -- readable by a board member ----------------------------------------------------------


def visible_text(html: str) -> str:
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'src="data:[^"]+"', "", html)
    html = re.sub(r"</?(strong|b|i|span)\b[^>]*>", "", html).replace("\u2060", "")
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("which", ["run", "comparison"])
def test_the_page_shows_no_raw_names_and_writes_years_and_money_as_a_board_reads_them(
    which, run_report, comparison_report
):
    folder = run_report if which == "run" else comparison_report
    html = (folder / "report" / "report.html").read_text()
    text = visible_text(html)
    # Paths (the results folder, the scenario file) are quoted as they are; nothing else.
    prose = re.sub(r"\S*/\S*|\S+\.ya?ml|\S+\.csv", " ", text)
    for raw in RAW_NAMES:
        assert raw not in prose, f"raw name {raw!r} shown to the reader"
    assert "2026/27" in text
    assert re.search(r"£\d{1,3}(,\d{3})+|£\d+(\.\d)?m", text), "money as £ with separators"
    assert 'lang="en-GB"' in html
    assert "STRESS-DES" in text and "Author to complete" in text


def test_every_image_is_embedded_and_decodes(run_report):
    html = (run_report / "report" / "report.html").read_text()
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    info = report_info(run_report)
    assert len(sources) == len(info["figures"])
    for source in sources:
        assert source.startswith("data:image/png;base64,"), "self-contained: no linked files"
        image = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        assert not_blank(image)
    assert all('alt="' in tag and 'alt=""' not in tag for tag in re.findall(r"<img[^>]*>", html))


def test_sources_of_parameters_come_from_the_scenario_file(run_report):
    parameters = pd.read_csv(run_report / "report" / "tables" / "parameters.csv")
    beds = parameters[parameters["Source"] == SOURCE_NOTE]
    assert len(beds) == 1 and "beds" in beds["Value"].iloc[0]
    assert beds["Where"].iloc[0].startswith("base.yaml, line ")
    assert (parameters["Source"].str.contains("author to complete")).any()


def test_the_checklist_has_every_stress_des_item(run_report):
    checklist = pd.read_csv(run_report / "report" / "tables" / "stress_des_checklist.csv")
    items = list(checklist["Item"].astype(str))
    assert items[:3] == ["1.1", "1.2", "1.3"] and items[-1] == "6.1"
    assert len(items) == 24
    seed = json.loads((run_report / "manifest.json").read_text())["seed"]
    answers = " ".join(checklist["Answer"])
    assert str(seed) in answers and "3 independent replications" in answers
    assert set(checklist["Status"]) >= {"Filled from the results", "Author to complete"}


def test_a_part_financial_year_is_flagged_in_every_table(run_report):
    # Two years from 1 April 2026 are 730 days; 2027/28 has 366 (29 February 2028).
    flag = "2027/28 (a part year: 365 of its 366 days)"
    tables = run_report / "report" / "tables"
    assert flag in set(pd.read_csv(tables / "kpi_summary.csv")["Financial year"])
    html = visible_text((run_report / "report" / "report.html").read_text())
    assert flag in html
    assert "2026/27 (a part year" not in html


def test_wording_examples_hold():
    assert doctest.testmod(wording).failed == 0


# -- the PDF ------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["run", "comparison"])
def test_pdf_has_the_expected_pages_and_none_is_blank(which, run_report, comparison_report):
    pdfium = pytest.importorskip("pypdfium2")
    folder = run_report if which == "run" else comparison_report
    info = report_info(folder)
    pdf = pdfium.PdfDocument(str(folder / "report" / "report.pdf"))
    pages = len(pdf)
    sections = info["pdf"]["sections"]
    figures = len(info["figures"])
    assert pages == info["pdf"]["pages"]
    # Summary, one page per figure, then tables, method and checklist from a new page each.
    figure_pages = [sections[f"Figure {i}"] for i in range(1, figures + 1)]
    assert figure_pages == list(range(figure_pages[0], figure_pages[0] + figures))
    assert sections["Summary"] == 1 and figure_pages[0] >= 2
    order = ["Tables", "Method and assumptions", "STRESS-DES reporting checklist"]
    starts = [sections[name] for name in order]
    assert figure_pages[-1] < starts[0] < starts[1] < starts[2] <= pages
    assert pages >= 1 + figures + 3
    for index in range(pages):
        page = pdf[index]
        text = page.get_textpage().get_text_range()
        assert f"page {index + 1} of {pages}" in text
        image = page.render(scale=0.6).to_pil()
        assert not_blank(image), f"page {index + 1} is blank"
    for name, start in sections.items():
        heading = name if not name.startswith("Figure") else f"{name}."
        assert heading in pdf[start - 1].get_textpage().get_text_range(), name


# -- headless Chromium ----------------------------------------------------------------------


def chromium() -> str:
    """Debian's chromium, installed here when it is missing (the tests run as root)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=900)
        subprocess.run(
            ["apt-get", "install", "-y", "chromium"],
            check=True,
            capture_output=True,
            timeout=1800,
            env=env,
        )
    return path


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


CHECK_IMAGES = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  const out = document.createElement("div");
  out.id = "image-check";
  out.textContent = `images=${images.length} broken=${broken}`;
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.slow
@pytest.mark.parametrize("which", ["run", "comparison"])
def test_html_opens_in_headless_chromium_with_no_broken_images(
    which, run_report, comparison_report, tmp_path
):
    folder = run_report if which == "run" else comparison_report
    html = (folder / "report" / "report.html").read_text()
    # A copy with a small script that counts images the browser failed to decode.
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", CHECK_IMAGES + "</body>"))
    done = browse(
        probe,
        tmp_path / "profile",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=10000",
        "--dump-dom",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = len(report_info(folder)["figures"])
    assert f"images={figures} broken=0" in done.stdout
    # And a screenshot of the report itself, kept beside it for a person to look at.
    shot = folder / "report-screenshot.png"
    done = browse(
        folder / "report" / "report.html",
        tmp_path / "profile2",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        assert not_blank(image)
        # The NHS blue banner is at the top of the page.
        r, g, b = image.convert("RGB").getpixel((10, 10))
        assert (r, g, b) == (0, 94, 184)
    print(f"screenshot: {shot}")


# -- bad input and rewriting --------------------------------------------------------------


def test_a_missing_folder_is_refused_with_one_line_and_status_2(tmp_path):
    done = pathways("report", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_folder_that_is_not_results_is_refused_with_a_hint(tmp_path, run_report):
    done = pathways("report", str(tmp_path))
    assert done.returncode == 2
    assert "not a results folder" in done.stderr and "Traceback" not in done.stderr
    holder = run_report.parent  # results/<scenario>/ holds the run folder
    done = pathways("report", str(holder))
    assert done.returncode == 2 and str(run_report) in done.stderr
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.csv").write_text("a,b\n1,2\n")
    done = pathways("report", str(tmp_path / "broken"))
    assert done.returncode == 2 and "incomplete results folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_report_rewrites_its_own_folder_whole_and_refuses_another(run_report, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    done = pathways("report", str(run_report), "--out", str(other))
    assert done.returncode == 2 and "not a report folder" in done.stderr
    assert (other / "mine.txt").read_text() == "keep me"
    out = tmp_path / "copy"
    first = write_report(run_report, out)
    second = write_report(run_report, out)
    assert first.html == second.html and second.html.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging left"


def test_the_report_reads_results_and_never_runs_the_model(run_report, tmp_path, monkeypatch):
    from simulation.model import model

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the report ran the model")

    monkeypatch.setattr(model.Model, "run", refuse)
    files = write_report(run_report, tmp_path / "again")
    assert files.html.is_file()


def test_a_one_year_run_is_one_year_in_words(tmp_path: Path) -> None:
    # Not "1 years", nor a span "2026/27 to 2026/27".
    data = yaml.safe_load(scenario_text("one_year"))
    data["horizon_years"] = 1.0
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    scenario = load_scenario(tmp_path / "one.yaml")
    folder = write_results(run_experiment(scenario, replications=2, workers=1), tmp_path / "r")
    write_report(folder)
    text = re.sub(r"<[^>]+>", " ", (folder / "report" / "report.html").read_text())
    assert "1 year from 1 April 2026 (2026/27)" in text
    assert "1 years" not in text and "2026/27 to 2026/27" not in text


def test_the_ledgers_saving_and_reinvestment_have_a_scale_of_their_own(run_report: Path) -> None:
    # Beside a budget of millions they did not show: now a panel fits them, not the budget.
    from simulation.report.moneyfigures import ledger_figure, ledger_panels
    from simulation.report.style import house_style
    from simulation.store.reader import read_results_folder

    run = read_results_folder(run_report)
    panels = ledger_panels([run])  # type: ignore[list-item]
    assert [pathway for _, pathway in panels] == ["adult_secure"]
    with house_style():
        figure, alt = ledger_figure(panels, several=False)
    budget_ax, saving_ax = figure.subfigs[0].axes
    assert (budget_ax.get_title(loc="left"), saving_ax.get_title(loc="left")) == (
        "Budget and spend",
        "Saving and reinvestment",
    )
    ledger = run.ledger_summary  # type: ignore[union-attr]
    rows = ledger[(ledger["pathway"] == "adult_secure")]
    small = rows[rows["item"].isin(["savings_gbp", "reinvested_gbp"])]
    extent = np.nanmax(np.abs(small[["mean", "ci_low", "ci_high"]].to_numpy(float)))
    budget = float(rows.loc[rows["item"] == "budget_gbp", "mean"].max())
    unit = 1e6 if saving_ax.get_ylabel() == "£ million" else 1e3
    saving_top = max(abs(v) for v in saving_ax.get_ylim()) * unit
    budget_top = max(abs(v) for v in budget_ax.get_ylim()) * 1e6
    assert extent <= saving_top <= 2 * extent  # fits the saving, whatever the budget
    assert saving_top < budget <= budget_top
    assert alt and "reinvested over the period in total" in alt[0]
