"""Chart style: one plain, accessible look for every figure in a report.

A board paper's figures share a house style: white background, no chart junk, large
enough text, axes labelled with their units, financial years written ``2026/27``, and
colours that stay distinct for readers with colour-vision deficiency (the Okabe-Ito
palette, with line styles or hatching as a second cue). Figures are drawn with the
object-oriented matplotlib API on the Agg canvas, so no window or display is needed
and nothing depends on pyplot's global state. This module holds that style, the
:class:`Chart` a figure becomes (PNG bytes plus title, caption, alt text and the data
plotted), and helpers shared by the figures: panel grids, the financial-year time axis
and 95% bands from per-replication series.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy import stats

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#000000",  # black
)
"""Colours for scenarios, in order (Okabe & Ito 2008: distinct for colour-blind readers)."""

LINE_STYLES = ("-", "--", "-.", (0, (8, 2)), (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
"""A second cue for each scenario, for print in grey and for colour-blind readers."""

CAPACITY_STYLE = (0, (1, 1.3))
"""Capacity (beds available, funded places) is dotted: no scenario's line is."""

HATCHES = ("", "///", "...", "xx", "\\\\\\", "++")
"""Bar hatching per scenario, for the same reason."""

NHS_BLUE = "#005EB8"
TEXT = "#212B32"
MUTED = "#4C6272"
"""Secondary text: notes in a panel's corner, captions, an unclear difference in words."""
MID_GREY = "#768692"
"""Axis lines, and an estimate whose difference is not clear."""
GRID = "#D8DDE0"
CAPACITY = "#425563"

DPI = 150
WIDTH_IN = 8.0
"""Figures are 8 inches wide at 150 dpi (1200 px): legible when shown 800-900 px wide."""

_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.edgecolor": MID_GREY,
    "axes.labelcolor": TEXT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.color": TEXT,
    "ytick.color": TEXT,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "text.color": TEXT,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class Chart:
    """A finished figure: the PNG and everything needed to show and trace it."""

    key: str
    """File name without extension, e.g. ``occupancy``."""
    title: str
    caption: str
    alt: str
    """Text alternative for screen readers: what the figure shows, with its key numbers."""
    png: bytes
    data: pd.DataFrame
    """The numbers plotted, with readable column names (written beside the PNG)."""


def scenario_colour(index: int) -> str:
    """The colour of the ``index``-th scenario (0 is the base or the only run)."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def scenario_style(index: int) -> Any:
    """The line style of the ``index``-th scenario."""
    return LINE_STYLES[index % len(LINE_STYLES)]


@contextmanager
def house_style() -> Iterator[None]:
    """Draw inside this context to get the report's look."""
    with mpl.rc_context(cast(Any, _RC)):
        yield


def new_figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    """A blank figure on the Agg canvas, laid out with constrained layout."""
    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def panel_grid(figure: Figure, n: int, columns: int = 2) -> list[Axes]:
    """``n`` panels in a grid of ``columns`` (fewer when ``n`` is small); spares hidden."""
    columns = max(1, min(columns, n))
    rows = max(1, math.ceil(n / columns))
    axes = figure.subplots(rows, columns, squeeze=False)
    flat: list[Axes] = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return flat[:n]


def grid_height(n: int, columns: int = 2, panel_in: float = 2.3, extra_in: float = 0.9) -> float:
    """Figure height for ``n`` panels in ``columns`` columns."""
    rows = max(1, math.ceil(n / max(1, min(columns, n))))
    return extra_in + panel_in * rows


def to_png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def day_numbers(dates: Sequence[dt.date]) -> np.ndarray:
    """Dates as matplotlib's axis numbers (days since its epoch)."""
    return np.asarray(mdates.date2num(list(dates)), dtype=float)  # type: ignore[no-untyped-call]


def day_number(date: dt.date) -> float:
    """One date as matplotlib's axis number."""
    return float(day_numbers([date])[0])


def month_dates(months: Sequence[str]) -> list[dt.date]:
    """The middle of each ``YYYY-MM`` month, where its monthly average is plotted."""
    return [dt.date(int(m[:4]), int(m[5:7]), 15) for m in months]


def financial_year_start(year: str) -> dt.date:
    """1 April of a financial year written ``2026/27``."""
    return dt.date(int(year[:4]), 4, 1)


def financial_year_axis(ax: Axes, years: Sequence[str], first: dt.date, end: dt.date) -> None:
    """Label a time axis by financial year: ``2026/27`` centred in each year's span."""
    if not years:
        return
    bounds = [max(first, financial_year_start(y)) for y in years] + [end]
    ax.set_xlim(day_number(first), day_number(end))
    ax.set_xticks([day_number(b) for b in bounds[1:-1]])
    ax.set_xticklabels([])
    ax.tick_params(axis="x", which="major", length=4)
    mids = [
        day_number(a) + (day_number(b) - day_number(a)) / 2 for a, b in itertools.pairwise(bounds)
    ]
    ax.set_xticks(mids, minor=True)
    ax.set_xticklabels(years, minor=True)
    ax.tick_params(axis="x", which="minor", length=0)
    ax.grid(True, axis="x", which="major", color=GRID, linewidth=0.8)


def whole_numbers(ax: Axes) -> None:
    """Y axis from zero with whole-number ticks when the values are small counts."""
    ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _: f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}")
    )


def millions_axis(ax: Axes) -> None:
    """Y axis in £ millions with thousands separators."""

    def label(value: float, _: object) -> str:
        size = abs(value)
        whole = abs(size - round(size)) < 1e-9
        text = f"£{size:,.0f}m" if whole else f"£{size:,.1f}m"
        return ("−" if value < 0 and text != "£0m" else "") + text

    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(label))


def t_band(values: pd.DataFrame, by: list[str], column: str = "value") -> pd.DataFrame:
    """Mean and 95% t-interval of ``column`` over replications, per group of ``by``."""
    grouped = values.groupby(by, sort=True)[column]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    n = out["n"].to_numpy(dtype=float)
    quantile = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    half = quantile * out["sd"].fillna(0.0).to_numpy(dtype=float) / np.sqrt(np.maximum(n, 1))
    half = np.where(n > 1, half, np.nan)
    out["low"] = out["mean"] - half
    out["high"] = out["mean"] + half
    return out.drop(columns=["sd"])


def figure_legend(figure: Figure, handles: list[Any], width_in: float = WIDTH_IN) -> None:
    """One legend for the whole figure, above the panels, in as many columns as fit."""
    if not handles:
        return
    longest = max(len(str(h.get_label())) for h in handles)
    # A legend entry is about 0.55 in of key and padding plus 0.065 in per character.
    columns = max(1, min(len(handles), int((width_in - 0.3) // (0.55 + 0.065 * longest))))
    rows = math.ceil(len(handles) / columns)
    # matplotlib fills a legend column by column; reorder so it reads row by row.
    grid = [handles[r * columns : (r + 1) * columns] for r in range(rows)]
    ordered = [row[c] for c in range(columns) for row in grid if c < len(row)]
    figure.legend(
        handles=ordered,
        loc="outside upper center",
        ncols=columns,
        handlelength=2.6,
    )
