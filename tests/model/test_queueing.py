"""The model against queueing theory: Erlang B, Erlang C, Cobham's priorities, Little's law.

One unit of ``c`` beds, Poisson referrals and exponential stays is the M/M/c queue;
with ``max_wait_days: 0`` and no repatriation it is the M/M/c/c loss system. The
simulated KPIs must agree with the exact formulas of :mod:`simulation.theory.queueing`.

How close is close enough: each replication (20 years after a one-year warm-up; 10 for
the loss system and priorities) gives one estimate; over ``R = 20`` independent
replications the analytic value must lie inside the 99% Student-t confidence interval of
the mean. A correct model fails one such check with probability 1%, and the seed is
fixed, so the outcome is reproducible. A wide interval would let a wrong model pass, so
each check also caps the interval's half-width (about 1.5 times the half-width expected
from pilot runs): that is what makes the tests able to fail. For scale, with c = 10 and
a load of 8, a stay 10% too long would move P(wait) from 41% to 61% (cap: 3 points), the
mean wait from 2.0 to 5.6 days (cap: 0.5) and the out-of-area share from 12.2% to 15.9%
(cap: 1.5 points); 10% too short, to 25%, 0.8 days and 8.7%.
"""

from __future__ import annotations

import doctest
import math
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simulation
import simulation.theory.queueing as queueing
from simulation.theory.queueing import (
    erlang_b,
    erlang_c,
    mmc_mean_queue,
    mmc_mean_wait,
    mmc_priority_waits,
)
from tests.builders import PATHWAY, SERVICE, mmc_scenario

BEDS = 10
ARRIVALS_PER_DAY = 0.8
MEAN_STAY = 10.0
LOAD = ARRIVALS_PER_DAY * MEAN_STAY  # 8 Erlangs: utilisation 0.8
REPLICATIONS = 20
HORIZON_YEARS = 20.0
WARMUP_DAYS = (
    365.0  # the M/M/c relaxation time here is about 1 / (c mu (1 - sqrt(rho))^2) ~ 90 days
)
WORKERS = min(2, os.cpu_count() or 1)


# -- the formulas themselves ------------------------------------------------------------
def test_queueing_doctests() -> None:
    result = doctest.testmod(queueing)
    assert result.attempted > 0
    assert result.failed == 0


def _erlang_b_direct(c: int, a: float) -> float:
    # The textbook ratio of Poisson terms, fine for small c.
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


@pytest.mark.parametrize("c", [1, 2, 5, 10, 30])
@pytest.mark.parametrize("a", [0.1, 0.9, 4.0, 8.0, 25.0])
def test_erlang_b_recursion_matches_textbook_formula(c: int, a: float) -> None:
    assert erlang_b(c, a) == pytest.approx(_erlang_b_direct(c, a), rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.5), (10, 8.0), (30, 27.0)])
def test_erlang_c_matches_textbook_formula(c: int, a: float) -> None:
    terms = [a**k / math.factorial(k) for k in range(c)]
    top = a**c / math.factorial(c) * c / (c - a)
    assert erlang_c(c, a) == pytest.approx(top / (sum(terms) + top), rel=1e-12)


def test_erlang_b_is_stable_for_large_systems() -> None:
    # The direct formula overflows a float here; the recursion must not. The Poisson
    # form B = pmf(c) / cdf(c) is an independent check.
    c, a = 5000, 4800.0
    expected = stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a)
    assert erlang_b(c, a) == pytest.approx(expected, rel=1e-9)
    assert 0 < erlang_c(c, a) < 1


def test_mm1_special_cases() -> None:
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda), Lq = rho^2 / (1 - rho).
    rho, service = 0.7, 2.0
    assert erlang_c(1, rho) == pytest.approx(rho)
    assert mmc_mean_wait(1, rho / service, service) == pytest.approx(
        rho / (1 / service - rho / service)
    )
    assert mmc_mean_queue(1, rho / service, service) == pytest.approx(rho**2 / (1 - rho))


def test_priority_waits_conserve_the_mean_wait() -> None:
    waits = mmc_priority_waits(BEDS, [0.2, 0.6], MEAN_STAY)
    assert waits[0] < waits[1]
    overall = (0.2 * waits[0] + 0.6 * waits[1]) / 0.8
    assert overall == pytest.approx(mmc_mean_wait(BEDS, 0.8, MEAN_STAY), rel=1e-12)


def test_formulas_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(10, 10.0)
    with pytest.raises(ValueError):
        erlang_b(-1, 1.0)
    with pytest.raises(ValueError):
        erlang_b(3, float("nan"))
    with pytest.raises(TypeError):
        erlang_b(2.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mmc_mean_wait(3, 1.0, 0.0)


# -- the model against the formulas -----------------------------------------------------
def _horizon_kpi(kpis: pd.DataFrame, kpi: str) -> np.ndarray:
    """One value per replication: the service's whole-horizon KPI."""
    rows = kpis[
        (kpis["kpi"] == kpi)
        & (kpis["pathway"] == PATHWAY)
        & (kpis["service"] == SERVICE)
        & (kpis["unit"] == "all")
        & (kpis["place"] == "all")
        & (kpis["period"] == "horizon")
    ].sort_values("replication")
    assert list(rows["replication"]) == list(range(REPLICATIONS)), kpi
    return rows["value"].to_numpy(dtype=float)


def _interval(values: np.ndarray, level: float = 0.99) -> tuple[float, float, float]:
    n = len(values)
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def assert_agrees(values: np.ndarray, expected: float, max_half_width: float) -> None:
    """``expected`` inside the 99% CI of the replications' mean, and the CI is narrow."""
    mean, low, high = _interval(values)
    report = f"simulated {mean:.4f} (99% CI {low:.4f} to {high:.4f}), analytic {expected:.4f}"
    print(report)  # shown with pytest -s: the measured agreement
    assert high - mean <= max_half_width, "interval too wide to test anything: " + report
    assert low <= expected <= high, report


@pytest.fixture(scope="module")
def delay_system() -> pd.DataFrame:
    """M/M/10 at utilisation 0.8, waiting for ever: per-replication KPI rows."""
    scenario = simulation.load_scenario_dict(
        mmc_scenario(
            beds=BEDS,
            arrivals_per_day=ARRIVALS_PER_DAY,
            mean_stay_days=MEAN_STAY,
            max_wait_days=None,
            horizon_years=HORIZON_YEARS,
            warmup_days=WARMUP_DAYS,
            seed=2024,
        )
    )
    return simulation.run_experiment(scenario, replications=REPLICATIONS, workers=WORKERS).kpis


@pytest.fixture(scope="module")
def loss_system() -> pd.DataFrame:
    """M/M/10/10 at offered load 8: no bed means out of area at once, never repatriated."""
    scenario = simulation.load_scenario_dict(
        mmc_scenario(
            beds=BEDS,
            arrivals_per_day=ARRIVALS_PER_DAY,
            mean_stay_days=MEAN_STAY,
            max_wait_days=0,
            repatriation=False,
            horizon_years=HORIZON_YEARS / 2,  # blocking is estimated more precisely than waits
            warmup_days=WARMUP_DAYS,
            seed=2025,
        )
    )
    return simulation.run_experiment(scenario, replications=REPLICATIONS, workers=WORKERS).kpis


@pytest.mark.slow
def test_probability_of_waiting_matches_erlang_c(delay_system: pd.DataFrame) -> None:
    expected = 100 * erlang_c(BEDS, LOAD)  # 40.9%
    assert_agrees(_horizon_kpi(delay_system, "waited_pct"), expected, max_half_width=3.0)


@pytest.mark.slow
def test_mean_wait_matches_erlang_c(delay_system: pd.DataFrame) -> None:
    expected = mmc_mean_wait(BEDS, ARRIVALS_PER_DAY, MEAN_STAY)  # 2.05 days
    assert_agrees(_horizon_kpi(delay_system, "wait_mean_days"), expected, max_half_width=0.5)
    # Nobody waits for ever in a stable queue with max_wait null, and nobody leaves.
    assert (_horizon_kpi(delay_system, "ooa_admissions") == 0).all()


@pytest.mark.slow
def test_wait_distribution_is_first_come_first_served(delay_system: pd.DataFrame) -> None:
    # FCFS M/M/c: P(W > t) = C exp(-(c mu - lambda) t), so the 90th percentile is
    # ln(10 C) / (c mu - lambda). Means cannot tell FCFS from another order of service
    # (the conservation law); the tail can.
    drain = BEDS / MEAN_STAY - ARRIVALS_PER_DAY
    expected = math.log(10 * erlang_c(BEDS, LOAD)) / drain  # 7.0 days
    assert_agrees(_horizon_kpi(delay_system, "wait_p90_days"), expected, max_half_width=1.5)


@pytest.mark.slow
def test_mean_waiting_list_matches_theory(delay_system: pd.DataFrame) -> None:
    expected = mmc_mean_queue(BEDS, ARRIVALS_PER_DAY, MEAN_STAY)  # 1.64 patients
    assert_agrees(_horizon_kpi(delay_system, "waiting_list_mean"), expected, max_half_width=0.45)


@pytest.mark.slow
def test_littles_law_on_beds_and_queue(delay_system: pd.DataFrame) -> None:
    days = round(HORIZON_YEARS * 365.25)
    rate = _horizon_kpi(delay_system, "admissions") / days
    occupied = _horizon_kpi(delay_system, "occupied_beds_mean")
    stay = _horizon_kpi(delay_system, "los_mean_days")
    waiting = _horizon_kpi(delay_system, "waiting_list_mean")
    wait = _horizon_kpi(delay_system, "wait_mean_days")
    # Sample-path Little's law, per replication: L = lambda W up to the patients in the
    # system at the two ends of the horizon (about 10 patients x 10 days over 7305 days).
    np.testing.assert_allclose(occupied, rate * stay, rtol=0.02)
    np.testing.assert_allclose(waiting, rate * wait, rtol=0.03)
    # And the long-run value: mean busy beds = offered load = lambda / mu.
    assert_agrees(occupied, LOAD, max_half_width=0.15)
    assert_agrees(rate, ARRIVALS_PER_DAY, max_half_width=0.015)


@pytest.mark.slow
def test_out_of_area_share_matches_erlang_b(loss_system: pd.DataFrame) -> None:
    expected = 100 * erlang_b(BEDS, LOAD)  # 12.2%
    assert_agrees(_horizon_kpi(loss_system, "ooa_admission_pct"), expected, max_half_width=1.5)
    # In a loss system nobody waits: placed at once, in area or out.
    assert (_horizon_kpi(loss_system, "wait_mean_days") == 0).all()
    assert (_horizon_kpi(loss_system, "waiting_list_mean") == 0).all()


@pytest.mark.slow
def test_littles_law_on_loss_system(loss_system: pd.DataFrame) -> None:
    # Carried load: beds busy on average = lambda (1 - B) / mu; out-of-area census = lambda B / mu.
    blocking = erlang_b(BEDS, LOAD)
    assert_agrees(
        _horizon_kpi(loss_system, "occupied_beds_mean"), LOAD * (1 - blocking), max_half_width=0.15
    )
    assert_agrees(_horizon_kpi(loss_system, "ooa_census_mean"), LOAD * blocking, max_half_width=0.1)


@pytest.mark.slow
def test_out_of_area_share_is_insensitive_to_the_stay_distribution() -> None:
    """Erlang B holds for any stay distribution with the same mean (M/G/c/c)."""
    stay = {"distribution": "lognormal", "mean": MEAN_STAY, "sd": 1.5 * MEAN_STAY}
    scenario = simulation.load_scenario_dict(
        mmc_scenario(
            beds=BEDS,
            arrivals_per_day=ARRIVALS_PER_DAY,
            length_of_stay=stay,
            max_wait_days=0,
            repatriation=False,
            horizon_years=HORIZON_YEARS / 2,
            warmup_days=WARMUP_DAYS,
            seed=2027,
        )
    )
    kpis = simulation.run_experiment(scenario, replications=REPLICATIONS, workers=WORKERS).kpis
    blocking = erlang_b(BEDS, LOAD)
    assert_agrees(_horizon_kpi(kpis, "ooa_admission_pct"), 100 * blocking, max_half_width=1.5)
    assert_agrees(
        _horizon_kpi(kpis, "occupied_beds_mean"), LOAD * (1 - blocking), max_half_width=0.2
    )


@pytest.mark.slow
def test_urgent_first_matches_cobham() -> None:
    """Urgent before routine (non-pre-emptive): each class's mean wait by Cobham's formula."""
    urgent_share = 0.25
    scenario = simulation.load_scenario_dict(
        mmc_scenario(
            beds=BEDS,
            arrivals_per_day=ARRIVALS_PER_DAY,
            mean_stay_days=MEAN_STAY,
            urgent_share=urgent_share,
            horizon_years=HORIZON_YEARS / 2,
            warmup_days=WARMUP_DAYS,
            seed=2026,
        )
    )
    events = simulation.run_experiment(
        scenario, replications=REPLICATIONS, workers=WORKERS, keep_events=True
    ).events
    assert events is not None
    admitted = events[events["admission_day"] >= 0]
    waits = (
        (admitted["admission_day"] - admitted["decision_day"])
        .groupby([admitted["priority"], admitted["replication"]])
        .mean()
    )
    urgent_waits = waits["urgent"].to_numpy()
    routine_waits = waits["routine"].to_numpy()
    assert len(urgent_waits) == len(routine_waits) == REPLICATIONS
    rates = [ARRIVALS_PER_DAY * urgent_share, ARRIVALS_PER_DAY * (1 - urgent_share)]
    urgent, routine = mmc_priority_waits(BEDS, rates, MEAN_STAY)  # 0.51 and 2.56 days
    assert_agrees(urgent_waits, urgent, max_half_width=0.1)
    assert_agrees(routine_waits, routine, max_half_width=0.75)
    # Urgent patients must do much better than under first come, first served.
    assert urgent_waits.mean() < 0.5 * mmc_mean_wait(BEDS, ARRIVALS_PER_DAY, MEAN_STAY)
