"""The forest plot: each alternative's paired difference from the base, as % change.

Owns how a forest plot is drawn, in the form a reader of clinical trials knows: one row
per KPI, the estimate as a marker with its 95% confidence interval as a line, a filled
square where the difference is clear (the interval excludes zero) and an open circle
where it is not, and the part of an interval beyond the axis drawn as an arrow. Two
figures share that drawing (:func:`forest_row` on an axis set up by
:func:`forest_axis`): the report's :func:`forest_chart`, one alternative with every
figure written beside its row, and the notebooks' :func:`forest_figure` (behind
:func:`simulation.plots.forest_plot`), every alternative on one panel per pathway in its
scenario colour. Both read a paired-difference table only (a comparison folder's
``comparison.csv``, or the same table held by the API); this module imports the report's
style and wording and the store's reader, never the model.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from simulation.report.style import (
    GRID,
    MID_GREY,
    MUTED,
    NHS_BLUE,
    TEXT,
    Chart,
    figure_legend,
    house_style,
    new_figure,
    scenario_colour,
    to_png,
)
from simulation.report.wording import (
    ADDITIVE_KPIS,
    IDENTICAL,
    estimate,
    feasible,
    identical_difference,
    kpi_label,
    pathway_label,
    quantity,
    scenario_label,
)
from simulation.store.reader import ComparisonFolder, identical

FOREST_KPIS = (
    "admissions",
    "ooa_admissions",
    "ooa_bed_days",
    "wait_referral_mean_days",
    "wait_mean_days",
    "wait_p90_days",
    "occupied_beds_mean",
    "delayed_discharge_days",
    "community_caseload_mean",
    "cost_total_gbp",
)
"""KPIs in a forest plot, per pathway (relative changes, so every unit shares one axis)."""

SHORT_LABELS = {
    "wait_referral_mean_days": "Wait from referral",
    "wait_mean_days": "Wait from acceptance",
    "wait_p90_days": "90th percentile wait",
}
"""Labels short enough for a forest plot's rows (the caption says what each wait is)."""


def row_label(kpi: str) -> str:
    """A forest row's label: the KPI's, shortened where it would not fit."""
    return SHORT_LABELS.get(kpi, kpi_label(kpi))


FOREST_AXIS = (-105.0, 150.0)
"""Axis limits of the forest plot (%); a larger change is drawn as an arrow and given in words."""


def signed_percent(value: float, _: object = None) -> str:
    """An axis tick as a signed percentage: ``+50%``, ``0%``, ``−100%``."""
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return f"{sign}{abs(value):.0f}%"


def forest_row(
    ax: Axes,
    y: float,
    pct: float,
    low: float,
    high: float,
    clear: bool,
    colour: str,
    limits: tuple[float, float] = FOREST_AXIS,
) -> None:
    """One estimate (%) and its interval at height ``y``; a part beyond ``limits`` is an arrow.

    The marker is a filled square for a clear difference and an open circle otherwise;
    an estimate beyond the axis has no marker, only its arrow. A missing bound is drawn
    at the estimate.
    """
    lim_low, lim_high = limits
    lo = pct if math.isnan(low) else low
    hi = pct if math.isnan(high) else high
    start, end = max(lo, lim_low), min(hi, lim_high)
    if start <= end:
        ax.hlines(y, start, end, color=colour, linewidth=2)
    arrow = {"arrowstyle": "-|>", "color": colour, "lw": 1.5, "mutation_scale": 9}
    span = (lim_high - lim_low) * 0.05
    if hi > lim_high:
        ax.annotate("", xy=(lim_high, y), xytext=(lim_high - span, y), arrowprops=arrow)
    if lo < lim_low:
        ax.annotate("", xy=(lim_low, y), xytext=(lim_low + span, y), arrowprops=arrow)
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


def forest_axis(ax: Axes, limits: tuple[float, float] = FOREST_AXIS) -> None:
    """A forest plot's x axis: signed percentages within ``limits``, a line at no change."""
    ax.axvline(0, color=TEXT, linewidth=1)
    ax.set_xlim(*limits)
    ax.xaxis.set_major_formatter(FuncFormatter(signed_percent))
    ax.grid(True, axis="x", color=GRID)
    ax.grid(False, axis="y")
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)


def _key(alternatives: Sequence[str]) -> list[Line2D]:
    """The legend: each alternative's colour, and the two markers."""
    handles = [
        Line2D([], [], color=scenario_colour(i + 1), lw=2, label=scenario_label(a))
        for i, a in enumerate(alternatives)
    ]
    for clear, label in ((True, "clear difference"), (False, "no clear difference")):
        handles.append(
            Line2D(
                [],
                [],
                color=TEXT if clear else "white",
                marker="s" if clear else "o",
                markeredgecolor=TEXT,
                markeredgewidth=1.5,
                markersize=7,
                ls="",
                label=label,
            )
        )
    return handles


# -- notebooks: every alternative, one panel per pathway ---------------------------------
def forest_figure(
    table: pd.DataFrame,
    base: str,
    alternatives: Sequence[str],
    pathways: Sequence[str],
    kpis: Sequence[str] = FOREST_KPIS,
    limits: tuple[float, float] = FOREST_AXIS,
) -> Figure:
    """Every alternative's paired differences from ``base``, one panel per pathway.

    ``table`` holds the paired differences (``alternative, pathway, kpi, pct_change,
    pct_ci_low, pct_ci_high, clear, diff_mean, diff_sd``) of the KPIs to show. One row
    per KPI in the order of ``kpis``, one colour per alternative. A KPI whose base is
    zero has no percentage and is left out, and so is an alternative that changes
    nothing in a pathway (named in the panel's corner).
    """
    panels: list[tuple[str, list[str], list[str], list[str]]] = []
    for pathway in pathways:
        mine = table[table["pathway"] == pathway]
        same = [a for a in alternatives if identical(mine[mine["alternative"] == a])]
        moved = [a for a in alternatives if a not in same]
        rows = mine[mine["alternative"].isin(moved) & mine["pct_change"].notna()]
        order = [k for k in kpis if k in set(rows["kpi"])]
        if order:
            panels.append((pathway, order, moved, same))
    with house_style():
        heights = [len(order) * (0.16 * len(moved) + 0.2) for _, order, moved, _ in panels]
        figure = new_figure(1.3 + sum(h + 0.5 for h in heights))
        axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=heights or None)
        for ax, (pathway, order, moved, same) in zip((r[0] for r in axes), panels, strict=True):
            mine = table[table["pathway"] == pathway]
            for j, kpi in enumerate(order):
                for k, alt in enumerate(moved):
                    hit = mine[(mine["kpi"] == kpi) & (mine["alternative"] == alt)]
                    if hit.empty:
                        continue
                    columns = ["pct_change", "pct_ci_low", "pct_ci_high"]
                    pct, low, high = hit[columns].to_numpy(dtype=float)[0]
                    y = j + (k - (len(moved) - 1) / 2) * 0.7 / len(moved)
                    colour = scenario_colour(list(alternatives).index(alt) + 1)
                    forest_row(ax, y, pct, low, high, bool(hit["clear"].iloc[0]), colour, limits)
            forest_axis(ax, limits)
            ax.set_yticks(range(len(order)), [row_label(k) for k in order])
            ax.set_ylim(len(order) - 0.5, -0.5)
            ax.set_title(pathway_label(pathway))
            if same:
                text = "Unchanged: " + ", ".join(scenario_label(a) for a in same)
                ax.set_title(textwrap.fill(text, 64), loc="right", fontsize=7.5,
                             fontweight="normal", color=MUTED)  # fmt: skip
        if panels:
            axes[-1][0].set_xlabel(
                f"Change from {scenario_label(base)} (paired, with 95% confidence interval)"
            )
        figure_legend(figure, list(_key(alternatives)))
    return figure


# -- the report: one alternative, its figures in words beside each row -------------------
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
    if identical_difference(float(row["diff_mean"]), float(row["diff_sd"])):
        return IDENTICAL
    # As in the summary: a relative change cannot fall below -100%.
    low, high = feasible("pct_change", "pct_change", low, high)
    if math.isnan(pct):
        kpi = str(row["kpi"])
        factor, per = (1 / years, " a year") if kpi in ADDITIVE_KPIS else (1.0, "")
        base, alt = float(row["base_mean"]) * factor, float(row["alt_mean"]) * factor
        return f"from {quantity(kpi, base)} to {quantity(kpi, alt)}{per}"
    text = estimate("pct_change", pct, low, high, signed=True).replace("95% CI ", "")
    text = text.replace(" (no 95% CI: too few replications)", "")
    if not bool(row["clear"]):
        text += ": no clear difference"
    return text


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
        y = 0
        labels: list[tuple[int, str, bool]] = []
        for pathway in groups:
            labels.append((y, pathway_label(pathway), True))
            y += 1
            for _, row in shown[shown["pathway"] == pathway].iterrows():
                kpi = str(row["kpi"])
                labels.append((y, row_label(kpi), False))
                pct = float(row["pct_change"])
                low, high = float(row["pct_ci_low"]), float(row["pct_ci_high"])
                clear = bool(row["clear"])
                if not math.isnan(pct):
                    forest_row(ax, y, pct, low, high, clear, NHS_BLUE if clear else MID_GREY)
                ax.text(
                    1.04,
                    y,
                    _difference_text(row, base.horizon_years),
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize=8,
                    color=TEXT if clear else MUTED,
                )
                y += 1
        forest_axis(ax)
        ax.set_ylim(y - 0.5, -0.7)
        ax.set_yticks([t for t, _, _ in labels])
        ax.set_yticklabels([text for _, text, _ in labels])
        for tick, (_, _, header) in zip(ax.get_yticklabels(), labels, strict=True):
            if header:
                tick.set_fontweight("bold")
                tick.set_color(NHS_BLUE)
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
        "the two averages instead. Waits from referral and from acceptance are means; the "
        "90th percentile wait is from acceptance."
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
