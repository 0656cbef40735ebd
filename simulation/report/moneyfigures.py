"""Figures of money: spend by category and the reinvestment ledger.

Spend is drawn per financial year as bars stacked by category (in-area beds,
out-of-area beds, community places, one-off costs), with a whisker for the 95%
interval of the total; a comparison puts one bar per scenario side by side, told apart
by hatching as well as by position. The ledger shows, for each pathway with a budget,
the budget beside the spend, the saving and the amount reinvested. All numbers come
from the results folders' summary and ledger tables; the paired differences of a
comparison are drawn by :mod:`simulation.report.forest`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulation.report.figures import summary_value
from simulation.report.style import (
    HATCHES,
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
    cost_kinds,
    cost_label,
    money,
    number,
    pathway_label,
    scenario_label,
)
from simulation.store.reader import RunFolder

COST_COLOURS = {
    "cost_inpatient_gbp": "#0072B2",
    "cost_ooa_gbp": "#D55E00",
    "cost_community_gbp": "#009E73",
    "cost_one_off_gbp": "#E69F00",
}
"""Spend categories: Okabe-Ito colours that stay distinct in colour-blind vision."""


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
                            "Financial year": run.year_label(year),
                            "_year": year,
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
                        .set_index("_year")["Mean (£)"]
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
                total = sel[sel["_kind"] == "cost_total_gbp"].set_index("_year")
                total = total.reindex(years)
                mean = total["Mean (£)"].to_numpy(dtype=float) / 1e6
                low = total["95% CI low (£)"].to_numpy(dtype=float) / 1e6
                high = total["95% CI high (£)"].to_numpy(dtype=float) / 1e6
                _whiskers(ax, offset, mean, low, high, elinewidth=1.0, capsize=2.5)
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
    data = frame.drop(columns=["_pathway", "_kind", "_year"])
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
                "Financial year": [run.year_label(str(y)) for y in ledger["financial_year"]],
                "Line": [LEDGER_LABELS.get(str(i), str(i)) for i in ledger["item"]],
                "Mean": ledger["mean"],
                "95% CI low": ledger.get("ci_low", np.nan),
                "95% CI high": ledger.get("ci_high", np.nan),
            }
        )
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()


def _whiskers(
    ax: Axes,
    x: np.ndarray,
    mean: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    elinewidth: float,
    capsize: float,
) -> np.ndarray:
    """95% whiskers from ``low`` to ``high`` where all three are known; returns where."""
    ok: np.ndarray = ~(np.isnan(low) | np.isnan(high) | np.isnan(mean))
    ax.errorbar(
        x[ok],
        mean[ok],
        yerr=np.vstack([mean - low, high - mean])[:, ok],
        fmt="none",
        ecolor=TEXT,
        elinewidth=elinewidth,
        capsize=capsize,
    )
    return ok


def _ledger_bars(
    ax: Axes,
    sel: pd.DataFrame,
    years: list[str],
    bars: Sequence[tuple[str, str, str]],
    scale: float,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Bars (mean, 95% whiskers) of ledger items per year, in units of ``scale`` pounds.

    Returns each item's bar positions, means and whisker tops (for labels above them).
    """
    x = np.arange(len(years))
    width = 0.8 / len(bars)
    drawn = {}
    for j, (item, label, colour) in enumerate(bars):
        rows = sel[sel["item"] == item].set_index("financial_year").reindex(years)
        mean = rows["mean"].to_numpy(dtype=float) / scale
        offset = x - 0.4 + width * (j + 0.5)
        ax.bar(offset, np.nan_to_num(mean), width * 0.9, color=colour, label=label)
        top = np.nan_to_num(mean)
        if "ci_low" in rows:
            low = rows["ci_low"].to_numpy(dtype=float) / scale
            high = rows["ci_high"].to_numpy(dtype=float) / scale
            ok = _whiskers(ax, offset, mean, low, high, elinewidth=0.9, capsize=2)
            top = np.where(ok, np.maximum(top, np.nan_to_num(high)), top)
        drawn[item] = (offset, np.nan_to_num(mean), top)
    ax.axhline(0, color=TEXT, linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(years)
    ax.set_axisbelow(True)
    return drawn


def _pounds_axis(ax: Axes, scale: float) -> None:
    """Y axis in £ millions or £ thousands (``scale`` 1e6 or 1e3)."""
    if scale == 1e6:
        millions_axis(ax)
        return

    def label(value: float, _: object) -> str:
        text = f"£{abs(value):,.0f}k"
        return ("−" if value < 0 and text != "£0k" else "") + text

    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10], integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(label))


def ledger_figure(panels: list[tuple[RunFolder, str]], several: bool) -> tuple[Figure, list[str]]:
    """The ledger chart's figure (drawn in the house style) and its text alternative's parts."""
    figure = new_figure(grid_height(len(panels), columns=1, panel_in=2.9), width_in=9.0)
    # A row a pathway (of a scenario), headed by its name: two panels side by side.
    rows = figure.subfigures(len(panels), 1, squeeze=False)[:, 0]
    alt_parts = []
    for row, (run, pathway) in zip(rows, panels, strict=True):
        budget_ax, saving_ax = row.subplots(1, 2)
        ledger = run.ledger_summary
        assert ledger is not None
        sel = ledger[ledger["pathway"] == pathway]
        years = run.financial_years
        _ledger_bars(budget_ax, sel, years, LEDGER_BARS[:2], 1e6)
        millions_axis(budget_ax)
        small = sel[sel["item"].isin([item for item, _, _ in LEDGER_BARS[2:]])]
        extent = np.nanmax(np.abs(small[["mean", "ci_low", "ci_high"]].to_numpy(float)))
        scale = 1e6 if extent >= 1e6 else 1e3
        drawn = _ledger_bars(saving_ax, sel, years, LEDGER_BARS[2:], scale)
        _pounds_axis(saving_ax, scale)
        places = sel[sel["item"] == "places_added"].set_index("financial_year")
        added = places.reindex(years)["mean"].to_numpy(dtype=float)
        offset, mean, top = drawn["reinvested_gbp"]
        for xi, yi, ti, p in zip(offset, mean, top, added, strict=True):
            text = "£0" if yi == 0 else f"+{number(float(p))} places" if p > 0.05 else ""
            if text:  # above the whisker, not on it
                saving_ax.annotate(
                    text,
                    (xi, ti),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7.5,
                    color="#006747",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
                    zorder=5,  # over a neighbouring whisker
                )
        saving_ax.margins(y=0.18)
        title = pathway_label(pathway)
        heading = f"{scenario_label(run.name)}: {title}" if several else title
        row.suptitle(heading, fontweight="bold", fontsize=10.5, x=0.01, ha="left")
        budget_ax.set_title("Budget and spend", fontsize=9.5, fontweight="normal")
        saving_ax.set_title("Saving and reinvestment", fontsize=9.5, fontweight="normal")
        budget_ax.set_ylabel("£ million")
        saving_ax.set_ylabel("£ million" if scale == 1e6 else "£ thousand")
        reinvested = sel[sel["item"] == "reinvested_gbp"]["mean"].sum()
        alt_parts.append(
            f"{scenario_label(run.name)}, {title}: {money(float(reinvested))} reinvested "
            "over the period in total"
        )
    figure.supxlabel("Financial year (April to March)", fontsize=9)
    figure_legend(figure, [Patch(color=colour, label=label) for _, label, colour in LEDGER_BARS])
    return figure, alt_parts


def ledger_chart(runs: Sequence[RunFolder]) -> Chart | None:
    """Budget and spend, and beside them saving and reinvestment, a year for each pathway.

    The saving and the reinvestment are a few hundred thousand pounds beside budgets of
    tens of millions: drawn on the budget's scale they would not show, so they have a
    panel and a scale of their own.
    """
    panels = ledger_panels(runs)
    if not panels:
        return None
    with house_style():
        figure, alt_parts = ledger_figure(panels, several=len(runs) > 1)
        png = to_png(figure)
    caption = (
        "The reinvestment ledger of each pathway with a budget: the year's budget, spend, "
        "saving against the budget (negative: an overspend) and the amount turned into new "
        "community places, with the places it buys. Budget and spend are on the left; "
        "saving and reinvestment, a small part of them, on a scale of their own on the "
        "right. Averages over the replications with 95% confidence intervals. A year's "
        "reinvestment arrives after the recruitment lag."
    )
    return Chart(
        "reinvestment_ledger",
        "Reinvestment ledger",
        caption,
        "Reinvestment ledger. " + "; ".join(alt_parts) + ".",
        png,
        ledger_frame(runs),
    )
