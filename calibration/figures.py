"""The calibration report's figures: fitted curves against the data, month by month.

Three kinds, in the house style of :mod:`simulation.report.style` (Okabe-Ito colours,
financial years along time axes, one legend above the panels): Kaplan-Meier curves of a
duration with the four fitted families, the chosen one thick; monthly new referrals
observed against the fitted Poisson model; and the back-test's observed monthly series
against the simulated mean and 90% range. Each function writes one PNG and returns its
:class:`Figure` (file, title, caption and a text alternative).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from calibration.backtest import ALL, MEASURE_LABELS, BackTest
from calibration.fitting import Fit
from calibration.likelihood import FAMILIES
from calibration.survival import DurationFit
from simulation.core.calendar import financial_year
from simulation.report import style as cs
from simulation.scenario.schema import PATHWAY_LABELS

FAMILY_COLOURS = {
    "exponential": "#56B4E9",  # sky blue
    "gamma": "#009E73",  # bluish green
    "lognormal": "#CC79A7",  # reddish purple
    "weibull": "#E69F00",  # orange
}
"""Okabe-Ito colours that stay apart from each other and from the black data."""
MIN_AT_RISK = 10
"""The Kaplan-Meier curve is drawn while at least this many stays are still observed."""
OBSERVED = cs.TEXT
SIMULATED = cs.NHS_BLUE


def service_label(pathway: str, service: str) -> str:
    """``Adult secure: medium`` for a panel title."""
    name = "all services" if service == ALL else service.replace("_", " ")
    return f"{PATHWAY_LABELS.get(pathway, pathway)}: {name}"


@dataclass(frozen=True)
class Figure:
    """A PNG written for the report, with its caption."""

    file: str
    title: str
    caption: str
    alt: str


# -- figures -----------------------------------------------------------------------------
def _survival_panel(ax: Axes, fit: DurationFit, title: str, unit: str) -> None:
    km = fit.km
    # A length recorded as d whole days ended by about d + 0.5 (see calibration.survival).
    reliable = km.at_risk >= MIN_AT_RISK
    last = int(np.flatnonzero(reliable)[-1]) + 1 if reliable.any() else len(km.time)
    t = np.concatenate([[0.0], km.time[:last] + 0.5])
    top = float(t[-1]) * 1.05 if len(t) > 1 else float(fit.durations.exit.max())
    x = np.concatenate([t, [top]])

    def steps(values: np.ndarray) -> np.ndarray:
        v = values[:last]
        return np.concatenate([[1.0], v, [v[-1] if len(v) else 1.0]])

    ax.fill_between(x, steps(km.low), steps(km.high), step="post", color=cs.GRID, linewidth=0)
    ax.step(x, steps(km.survival), where="post", color=OBSERVED, linewidth=1.4, zorder=4)
    grid = np.linspace(0, top, 400)
    for name, family_fit in fit.fits.items():
        chosen = name == fit.chosen
        ax.plot(
            grid,
            family_fit.survival(grid),
            color=FAMILY_COLOURS[name],
            linewidth=2.4 if chosen else 1.0,
            linestyle="-" if chosen else (0, (4, 2)),
            zorder=3 if chosen else 2,
        )
    d = fit.durations
    ax.set_title(title, fontsize=9.5)
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{unit}\n{fit.chosen} chosen by AIC; n = {len(d):,}, {d.censored:,} still open")
    ax.set_ylabel("share still going")


def _legend_handles() -> list[object]:
    handles: list[object] = [
        Line2D([], [], color=OBSERVED, linewidth=1.4, label="Kaplan-Meier (data)"),
        Patch(color=cs.GRID, label="95% band"),
    ]
    for name in FAMILIES:
        handles.append(Line2D([], [], color=FAMILY_COLOURS[name], linewidth=1.6, label=name))
    return handles


def survival_figure(
    fits: list[tuple[str, DurationFit]], folder: Path, file: str, title: str, unit: str
) -> Figure | None:
    """A grid of Kaplan-Meier curves with the four fitted families."""
    if not fits:
        return None
    with cs.house_style():
        figure = cs.new_figure(cs.grid_height(len(fits), 2, 2.5, 1.0))
        axes = cs.panel_grid(figure, len(fits), 2)
        for ax, (label, fit) in zip(axes, fits, strict=True):
            _survival_panel(ax, fit, label, unit)
        cs.figure_legend(figure, _legend_handles())
        (folder / file).write_bytes(cs.to_png(figure))
    chosen = ", ".join(f"{label}: {fit.chosen}" for label, fit in fits)
    return Figure(
        file,
        title,
        "The black step is the Kaplan-Meier estimate from the extract, which counts stays "
        "still open at the extract date for as long as they are known to have lasted, "
        "with its 95% band in grey, drawn while at least "
        f"{MIN_AT_RISK} stays are still observed; the coloured curves are the four families "
        "fitted by maximum likelihood, the thick one chosen by AIC.",
        f"{title}. Chosen families: {chosen}.",
    )


def _time_axis(ax: Axes, start: dt.date, end: dt.date) -> None:
    """Financial years along the bottom, as every report figure has them."""
    years = sorted(
        {financial_year(start + dt.timedelta(days=d)) for d in range((end - start).days)}
    )
    cs.financial_year_axis(ax, years, start, end)


def referrals_figure(fit: Fit, folder: Path) -> Figure:
    """Monthly new referrals per pathway: observed against the fitted model."""
    pathways = list(fit.pathways.values())
    with cs.house_style():
        figure = cs.new_figure(cs.grid_height(len(pathways), 1, 2.0, 0.9))
        axes = cs.panel_grid(figure, len(pathways), 1)
        for ax, pf in zip(axes, pathways, strict=True):
            monthly = pf.rates.observed.groupby("label", observed=True)[["y", "fitted"]].sum()
            x = cs.day_numbers(cs.month_dates([str(m) for m in monthly.index]))
            ax.bar(x, monthly["y"], width=20, color=cs.GRID, edgecolor=cs.CAPACITY, linewidth=0.5)
            ax.plot(x, monthly["fitted"], color=SIMULATED, linewidth=2)
            ax.set_title(PATHWAY_LABELS.get(pf.pathway, pf.pathway))
            cs.whole_numbers(ax)
            _time_axis(ax, fit.extract.start, fit.extract.end)
            ax.set_ylabel("new referrals a month")
        cs.figure_legend(
            figure,
            [
                Patch(facecolor=cs.GRID, edgecolor=cs.CAPACITY, label="observed"),
                Line2D([], [], color=SIMULATED, linewidth=2, label="fitted model"),
            ],
        )
        (folder / "referrals.png").write_bytes(cs.to_png(figure))
    return Figure(
        "referrals.png",
        "Monthly new referrals: observed and fitted",
        "Bars: new referrals each month in the extract (readmissions and step-downs are "
        "left out: the model makes those itself). Line: the fitted Poisson model with its "
        "trend and, where significant, monthly pattern. Part months at either end are "
        "shorter.",
        "New referrals each month per pathway, observed against fitted.",
    )


def backtest_figure(bt: BackTest, measure: str, level: str, folder: Path) -> Figure:
    """Observed monthly series against the simulated mean and 90% range."""
    obs = bt.observed[bt.observed["measure"] == measure]
    sim = bt.simulated[bt.simulated["measure"] == measure]
    if level == "pathway":
        obs, sim = obs[obs["service"] == ALL], sim[sim["service"] == ALL]
    else:
        obs, sim = obs[obs["service"] != ALL], sim[sim["service"] != ALL]
    present = set(zip(obs["pathway"], obs["service"], strict=True))
    if level == "pathway":
        keys = [(p, ALL) for p in bt.scenario.pathways if (p, ALL) in present]
    else:
        keys = [k for k in bt.scenario.services() if k in present]
    file = f"backtest_{measure}.png"
    with cs.house_style():
        figure = cs.new_figure(cs.grid_height(len(keys), 2, 2.1, 1.0))
        axes = cs.panel_grid(figure, len(keys), 2)
        for ax, (pathway, service) in zip(axes, keys, strict=True):
            o = obs[(obs["pathway"] == pathway) & (obs["service"] == service)]
            s = sim[(sim["pathway"] == pathway) & (sim["service"] == service)]
            band = s.groupby("month")["value"].agg(
                mean="mean",
                low=lambda v: float(np.quantile(v, 0.05)),
                high=lambda v: float(np.quantile(v, 0.95)),
            )
            band = band.reindex(bt.months)
            x = cs.day_numbers(cs.month_dates(bt.months))
            ax.fill_between(x, band["low"], band["high"], color=SIMULATED, alpha=0.18, linewidth=0)
            ax.plot(x, band["mean"], color=SIMULATED, linewidth=1.8)
            ov = o.set_index("month")["value"].reindex(bt.months)
            ax.plot(x, ov, color=OBSERVED, marker="o", markersize=2.5, linewidth=0.8)
            if measure == "occupied_beds":
                beds = sum(
                    u.beds
                    for u in bt.scenario.units
                    if u.pathway == pathway and service in (ALL, u.service)
                )
                ax.axhline(beds, color=cs.CAPACITY, linewidth=1, linestyle=(0, (2, 2)))
            ax.set_title(service_label(pathway, service), fontsize=9.5)
            cs.whole_numbers(ax)
            end = bt.scenario.start_date + dt.timedelta(days=int(bt.scenario.horizon_days))
            _time_axis(ax, bt.scenario.start_date, end)
        handles: list[object] = [
            Line2D([], [], color=OBSERVED, marker="o", markersize=3, label="observed"),
            Line2D([], [], color=SIMULATED, linewidth=1.8, label="simulated mean"),
            Patch(color=SIMULATED, alpha=0.18, label="simulated 90% range"),
        ]
        if measure == "occupied_beds":
            handles.append(
                Line2D([], [], color=cs.CAPACITY, linewidth=1, linestyle=(0, (2, 2)), label="beds")
            )
        cs.figure_legend(figure, handles)
        (folder / file).write_bytes(cs.to_png(figure))
    title = f"Back-test: {MEASURE_LABELS[measure].lower()}"
    return Figure(
        file,
        title,
        f"The fitted model run {bt.replications} times over the extract's period from the "
        "census at its start: its monthly mean (line) and the range within which 90% of "
        "its replications fell (band), against the extract (dots).",
        f"{title}, observed against simulated, month by month.",
    )
