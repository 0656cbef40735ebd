"""Figures of money and of differences: spend, the reinvestment ledger, the forest plot.

Spend is drawn per financial year as bars stacked by category (in-area beds,
out-of-area beds, community places, one-off costs), with a whisker for the 95%
interval of the total; a comparison puts one bar per scenario side by side, told apart
by hatching as well as by position. The ledger shows, for each pathway with a budget,
the budget beside the spend, the saving and the amount reinvested. The forest plot
shows, for one alternative, the paired difference from the base of each headline KPI
as a percentage change with its 95% confidence interval, the form a reader of clinical
trials knows. All numbers come from the results folders' summary, ledger and
comparison tables.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from simulation.report.figures import summary_value
from simulation.report.style import (
    GRID,
    HATCHES,
    NHS_BLUE,
    TEXT,
    Chart,
    figure_legend,
    grid_height,
    house_style,
    millions_axis,
    new_figure,
    panel_grid,
    to_png,
)
from simulation.report.wording import (
    ADDITIVE_KPIS,
    cost_kinds,
    cost_label,
    kpi_label,
    money,
    number,
    pathway_label,
    percent_change,
    quantity,
    scenario_label,
)
from simulation.store.reader import ComparisonFolder, RunFolder

COST_COLOURS = {
    "cost_inpatient_gbp": "#0072B2",
    "cost_ooa_gbp": "#D55E00",
    "cost_community_gbp": "#009E73",
    "cost_one_off_gbp": "#E69F00",
}
"""Spend categories: Okabe-Ito colours that stay distinct in colour-blind vision."""

FOREST_KPIS = (
    "admissions",
    "ooa_admissions",
    "ooa_bed_days",
    "wait_mean_days",
    "wait_p90_days",
    "occupied_beds_mean",
    "delayed_discharge_days",
    "community_caseload_mean",
    "cost_total_gbp",
)
"""KPIs in a forest plot, per pathway (relative changes, so every unit shares one axis)."""

FOREST_AXIS = (-105.0, 150.0)
"""Axis limits of the forest plot (%); a larger change is drawn as an arrow and given in words."""


def spend_frame(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """Spend by pathway, financial year and category, with the total's 95% interval."""
    rows = []
    for run in runs:
        for pathway in [*run.pathways, "all"]:
            for year in run.financial_years:
                for kind in (*cost_kinds(), "cost_total_gbp"):
                    mean, low, high = summary_value(run, kind, year, pathway)
                    rows.append(
                        {
                            "Scenario": scenario_label(run.name),
                            "Pathway": pathway_label(pathway),
                            "Financial year": year,
                            "Category": cost_label(kind)
                            if kind != "cost_total_gbp"
                            else "Total spend",
                            "Mean (£)": mean,
                            "95% CI low (£)": low,
                            "95% CI high (£)": high,
                            "_pathway": pathway,
                            "_kind": kind,
                        }
                    )
    return pd.DataFrame(rows)


def spend_chart(runs: Sequence[RunFolder]) -> Chart:
    """Spend per financial year, stacked by category, one panel per pathway and in total."""
    frame = spend_frame(runs)
    pathways = runs[0].pathways + (["all"] if len(runs[0].pathways) > 1 else [])
    years = runs[0].financial_years
    n_runs = len(runs)
    with house_style():
        figure = new_figure(grid_height(len(pathways), panel_in=2.5))
        axes = panel_grid(figure, len(pathways))
        width = 0.8 / n_runs
        for ax, pathway in zip(axes, pathways, strict=True):
            ax.set_axisbelow(True)
            x = np.arange(len(years))
            for i, run in enumerate(runs):
                sel = frame[
                    (frame["Scenario"] == scenario_label(run.name)) & (frame["_pathway"] == pathway)
                ]
                offset = x - 0.4 + width * (i + 0.5)
                bottom = np.zeros(len(years))
                for kind in cost_kinds():
                    values = (
                        sel[sel["_kind"] == kind]
                        .set_index("Financial year")["Mean (£)"]
                        .reindex(years)
                        .fillna(0.0)
                        .to_numpy(dtype=float)
                        / 1e6
                    )
                    ax.bar(
                        offset,
                        values,
                        width * 0.92,
                        bottom=bottom,
                        color=COST_COLOURS.get(kind, "#999999"),
                        hatch=HATCHES[i % len(HATCHES)],
                        edgecolor="white",
                        linewidth=0.5,
                    )
                    bottom += values
                total = sel[sel["_kind"] == "cost_total_gbp"].set_index("Financial year")
                total = total.reindex(years)
                mean = total["Mean (£)"].to_numpy(dtype=float) / 1e6
                low = total["95% CI low (£)"].to_numpy(dtype=float) / 1e6
                high = total["95% CI high (£)"].to_numpy(dtype=float) / 1e6
                ok = ~(np.isnan(low) | np.isnan(high))
                ax.errorbar(
                    offset[ok],
                    mean[ok],
                    yerr=np.vstack([mean - low, high - mean])[:, ok],
                    fmt="none",
                    ecolor=TEXT,
                    elinewidth=1.0,
                    capsize=2.5,
                )
            ax.set_xticks(x)
            ax.set_xticklabels(years)
            ax.set_title(pathway_label(pathway))
            millions_axis(ax)
        figure.supylabel("Spend in the financial year (£ million)")
        figure.supxlabel("Financial year (April to March)", fontsize=9)
        handles: list[object] = [
            Patch(facecolor=COST_COLOURS.get(k, "#999999"), label=cost_label(k))
            for k in cost_kinds()
        ]
        if n_runs > 1:
            handles += [
                Patch(
                    facecolor="white",
                    edgecolor=TEXT,
                    hatch=HATCHES[i % len(HATCHES)],
                    label=scenario_label(r.name),
                )
                for i, r in enumerate(runs)
            ]
        figure_legend(figure, handles)
        png = to_png(figure)
    caption = (
        "Spend in each financial year by category: in-area beds, out-of-area beds, "
        "community places and one-off costs. Bars are averages over the replications; the "
        "whisker is the 95% confidence interval of the total."
    )
    if n_runs > 1:
        caption += (
            " Bars side by side are the scenarios, in the order of the key, told apart by hatching."
        )
    totals = frame[(frame["_pathway"] == "all") & (frame["_kind"] == "cost_total_gbp")]
    alt = "Total spend across all pathways by financial year: " + "; ".join(
        f"{s} {y} {money(float(v))}"
        for s, y, v in zip(
            totals["Scenario"], totals["Financial year"], totals["Mean (£)"], strict=True
        )
    )
    data = frame.drop(columns=["_pathway", "_kind"])
    return Chart("spend", "Spend by category and financial year", caption, alt, png, data)


LEDGER_BARS = (
    ("budget_gbp", "Budget", "#BBBBBB"),
    ("spend_total_gbp", "Spend", "#0072B2"),
    ("savings_gbp", "Saving against budget", "#E69F00"),
    ("reinvested_gbp", "Reinvested", "#009E73"),
)


def ledger_panels(runs: Sequence[RunFolder]) -> list[tuple[RunFolder, str]]:
    """The (scenario, pathway) pairs with a ledger worth showing.

    A pathway is shown when it has a budget and either a reinvestment rule or a budget
    figure of its own; a pathway whose budget is only a comparator's spend, with nothing
    reinvested, adds a panel of budget equal to spend and says nothing.
    """
    panels = []
    for run in runs:
        ledger = run.ledger_summary
        if ledger is None:
            continue
        money = run.scenario.get("money") or {}
        explicit = set((money.get("budget_gbp_per_year") or {}).keys())
        ruled = {str(r.get("pathway")) for r in run.scenario.get("reinvestment") or []}
        budget = ledger[ledger["item"] == "budget_gbp"]
        for pathway in run.pathways:
            values = budget.loc[budget["pathway"] == pathway, "mean"]
            if values.notna().any() and pathway in explicit | ruled:
                panels.append((run, pathway))
    return panels


def ledger_frame(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """The reinvestment ledger with readable names: every line, year and scenario."""
    from simulation.report.wording import LEDGER_LABELS

    pieces = []
    for run in runs:
        ledger = run.ledger_summary
        if ledger is None or ledger.empty:
            continue
        piece = pd.DataFrame(
            {
                "Scenario": scenario_label(run.name),
                "Pathway": [pathway_label(str(p)) for p in ledger["pathway"]],
                "Financial year": ledger["financial_year"],
                "Line": [LEDGER_LABELS.get(str(i), str(i)) for i in ledger["item"]],
                "Mean": ledger["mean"],
                "95% CI low": ledger.get("ci_low", np.nan),
                "95% CI high": ledger.get("ci_high", np.nan),
            }
        )
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()


def ledger_chart(runs: Sequence[RunFolder]) -> Chart | None:
    """Budget, spend, saving and reinvestment per year, for each pathway with a budget."""
    panels = ledger_panels(runs)
    if not panels:
        return None
    several = len(runs) > 1
    with house_style():
        figure = new_figure(grid_height(len(panels), columns=1, panel_in=2.6), width_in=8.0)
        axes = panel_grid(figure, len(panels), columns=1)
        alt_parts = []
        for ax, (run, pathway) in zip(axes, panels, strict=True):
            ledger = run.ledger_summary
            assert ledger is not None
            sel = ledger[ledger["pathway"] == pathway]
            years = run.financial_years
            x = np.arange(len(years))
            width = 0.8 / len(LEDGER_BARS)
            ax.set_axisbelow(True)
            for j, (item, label, colour) in enumerate(LEDGER_BARS):
                rows = sel[sel["item"] == item].set_index("financial_year").reindex(years)
                mean = rows["mean"].to_numpy(dtype=float) / 1e6
                offset = x - 0.4 + width * (j + 0.5)
                ax.bar(offset, np.nan_to_num(mean), width * 0.9, color=colour, label=label)
                if "ci_low" in rows:
                    low = rows["ci_low"].to_numpy(dtype=float) / 1e6
                    high = rows["ci_high"].to_numpy(dtype=float) / 1e6
                    ok = ~(np.isnan(low) | np.isnan(high) | np.isnan(mean))
                    ax.errorbar(
                        offset[ok],
                        mean[ok],
                        yerr=np.vstack([mean - low, high - mean])[:, ok],
                        fmt="none",
                        ecolor=TEXT,
                        elinewidth=0.9,
                        capsize=2,
                    )
                if item == "reinvested_gbp":
                    places = sel[sel["item"] == "places_added"].set_index("financial_year")
                    added = places.reindex(years)["mean"].to_numpy(dtype=float)
                    for xi, yi, p in zip(offset, np.nan_to_num(mean), added, strict=True):
                        if yi == 0:
                            ax.annotate(
                                "£0",
                                (xi, 0),
                                xytext=(0, 3),
                                textcoords="offset points",
                                ha="center",
                                fontsize=7.5,
                                color="#006747",
                            )
                        elif p == p and p > 0.05:
                            ax.annotate(
                                f"+{number(float(p))} places",
                                (xi, yi),
                                xytext=(0, 3),
                                textcoords="offset points",
                                ha="center",
                                fontsize=7.5,
                                color="#006747",
                            )
            ax.axhline(0, color=TEXT, linewidth=0.8)
            ax.set_xticks(x)
            ax.set_xticklabels(years)
            title = pathway_label(pathway)
            ax.set_title(f"{scenario_label(run.name)}: {title}" if several else title)
            millions_axis(ax)
            reinvested = sel[sel["item"] == "reinvested_gbp"]["mean"].sum()
            alt_parts.append(
                f"{scenario_label(run.name)}, {title}: {money(float(reinvested))} reinvested "
                "over the period in total"
            )
        figure.supylabel("£ million in the financial year")
        figure.supxlabel("Financial year (April to March)", fontsize=9)
        figure_legend(
            figure, [Patch(color=colour, label=label) for _, label, colour in LEDGER_BARS]
        )
        png = to_png(figure)
    caption = (
        "The reinvestment ledger of each pathway with a budget: the year's budget, spend, "
        "saving against the budget (negative: an overspend) and the amount turned into new "
        "community places, with the places it buys. Averages over the replications with "
        "95% confidence intervals. A year's reinvestment arrives after the recruitment lag."
    )
    return Chart(
        "reinvestment_ledger",
        "Reinvestment ledger",
        caption,
        "Reinvestment ledger. " + "; ".join(alt_parts) + ".",
        png,
        ledger_frame(runs),
    )


def forest_frame(comparison: ComparisonFolder, alternative: str) -> pd.DataFrame:
    """Whole-period paired differences of the forest plot's KPIs, per pathway."""
    t = comparison.table
    rows = t[
        (t["alternative"] == alternative)
        & (t["period"] == "horizon")
        & (t["service"] == "all")
        & (t["unit"] == "all")
        & (t["place"] == "all")
        & (t["kpi"].isin(FOREST_KPIS))
    ]
    order = {p: i for i, p in enumerate(comparison.base.pathways)}
    kpi_order = {k: i for i, k in enumerate(FOREST_KPIS)}
    rows = rows.assign(
        _p=rows["pathway"].map(lambda p: order.get(p, 99)),
        _k=rows["kpi"].map(lambda k: kpi_order[k]),
    ).sort_values(["_p", "_k"])
    return rows.drop(columns=["_p", "_k"]).reset_index(drop=True)


def _difference_text(row: pd.Series, years: float) -> str:
    pct, low, high = (float(row[c]) for c in ("pct_change", "pct_ci_low", "pct_ci_high"))
    # As in the summary: a relative change cannot fall below -100%.
    low, high = max(low, -100.0) if low == low else low, max(high, -100.0) if high == high else high
    if math.isnan(pct):
        kpi = str(row["kpi"])
        factor, per = (1 / years, " a year") if kpi in ADDITIVE_KPIS else (1.0, "")
        base, alt = float(row["base_mean"]) * factor, float(row["alt_mean"]) * factor
        return f"from {quantity(kpi, base)} to {quantity(kpi, alt)}{per}"
    text = percent_change(pct, signed=True)
    if not (math.isnan(low) or math.isnan(high)):
        text += f" ({percent_change(low, signed=True)} to {percent_change(high, signed=True)})"
    if not bool(row["clear"]):
        text += ": no clear difference"
    return text


def _forest_row(ax: Axes, y: int, pct: float, low: float, high: float, clear: bool) -> None:
    """One KPI's estimate and interval; a part beyond the axis becomes an arrow."""
    lim_low, lim_high = FOREST_AXIS
    colour = NHS_BLUE if clear else "#768692"
    lo = pct if math.isnan(low) else low
    hi = pct if math.isnan(high) else high
    ax.hlines(y, max(lo, lim_low), min(hi, lim_high), color=colour, linewidth=2)
    arrow = {"arrowstyle": "-|>", "color": colour, "lw": 1.5, "mutation_scale": 9}
    if hi > lim_high:
        ax.annotate("", xy=(lim_high, y), xytext=(lim_high - 12, y), arrowprops=arrow)
    if lo < lim_low:
        ax.annotate("", xy=(lim_low, y), xytext=(lim_low + 12, y), arrowprops=arrow)
    if not lim_low <= pct <= lim_high:
        return
    ax.plot(
        [pct],
        [y],
        marker="s" if clear else "o",
        markersize=7,
        color=colour if clear else "white",
        markeredgecolor=colour,
        markeredgewidth=1.5,
    )


def forest_chart(comparison: ComparisonFolder, alternative: str) -> Chart:
    """Paired differences of headline KPIs from the base, as % change with 95% CIs."""
    frame = forest_frame(comparison, alternative)
    base = comparison.base
    unchanged = [p for p in base.pathways if comparison.unchanged(alternative, p)]
    shown = frame[~frame["pathway"].isin(unchanged)]
    groups = [p for p in base.pathways if p in set(shown["pathway"])]
    n_rows = len(shown) + len(groups)
    with house_style():
        height = 1.1 + 0.3 * max(n_rows, 3)
        figure = new_figure(height)
        figure.set_layout_engine("none")
        # Fixed columns: labels on the left, the plot, then the figures in words.
        ax = figure.add_axes((0.25, 0.7 / height, 0.38, 1 - 1.1 / height))
        ax.grid(False)
        ax.set_axisbelow(True)
        y = 0
        labels: list[tuple[int, str, bool]] = []
        for pathway in groups:
            labels.append((y, pathway_label(pathway), True))
            y += 1
            for _, row in shown[shown["pathway"] == pathway].iterrows():
                kpi = str(row["kpi"])
                labels.append((y, kpi_label(kpi), False))
                pct = float(row["pct_change"])
                low, high = float(row["pct_ci_low"]), float(row["pct_ci_high"])
                clear = bool(row["clear"])
                if not math.isnan(pct):
                    _forest_row(ax, y, pct, low, high, clear)
                ax.text(
                    1.04,
                    y,
                    _difference_text(row, base.horizon_years),
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize=8,
                    color=TEXT if clear else "#4C6272",
                )
                y += 1
        ax.axvline(0, color=TEXT, linewidth=1)
        ax.set_ylim(y - 0.5, -0.7)
        ax.set_yticks([t for t, _, _ in labels])
        ax.set_yticklabels([text for _, text, _ in labels])
        for tick, (_, _, header) in zip(ax.get_yticklabels(), labels, strict=True):
            if header:
                tick.set_fontweight("bold")
                tick.set_color(NHS_BLUE)
        ax.tick_params(axis="y", length=0)
        ax.set_xlim(*FOREST_AXIS)
        ax.set_xticks([-100, -50, 0, 50, 100, 150])
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: f"{'+' if v > 0 else '−' if v < 0 else ''}{abs(v):.0f}%")
        )
        ax.grid(True, axis="x", color=GRID)
        ax.text(
            1.04,
            -0.7,
            "Change (95% CI)",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8.5,
            fontweight="bold",
        )
        ax.set_xlabel(f"Change from {scenario_label(base.name)}, with 95% confidence interval")
        ax.spines["left"].set_visible(False)
        png = to_png(figure)
    name = scenario_label(alternative)
    caption = (
        f"Paired differences between {name} and {scenario_label(base.name)} over the whole "
        "period, as a percentage of the base, with 95% confidence intervals from the "
        "replication-by-replication differences (common random numbers), cut at −100% like "
        "the quantities themselves. Filled squares: a "
        "clear difference (the interval excludes zero); open circles: no clear difference. "
        f"Changes beyond +{FOREST_AXIS[1]:.0f}% are drawn as arrows; the text on the right "
        "gives every figure. Where the base is zero no percentage exists, and the text gives "
        "the two averages instead."
    )
    if unchanged:
        caption += (
            " Not shown: "
            + ", ".join(pathway_label(p) for p in unchanged)
            + ", where every number is identical in every replication of both scenarios."
        )
    alt = f"Forest plot for {name}. " + "; ".join(
        f"{pathway_label(str(r['pathway']))} {kpi_label(str(r['kpi']))}: "
        + _difference_text(r, base.horizon_years)
        for _, r in shown.iterrows()
    )
    data = pd.DataFrame(
        {
            "Alternative": name,
            "Pathway": [pathway_label(str(p)) for p in frame["pathway"]],
            "KPI": [kpi_label(str(k)) for k in frame["kpi"]],
            "Base mean": frame["base_mean"],
            "Alternative mean": frame["alt_mean"],
            "Difference": frame["diff_mean"],
            "Difference 95% CI low": frame["diff_ci_low"],
            "Difference 95% CI high": frame["diff_ci_high"],
            "Change (%)": frame["pct_change"],
            "Change 95% CI low (%)": frame["pct_ci_low"],
            "Change 95% CI high (%)": frame["pct_ci_high"],
            "Clear difference": frame["clear"],
        }
    )
    key = "forest_" + "".join(c if c.isalnum() else "_" for c in alternative)
    title = f"{name} compared with {scenario_label(base.name)}: paired differences"
    return Chart(key, textwrap.shorten(title, 120), caption, alt, png, data)
