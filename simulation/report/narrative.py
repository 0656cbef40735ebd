"""The summary in plain English, written from the results and never by hand.

A board member reads the summary page first, and may read nothing else, so every
sentence on it is generated from the results folder's tables and quotes its numbers
with their 95% confidence intervals: "About 77 patients a year (95% CI 71 to 83) were
admitted". A comparison speaks of paired differences in the last financial year
over the whole period first: "cuts out-of-area admissions by 67% (95% CI 42% to 92%)
over 2026/27 to 2030/31"; a financial year's figure always names its year, and a year
whose clear effect runs the other way from the whole period's is said in plain words
("worse at first, better by 2030/31"). A difference whose interval includes zero is
written as *no clear difference*, never as a cut or a rise; a year only partly inside
the period says so.

Each :class:`Statement` keeps, beside its text, every :class:`Quantity` it quotes:
the table, row and column the number came from and the factor applied (``1/years`` for
a yearly average). The report writes them to ``summary.csv``, and the tests read the
sentences back and check each number against the results folder.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulation.report.figures import summary_value
from simulation.report.tables import equity_frame
from simulation.report.wording import (
    ADDITIVE_KPIS,
    NO_CLEAR,
    estimate,
    feasible,
    in_sentence,
    pathway_label,
    scenario_label,
    years_span,
)
from simulation.store.reader import ComparisonFolder, RunFolder

CI = "95% CI"

DIFFERENCE_KPIS = (
    "ooa_admissions",
    "ooa_bed_days",
    "wait_referral_mean_days",
    "occupancy_pct",
    "delayed_discharge_days",
    "admissions",
    "cost_total_gbp",
)
"""KPIs whose paired differences the comparison summary states, per pathway."""

PHRASES = {
    "admissions": "admissions",
    "ooa_admissions": "out-of-area admissions",
    "ooa_bed_days": "out-of-area bed days",
    "wait_referral_mean_days": "the mean wait from referral to admission",
    "wait_mean_days": "the mean wait from acceptance to admission",
    "wait_p90_days": "the 90th percentile wait",
    "occupancy_pct": "bed occupancy",
    "delayed_discharge_days": "delayed discharge days",
    "cost_total_gbp": "total spend",
    "cost_community_gbp": "spend on community places",
    "community_caseload_mean": "the community caseload",
    "diversions": "diversions to community teams",
}
"""KPIs as the object of a sentence."""

DECREASE = "cuts"
INCREASE = "raises"


@dataclass(frozen=True)
class Quantity:
    """One number quoted in a sentence, and exactly where it came from."""

    table: str
    """``summary.csv``, ``comparison.csv`` or ``ledger_summary.csv``."""
    scenario: str
    """The scenario whose folder holds the table (the base, for ``comparison.csv``)."""
    alternative: str
    pathway: str
    kpi: str
    period: str
    column: str
    """The column quoted: ``mean``, ``diff_mean`` or ``pct_change`` (CIs beside them)."""
    factor: float
    """Printed value = table value x factor (``1/years`` for a yearly average)."""
    value: float
    low: float
    high: float
    printed: str
    """The text as it appears: ``38% (95% CI 31% to 45%)``."""
    magnitude: bool = False
    """True when printed without sign because a verb (cuts, raises) carries it."""
    group: str = ""
    """For ``equity.csv``: the row's group (``Quintile 1 (most deprived)``, ``Gap: ...``)."""


@dataclass(frozen=True)
class Statement:
    """One sentence of the summary and the quantities it quotes, in order."""

    heading: str
    text: str
    quantities: tuple[Quantity, ...] = field(default=())


def _fmt(
    kpi: str, value: float, low: float, high: float, magnitude: bool = False, unit: str = ""
) -> str:
    """The printed estimate; after a verb (``magnitude``) without signs, smaller bound first."""
    if magnitude:
        value, low, high = abs(value), abs(low), abs(high)
        low, high = min(low, high), max(low, high)
    return estimate(kpi, value, low, high, signed=False, unit=unit, difference=magnitude)


def _summary_quantity(
    run: RunFolder, kpi: str, period: str, pathway: str, per_year: bool = False, unit: str = ""
) -> Quantity | None:
    mean, low, high = summary_value(run, kpi, period, pathway)
    if math.isnan(mean):
        return None
    factor = 1 / run.horizon_years if per_year and kpi in ADDITIVE_KPIS else 1.0
    value = mean * factor
    lo, hi = feasible(kpi, "mean", low * factor, high * factor)
    return Quantity(
        "summary.csv", run.name, "", pathway, kpi, period, "mean", factor, value, lo, hi,
        _fmt(kpi, value, lo, hi, unit=unit),
    )  # fmt: skip


def _sentence(heading: str, template: str, *quantities: Quantity | None) -> Statement | None:
    """Fill ``{0}``, ``{1}``... with the quantities; None if any is missing."""
    if any(q is None for q in quantities):
        return None
    found = tuple(q for q in quantities if q is not None)
    return Statement(heading, template.format(*(q.printed for q in found)), found)


def _years_text(run: RunFolder) -> str:
    return years_span(run.financial_years, "the period modelled")


def overview(run: RunFolder) -> Statement:
    """What was run: scenario, replications, period, warm-up (from the manifest)."""
    n = run.replications
    warmup = float(run.manifest.get("warmup_days") or 0)
    warm = (
        f", after a warm-up of {warmup / 365.25:.0f} years that is not reported"
        if warmup >= 365
        else (f", after a warm-up of {warmup:.0f} days" if warmup else "")
    )
    return Statement(
        "Overview",
        f"{scenario_label(run.name)}: {n} replication{'s' if n != 1 else ''} of "
        f"{run.horizon_years:g} year{'s' if run.horizon_years != 1 else ''} from "
        f"{run.start_date:%-d %B %Y} ({_years_text(run)}){warm}. Every number is the average "
        f"over the replications with its 95% confidence interval ({CI}); an interval is cut "
        "at zero (and at 100% for a share) where the quantity itself ends.",
    )


def run_statements(run: RunFolder) -> list[Statement]:
    """The summary of one run: per pathway, activity, waits, beds, delays and money."""
    out: list[Statement | None] = [overview(run)]
    h = "horizon"
    equity = equity_frame(run)
    for pathway in run.pathways:
        head = pathway_label(pathway)

        def q(
            kpi: str, per_year: bool = False, unit: str = "", p: str = pathway
        ) -> Quantity | None:
            return _summary_quantity(run, kpi, h, p, per_year, unit)

        out += [
            _sentence(
                head,
                "About {0} a year were admitted, and {1} of admissions were placed out of area.",
                q("admissions", True, "patients"),
                q("ooa_admission_pct"),
            ),
            _sentence(
                head,
                "Patients waited {0} on average from referral to admission, of which {1} "
                "from acceptance onto the waiting list; one in ten waited more than {2} "
                "from referral.",
                q("wait_referral_mean_days", unit="days"),
                q("wait_mean_days", unit="days"),
                q("wait_referral_p90_days", unit="days"),
            ),
            _sentence(
                head,
                "Half of all stays in a bed lasted more than {0}, counting the stays still "
                "going at the end (a Kaplan-Meier median); the stays that ended in the period "
                "averaged {1}, a mean that leaves out the stays still going.",
                q("los_median_km_days", unit="days"),
                q("los_mean_days", unit="days"),
            ),
            _sentence(
                head,
                "Beds were {0} occupied on average, and on an average day {1} were in "
                "out-of-area beds.",
                q("occupancy_pct"),
                q("ooa_census_mean", unit="patients"),
            ),
            _sentence(
                head,
                "Patients ready to leave spent {0} a year in a bed waiting for a step-down "
                "or community place (delayed discharges).",
                q("delayed_discharge_days", True, "days"),
            ),
            _sentence(
                head,
                "Spend averaged {0} a year, of which {1} a year on out-of-area beds.",
                q("cost_total_gbp", True),
                q("cost_ooa_gbp", True),
            ),
        ]
        caseload = q("community_caseload_mean", unit="patients")
        if caseload is not None and caseload.value > 0:
            out.append(
                _sentence(
                    head,
                    "Community teams held {0} on their caseloads on an average day.",
                    caseload,
                )
            )
        out.append(_reinvestment(run, pathway))
        out.append(equity_statement(run, pathway, equity))
    out.append(
        _sentence(
            pathway_label("all"),
            "Across the collaborative, spend averaged {0} a year.",
            _summary_quantity(run, "cost_total_gbp", h, "all", True),
        )
    )
    return [s for s in out if s is not None]


def equity_statement(run: RunFolder, pathway: str, equity: pd.DataFrame) -> Statement | None:
    """The most against the least deprived places: waits from referral, and the gap.

    Quotes ``equity.csv`` (the report's equity table): each quintile's mean wait and the
    paired gap, and the gaps in out-of-area share and distance from home.
    """
    if equity.empty:
        return None
    sel = equity[(equity["Pathway key"] == pathway)]

    def found(kpi: str, prefix: str, unit: str = "") -> Quantity | None:
        rows = sel[(sel["Key"] == kpi) & sel["Group"].str.startswith(prefix)]
        if rows.empty or pd.isna(rows["Mean"].iloc[0]):
            return None
        r = rows.iloc[0]
        mean, low, high = (float(r[c]) for c in ("Mean", "95% CI low", "95% CI high"))
        gap = prefix == "Gap"
        if gap:
            shown = "points" if kpi.endswith("_pct") else kpi
            unit = "percentage points" if kpi.endswith("_pct") else unit
            printed = estimate(shown, mean, low, high, signed=True, unit=unit)
        else:
            low, high = feasible(kpi, "mean", low, high)
            printed = _fmt(kpi, mean, low, high, unit=unit)
        return Quantity(
            "equity.csv", run.name, "", pathway, kpi, "horizon", "gap" if gap else "mean",
            1.0, mean, low, high, printed, group=str(r["Group"]),
        )  # fmt: skip

    gaps = sel[sel["Group"].str.startswith("Gap")]
    if gaps.empty:
        return None
    most, least = (int(x) for x in re.findall(r"\d+", str(gaps["Group"].iloc[0]))[:2])
    wait_most = found("wait_referral_mean_days", f"Quintile {most}", "days")
    wait_least = found("wait_referral_mean_days", f"Quintile {least}", "days")
    wait_gap = found("wait_referral_mean_days", "Gap", "days")
    ooa_gap = found("ooa_admission_pct", "Gap")
    miles_gap = found("distance_mean_miles", "Gap", "miles")
    if wait_most is None or wait_least is None or wait_gap is None:
        return None
    quantities = [wait_most, wait_least, wait_gap]

    def verdict(q: Quantity, worse: str, better: str) -> str:
        clear = (q.low > 0 or q.high < 0) and not math.isnan(q.low)
        if not clear:
            return NO_CLEAR
        return worse if q.value > 0 else better

    text = (
        f"Equity: patients from the most deprived places (quintile {most}) waited "
        f"{wait_most.printed} from referral, against {wait_least.printed} in the least "
        f"deprived (quintile {least}), a gap of {wait_gap.printed}: "
        f"{verdict(wait_gap, 'longer for the most deprived', 'shorter for the most deprived')}."
    )
    if ooa_gap is not None and miles_gap is not None:
        text += (
            f" The most deprived minus the least deprived: {ooa_gap.printed} in the share of "
            f"admissions placed out of area "
            f"({verdict(ooa_gap, 'more often away', 'less often away')}), and "
            f"{miles_gap.printed} in distance from home "
            f"({verdict(miles_gap, 'further from home', 'nearer home')})."
        )
        quantities += [ooa_gap, miles_gap]
    return Statement(pathway_label(pathway), text, tuple(quantities))


def _reinvestment(run: RunFolder, pathway: str) -> Statement | None:
    """The last year's reinvestment, for a pathway with a reinvestment rule."""
    ledger = run.ledger_summary
    rules = {str(r.get("pathway")) for r in run.scenario.get("reinvestment") or []}
    if ledger is None or pathway not in rules or not run.financial_years:
        return None
    year = run.financial_years[-1]
    rows = ledger[
        (ledger["pathway"] == pathway)
        & (ledger["financial_year"] == year)
        & (ledger["item"] == "reinvested_gbp")
    ]
    if rows.empty or pd.isna(rows["mean"].iloc[0]):
        return None
    row = rows.iloc[0]
    mean, low, high = (float(row.get(c, np.nan)) for c in ("mean", "ci_low", "ci_high"))
    low, high = feasible("reinvested_gbp", "mean", low, high)
    found = Quantity(
        "ledger_summary.csv", run.name, "", pathway, "reinvested_gbp", year, "mean", 1.0,
        mean, low, high, _fmt("cost_total_gbp", mean, low, high),
    )  # fmt: skip
    return Statement(
        pathway_label(pathway),
        f"At the end of {year_text(run, year)}, {found.printed} of savings was reinvested in "
        "community places.",
        (found,),
    )


def _comparison_row(
    comparison: ComparisonFolder, alternative: str, kpi: str, period: str, pathway: str
) -> pd.Series | None:
    t = comparison.table
    rows = t[
        (t["alternative"] == alternative)
        & (t["kpi"] == kpi)
        & (t["period"] == period)
        & (t["pathway"] == pathway)
        & (t["service"] == "all")
        & (t["unit"] == "all")
        & (t["place"] == "all")
    ]
    return None if rows.empty else rows.iloc[0]


def _difference(
    comparison: ComparisonFolder, alternative: str, kpi: str, period: str, pathway: str
) -> tuple[Quantity, bool] | None:
    """The quantity of a paired difference and whether it is clear.

    A relative change (``pct_change``) where the base is not zero; a difference in
    percentage points for a percentage KPI; else the difference itself.
    """
    row = _comparison_row(comparison, alternative, kpi, period, pathway)
    if row is None or pd.isna(row["diff_mean"]):
        return None
    clear = bool(row["clear"])
    if kpi.endswith("_pct") or pd.isna(row["pct_change"]):
        column, shown, unit = "diff_mean", kpi, ""
        value, low, high = (float(row[c]) for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
        if kpi.endswith("_pct"):
            shown, unit = "points", "percentage points"
    else:
        column, shown, unit = "pct_change", "pct_change", ""
        value, low, high = (float(row[c]) for c in ("pct_change", "pct_ci_low", "pct_ci_high"))
        low, high = feasible(kpi, column, low, high)
    printed = (
        _fmt(shown, value, low, high, magnitude=True, unit=unit)
        if clear
        else estimate(shown, value, low, high, signed=True, unit=unit)
    )
    found = Quantity(
        "comparison.csv", comparison.base.name, alternative, pathway, kpi, period, column,
        1.0, value, low, high, printed, magnitude=clear,
    )  # fmt: skip
    return found, clear


LOWER_IS_BETTER = frozenset(
    (
        "ooa_admissions",
        "ooa_bed_days",
        "wait_referral_mean_days",
        "wait_mean_days",
        "delayed_discharge_days",
    )
)
"""KPIs where a cut is plainly better for patients; the others read *higher* or *lower*."""


def year_text(run: RunFolder, year: str) -> str:
    """A financial year as a sentence names it, with a part year flagged."""
    return run.year_label(year)


def _direction(kpi: str, value: float) -> str:
    if kpi in LOWER_IS_BETTER:
        return "better" if value < 0 else "worse"
    return "lower" if value < 0 else "higher"


def _pathway_differences(
    comparison: ComparisonFolder, name: str, pathway: str, head: str
) -> list[Statement]:
    """A pathway's differences: the whole period first, then years that run the other way."""
    base = comparison.base
    label = in_sentence(pathway_label(pathway))
    span = f"over {_years_text(base)}"
    out: list[Statement] = []
    patterns: list[Statement] = []
    unclear: list[tuple[Quantity, str]] = []
    for kpi in DIFFERENCE_KPIS:
        found = _difference(comparison, name, kpi, "horizon", pathway)
        if found is None:
            continue
        q, clear = found
        phrase = PHRASES.get(kpi, kpi)
        if clear:
            verb = DECREASE if q.value < 0 else INCREASE
            out.append(
                Statement(
                    head,
                    f"{scenario_label(name)} {verb} {phrase} in {label} by {q.printed} {span}.",
                    (q,),
                )
            )
        else:
            unclear.append((q, phrase))
        pattern = _reversal(comparison, name, kpi, pathway, q if clear else None)
        if pattern is not None:
            patterns.append(pattern)
    if unclear:
        parts = [f"{phrase}, {q.printed}" for q, phrase in unclear]
        listed = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; or " + parts[-1]
        out.append(
            Statement(
                head,
                f"In {label}, {NO_CLEAR} {span} in {listed}.",
                tuple(q for q, _ in unclear),
            )
        )
    return out + patterns


def _reversal(
    comparison: ComparisonFolder,
    name: str,
    kpi: str,
    pathway: str,
    horizon: Quantity | None,
) -> Statement | None:
    """A sentence on the years whose clear effect is not the whole period's, if any.

    ``horizon`` is the whole period's difference when it is clear, else None.
    """
    base = comparison.base
    years = base.financial_years
    if len(years) < 2:
        return None
    yearly = [
        (year, *found)
        for year in years
        if (found := _difference(comparison, name, kpi, year, pathway)) is not None
    ]
    against = [
        year
        for year, q, clear in yearly
        if clear and (horizon is None or (q.value < 0) != (horizon.value < 0))
    ]
    if not against:
        return None
    label = in_sentence(pathway_label(pathway))
    return _year_pattern(base, name, kpi, label, horizon, yearly)


def _year_pattern(
    base: RunFolder,
    name: str,
    kpi: str,
    label: str,
    horizon: Quantity | None,
    yearly: list[tuple[str, Quantity, bool]],
) -> Statement:
    """The years whose clear effect differs from the whole period's, each named.

    Quotes the first and the last clear year (when their signs differ) or every clear
    year against the whole period, and says in plain words how the effect moves.
    """
    phrase = PHRASES.get(kpi, kpi)
    clear_years = [(year, q) for year, q, c in yearly if c]
    first_year, first = clear_years[0]
    last_year, last = clear_years[-1]
    if horizon is not None:
        against = [(y, q) for y, q in clear_years if (q.value < 0) != (horizon.value < 0)]
        quoted = [against[0], against[-1]] if len(against) > 1 else against
        lead = (
            f"Year by year {scenario_label(name)} does not act the same way on {phrase} in "
            f"{label}: "
        )
        tail = "the opposite of its effect over the whole period"
    else:
        quoted = (
            [(first_year, first), (last_year, last)]
            if first_year != last_year
            else [(first_year, first)]
        )
        lead = (
            f"Though over the whole period {scenario_label(name)} makes {NO_CLEAR} to "
            f"{phrase} in {label}, year by year: "
        )
        tail = "though not over the whole period"
    parts = []
    for year, q in quoted:
        verb = DECREASE if q.value < 0 else INCREASE
        pronoun = "them" if phrase.endswith("s") else "it"
        parts.append(f"it {verb} {pronoun} by {q.printed} in {year_text(base, year)}")
    text = lead + " and ".join(parts) + f", {tail}"
    if (first.value < 0) != (last.value < 0):
        start, end = _direction(kpi, first.value), _direction(kpi, last.value)
        change = next(
            year for year, q in reversed(clear_years) if (q.value < 0) != (last.value < 0)
        )
        after = next(y for y, _ in clear_years if y > change)
        text += f" ({start} at first, {end} by {after})"
    head = f"{scenario_label(name)} compared with {scenario_label(base.name)}"
    return Statement(head, text + ".", tuple(q for _, q in quoted))


def comparison_statements(comparison: ComparisonFolder) -> list[Statement]:
    """Per alternative: what it changes, pathway by pathway, over the whole period first."""
    base = comparison.base
    out: list[Statement] = [overview(base)]
    out[0] = Statement(
        "Overview",
        out[0].text.replace(
            f"{scenario_label(base.name)}: ",
            f"{scenario_label(base.name)} and {len(comparison.alternatives)} alternative"
            f"{'s' if len(comparison.alternatives) != 1 else ''}, each ",
            1,
        )
        + " Differences are paired replication by replication and stated over the whole "
        "period; a financial year's figure names its year. A difference whose interval "
        f"includes zero is called {NO_CLEAR}.",
    )
    equity = equity_frame(base)
    for pathway in base.pathways:
        statement = equity_statement(base, pathway, equity)
        if statement is not None:
            out.append(
                Statement(
                    f"Equity in {scenario_label(base.name)}",
                    statement.text.replace(
                        "Equity: p",
                        f"In {scenario_label(base.name)}, {in_sentence(pathway_label(pathway))}: p",
                        1,
                    ),
                    statement.quantities,
                )
            )
    for alt in comparison.alternatives:
        name = alt.name
        head = f"{scenario_label(name)} compared with {scenario_label(base.name)}"
        description = str(alt.scenario.get("description") or "").strip()
        if description:
            out.append(Statement(head, f"{scenario_label(name)}: {description}"))
        note = comparison.notes.get(name)
        if note:
            for raw in (name, base.name):
                note = note.replace(raw, scenario_label(raw))
            out.append(Statement(head, note[:1].upper() + note[1:]))
        for pathway in base.pathways:
            label = pathway_label(pathway)
            if comparison.unchanged(name, pathway):
                out.append(
                    Statement(
                        head,
                        f"{scenario_label(name)} changes nothing in {in_sentence(label)}: every "
                        "number is identical in every replication.",
                    )
                )
                continue
            community = _community_spend(comparison, name, pathway)
            if community is not None:
                out.append(community)
            out += _pathway_differences(comparison, name, pathway, head)
        spend = _spend_difference(comparison, name)
        if spend is not None:
            out.append(Statement(head, spend[0], (spend[1],)))
            whole = _difference(comparison, name, "cost_total_gbp", "horizon", "all")
            if whole is not None:
                pattern = _reversal(
                    comparison, name, "cost_total_gbp", "all", whole[0] if whole[1] else None
                )
                if pattern is not None:
                    out.append(pattern)
    return out


def _community_spend(
    comparison: ComparisonFolder, alternative: str, pathway: str
) -> Statement | None:
    """What an alternative puts into community places in a pathway, a year, if clear."""
    base = comparison.base
    row = _comparison_row(comparison, alternative, "cost_community_gbp", "horizon", pathway)
    if row is None or pd.isna(row["diff_mean"]) or not bool(row["clear"]):
        return None
    factor = 1 / base.horizon_years
    value, low, high = (
        float(row[c]) * factor for c in ("diff_mean", "diff_ci_low", "diff_ci_high")
    )
    printed = _fmt("cost_community_gbp", value, low, high, magnitude=True)
    found = Quantity(
        "comparison.csv", base.name, alternative, pathway, "cost_community_gbp", "horizon",
        "diff_mean", factor, value, low, high, printed, magnitude=True,
    )  # fmt: skip
    side = "less" if value < 0 else "more"
    return Statement(
        f"{scenario_label(alternative)} compared with {scenario_label(base.name)}",
        f"{scenario_label(alternative)} spends {side} than {scenario_label(base.name)} on "
        f"community places in {in_sentence(pathway_label(pathway))}, by {printed} a year "
        f"over {_years_text(base)}.",
        (found,),
    )


def _spend_difference(
    comparison: ComparisonFolder, alternative: str
) -> tuple[str, Quantity] | None:
    """The whole collaborative's difference in spend a year over the period."""
    base = comparison.base
    row = _comparison_row(comparison, alternative, "cost_total_gbp", "horizon", "all")
    if row is None or pd.isna(row["diff_mean"]):
        return None
    factor = 1 / base.horizon_years
    value, low, high = (
        float(row[c]) * factor for c in ("diff_mean", "diff_ci_low", "diff_ci_high")
    )
    clear = bool(row["clear"])
    printed = (
        _fmt("cost_total_gbp", value, low, high, magnitude=True)
        if clear
        else estimate("cost_total_gbp", value, low, high, signed=True)
    )
    found = Quantity(
        "comparison.csv", base.name, alternative, "all", "cost_total_gbp", "horizon",
        "diff_mean", factor, value, low, high, printed, magnitude=clear,
    )  # fmt: skip
    name, span = scenario_label(alternative), _years_text(base)
    if clear:
        side = "less" if value < 0 else "more"
        text = (
            f"Across all pathways, {name} spends {side} than {scenario_label(base.name)}, "
            f"by {printed} a year over {span}."
        )
    else:
        text = f"Across all pathways, no clear difference in spend over {span}: {printed} a year."
    return text, found


def statements_frame(statements: list[Statement]) -> pd.DataFrame:
    """One row per quoted quantity (or per sentence without one), readable and traceable."""
    rows = []
    for number_, s in enumerate(statements, start=1):
        if not s.quantities:
            rows.append({"Sentence": number_, "Heading": s.heading, "Text": s.text})
        for q in s.quantities:
            rows.append(
                {
                    "Sentence": number_,
                    "Heading": s.heading,
                    "Text": s.text,
                    "Printed": q.printed,
                    "Value": q.value,
                    "95% CI low": q.low,
                    "95% CI high": q.high,
                    "Printed without sign": q.magnitude,
                    "Source table": q.table,
                    "Scenario": q.scenario,
                    "Alternative": q.alternative,
                    "Pathway": q.pathway,
                    "KPI": q.kpi,
                    "Period": q.period,
                    "Column": q.column,
                    "Factor": q.factor,
                    "Group": q.group,
                }
            )
    return pd.DataFrame(rows)
