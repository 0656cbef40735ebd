"""Plots for notebooks: matplotlib figures drawn from results, in the report's style.

Each function takes a :class:`~simulation.api.Results` (or an analysis of one) and
returns a :class:`matplotlib.figure.Figure`, to show in a notebook, ``savefig`` or
adjust further. They draw numbers the results already hold: monthly lines are means
over replications with the 95% t-band of :func:`simulation.report.style.t_band`, waits and
differences come from the summary and the comparison table, and no KPI is recomputed.
The look (colours distinct for colour-blind readers, labels in planners' words) is the
report's, from :mod:`simulation.report.style` and :mod:`simulation.report.wording`, and
the forest plot is the report's own drawing (:mod:`simulation.report.forest`).
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from simulation.experiment.warmup import MEASURE_LABELS, WarmupAnalysis, welch_average
from simulation.report.forest import FOREST_AXIS, FOREST_KPIS, forest_figure
from simulation.report.style import (
    CAPACITY,
    GRID,
    MUTED,
    NHS_BLUE,
    TEXT,
    day_numbers,
    figure_legend,
    financial_year_axis,
    financial_year_start,
    grid_height,
    house_style,
    month_dates,
    new_figure,
    panel_grid,
    scenario_colour,
    scenario_style,
    t_band,
    whole_numbers,
)
from simulation.report.wording import kpi_label, pathway_label, scenario_label, service_label
from simulation.results.catalogue import ALL, HORIZON
from simulation.scenario.schema import PATHWAY_LABELS

if TYPE_CHECKING:
    from simulation.api import Results

MEASURE_AXIS = {
    "occupied_beds": "Occupied beds (monthly average)",
    "waiting_list": "Patients waiting for a bed",
    "out_of_area_census": "Patients in out-of-area beds",
    "delayed_discharges": "Patients in a bed after ready for discharge",
    "community_caseload": "Patients on community caseloads",
    "community_places": "Funded community places",
}


def _pathways(results: Results, pathways: Sequence[str] | None) -> list[str]:
    present = [p for p in results.summary["pathway"].drop_duplicates() if p != ALL]
    order = list(PATHWAY_LABELS)
    present.sort(key=lambda p: order.index(p) if p in order else len(order))
    return [p for p in present if pathways is None or p in pathways]


def _scenario_handles(names: Sequence[str], band: bool = True) -> list[Line2D | Patch]:
    handles: list[Line2D | Patch] = [
        Line2D(
            [],
            [],
            color=scenario_colour(i),
            linestyle=scenario_style(i),
            label=scenario_label(name),
        )
        for i, name in enumerate(names)
    ]
    if band:
        handles.append(Patch(color=scenario_colour(0), alpha=0.2, label="95% confidence interval"))
    return handles


def _month_axis(ax: Axes, monthly: pd.DataFrame) -> None:
    months = sorted(monthly["month"].drop_duplicates())
    years = sorted(monthly["financial_year"].drop_duplicates())
    first = dt.date(int(months[0][:4]), int(months[0][5:7]), 1)
    last = dt.date(int(months[-1][:4]), int(months[-1][5:7]), 1)
    end = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    financial_year_axis(ax, years, first, end)


def monthly_plot(
    results: Results,
    measure: str = "occupied_beds",
    pathways: Sequence[str] | None = None,
) -> Figure:
    """A monthly level per pathway over time, one line and 95% band per scenario.

    ``measure`` is one of the monthly series (``occupied_beds``, ``waiting_list``,
    ``out_of_area_census``, ``delayed_discharges``, ``community_caseload``,
    ``community_places``), summed over the pathway's units, services or teams. For
    occupied beds, the dashed line is the beds available in each financial year (in a
    scenario's own colour where it differs from the base's).

    >>> from simulation.api import demo_scenario, run
    >>> figure = monthly_plot(run(demo_scenario(), replications=2, workers=1))
    >>> [ax.get_title(loc="left") for ax in figure.axes]
    ['Adult eating disorders']
    """
    monthly = results.monthly[results.monthly["measure"] == measure]
    if monthly.empty:
        raise ValueError(f"no monthly series {measure!r}; measures: {', '.join(MEASURE_AXIS)}")
    shown = [p for p in _pathways(results, pathways) if p in set(monthly["pathway"])]
    with house_style():
        figure = new_figure(grid_height(len(shown), columns=len(shown) if len(shown) < 3 else 3))
        axes = panel_grid(figure, len(shown), columns=3)
        for ax, pathway in zip(axes, shown, strict=True):
            rows = monthly[monthly["pathway"] == pathway]
            bands = []
            for name in results.names:
                mine = rows[rows["scenario"] == name]
                total = mine.groupby(["replication", "month"])["value"].sum().reset_index()
                bands.append(t_band(total, ["month"]))
            same = [i for i in range(1, len(bands)) if _same_band(bands[i], bands[0])]
            beds = [
                _beds(results, name, pathway, rows) if measure == "occupied_beds" else None
                for name in results.names
            ]
            drawn: list[tuple[np.ndarray, list[float], str]] = []
            for i, band in enumerate(bands):
                if i in same:
                    continue
                x = day_numbers(month_dates(list(band["month"])))
                # An average of levels can be neither negative nor above the beds there
                # are: the t-band is cut where the quantity itself ends.
                low = np.maximum(band["low"].to_numpy(dtype=float), 0.0)
                high = band["high"].to_numpy(dtype=float)
                steps = beds[i]
                if steps is not None:
                    starts = day_numbers(steps[0])
                    at = np.clip(np.searchsorted(starts, x, side="right") - 1, 0, len(steps[1]) - 1)
                    high = np.minimum(high, np.asarray(steps[1], dtype=float)[at])
                    if steps[1] not in [values for _, values, _ in drawn]:
                        colour = CAPACITY if not drawn else scenario_colour(i)
                        drawn.append((starts, steps[1], colour))
                ax.fill_between(x, low, high, color=scenario_colour(i), alpha=0.18, lw=0)
                ax.plot(x, band["mean"], color=scenario_colour(i), ls=scenario_style(i), lw=1.8)
            for starts, values, colour in reversed(drawn):  # the base's on top
                ax.step(starts, values, where="post", color=colour, ls=(0, (4, 2)), lw=1.4)
            if same:
                names = ", ".join(scenario_label(results.names[i]) for i in same)
                text = f"Same as {scenario_label(results.base)}: {names}"
                ax.set_xlabel(textwrap.fill(text, 48), fontsize=7.5, color=MUTED)
            _month_axis(ax, rows)
            whole_numbers(ax)
            ax.set_title(pathway_label(pathway))
        figure.supylabel(MEASURE_AXIS.get(measure, measure))
        handles = _scenario_handles(results.names)
        if measure == "occupied_beds":
            handles.append(Line2D([], [], color=CAPACITY, ls=(0, (4, 2)), label="Beds available"))
        figure_legend(figure, list(handles))
    return figure


def _same_band(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two monthly bands hold the same numbers (a scenario that changed nothing)."""
    if list(a["month"]) != list(b["month"]):
        return False
    columns = ["mean", "low", "high"]
    x, y = a[columns].to_numpy(dtype=float), b[columns].to_numpy(dtype=float)
    return bool(np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True))


def _beds(
    results: Results, scenario: str, pathway: str, monthly: pd.DataFrame
) -> tuple[list[dt.date], list[float]] | None:
    """A scenario's beds per financial year as a step line: edges and values."""
    s = results.summary
    beds = s[
        (s["kpi"] == "beds")
        & (s["pathway"] == pathway)
        & (s["service"] == ALL)
        & (s["unit"] == ALL)
        & (s["place"] == ALL)
        & (s["period"] != HORIZON)
        & (s["scenario"] == scenario)
    ].sort_values("period")
    if beds.empty:
        return None
    months = sorted(monthly["month"].drop_duplicates())
    first = dt.date(int(months[0][:4]), int(months[0][5:7]), 1)
    last = dt.date(int(months[-1][:4]), int(months[-1][5:7]), 1)
    end = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    edges = [max(first, financial_year_start(str(y))) for y in beds["period"]] + [end]
    values = [*beds["mean"].astype(float), float(beds["mean"].iloc[-1])]
    return edges, values


def waits_plot(results: Results, pathways: Sequence[str] | None = None) -> Figure:
    """Waits for admission per bed type: the mean and the 90th percentile, with 95% CIs.

    From the summary over the whole horizon: one row of two panels per pathway, one
    marker per scenario within each bed type. A bed type nobody waited for shows 0.

    >>> from simulation.api import demo_scenario, run
    >>> figure = waits_plot(run(demo_scenario(), replications=2, workers=1))
    >>> [ax.get_title(loc="left") for ax in figure.axes]
    ['Adult eating disorders: mean wait', 'Adult eating disorders: 90th percentile']
    """
    s = results.summary
    rows = s[
        s["kpi"].isin(["wait_mean_days", "wait_p90_days"])
        & (s["service"] != ALL)
        & (s["unit"] == ALL)
        & (s["place"] == ALL)
        & (s["period"] == HORIZON)
    ]
    shown = [p for p in _pathways(results, pathways) if p in set(rows["pathway"])]
    names = results.names
    heights = [max(1, rows[rows["pathway"] == p]["service"].nunique()) * len(names) for p in shown]
    with house_style():
        figure = new_figure(1.0 + sum(0.26 * h + 0.55 for h in heights))
        axes = figure.subplots(len(shown), 2, squeeze=False, height_ratios=heights or None)
        for (left, right), pathway in zip(axes, shown, strict=True):
            mine = rows[rows["pathway"] == pathway]
            services = list(mine["service"].drop_duplicates())
            for ax, kpi, what in (
                (left, "wait_mean_days", "mean wait"),
                (right, "wait_p90_days", "90th percentile"),
            ):
                for j, service in enumerate(services):
                    for i, name in enumerate(names):
                        y = j + (i - (len(names) - 1) / 2) * 0.7 / len(names)
                        hit = mine[
                            (mine["service"] == service)
                            & (mine["scenario"] == name)
                            & (mine["kpi"] == kpi)
                        ]
                        values = hit[["mean", "ci_low", "ci_high"]].to_numpy(dtype=float)
                        if not len(values) or math.isnan(values[0, 0]):
                            continue
                        mean, low, high = values[0]
                        if not math.isnan(low):
                            ax.hlines(y, max(low, 0.0), high, color=scenario_colour(i), lw=1.6)
                        ax.plot([mean], [y], marker="o", color=scenario_colour(i), markersize=5.5)
                ax.set_yticks(
                    range(len(services)), [service_label(pathway, str(v)) for v in services]
                )
                ax.set_ylim(len(services) - 0.5, -0.5)
                ax.set_xlim(left=0)
                ax.grid(True, axis="x", color=GRID)
                ax.grid(False, axis="y")
                ax.tick_params(axis="y", length=0)
                ax.set_title(f"{pathway_label(pathway)}: {what}")
            right.set_yticklabels([])
        for ax in axes[-1]:
            ax.set_xlabel("Days from acceptance to admission")
        handles: list[Line2D | Patch] = []
        if len(names) > 1:
            handles = [
                Line2D([], [], color=scenario_colour(i), marker="o", label=scenario_label(n))
                for i, n in enumerate(names)
            ]
        handles.append(
            Line2D(
                [], [], color=TEXT, marker="o", lw=1.6, label="Mean with 95% confidence interval"
            )
        )
        figure_legend(figure, list(handles))
    return figure


def forest_plot(
    results: Results,
    kpis: Sequence[str] = FOREST_KPIS,
    pathways: Sequence[str] | None = None,
    period: str = HORIZON,
    limits: tuple[float, float] = FOREST_AXIS,
) -> Figure:
    """Each alternative's paired difference from the base, as % change with its 95% CI.

    One panel per pathway, one row per KPI, one colour per alternative, drawn as the
    report's forest plot (:mod:`simulation.report.forest`): a filled square is a clear
    difference (the interval excludes zero), an open circle is not; an interval beyond
    ``limits`` (%) ends in an arrow. A KPI whose base is zero has no percentage and is
    left out, and so is an alternative that changes nothing in a pathway (named in the
    panel's corner).

    >>> from simulation.api import compare, demo_scenario, load
    >>> more = load(demo_scenario("more_beds"), {"units.Unit.beds": 14})
    >>> figure = forest_plot(compare(demo_scenario(), more, replications=3, workers=1))
    >>> figure.axes[0].get_title(loc="left")
    'Adult eating disorders'
    """
    table = results.differences(period, kpis)
    shown = _pathways(results, pathways)
    return forest_figure(table, results.base, results.names[1:], shown, kpis, limits)


def tornado_plot(
    results: Results,
    factors: Mapping[str, tuple[str, str]],
    panels: Sequence[tuple[str, str]],
    period: str = HORIZON,
    scales: Mapping[str, tuple[float, str]] | None = None,
) -> Figure:
    """One-way sensitivity: how far each factor's low and high value move a KPI.

    ``factors`` maps a label to the names of its (low, high) scenarios, all compared
    with the base in ``results``; ``panels`` lists the ``(kpi, pathway)`` pairs to show.
    Each bar runs from the base to the paired mean difference, the widest factor on
    top, with its 95% CI as a whisker. ``scales`` restates a KPI's difference, as
    ``{"cost_total_gbp": (1e-6, "£m")}``.

    >>> from simulation.api import compare, demo_scenario, load
    >>> low = load(demo_scenario("beds_8"), {"units.Unit.beds": 8})
    >>> high = load(demo_scenario("beds_12"), {"units.Unit.beds": 12})
    >>> r = compare(demo_scenario(), [low, high], replications=3, workers=1)
    >>> beds = {"Beds 8 to 12": ("beds_8", "beds_12")}
    >>> figure = tornado_plot(r, beds, [("admissions", "adult_ed")])
    >>> [t.get_text() for t in figure.axes[0].get_yticklabels()]
    ['Beds 8 to 12']
    """
    table = results.differences(period, sorted({kpi for kpi, _ in panels}))
    scales = scales or {}
    columns = 1 if len(panels) == 1 else 2
    rows_needed = math.ceil(len(panels) / columns)
    with house_style():
        figure = new_figure(0.9 + rows_needed * (0.75 + 0.42 * len(factors)))
        axes = panel_grid(figure, len(panels), columns=columns)
        for ax, (kpi, pathway) in zip(axes, panels, strict=True):
            mine = table[(table["kpi"] == kpi) & (table["pathway"] == pathway)]
            mine = mine.set_index("alternative")
            factor, unit = scales.get(kpi, (1.0, ""))

            def diff(name: str, mine: pd.DataFrame = mine, factor: float = factor) -> np.ndarray:
                columns = ["diff_mean", "diff_ci_low", "diff_ci_high"]
                values = mine.loc[[name], columns].to_numpy(dtype=float)[0]
                return np.asarray(values * factor, dtype=float)

            bars = [(label, diff(low), diff(high)) for label, (low, high) in factors.items()]
            bars.sort(key=lambda b: -max(abs(b[1][0]), abs(b[2][0])))
            for y, (_, lo, hi) in enumerate(bars):
                # Low above high, side by side, so that two bars on one side never hide
                # each other.
                for offset, values, colour in ((-0.17, lo, scenario_colour(0)),
                                               (0.17, hi, scenario_colour(1))):  # fmt: skip
                    ax.barh(y + offset, values[0], height=0.32, color=colour, alpha=0.9)
                    if not math.isnan(values[1]):
                        ax.hlines(y + offset, values[1], values[2], color=TEXT, lw=1.2)
            ax.axvline(0, color=TEXT, lw=1)
            ax.set_yticks(range(len(bars)), [b[0] for b in bars])
            ax.set_ylim(len(bars) - 0.5, -0.5)
            ax.grid(True, axis="x", color=GRID)
            ax.grid(False, axis="y")
            ax.tick_params(axis="y", length=0)
            ax.set_xlabel(
                f"Change from {scenario_label(results.base)}" + (f" ({unit})" if unit else "")
            )
            ax.set_title(f"{kpi_label(kpi)}: {pathway_label(pathway)}")
        figure_legend(
            figure,
            [
                Patch(color=scenario_colour(0), label="low value"),
                Patch(color=scenario_colour(1), label="high value"),
                Line2D([], [], color=TEXT, lw=1.2, label="95% confidence interval"),
            ],
        )
    return figure


def grid_plot(
    results: Results,
    grid: pd.DataFrame,
    kpis: Sequence[str],
    pathway: str = ALL,
    period: str = HORIZON,
    scales: Mapping[str, tuple[float, str]] | None = None,
) -> Figure:
    """A two-way grid: one heat map per KPI, the mean of each combination written in.

    ``grid`` has columns ``scenario``, ``x`` and ``y`` (the two factors' values, named
    by ``grid.attrs["x"]`` and ``grid.attrs["y"]`` if set). ``scales`` restates a KPI
    (``{"cost_total_gbp": (1e-6, "£m")}``).

    >>> from simulation.api import demo_scenario, load, run
    >>> runs = [load(demo_scenario(f"b{b}"), {"units.Unit.beds": b}) for b in (8, 10)]
    >>> grid = pd.DataFrame({"scenario": ["b8", "b10"], "x": [8, 10], "y": [0, 0]})
    >>> figure = grid_plot(run(runs, replications=2, workers=1), grid, ["admissions"], "adult_ed")
    >>> len(figure.axes[0].texts)
    2
    """
    s = results.summary
    s = s[
        (s["pathway"] == pathway)
        & (s["service"] == ALL)
        & (s["unit"] == ALL)
        & (s["place"] == ALL)
        & (s["period"] == period)
    ]
    xs = sorted(grid["x"].unique())
    ys = sorted(grid["y"].unique())
    scales = scales or {}
    with house_style():
        figure = new_figure(0.9 + 0.5 * len(ys) + 0.6, width_in=max(4.5, 3.8 * len(kpis)))
        axes = figure.subplots(1, len(kpis), squeeze=False)[0]
        for ax, kpi in zip(axes, kpis, strict=True):
            factor, unit = scales.get(kpi, (1.0, ""))
            values = np.full((len(ys), len(xs)), np.nan)
            for row in grid.itertuples(index=False):
                hit = s[(s["scenario"] == row.scenario) & (s["kpi"] == kpi)]
                if not hit.empty:
                    values[ys.index(row.y), xs.index(row.x)] = float(hit["mean"].iloc[0]) * factor
            image = ax.imshow(values, cmap="Blues", aspect="auto", origin="lower")
            top = np.nanmax(values) if np.isfinite(values).any() else 0.0
            bottom = np.nanmin(values) if np.isfinite(values).any() else 0.0
            for (j, i), value in np.ndenumerate(values):
                if math.isnan(value):
                    continue
                dark = top > bottom and (value - bottom) / (top - bottom) > 0.6
                text = f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
                ax.text(i, j, text, ha="center", va="center", fontsize=9,
                        color="white" if dark else TEXT)  # fmt: skip
            ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
            ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
            ax.set_xlabel(str(grid.attrs.get("x", "x")))
            ax.set_ylabel(str(grid.attrs.get("y", "y")))
            ax.grid(False)
            ax.set_title(kpi_label(kpi) + (f" ({unit})" if unit else ""))
            figure.colorbar(image, ax=ax, shrink=0.85)
        figure.suptitle(pathway_label(pathway), x=0.02, ha="left", fontweight="bold")
    return figure


def welch_plot(
    analysis: WarmupAnalysis, window: int = 12, pathways: Sequence[str] | None = None
) -> Figure:
    """Welch's plot for a warm-up analysis: each series, smoothed, with MSER-5's cut.

    One row per pathway, one panel per measure: the monthly mean over replications
    (thin, grey), Welch's moving average over ``window`` months either side (blue),
    the MSER-5 truncation (solid line) and the scenario's present warm-up (dashed). A
    series that has not settled is marked "still changing".

    >>> from simulation.api import demo_scenario, load
    >>> from simulation.experiment.warmup import analyse_warmup
    >>> analysis = analyse_warmup(load(demo_scenario()), years=3, replications=1, workers=1)
    >>> [ax.get_title(loc="left") for ax in welch_plot(analysis).axes][:2]
    ['Occupied beds', 'Waiting list']
    """
    series = analysis.series
    table = analysis.table.set_index(["pathway", "measure"])
    order = list(PATHWAY_LABELS)
    present = list(series["pathway"].drop_duplicates())
    shown = sorted(present, key=lambda p: order.index(p) if p in order else 9)
    shown = [p for p in shown if pathways is None or p in pathways]
    measures = [m for m in MEASURE_LABELS if m in set(series["measure"])]
    current_years = analysis.current_warmup_days / 365.25
    current = f"Scenario's warm-up ({current_years:.1f} years"
    current += ": beyond this run)" if current_years > analysis.years else ")"
    start = "the census start" if analysis.from_census else "an empty start"
    with house_style():
        figure = new_figure(0.9 + 1.7 * len(shown), width_in=11.0)
        axes = figure.subplots(len(shown), len(measures), squeeze=False)
        for r, pathway in enumerate(shown):
            for c, measure in enumerate(measures):
                ax = axes[r][c]
                rows = series[(series["pathway"] == pathway) & (series["measure"] == measure)]
                years = np.arange(len(rows)) / 12.0
                values = rows["value"].to_numpy(dtype=float)
                ax.plot(years, values, color="#AEB7BD", lw=0.7)
                ax.plot(years, welch_average(values, window), color=NHS_BLUE, lw=1.6)
                if (pathway, measure) in table.index:
                    row = table.loc[[(pathway, measure)]]
                    cut = float(row["truncation_months"].iloc[0]) / 12.0
                    ax.axvline(cut, color="#D5281B", lw=1.3)
                    if not bool(row["settled"].iloc[0]):
                        ax.text(0.03, 0.96, "still changing", transform=ax.transAxes,
                                ha="left", va="top", fontsize=7.5, color="#D5281B")  # fmt: skip
                if current_years > 0:
                    ax.axvline(current_years, color=TEXT, lw=1, ls="--")
                ax.set_xlim(0, years[-1] if len(years) else 1)
                ax.set_ylim(bottom=0)
                ax.tick_params(labelsize=7.5)
                if r == 0:
                    ax.set_title(MEASURE_LABELS[measure], fontsize=9)
                if c == 0:
                    ax.set_ylabel(pathway_label(pathway), fontsize=9, fontweight="bold")
                if r == len(shown) - 1:
                    ax.set_xlabel(f"Years from {start}", fontsize=8.5)
        figure_legend(
            figure,
            [
                Line2D([], [], color="#AEB7BD", lw=0.7, label="Monthly mean over replications"),
                Line2D(
                    [], [], color=NHS_BLUE, lw=1.6, label=f"Welch moving average (±{window} months)"
                ),
                Line2D([], [], color="#D5281B", lw=1.3, label="MSER-5 warm-up"),
                *(
                    [Line2D([], [], color=TEXT, lw=1, ls="--", label=current)]
                    if current_years > 0
                    else []
                ),
            ],
            width_in=11.0,
        )
    return figure


def precision_plot(
    table: pd.DataFrame, precision: float = 0.05, title: str = "", unit: str = ""
) -> Figure:
    """How the 95% CI narrows as replications are added, against a relative target.

    ``table`` is :func:`simulation.experiment.precision.cumulative_intervals` of one KPI's
    replication values. The band is the interval after each replication; the dotted
    lines mark ±``precision`` of the final mean, and the vertical line the first number
    of replications whose interval is within ``precision`` of its own mean.

    >>> from simulation.experiment.precision import cumulative_intervals
    >>> figure = precision_plot(cumulative_intervals([9.0, 11, 10, 10.5, 9.5, 10]), 0.1)
    >>> figure.axes[0].get_xlabel()
    'Replications'
    """
    n = table["replications"].to_numpy()
    mean = table["mean"].to_numpy(dtype=float)
    with house_style():
        figure = new_figure(3.2, width_in=7.0)
        ax = figure.subplots()
        ax.fill_between(n, table["ci_low"], table["ci_high"], color=NHS_BLUE, alpha=0.18, lw=0)
        ax.plot(n, mean, color=NHS_BLUE, lw=1.8, marker="o", markersize=3)
        final = mean[-1]
        for sign in (-1, 1):
            ax.axhline(final * (1 + sign * precision), color=TEXT, lw=1, ls=":")
        met = table[table["relative_half_width"] <= precision]
        handles: list[Line2D | Patch] = [
            Line2D([], [], color=NHS_BLUE, lw=1.8, marker="o", markersize=3, label="Mean so far"),
            Patch(color=NHS_BLUE, alpha=0.2, label="95% confidence interval"),
            Line2D([], [], color=TEXT, lw=1, ls=":", label=f"±{precision:.0%} of the final mean"),
        ]
        if not met.empty:
            first = int(met["replications"].iloc[0])
            ax.axvline(first, color="#D5281B", lw=1.3)
            handles.append(
                Line2D([], [], color="#D5281B", lw=1.3, label=f"Within ±{precision:.0%}: {first}")
            )
        # The first intervals (t is 12.7 with two replications) would flatten the rest:
        # the axis shows the intervals from three replications on and the target band.
        later = table[table["replications"] >= 3]
        if len(later):
            values = [*later["ci_low"], *later["ci_high"], *mean, final * (1 - precision),
                      final * (1 + precision)]  # fmt: skip
            low, high = float(np.nanmin(values)), float(np.nanmax(values))
            pad = 0.08 * (high - low or abs(high) or 1.0)
            ax.set_ylim(low - pad, high + pad)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Replications")
        ax.set_ylabel(unit[:1].upper() + unit[1:])
        ax.set_xlim(1, max(2, int(n[-1])))
        if title:
            ax.set_title(title)
        figure_legend(figure, list(handles), width_in=7.0)
    return figure
