"""Warm-up: MSER-5 finds a warm-up built into a series, and the analysis runs the model right.

Series are built with a known warm-up (a step, a ramp, an exponential approach) and
MSER-5 must cut where it ends; a stationary series must not be cut, and a trend must be
reported as not settled. The statistic is compared with its definition computed the
slow way. The model analysis must start empty, hold demand flat, drop dated changes and
find a short warm-up for a fast M/M/c queue and a long one for long stays.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from simulation.core.problems import InputError
from simulation.experiment.warmup import (
    analyse_warmup,
    analysis_scenario,
    month_start_days,
    mser,
    mser5,
    steady_after,
    warmup_series,
    welch_average,
)
from simulation.scenario.loading import load_scenario_dict
from tests.builders import mmc_scenario


def test_mser5_cuts_exactly_at_a_step() -> None:
    series = [40.0] * 25 + [100.0] * 175
    result = mser5(series)
    assert result.truncation == 25
    assert result.settled


@pytest.mark.parametrize("seed", range(10))
def test_mser5_finds_a_ramp_built_into_a_noisy_series(seed: int) -> None:
    # Occupancy that fills linearly over 30 months, then varies around 100.
    months = np.arange(240)
    level = np.minimum(months / 30.0, 1.0) * 100.0
    series = level + np.random.default_rng(seed).normal(0.0, 4.0, len(months))
    result = mser5(series)
    # MSER cuts a little after the ramp ends, where the noise hides the last of it.
    assert 25 <= result.truncation <= 55
    assert result.settled and steady_after(series, result.truncation)


def test_mser5_leaves_a_stationary_series_alone() -> None:
    cuts = [mser5(np.random.default_rng(s).normal(50.0, 5.0, 240)).truncation for s in range(20)]
    assert np.median(cuts) <= 5
    assert max(cuts) <= 60


def test_a_trend_is_not_settled() -> None:
    series = np.linspace(0.0, 50.0, 240) + np.random.default_rng(3).normal(0.0, 2.0, 240)
    result = mser5(series)
    assert not (result.settled and steady_after(series, result.truncation))


def test_a_long_flat_start_is_not_settled() -> None:
    # A waiting list empty for years, then building: kept whole, it has not settled.
    series = np.concatenate([np.zeros(100), 5.0 + np.random.default_rng(1).normal(0, 1, 140)])
    assert not steady_after(series, 0)
    assert not steady_after(series, 50)
    assert steady_after(series, 100)


@pytest.mark.parametrize("seed", range(10))
def test_a_steady_rise_over_few_batches_is_not_settled(seed: int) -> None:
    # Beds filling over a short run: what is left after a cut is five batches, two
    # against three, whose halves a t-test cannot tell apart; the line through them can.
    months = np.arange(25, dtype=float)
    series = 83.0 + 1.9 * months + np.random.default_rng(seed).normal(0.0, 1.5, 25)
    assert not steady_after(series, 0)


def test_a_series_held_at_capacity_has_settled() -> None:
    # Every bed full month after month, with the odd month a bed stood empty for a day.
    series = np.full(120, 20.0)
    series[[17, 55, 90]] = 19.97
    assert steady_after(series, 0)


def test_a_stationary_series_that_wanders_is_seldom_called_unsettled() -> None:
    # Monthly occupancy varying around its mean with month-to-month memory (AR(1)).
    rng = np.random.default_rng(11)
    unsettled = 0
    for _ in range(200):
        noise = np.zeros(120)
        for i in range(1, 120):
            noise[i] = 0.8 * noise[i - 1] + rng.normal(0.0, 3.0)
        unsettled += not steady_after(100.0 + noise, 0)
    assert unsettled <= 4


def test_mser_statistic_is_its_definition() -> None:
    x = np.random.default_rng(11).gamma(2.0, 10.0, 103)
    batch = 5
    z = x[: (len(x) // batch) * batch].reshape(-1, batch).mean(axis=1)
    slow = [((z[d:] - z[d:].mean()) ** 2).sum() / (len(z) - d) ** 2 for d in range(len(z))]
    result = mser(x, batch)
    assert len(result.statistic) == len(z) // 2 + 1
    np.testing.assert_allclose(result.statistic, slow[: len(result.statistic)], rtol=1e-9)
    assert result.truncation == batch * int(np.argmin(slow[: len(z) // 2 + 1]))


def test_mser_refuses_a_series_too_short() -> None:
    with pytest.raises(ValueError, match="too short"):
        mser5([1.0] * 9)


def test_welch_average_is_the_centred_moving_average() -> None:
    x = np.random.default_rng(5).normal(0.0, 1.0, 40)
    w = 3
    smoothed = welch_average(x, w)
    for i in range(len(x) - w):
        half = min(i, w)
        assert smoothed[i] == pytest.approx(x[i - half : i + half + 1].mean())
    assert np.isnan(smoothed[-w:]).all()


def test_month_start_days_count_from_the_start_date() -> None:
    days = month_start_days(["2026-04", "2026-05", "2027-04"], dt.date(2026, 4, 1))
    assert days == [0.0, 30.0, 365.0]


def test_the_analysis_runs_from_empty_with_flat_demand_and_no_dated_changes() -> None:
    data = mmc_scenario(beds=5, warmup_days=3000.0, horizon_years=2.0)
    data["pathways"]["adult_ed"]["annual_growth"] = 0.05
    data["changes"] = [{"date": "2027-01-01", "set": "beds", "unit": "Unit", "to": 3}]
    scenario = load_scenario_dict(data)
    run = analysis_scenario(scenario, 7.0)
    assert run.warmup_days == 0.0 and run.horizon_years == 7.0
    assert run.pathways["adult_ed"].annual_growth == 0.0
    assert run.changes == () and run.reinvestment == ()
    assert scenario.pathways["adult_ed"].annual_growth == 0.05  # the original is untouched


def test_the_analysis_scenario_is_checked_like_any_scenario() -> None:
    """A run shorter than a day is refused with the years it came from, not run."""
    scenario = load_scenario_dict(mmc_scenario())
    with pytest.raises(InputError) as caught:
        analysis_scenario(scenario, 0.001)
    [problem] = caught.value.problems
    assert problem.field == "horizon_years" and problem.line is None
    assert "0.001 years is less than a day" in problem.message
    assert problem.message.endswith("(from the years of the warm-up analysis)")
    with pytest.raises(InputError):
        analyse_warmup(scenario, years=0.001, replications=1, workers=1)


def test_warmup_series_sums_services_and_averages_replications() -> None:
    monthly = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1],
            "month": ["2026-04"] * 4,
            "pathway": ["camhs_t4"] * 4,
            "service": ["picu", "general_adolescent"] * 2,
            "resource": ["all"] * 4,
            "measure": ["waiting_list"] * 4,
            "value": [1.0, 2.0, 3.0, 6.0],
        }
    )
    series = warmup_series(monthly)
    assert series["value"].tolist() == [6.0]  # (1 + 2 + 3 + 6) / 2 replications


def test_long_stays_need_a_longer_warm_up_than_short_ones() -> None:
    fast = load_scenario_dict(mmc_scenario(beds=10, mean_stay_days=10.0, arrivals_per_day=0.8))
    quick = analyse_warmup(fast, years=10.0, replications=5, workers=1)
    beds = quick.table.set_index("measure").loc["occupied_beds"]
    assert len(quick.series[quick.series["measure"] == "occupied_beds"]) == 120

    slow = load_scenario_dict(
        mmc_scenario(beds=40, mean_stay_days=700.0, arrivals_per_day=0.05, max_wait_days=0.0)
    )
    long = analyse_warmup(slow, years=20.0, replications=3, workers=1)
    occupied = long.table.set_index("measure").loc["occupied_beds"]
    # An M/M/c/c system approaches its steady state like exp(-t / mean stay): years here,
    # against days for the fast queue (whose cut is MSER's noise on a flat series).
    assert 365 <= occupied["truncation_days"] <= 8 * 365
    assert occupied["truncation_days"] > beds["truncation_days"]
    assert long.recommended_days >= occupied["truncation_days"]
    assert "MSER-5 recommends a warm-up of" in long.message()
