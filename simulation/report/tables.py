"""Tables of a report: KPIs per pathway and financial year, and paired differences.

A table is built once as a :class:`Table`: display cells for the HTML and PDF pages
(numbers formatted as a board reads them, each with its 95% interval) and a tidy frame
with readable column names and unrounded numbers for the CSV file beside them. The
numbers are the results folder's summary and comparison rows; yearly averages over the
whole period are the horizon totals divided by the number of years.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simulation.report.wording import (
    ADDITIVE_KPIS,
    change_word,
    estimate,
    feasible,
    identical_difference,
    kpi_label_with_unit,
    pathway_label,
    quantity,
    scenario_label,
)
from simulation.results.catalogue import HORIZON
from simulation.results.equity import EQUITY_KPIS, WEIGHT, deprivation_gaps, quintile_summary
from simulation.store.reader import ComparisonFolder, RunFolder

TABLE_KPIS = (
    "referrals",
    "admissions",
    "diversions",
    "ooa_admissions",
    "ooa_admission_pct",
    "wait_referral_mean_days",
    "wait_referral_p90_days",
    "wait_mean_days",
    "wait_p90_days",
    "waiting_list_mean",
    "beds",
    "occupied_beds_mean",
    "occupancy_pct",
    "ooa_census_mean",
    "ooa_bed_days",
    "los_mean_days",
    "los_median_km_days",
    "delayed_discharge_days",
    "community_caseload_mean",
    "community_places_mean",
    "cost_inpatient_gbp",
    "cost_ooa_gbp",
    "cost_community_gbp",
    "cost_one_off_gbp",
    "cost_total_gbp",
)
"""KPIs shown in the report's tables, in order (the CSV holds every KPI)."""

Cell = tuple[str, str]
"""A display cell: the value, and a second line (its interval) that may be empty."""


@dataclass(frozen=True)
class Table:
    """A table for the page (display cells) and for the CSV (numbers)."""

    key: str
    title: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    data: pd.DataFrame


def _pathway_rows(run: RunFolder, pathway: str) -> pd.DataFrame:
    s = run.summary
    return s[
        (s["pathway"] == pathway)
        & (s["service"] == "all")
        & (s["unit"] == "all")
        & (s["place"] == "all")
    ]


def _cell(kpi: str, mean: float, low: float, high: float, ref: float | None = None) -> Cell:
    if mean != mean:
        return ("–", "")
    low, high = feasible(kpi, "mean", low, high)
    if low == high == mean:
        # Every replication gave the same number (beds, funded places): no interval to show.
        return (quantity(kpi, mean, ref=ref), "")
    text = estimate(kpi, mean, low, high, ref=ref)
    value, _, rest = text.partition(" (")
    interval = "(" + rest if rest else ""
    return (value, interval.replace("95% CI ", ""))


def kpi_frame(run: RunFolder) -> pd.DataFrame:
    """Every KPI per pathway (and all pathways) per financial year and a year on average."""
    pieces = []
    years = run.horizon_years
    for pathway in [*run.pathways, "all"]:
        rows = _pathway_rows(run, pathway)
        if rows.empty:
            continue
        frame = rows[["kpi", "period", "mean", "ci_low", "ci_high", "n"]].copy()
        horizon = frame["period"] == "horizon"
        additive = frame["kpi"].isin(list(ADDITIVE_KPIS))
        for column in ("mean", "ci_low", "ci_high"):
            frame.loc[horizon & additive, column] = frame.loc[horizon & additive, column] / years
        span = run.financial_years
        whole = f"{span[0]} to {span[-1]}" if span else "whole period"
        frame["period"] = [
            f"{whole} (a year on average)" if h else run.year_label(str(p))
            for p, h in zip(frame["period"], horizon, strict=True)
        ]
        pieces.append(
            pd.DataFrame(
                {
                    "Scenario": scenario_label(run.name),
                    "Pathway": pathway_label(pathway),
                    "KPI": [kpi_label_with_unit(str(k)) for k in frame["kpi"]],
                    "Financial year": frame["period"],
                    "Mean": frame["mean"],
                    "95% CI low": frame["ci_low"],
                    "95% CI high": frame["ci_high"],
                    "Replications": frame["n"],
                    "Key": frame["kpi"],
                }
            )
        )
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()


def kpi_tables(run: RunFolder, several: bool = False) -> list[Table]:
    """One table per pathway: headline KPIs by financial year, with 95% intervals."""
    tables = []
    years = run.financial_years
    n_years = run.horizon_years
    whole = "A year on average" if len(years) > 1 else "Whole period"
    for pathway in run.pathways:
        rows = _pathway_rows(run, pathway)
        lookup = {
            (str(k), str(p)): (float(m), float(lo), float(hi))
            for k, p, m, lo, hi in rows[["kpi", "period", "mean", "ci_low", "ci_high"]].itertuples(
                index=False, name=None
            )
        }
        body = []
        for kpi in TABLE_KPIS:
            if not any((kpi, y) in lookup for y in [*years, "horizon"]):
                continue  # (the Kaplan-Meier median has the whole period only)
            cells: list[Cell] = [(kpi_label_with_unit(kpi), "")]
            m, lo, hi = lookup.get((kpi, "horizon"), (float("nan"),) * 3)
            factor = 1 / n_years if kpi in ADDITIVE_KPIS else 1.0
            whole_year = (m * factor, lo * factor, hi * factor)
            # A row is written alike: its largest number sets the figures of every cell
            # (all £m or all in pounds; never 8 beside 8.1).
            values = [v for y in years for v in lookup.get((kpi, y), ())] + list(whole_year)
            finite = [abs(v) for v in values if v == v]
            ref = max(finite) if finite else None
            for year in years:
                cells.append(_cell(kpi, *lookup.get((kpi, year), (float("nan"),) * 3), ref=ref))
            cells.append(_cell(kpi, *whole_year, ref=ref))
            body.append(tuple(cells))
        name = f"{scenario_label(run.name)}: " if several else ""
        tables.append(
            Table(
                key=f"kpis_{run.name}_{pathway}" if several else f"kpis_{pathway}",
                title=f"{name}{pathway_label(pathway)}: KPIs by financial year",
                caption=(
                    "Averages over the replications with 95% confidence intervals in brackets "
                    "(none where every replication gave the same number). "
                    "Counts, bed days and money are per financial year; the last column "
                    "averages the whole period per year (means and percentages over the "
                    "whole period). A part year, only partly inside the period, is marked "
                    "with the days it covers; the median length of stay counting ongoing "
                    "stays (Kaplan-Meier) is estimated over the whole period only."
                ),
                header=("KPI", *(run.year_label(y) for y in years), whole),
                rows=tuple(body),
                data=kpi_frame(run),
            )
        )
    return tables


COMPARISON_KPIS = (
    "admissions",
    "diversions",
    "ooa_admissions",
    "ooa_bed_days",
    "wait_referral_mean_days",
    "wait_mean_days",
    "wait_p90_days",
    "occupancy_pct",
    "delayed_discharge_days",
    "community_caseload_mean",
    "cost_community_gbp",
    "cost_total_gbp",
)


def comparison_frame(comparison: ComparisonFolder) -> pd.DataFrame:
    """Every paired difference per pathway (whole period and each year), readable."""
    t = comparison.table
    rows = t[(t["service"] == "all") & (t["unit"] == "all") & (t["place"] == "all")].copy()
    years = comparison.base.horizon_years
    per_year = (rows["period"] == "horizon") & rows["kpi"].isin(list(ADDITIVE_KPIS))
    for column in ("base_mean", "alt_mean", "diff_mean", "diff_ci_low", "diff_ci_high"):
        rows.loc[per_year, column] = rows.loc[per_year, column] / years
    span = comparison.base.financial_years
    whole = f"{span[0]} to {span[-1]}" if span else "whole period"
    return pd.DataFrame(
        {
            "Base": [scenario_label(str(b)) for b in rows["base"]],
            "Alternative": [scenario_label(str(a)) for a in rows["alternative"]],
            "Pathway": [pathway_label(str(p)) for p in rows["pathway"]],
            "KPI": [kpi_label_with_unit(str(k)) for k in rows["kpi"]],
            "Period": [
                f"{whole} (a year on average)" if p == "horizon" else comparison.base.year_label(p)
                for p in rows["period"].astype(str)
            ],
            "Base mean": rows["base_mean"],
            "Alternative mean": rows["alt_mean"],
            "Difference": rows["diff_mean"],
            "Difference 95% CI low": rows["diff_ci_low"],
            "Difference 95% CI high": rows["diff_ci_high"],
            "Difference sd": rows["diff_sd"],
            "Change (%)": rows["pct_change"],
            "Change 95% CI low (%)": rows["pct_ci_low"],
            "Change 95% CI high (%)": rows["pct_ci_high"],
            "Clear difference": rows["clear"],
            "Replications": rows["n"],
            "Key": rows["kpi"],
        }
    ).reset_index(drop=True)


def comparison_tables(comparison: ComparisonFolder) -> list[Table]:
    """Per alternative: base, alternative and paired difference of headline KPIs."""
    frame = comparison_frame(comparison)
    base = comparison.base
    span = base.financial_years
    whole = f"{span[0]} to {span[-1]}" if span else "the whole period"
    tables = []
    for alt in comparison.alternatives:
        name = scenario_label(alt.name)
        sel = frame[(frame["Alternative"] == name) & frame["Period"].str.endswith("on average)")]
        body: list[tuple[Cell, ...]] = []
        same = [p for p in base.pathways if comparison.unchanged(alt.name, p)]
        for pathway in [p for p in [*base.pathways, "all"] if p not in same]:
            for kpi in COMPARISON_KPIS:
                row = sel[(sel["Pathway"] == pathway_label(pathway)) & (sel["Key"] == kpi)]
                if row.empty:
                    continue
                r = row.iloc[0]
                diff = estimate(
                    kpi,
                    float(r["Difference"]),
                    float(r["Difference 95% CI low"]),
                    float(r["Difference 95% CI high"]),
                    signed=True,
                )
                value, _, rest = diff.partition(" (")
                change = change_word(
                    bool(r["Clear difference"]),
                    identical_difference(float(r["Difference"]), float(r["Difference sd"])),
                    float(r["Change (%)"]),
                )
                body.append(
                    (
                        (pathway_label(pathway), ""),
                        (kpi_label_with_unit(kpi, per_year=True), ""),
                        (quantity(kpi, float(r["Base mean"])), ""),
                        (quantity(kpi, float(r["Alternative mean"])), ""),
                        (value, ("(" + rest).replace("95% CI ", "") if rest else ""),
                        (change, ""),
                    )
                )
        tables.append(
            Table(
                key=f"comparison_{alt.name}",
                title=f"{name} compared with {scenario_label(base.name)}",
                caption=(
                    f"Whole period ({whole}); counts, bed days and money a year on average. "
                    "The difference is paired replication by replication, with its 95% "
                    "confidence interval in brackets; the change is relative to the base."
                    + (
                        " Not shown: "
                        + ", ".join(pathway_label(p) for p in same)
                        + ", where every number is identical in both scenarios."
                        if same
                        else ""
                    )
                ),
                header=(
                    "Pathway",
                    "KPI",
                    scenario_label(base.name),
                    name,
                    "Difference (95% CI)",
                    "Change",
                ),
                rows=tuple(body),
                data=frame[frame["Alternative"] == name].drop(columns=["Key"]),
            )
        )
    return tables


def equity_frame(run: RunFolder) -> pd.DataFrame:
    """Equity measures by deprivation quintile, and the most minus least deprived gap.

    Whole period, each with its 95% interval; the gap is paired replication by
    replication. Empty when the places carry no deprivation quintile.
    """
    quintiles = run.place_quintiles()
    if not any(quintiles.values()):
        return pd.DataFrame()
    # The rows the measures are made of: a fraction of a long run's table.
    kpis = run.kpis_of((*EQUITY_KPIS, WEIGHT), HORIZON)
    summary = quintile_summary(kpis, quintiles)
    rows = []
    for r in summary.to_dict("records"):
        q = int(r["quintile"])
        note = " (most deprived)" if q == 1 else " (least deprived)" if q == 5 else ""
        rows.append(
            {
                "Scenario": scenario_label(run.name),
                "Pathway": pathway_label(str(r["pathway"])),
                "Group": f"Quintile {q}{note}",
                "Measure": kpi_label_with_unit(str(r["kpi"])),
                "Mean": r["mean"],
                "95% CI low": r["ci_low"],
                "95% CI high": r["ci_high"],
                "Replications": r["n"],
                "Key": r["kpi"],
                "Pathway key": r["pathway"],
            }
        )
    for gap in deprivation_gaps(kpis, quintiles):
        rows.append(
            {
                "Scenario": scenario_label(run.name),
                "Pathway": pathway_label(gap.pathway),
                "Group": f"Gap: quintile {gap.most} minus quintile {gap.least}",
                "Measure": kpi_label_with_unit(gap.kpi),
                "Mean": gap.diff_mean,
                "95% CI low": gap.diff_ci_low,
                "95% CI high": gap.diff_ci_high,
                "Replications": gap.n,
                "Key": gap.kpi,
                "Pathway key": gap.pathway,
            }
        )
    return pd.DataFrame(rows)


def equity_table(run: RunFolder) -> Table | None:
    """Waits from referral, out-of-area share and distance by deprivation quintile."""
    frame = equity_frame(run)
    if frame.empty:
        return None
    measures = [k for k in EQUITY_KPIS if k in set(frame["Key"])]
    body: list[tuple[Cell, ...]] = []
    for pathway in run.pathways:
        sel = frame[frame["Pathway key"] == pathway]
        for group in dict.fromkeys(sel["Group"]):
            cells: list[Cell] = [(pathway_label(pathway), ""), (str(group), "")]
            gap = str(group).startswith("Gap")
            for kpi in measures:
                row = sel[(sel["Group"] == group) & (sel["Key"] == kpi)]
                if row.empty:
                    cells.append(("–", ""))
                    continue
                r = row.iloc[0]
                mean, low, high = (float(r[c]) for c in ("Mean", "95% CI low", "95% CI high"))
                if gap:
                    text = estimate(kpi, mean, low, high, signed=True)
                    value, _, rest = text.partition(" (")
                    cells.append((value, ("(" + rest).replace("95% CI ", "") if rest else ""))
                else:
                    cells.append(_cell(kpi, mean, low, high))
            body.append(tuple(cells))
    return Table(
        key="equity",
        title=f"{scenario_label(run.name)}: equity by deprivation quintile",
        caption=(
            "Whole period. Each quintile's value averages over the admissions of its home "
            "places (quintile 1 is the most deprived); the gap is the most deprived quintile "
            "present minus the least deprived, paired replication by replication, with its "
            "95% confidence interval in brackets. Waits are counted from referral."
        ),
        header=("Pathway", "Home places", *(kpi_label_with_unit(k) for k in measures)),
        rows=tuple(body),
        data=frame.drop(columns=["Pathway key"]),
    )
