"""How many replications: the confidence-interval method and running to a precision.

The method is checked where the answer is known: on a series whose sample standard
deviation after every number of replications is known in closed form, it must stop at
exactly the count the t formula gives; on normal draws of known variance it must land
near the textbook (z·σ / (d·μ))². Running to a precision must stop at the target or
the cap, say which, and change no replication's numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.experiment.experiment import run_experiment
from simulation.experiment.precision import (
    PrecisionReport,
    cumulative_intervals,
    precision_table,
    projected_replications,
    replications_needed,
    run_to_precision,
)
from simulation.results.analysis import t_interval
from simulation.scenario.loading import load_scenario_dict
from tests.builders import mmc_scenario


def alternating(mean: float, spread: float, n: int) -> np.ndarray:
    """mean + spread, mean - spread, mean + spread, ...: a series of known variance."""
    return mean + spread * np.array([1.0 if i % 2 == 0 else -1.0 for i in range(n)])


def closed_form_half_width(
    mean: float, spread: float, n: int, level: float = 0.95
) -> tuple[float, float]:
    """Running mean and CI half-width of :func:`alternating` after n values, by algebra.

    With n even the values are balanced: mean exact, sample variance spread² n/(n-1).
    With n odd there is one more high value: mean + spread/n, sample variance
    spread² (n+1)/n.
    """
    if n % 2 == 0:
        centre, variance = mean, spread**2 * n / (n - 1)
    else:
        centre, variance = mean + spread / n, spread**2 * (n + 1) / n
    t = stats.t.ppf(0.5 + level / 2, n - 1)
    return centre, t * math.sqrt(variance / n)


@pytest.mark.parametrize(
    ("mean", "spread", "precision"),
    [(100.0, 10.0, 0.05), (100.0, 10.0, 0.02), (50.0, 20.0, 0.10), (1000.0, 30.0, 0.01)],
)
def test_stops_at_the_count_the_t_formula_gives_on_a_series_of_known_variance(
    mean: float, spread: float, precision: float
) -> None:
    expected = next(
        n
        for n in range(3, 10_000)
        if closed_form_half_width(mean, spread, n)[1]
        <= precision * abs(closed_form_half_width(mean, spread, n)[0])
    )
    values = alternating(mean, spread, expected + 50)
    assert replications_needed(values, precision=precision) == expected
    # One replication short of it, the method has not got there.
    assert replications_needed(values[: expected - 1], precision=precision) is None


def test_lands_near_the_textbook_count_on_normal_draws_of_known_variance() -> None:
    mu, sigma, precision = 50.0, 5.0, 0.02
    textbook = (1.959964 * sigma / (precision * mu)) ** 2  # 96 replications
    found = [
        replications_needed(np.random.default_rng(seed).normal(mu, sigma, 1000), precision)
        for seed in range(20)
    ]
    assert all(n is not None for n in found)
    typical = float(np.median([n for n in found if n is not None]))
    assert 0.75 * textbook <= typical <= 1.25 * textbook


def test_cumulative_intervals_agree_with_the_summary_t_interval() -> None:
    values = np.random.default_rng(7).gamma(2.0, 30.0, 25)
    table = cumulative_intervals(values)
    for n in (2, 3, 10, 25):
        mean, low, high, count = t_interval(values[:n])
        row = table.iloc[n - 1]
        assert count == n == row["replications"]
        assert row["mean"] == pytest.approx(mean)
        assert row["ci_low"] == pytest.approx(low)
        assert row["ci_high"] == pytest.approx(high)
    assert math.isnan(table.iloc[0]["half_width"])


def test_look_ahead_refuses_a_lucky_early_interval() -> None:
    values = [10.0, 10.0, 10.0, 20.0, 12.0, 9.0, 11.0, 10.0, 10.5, 9.5, 10.0, 10.2]
    assert replications_needed(values, precision=0.05) == 3  # three equal values: width 0
    later = replications_needed(values, precision=0.2, look_ahead=2)
    assert later is not None and later > 4


def test_projection_scales_with_the_square_of_the_width() -> None:
    assert projected_replications(10, 0.10, 0.05) == 40
    assert projected_replications(10, 0.05, 0.05) == 10
    assert projected_replications(10, 0.01, 0.05) == 10  # never fewer than already run
    assert projected_replications(10, float("nan"), 0.05) == math.inf


def _kpi_rows(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        (r, "adult_ed", "all", "all", "all", "horizon", kpi, v)
        for kpi, series in values.items()
        for r, v in enumerate(series)
    ]
    columns = ["replication", "pathway", "service", "unit", "place", "period", "kpi", "value"]
    return pd.DataFrame(rows, columns=columns)


def test_precision_table_meets_constant_kpis_and_projects_the_rest() -> None:
    kpis = _kpi_rows(
        {
            "diversions": [0.0, 0.0, 0.0, 0.0],  # never happens: nothing to estimate
            "admissions": [100.0, 101.0, 99.0, 100.0],
            "ooa_admissions": [1.0, 4.0, 0.0, 3.0],
        }
    )
    table = precision_table(kpis, precision=0.05).set_index("kpi")
    assert bool(table.loc["diversions", "met"])
    assert bool(table.loc["admissions", "met"])
    assert not bool(table.loc["ooa_admissions", "met"])
    relative = float(table.loc["ooa_admissions", "relative_half_width"])
    assert table.loc["ooa_admissions", "needed"] == math.ceil(4 * (relative / 0.05) ** 2)


def _tiny(name: str = "tiny") -> dict[str, object]:
    return mmc_scenario(horizon_years=1.0, warmup_days=60.0, beds=6, name=name)


def test_run_to_precision_stops_at_the_cap_and_says_so() -> None:
    scenario = load_scenario_dict(_tiny())
    results, report = run_to_precision(
        [scenario], precision=1e-6, max_replications=7, initial=3, workers=1
    )
    assert not report.reached
    assert report.replications == 7 == len(results[0].replications)
    assert report.history == [3, 6, 7]  # doubling, then the cap
    assert "Cap reached" in report.message()
    assert len(report.unmet) > 0


def test_run_to_precision_stops_at_the_target_and_says_so() -> None:
    scenario = load_scenario_dict(_tiny())
    _, report = run_to_precision(
        [scenario], precision=10.0, max_replications=50, initial=4, workers=1
    )
    assert report.reached
    assert report.replications == 4 and report.history == [4]
    assert report.message().startswith("Target reached: with 4 replications")


def test_batches_change_no_replication() -> None:
    scenario = load_scenario_dict(_tiny())
    batched, _ = run_to_precision(
        [scenario], precision=1e-6, max_replications=5, initial=2, workers=1
    )
    whole = run_experiment(scenario, replications=5, workers=1)
    assert [r.replication for r in batched[0].replications] == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(batched[0].kpis, whole.kpis)
    pd.testing.assert_frame_equal(batched[0].summary, whole.summary)


def test_several_scenarios_are_judged_together() -> None:
    base = load_scenario_dict(_tiny("base"))
    more = load_scenario_dict(_tiny("more"))
    results, report = run_to_precision(
        [base, more], precision=1e-6, max_replications=4, initial=2, workers=1
    )
    assert [len(r.replications) for r in results] == [4, 4]
    assert set(report.table["scenario"]) == {"base", "more"}
    assert isinstance(report, PrecisionReport)
