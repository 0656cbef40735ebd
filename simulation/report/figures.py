"""Figures over time and by place: beds, waiting lists, out of area, caseloads, equity.

Each function draws one figure of a report from results folders only, one line (or
bar) per scenario: a run report passes one folder, a comparison passes the base and its
alternatives. Time series come from the per-replication monthly series: each month's
line is the mean over replications and its shaded band the 95% t-interval of that mean.
Capacity (beds available, funded community places) is drawn as a dotted line against
the level it constrains. Equity figures put each home place's waits and out-of-area
rates side by side, with their 95% intervals from the summary. Money has its own
module, :mod:`simulation.report.moneyfigures`, and the paired comparison's forest plot
:mod:`simulation.report.forest`.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simulation.report.style import (
    CAPACITY,
    CAPACITY_STYLE,
    MID_GREY,
    Chart,
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
    to_png,
    whole_numbers,
)
from simulation.report.wording import (
    in_sentence,
    number,
    pathway_label,
    percent,
    place_label,
    scenario_label,
    service_label,
    years_span,
)
from simulation.store.reader import RunFolder

ALL = "all"


def summary_value(
    run: RunFolder,
    kpi: str,
    period: str,
    pathway: str = ALL,
    service: str = ALL,
    unit: str = ALL,
    place: str = ALL,
) -> tuple[float, float, float]:
    """Mean, CI low and CI high of one summary row (NaNs when the row is absent)."""
    s = run.summary
    rows = s[
        (s["kpi"] == kpi)
        & (s["period"] == period)
        & (s["pathway"] == pathway)
        & (s["service"] == service)
        & (s["unit"] == unit)
        & (s["place"] == place)
    ]
    if rows.empty:
        return float("nan"), float("nan"), float("nan")
    row = rows.iloc[0]
    return float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])


def _services(runs: Sequence[RunFolder]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for run in runs:
        for pathway in run.pathways:
            for service in run.services(pathway):
                seen[(pathway, service)] = None
    return list(seen)


def _monthly_band(run: RunFolder, measure: str, **match: str) -> pd.DataFrame:
    """Per month: mean over replications of the summed level, and its 95% interval."""
    m = run.monthly_of(measure)
    mask = pd.Series(True, index=m.index)
    for column, value in match.items():
        mask &= m[column] == value
    rows = m[mask]
    if rows.empty:
        return pd.DataFrame(columns=["month", "mean", "n", "low", "high"])
    per_replication = rows.groupby(["replication", "month"], sort=True)["value"].sum()
    return t_band(per_replication.reset_index(), ["month"])


def _capacity_steps(
    run: RunFolder, kpi: str, pathway: str, service: str, unit: str = ALL
) -> tuple[list[dt.date], list[float]]:
    """A step line of a per-financial-year capacity KPI (x edges and y values)."""
    years = run.financial_years
    edges = [max(run.start_date, financial_year_start(y)) for y in years] + [run.end_date]
    values = [summary_value(run, kpi, y, pathway, service, unit)[0] for y in years]
    return edges, [*values, values[-1]] if values else []


def _legend_handles(runs: Sequence[RunFolder], capacity: str | None) -> list[object]:
    handles: list[object] = []
    several = len(runs) > 1
    for i, run in enumerate(runs):
        label = scenario_label(run.name) if several else "Average over replications"
        handles.append(
            Line2D([], [], color=scenario_colour(i), linestyle=scenario_style(i), label=label)
        )
    handles.append(Patch(color=scenario_colour(0), alpha=0.2, label="95% confidence interval"))
    if capacity:
        handles.append(
            Line2D([], [], color=CAPACITY, linestyle=CAPACITY_STYLE, linewidth=1.8, label=capacity)
        )
    return handles


SAME_AS_BASE = (
    " One colour and line style per scenario; a scenario not drawn in a panel has exactly "
    "the same numbers there as {base}."
)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two monthly bands are the same numbers (an alternative that changed nothing)."""
    if len(a) != len(b) or list(a["month"]) != list(b["month"]):
        return False
    columns = ["mean", "low", "high"]
    return bool(
        np.allclose(
            a[columns].to_numpy(dtype=float),
            b[columns].to_numpy(dtype=float),
            rtol=1e-9,
            atol=1e-9,
            equal_nan=True,
        )
    )


def _time_panel(
    ax: Axes,
    runs: Sequence[RunFolder],
    bands: list[pd.DataFrame],
    capacity: list[tuple[list[dt.date], list[float]]] | None,
    clip_to_capacity: bool = False,
) -> None:
    """Draw each scenario's line and band; an alternative identical to the base is left out.

    Drawn over the base, an identical line would hide it and muddy the bands; the
    figure's caption says that a scenario missing from a panel equals the base there.
    """
    same = [i for i in range(1, len(bands)) if not bands[0].empty and _same(bands[i], bands[0])]
    for i, band in enumerate(bands):
        if band.empty or i in same:
            continue
        x = day_numbers(month_dates(list(band["month"])))
        colour = scenario_colour(i)
        # An average of levels cannot be negative, nor above the beds there are: the
        # t-interval is cut where the quantity itself ends.
        low = np.maximum(band["low"].to_numpy(dtype=float), 0.0)
        high = band["high"].to_numpy(dtype=float)
        if clip_to_capacity and capacity and capacity[i][1]:
            edges, values = capacity[i]
            starts = day_numbers(edges)
            index = np.clip(np.searchsorted(starts, x, side="right") - 1, 0, len(values) - 1)
            high = np.minimum(high, np.asarray(values, dtype=float)[index])
        ax.fill_between(x, low, high, color=colour, alpha=0.18, linewidth=0)
        ax.plot(x, band["mean"], color=colour, linestyle=scenario_style(i), linewidth=1.8)
    if capacity:
        drawn = [(i, c) for i, c in enumerate(capacity) if c[1] and i not in same]
        distinct = {tuple(values) for _, (_, values) in drawn}
        for i, (edges, values) in drawn:
            colour = CAPACITY if len(distinct) == 1 else scenario_colour(i)
            ax.step(
                day_numbers(edges),
                values,
                where="post",
                color=colour,
                linestyle=CAPACITY_STYLE,
                linewidth=1.8,
            )
            if len(distinct) == 1:
                break
    base = runs[0]
    financial_year_axis(ax, base.financial_years, base.start_date, base.end_date)
    whole_numbers(ax)


def _finals(
    labels: list[str], runs: Sequence[RunFolder], bands: Sequence[Sequence[pd.DataFrame]]
) -> str:
    """Each panel's final-year value per scenario, for a chart's text alternative."""
    return "; ".join(
        f"{label}: "
        + ", ".join(
            f"{scenario_label(r.name)} {_final_year_text(b, r)}"
            for r, b in zip(runs, per_run, strict=True)
        )
        for label, per_run in zip(labels, bands, strict=True)
    )


def _final_year_text(band: pd.DataFrame, run: RunFolder) -> str:
    if band.empty or not run.financial_years:
        return "no data"
    year = run.financial_years[-1]
    value = band.loc[band["month"].isin(run.months_in(year)), "mean"].mean()
    return f"{number(float(value))} in {year}"


def _series_frame(
    runs: Sequence[RunFolder],
    keys: list[tuple[str, str, str]],
    bands: list[list[pd.DataFrame]],
    what: str,
) -> pd.DataFrame:
    pieces = []
    for (pathway, service, resource), per_run in zip(keys, bands, strict=True):
        for run, band in zip(runs, per_run, strict=True):
            if band.empty:
                continue
            piece = pd.DataFrame(
                {
                    "Scenario": scenario_label(run.name),
                    "Pathway": pathway_label(pathway),
                    what: resource or service_label(pathway, service),
                    "Month": band["month"],
                    "Mean": band["mean"],
                    "95% CI low": band["low"],
                    "95% CI high": band["high"],
                    "Replications": band["n"],
                }
            )
            pieces.append(piece)
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()


def service_level_chart(
    runs: Sequence[RunFolder],
    measure: str,
    key: str,
    title: str,
    y_label: str,
    what: str,
    with_beds: bool = False,
) -> Chart:
    """One panel per bed type of a monthly level (occupied beds, waiting list, ...)."""
    services = _services(runs)
    bands = [
        [_monthly_band(run, measure, pathway=p, service=s) for run in runs] for p, s in services
    ]
    capacity_label = "Beds available" if with_beds else None
    with house_style():
        figure = new_figure(grid_height(len(services)))
        axes = panel_grid(figure, len(services))
        for ax, (pathway, service), per_run in zip(axes, services, bands, strict=True):
            steps = (
                [_capacity_steps(r, "beds", pathway, service) for r in runs] if with_beds else None
            )
            _time_panel(ax, runs, per_run, steps, clip_to_capacity=with_beds)
            ax.set_title(f"{pathway_label(pathway)}: {service_label(pathway, service)}")
        figure.supylabel(y_label)
        figure.supxlabel("Financial year (April to March)", fontsize=9)
        figure_legend(figure, _legend_handles(runs, capacity_label))
        png = to_png(figure)
    n = runs[0].replications
    caption = (
        f"{what} in each bed type, month by month: the line is the average over {n} "
        "replications and the shaded band its 95% confidence interval."
    )
    if with_beds:
        caption += (
            " The dotted line is the number of beds available (per financial year); the band"
            " is cut at zero and at the beds available, which an average cannot pass."
        )
    if len(runs) > 1:
        caption += SAME_AS_BASE.format(base=scenario_label(runs[0].name))
    finals = _finals(
        [f"{pathway_label(p)} {in_sentence(service_label(p, s))}" for p, s in services],
        runs,
        bands,
    )
    keys = [(p, s, "") for p, s in services]
    data = _series_frame(runs, keys, bands, "Service")
    if not data.empty:
        data.insert(3, "Measure", " ".join(y_label.split()))
    return Chart(key, title, caption, f"{title}. Monthly averages: {finals}.", png, data)


def occupancy_chart(runs: Sequence[RunFolder]) -> Chart:
    """Occupied beds over time per bed type, against the beds available."""
    return service_level_chart(
        runs,
        "occupied_beds",
        "occupancy",
        "Bed occupancy over time against capacity",
        "Occupied beds\n(monthly average)",
        "Occupied beds",
        with_beds=True,
    )


def waiting_list_chart(runs: Sequence[RunFolder]) -> Chart:
    """Patients waiting for a bed, over time per bed type."""
    return service_level_chart(
        runs,
        "waiting_list",
        "waiting_list",
        "Waiting list over time",
        "Patients waiting for a bed\n(monthly average)",
        "Patients on the waiting list",
    )


def out_of_area_chart(runs: Sequence[RunFolder]) -> Chart:
    """Patients placed out of area, over time per bed type."""
    return service_level_chart(
        runs,
        "out_of_area_census",
        "out_of_area",
        "Out-of-area census over time",
        "Patients in out-of-area beds\n(monthly average)",
        "Patients in out-of-area beds",
    )


def _teams(runs: Sequence[RunFolder]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for run in runs:
        m = run.monthly
        teams = m.loc[m["measure"] == "community_caseload", ["pathway", "resource"]]
        for pathway, team in teams.drop_duplicates().itertuples(index=False, name=None):
            seen[(str(pathway), str(team))] = None
    order = {p: i for i, p in enumerate(runs[0].pathways)}
    return sorted(seen, key=lambda t: order.get(t[0], len(order)))


def caseload_chart(runs: Sequence[RunFolder]) -> Chart | None:
    """Community caseload over time per team, against its funded places."""
    teams = _teams(runs)
    if not teams:
        return None
    bands = [
        [_monthly_band(r, "community_caseload", pathway=p, resource=t) for r in runs]
        for p, t in teams
    ]
    places = [
        [_monthly_band(r, "community_places", pathway=p, resource=t) for r in runs]
        for p, t in teams
    ]
    with house_style():
        figure = new_figure(grid_height(len(teams)))
        axes = panel_grid(figure, len(teams))
        for ax, (_, team), per_run, funded in zip(axes, teams, bands, places, strict=True):
            steps: list[tuple[list[dt.date], list[float]]] = []
            for run, band in zip(runs, funded, strict=True):
                if band.empty:
                    steps.append(([], []))
                    continue
                edges = month_dates(list(band["month"]))
                starts = [dt.date(d.year, d.month, 1) for d in edges]
                values = list(band["mean"])
                steps.append(([*starts, run.end_date], [*values, values[-1]]))
            _time_panel(ax, runs, per_run, steps, clip_to_capacity=True)
            ax.set_title(textwrap.fill(team, 44))
        figure.supylabel("Patients on the caseload\n(monthly average)")
        figure.supxlabel("Financial year (April to March)", fontsize=9)
        figure_legend(figure, _legend_handles(runs, "Funded places"))
        png = to_png(figure)
    n = runs[0].replications
    caption = (
        "Patients on each community team's caseload, month by month: the line is the "
        f"average over {n} replications and the shaded band its 95% confidence interval. "
        "The dotted line is the number of funded places (average over replications)."
    )
    if len(runs) > 1:
        caption += SAME_AS_BASE.format(base=scenario_label(runs[0].name))
    finals = _finals([team for _, team in teams], runs, bands)
    keys = [(p, "", t) for p, t in teams]
    data = _series_frame(runs, keys, bands, "Team")
    return Chart(
        "community_caseload",
        "Community caseload over time against funded places",
        caption,
        f"Community caseload over time. Monthly averages: {finals}.",
        png,
        data,
    )


MARKERS = ("o", "s", "D", "^", "v", "P")
"""Marker shapes per scenario (a cue that does not depend on colour)."""

EQUITY_KPIS = (
    ("wait_referral_mean_days", "Mean wait from\nreferral (days)"),
    ("ooa_admission_pct", "Admissions placed\nout of area (%)"),
    ("distance_mean_miles", "Mean distance\nfrom home (miles)"),
)


def _places(runs: Sequence[RunFolder]) -> list[str]:
    seen: dict[str, None] = {}
    for run in runs:
        for place in run.place_quintiles():
            seen[place] = None
    return list(seen)


def equity_frame(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """Waits and out-of-area shares by pathway and home place, whole period, with CIs."""
    rows = []
    for run in runs:
        quintiles = run.place_quintiles()
        for pathway in run.pathways:
            for place in quintiles:
                for kpi, label in EQUITY_KPIS:
                    mean, low, high = summary_value(run, kpi, "horizon", pathway, place=place)
                    rows.append(
                        {
                            "Scenario": scenario_label(run.name),
                            "Pathway": pathway_label(pathway),
                            "Home place": place,
                            "Deprivation quintile": quintiles[place],
                            "Measure": label.replace("\n", " "),
                            "Mean": mean,
                            "95% CI low": low,
                            "95% CI high": high,
                            "_kpi": kpi,
                            "_pathway": pathway,
                        }
                    )
    return pd.DataFrame(rows)


def _equity_differs(frame: pd.DataFrame, runs: Sequence[RunFolder], pathway: str) -> list[int]:
    """The scenarios to draw for a pathway: the base and those that differ from it."""
    columns = ["Mean", "95% CI low", "95% CI high"]

    def values(run: RunFolder) -> np.ndarray:
        sel = frame[
            (frame["Scenario"] == scenario_label(run.name)) & (frame["_pathway"] == pathway)
        ]
        return sel[columns].to_numpy(dtype=float)

    base = values(runs[0])
    return [0] + [
        i
        for i in range(1, len(runs))
        if not np.allclose(values(runs[i]), base, rtol=1e-9, atol=1e-9, equal_nan=True)
    ]


def equity_chart(runs: Sequence[RunFolder]) -> Chart:
    """Waits and out-of-area admissions by home place, per pathway (whole period)."""
    frame = equity_frame(runs)
    pathways = runs[0].pathways
    quintiles = runs[0].place_quintiles()
    # The most deprived places first, so that a gradient reads top to bottom.
    places = sorted(_places(runs), key=lambda p: (quintiles.get(p) or 6, p))
    n_runs = len(runs)
    shown = {p: _equity_differs(frame, runs, p) for p in pathways}
    heights = [max(1.6, 0.28 * len(places) * len(shown[p]) + 0.6) for p in pathways]
    with house_style():
        figure = new_figure(0.9 + sum(heights))
        axes = figure.subplots(
            len(pathways), len(EQUITY_KPIS), squeeze=False, gridspec_kw={"height_ratios": heights}
        )
        for row, pathway in enumerate(pathways):
            for col, (kpi, label) in enumerate(EQUITY_KPIS):
                ax = axes[row][col]
                ax.grid(True, axis="x")
                ax.grid(False, axis="y")
                ax.set_axisbelow(True)
                step = 0.7 / len(shown[pathway])
                for slot, i in enumerate(shown[pathway]):
                    run = runs[i]
                    sel = frame[
                        (frame["Scenario"] == scenario_label(run.name))
                        & (frame["_pathway"] == pathway)
                        & (frame["_kpi"] == kpi)
                    ].set_index("Home place")
                    y = np.arange(len(places)) - 0.35 + step * (slot + 0.5)
                    means = np.array([sel["Mean"].get(p, np.nan) for p in places], dtype=float)
                    lows = np.array([sel["95% CI low"].get(p, np.nan) for p in places], dtype=float)
                    highs = np.array(
                        [sel["95% CI high"].get(p, np.nan) for p in places], dtype=float
                    )
                    ax.hlines(y, np.maximum(lows, 0), highs, color=scenario_colour(i), lw=1.6)
                    ax.plot(
                        means,
                        y,
                        linestyle="none",
                        marker=MARKERS[i % len(MARKERS)],
                        markersize=6.5,
                        color=scenario_colour(i),
                        markeredgecolor="white",
                        markeredgewidth=0.6,
                    )
                ax.set_yticks(np.arange(len(places)))
                ax.set_yticklabels([place_label(p, quintiles.get(p)) for p in places])
                ax.invert_yaxis()
                ax.set_xlim(left=0)
                if row == 0:
                    ax.set_title(label, fontsize=10)
                if col == 0:
                    ax.set_ylabel(pathway_label(pathway), fontweight="bold")
                else:
                    ax.set_yticklabels([])
        handles: list[object] = [
            Line2D(
                [],
                [],
                color=scenario_colour(i),
                marker=MARKERS[i % len(MARKERS)],
                label=scenario_label(r.name) if n_runs > 1 else "Average over replications",
            )
            for i, r in enumerate(runs)
        ]
        handles.append(Line2D([], [], color=MID_GREY, lw=1.6, label="95% confidence interval"))
        figure_legend(figure, handles)
        png = to_png(figure)
    span = years_span(runs[0].financial_years, "the whole period")
    caption = (
        f"Mean wait from referral to admission, share of admissions placed out of area and "
        f"mean distance from home at admission, by the patient's home place, {span}. Dots "
        "are averages over the replications and "
        "lines their 95% confidence intervals. Quintile 1 is the most deprived. A place "
        "with no admissions in a replication has no wait there, so its interval rests on "
        "fewer replications."
    )
    if n_runs > 1:
        caption += SAME_AS_BASE.format(base=scenario_label(runs[0].name)).replace(
            "line style", "marker"
        )
    alt_parts = []
    for pathway in pathways:
        base = frame[
            (frame["Scenario"] == scenario_label(runs[0].name)) & (frame["_pathway"] == pathway)
        ]
        waits = base[base["_kpi"] == "wait_referral_mean_days"]
        shares = base[base["_kpi"] == "ooa_admission_pct"]
        alt_parts.append(
            f"{pathway_label(pathway)}: mean wait "
            + ", ".join(
                f"{p} {number(float(v))} days"
                for p, v in zip(waits["Home place"], waits["Mean"], strict=True)
            )
            + "; out of area "
            + ", ".join(
                f"{p} {percent(float(v))}"
                for p, v in zip(shares["Home place"], shares["Mean"], strict=True)
            )
        )
    data = frame.drop(columns=["_kpi", "_pathway"])
    return Chart(
        "equity",
        "Equity: waits, out-of-area admissions and distance from home by home place",
        caption,
        "Equity by home place. " + ". ".join(alt_parts) + ".",
        png,
        data,
    )
