"""The one forest-plot drawing, shared by the report and the notebooks' ``forest_plot``.

A clear difference is a filled square, an unclear one an open circle; an interval that
runs past the axis ends in an arrow at the axis, and an estimate past it has no marker.
The notebook figure leaves out an alternative that changed nothing in a pathway and
names it in the panel's corner.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from simulation.report.forest import (
    FOREST_AXIS,
    forest_figure,
    forest_row,
    signed_percent,
)
from simulation.report.style import new_figure, scenario_colour


def markers(ax: Axes) -> list[Line2D]:
    return [line for line in ax.get_lines() if line.get_marker() not in (None, "None", "")]


def arrows(ax: Axes) -> list[tuple[float, float]]:
    return [(float(a.xy[0]), float(a.xy[1])) for a in ax.texts if isinstance(a, Annotation)]


def interval_ends(ax: Axes) -> list[float]:
    """The x ends of the one interval line drawn."""
    (segment,) = ax.collections
    assert isinstance(segment, LineCollection)
    (ends,) = segment.get_segments()
    return [float(x) for x, _ in ends]


def test_a_clear_difference_is_a_filled_square_an_unclear_one_an_open_circle() -> None:
    ax = new_figure(2.0).subplots()
    forest_row(ax, 0, 20.0, 10.0, 30.0, True, "#0072B2")
    forest_row(ax, 1, 5.0, -10.0, 20.0, False, "#0072B2")
    clear, unclear = markers(ax)
    assert clear.get_marker() == "s" and clear.get_markerfacecolor() == "#0072B2"
    assert unclear.get_marker() == "o" and unclear.get_markerfacecolor() == "white"
    assert unclear.get_markeredgecolor() == "#0072B2"
    assert arrows(ax) == []


def test_an_interval_past_the_axis_ends_in_an_arrow_at_the_axis() -> None:
    low_limit, high_limit = FOREST_AXIS
    ax = new_figure(2.0).subplots()
    forest_row(ax, 0, 100.0, -120.0, 400.0, False, "#0072B2")
    assert sorted(arrows(ax)) == [(low_limit, 0), (high_limit, 0)]
    assert interval_ends(ax) == [low_limit, high_limit]
    # An estimate beyond the axis keeps its arrow but has no marker.
    ax = new_figure(2.0).subplots()
    forest_row(ax, 0, 300.0, 200.0, 400.0, True, "#0072B2")
    assert markers(ax) == [] and arrows(ax) == [(high_limit, 0)]


def test_a_missing_bound_is_drawn_at_the_estimate() -> None:
    ax = new_figure(2.0).subplots()
    forest_row(ax, 0, 12.0, math.nan, math.nan, False, "#0072B2")
    assert interval_ends(ax) == [12.0, 12.0]


def test_axis_ticks_read_as_signed_percentages() -> None:
    assert [signed_percent(v) for v in (-100.0, 0.0, 50.0)] == ["−100%", "0%", "+50%"]


def row(
    alternative: str, kpi: str, pct: float, clear: bool, diff_sd: float = 1.0
) -> dict[str, object]:
    return {
        "alternative": alternative,
        "pathway": "adult_ed",
        "kpi": kpi,
        "pct_change": pct,
        "pct_ci_low": pct - 5,
        "pct_ci_high": pct + 5,
        "clear": clear,
        "diff_mean": pct,
        "diff_sd": diff_sd,
    }


def test_the_notebook_figure_colours_alternatives_and_names_the_unchanged() -> None:
    table = pd.DataFrame(
        [
            row("more", "admissions", 10.0, True),
            row("more", "ooa_admissions", -20.0, False),
            row("same", "admissions", 0.0, False, diff_sd=0.0),
            row("same", "ooa_admissions", 0.0, False, diff_sd=0.0),
        ]
    )
    figure = forest_figure(table, "base", ["same", "more"], ["adult_ed"])
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Admissions",
        "Out-of-area admissions",
    ]
    assert "Unchanged: Same" in ax.get_title(loc="right")
    drawn = markers(ax)
    assert [m.get_marker() for m in drawn] == ["s", "o"]
    # The second alternative keeps the second alternative's colour.
    assert {m.get_markeredgecolor() for m in drawn} == {scenario_colour(2)}
