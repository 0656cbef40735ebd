"""The comparison summary of every shipped choice can never give a board the wrong sign.

Every shipped alternative is compared with the baseline (a few replications each, the
shipped five-year horizon) and the report's summary is read back sentence by sentence.
For each number quoted: the row of ``comparison.csv`` for the period the sentence
names gives the same number; the verb in front of it (cuts, raises, less, more) has the
sign of that row; the period is named right after it; and for each pathway and KPI the
whole period is stated before any single year. Where a year's clear effect runs against
the whole period's, the summary quotes such a year.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from simulation import load_scenario
from simulation.core.safetext import as_written
from simulation.experiment.comparison import run_comparison
from simulation.report import wording
from simulation.report.narrative import DIFFERENCE_KPIS
from simulation.report.publish import write_report
from simulation.store.writer import write_comparison

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASE = SCENARIOS / "baseline.yaml"
ALTERNATIVES = sorted(p for p in SCENARIOS.glob("*.yaml") if p != BASE)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The comparison of every shipped alternative with the baseline, with its report."""
    base = load_scenario(BASE)
    alternatives = [load_scenario(p) for p in ALTERNATIVES]
    result = run_comparison(base, alternatives, replications=4, workers=1)
    paths = {s.name: p for s, p in zip([base, *alternatives], [BASE, *ALTERNATIVES], strict=True)}
    folder = write_comparison(result, tmp_path_factory.mktemp("shipped"), paths)
    write_report(folder, pdf=False)
    return folder


def _table(folder: Path) -> pd.DataFrame:
    t = pd.read_csv(folder / "comparison.csv", keep_default_na=False, na_values=[""])
    return t[(t["service"] == "all") & (t["unit"] == "all") & (t["place"] == "all")]


def _row(table: pd.DataFrame, alternative: str, pathway: str, kpi: str, period: str) -> pd.Series:
    match = table[
        (table["alternative"] == alternative)
        & (table["pathway"] == pathway)
        & (table["kpi"] == kpi)
        & (table["period"] == period)
    ]
    assert len(match) == 1, (alternative, pathway, kpi, period)
    return match.iloc[0]


def _close(printed: str, expected: float) -> bool:
    parsed = wording.parse_quantity(printed)
    return abs(parsed - expected) <= wording.printed_precision(printed) + 1e-9 * abs(expected)


def test_every_shipped_alternative_is_compared(shipped):
    table = _table(shipped)
    assert set(table["alternative"]) == {load_scenario(p).name for p in ALTERNATIVES}
    assert len(ALTERNATIVES) >= 6


def test_each_sentence_quotes_the_sign_and_number_of_the_period_it_names(shipped):
    table = _table(shipped)
    summary = pd.read_csv(shipped / "report" / "summary.csv", keep_default_na=False)
    # "+1% (95% CI ...)" is written as "'+1% ..." so that a spreadsheet shows it as text
    summary["Printed"] = summary["Printed"].map(lambda cell: as_written(str(cell)))
    quoted = summary[summary["Source table"] == "comparison.csv"]
    assert len(quoted) >= 30
    years = sorted(p for p in table["period"].unique() if p != "horizon")
    span = f"over {years[0]} to {years[-1]}"
    checked = 0
    for _, rows in quoted.groupby("Sentence", sort=True):
        text = str(rows["Text"].iloc[0])
        position = 0
        spots = []
        for _, row in rows.iterrows():
            at = text.find(str(row["Printed"]), position)
            assert at >= 0, (text, row["Printed"])
            spots.append((at, at + len(str(row["Printed"])), row))
            position = at + len(str(row["Printed"]))
        for i, (start, end, row) in enumerate(spots):
            before = text[spots[i - 1][1] if i else 0 : start]
            after = text[end : spots[i + 1][0] if i + 1 < len(spots) else len(text)]
            period = str(row["Period"])
            source = _row(table, row["Alternative"], row["Pathway"], row["KPI"], period)
            # The period the number belongs to is named right after it (or, for a list
            # of differences that are not clear, once before the list).
            named = span if period == "horizon" else f"in {period}"
            listed = wording.NO_CLEAR in text and named in text[: spots[0][0]]
            assert named in after or listed, (text, period)
            column = str(row["Column"])
            factor = float(row["Factor"])
            value = float(source[column]) * factor
            assert _close(
                str(row["Printed"]).split(" ")[0],
                abs(value) if row["Printed without sign"] == "True" else value,
            ), (text, value)
            clear = str(source["clear"]) == "True"
            if row["Printed without sign"] == "True":
                assert clear, text
                down = re.search(r"\b(cuts|less)\b", before) is not None
                up = re.search(r"\b(raises|more)\b", before) is not None
                assert down != up, (text, before)
                assert down == (value < 0), (text, value)
            else:
                assert not clear and wording.NO_CLEAR in text, text
            checked += 1
    assert checked == len(quoted)


def test_the_whole_period_comes_first_and_reversals_are_told(shipped):
    table = _table(shipped)
    summary = pd.read_csv(shipped / "report" / "summary.csv", keep_default_na=False)
    quoted = summary[summary["Source table"] == "comparison.csv"]
    reversals = 0
    for (alternative, pathway, kpi), group in table[table["kpi"].isin(DIFFERENCE_KPIS)].groupby(
        ["alternative", "pathway", "kpi"]
    ):
        said = quoted[
            (quoted["Alternative"] == alternative)
            & (quoted["Pathway"] == pathway)
            & (quoted["KPI"] == kpi)
        ]
        if said.empty:
            continue
        assert said["Period"].iloc[0] == "horizon", (alternative, pathway, kpi)
        horizon = group[group["period"] == "horizon"].iloc[0]
        if not bool(horizon["clear"]) or math.isnan(float(horizon["diff_mean"])):
            continue
        against = group[
            (group["period"] != "horizon")
            & group["clear"].astype(bool)
            & ((group["diff_mean"] < 0) != (float(horizon["diff_mean"]) < 0))
        ]
        if against.empty:
            continue
        reversals += 1
        told = said[said["Period"].isin(set(against["period"]))]
        assert not told.empty, f"{alternative} {pathway} {kpi}: a year runs the other way"
        assert "at first" in str(told["Text"].iloc[0]) or "opposite" in str(told["Text"].iloc[0])
    # The shipped close-beds choice is worse at first and better later for out-of-area days.
    assert reversals >= 1


def test_the_baselines_sources_come_from_its_comments_or_the_scenarios_readme(shipped):
    parameters = pd.read_csv(shipped / "report" / "tables" / "parameters.csv")
    unstated = parameters[parameters["Source"].str.contains("author to complete")]
    assert unstated.empty, unstated[["Parameter", "Where"]].to_string()
    readme = parameters[parameters["Where"] == "scenarios/README.md"]
    assert len(readme) >= 20
    # The README's own words, not a paraphrase: the medium secure out-of-area cost.
    medium = readme[readme["Parameter"] == "Medium secure: out-of-area bed day"]
    assert medium["Source"].iloc[0].startswith("cost assumption: spot purchase ~15% above")
