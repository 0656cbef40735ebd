"""The level recorder integrates a piecewise-constant quantity exactly, month by month.

Expected numbers are worked out by hand in the comments (level x days in each month),
in the style of SimPy's own tests, then checked against an independent brute-force
integral on random step functions.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.core.calendar import Calendar
from simulation.model.records import Level


def quarter() -> Calendar:
    # 1 January 2026 + 90 days: January (31 days), February (28), March (31).
    calendar = Calendar.build(dt.date(2026, 1, 1), 90.0)
    assert calendar.edges == (0.0, 31.0, 59.0, 90.0)
    return calendar


def test_level_integrates_across_month_boundaries_and_ignores_warm_up() -> None:
    level = Level(quarter(), start_time=-10.0)
    level.add(-10.0, 2)  # 2 from day -10: warm-up, not counted
    level.add(-5.0, 1)  # 3 from day -5: counted from day 0 to day 10
    level.add(10.0, -1)  # 2 from day 10 to day 40, across the end of January
    level.add(40.0, 3)  # 5 from day 40 to day 59, the end of February exactly
    level.set(59.0, 0)  # 0 from day 59 to day 70
    level.add(70.0, 4)
    level.add(70.0, -1)  # two changes at the same moment: 3 from day 70
    level.close(90.0)
    january = 3 * (10 - 0) + 2 * (31 - 10)  # 30 + 42 = 72
    february = 2 * (40 - 31) + 5 * (59 - 40)  # 18 + 95 = 113
    march = 0 * (70 - 59) + 3 * (90 - 70)  # 60
    assert level.bins == [january, february, march]
    assert level.bins == [72.0, 113.0, 60.0]
    assert level.level == 3


def test_only_warm_up_changes_count_from_day_zero() -> None:
    level = Level(quarter(), start_time=-100.0)
    level.add(-50.0, 3)
    level.close(90.0)
    assert level.bins == [3 * 31, 3 * 28, 3 * 31]


def test_initial_level_counts_from_the_start() -> None:
    # A team's funded places start at a level, not at zero.
    level = Level(quarter(), start_time=0.0, level=12)
    level.set(45.0, 10)  # 12 for days 0-45, 10 for days 45-90
    level.close(90.0)
    assert level.bins == [12 * 31, 12 * (45 - 31) + 10 * (59 - 45), 10 * 31]


def test_zero_level_stretch_then_a_jump_over_several_months() -> None:
    # Financial year 2026/27: April 30, May 31, June 30, July 31, August 31, September 30,
    # October 31, November 30, December 31, January 31, February 28, March 31 days.
    calendar = Calendar.build(dt.date(2026, 4, 1), 365.0)
    lengths = [30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28, 31]
    starts = [sum(lengths[:i]) for i in range(12)]
    assert calendar.edges == (*map(float, starts), 365.0)
    level = Level(calendar, start_time=0.0)
    level.add(5.0, 1)  # 1 for days 5-20, in April
    level.set(20.0, 0)  # nothing until day 100 (in July, which starts on day 91)
    level.add(100.0, 2)  # 2 for days 100-200 (October starts on day 183)
    level.set(200.0, 0.5)  # 0.5 to the end
    level.close(365.0)
    expected = [
        1 * 15,  # April
        0,  # May
        0,  # June
        2 * (122 - 100),  # July
        2 * 31,  # August
        2 * 30,  # September
        2 * (200 - 183) + 0.5 * (214 - 200),  # October
        0.5 * 30,  # November
        0.5 * 31,  # December
        0.5 * 31,  # January
        0.5 * 28,  # February
        0.5 * 31,  # March
    ]
    assert level.bins == pytest.approx(expected, abs=1e-12)
    assert sum(level.bins) == pytest.approx(15 + 2 * 100 + 0.5 * 165)


def test_close_is_idempotent_and_time_never_goes_back() -> None:
    level = Level(quarter(), start_time=0.0, level=1)
    level.close(50.0)
    level.close(50.0)
    level.close(40.0)  # an earlier time adds nothing
    level.close(90.0)
    assert level.bins == [31.0, 28.0, 31.0]


def _reference_bins(
    edges: tuple[float, ...], start: float, steps: list[tuple[float, float]], end: float
) -> list[float]:
    """Brute force: each constant piece's overlap with each month, times its level."""
    pieces = []
    level, t = 0.0, start
    for time, delta in steps:
        pieces.append((t, time, level))
        level, t = level + delta, time
    pieces.append((t, end, level))
    return [
        sum(v * max(0.0, min(b, e1) - max(a, e0)) for a, b, v in pieces)
        for e0, e1 in itertools.pairwise(edges)
    ]


@settings(max_examples=200, deadline=None)
@given(
    horizon=st.integers(min_value=1, max_value=800),
    warmup=st.integers(min_value=0, max_value=100),
    raw_steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1, allow_nan=False),
            st.integers(min_value=-3, max_value=5),
        ),
        max_size=40,
    ),
)
def test_level_matches_brute_force_integral(
    horizon: int, warmup: int, raw_steps: list[tuple[float, int]]
) -> None:
    calendar = Calendar.build(dt.date(2027, 2, 10), float(horizon))
    start = -float(warmup)
    times = sorted(start + u * (horizon + warmup) for u, _ in raw_steps)
    steps = [(t, float(d)) for t, (_, d) in zip(times, raw_steps, strict=True)]
    level = Level(calendar, start_time=start)
    for t, delta in steps:
        level.add(t, delta)
    level.close(float(horizon))
    expected = _reference_bins(calendar.edges, start, steps, float(horizon))
    assert level.bins == pytest.approx(expected, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    raw_steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1, allow_nan=False),
            st.sampled_from([-1.0, 1.0]),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_a_rise_and_fall_at_one_instant_changes_nothing_on_a_zero_level(
    raw_steps: list[tuple[float, float, bool]],
) -> None:
    # Where the level is zero, going up by one and back at an instant integrates nothing
    # and leaves nothing behind: to the last bit, as if it never happened. (On a level
    # above zero, the extra split of its time at that instant can change the sums in the
    # last bit, so a patient who goes home as soon as ready moves the delayed level then.)
    calendar = Calendar.build(dt.date(2027, 2, 10), 400.0)
    times = sorted(-30.0 + u * 430.0 for u, _, _ in raw_steps)
    plain, with_pairs = Level(calendar, -30.0), Level(calendar, -30.0)
    level = 0.0
    for t, (_, delta, pair) in zip(times, raw_steps, strict=True):
        if pair and level == 0:
            with_pairs.add(t, 1.0)
            with_pairs.add(t, -1.0)
        if level + delta >= 0:
            plain.add(t, delta)
            with_pairs.add(t, delta)
            level += delta
    plain.close(400.0)
    with_pairs.close(400.0)
    assert with_pairs.bins == plain.bins
    assert with_pairs.level == plain.level == level
