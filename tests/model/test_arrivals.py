"""Referral arrivals: rates, growth from the start date, seasonality."""

import numpy as np
import pytest

from simulation import load_scenario_dict
from simulation.model.model import Model
from tests.builders import mmc_scenario


def referral_days(data):
    output = Model(load_scenario_dict(data), 0).run()
    return np.array(sorted(e.referral_day for e in output.episodes if e.source == "new"))


def test_growth_starts_at_the_start_date_and_the_warm_up_runs_at_todays_demand():
    data = mmc_scenario(arrivals_per_day=0.5, beds=50, horizon_years=2, warmup_days=400)
    data["pathways"]["adult_ed"]["arrivals"] = "regular"
    data["pathways"]["adult_ed"]["annual_growth"] = 1.0  # doubling each year
    days = referral_days(data)
    gaps_before = np.diff(days[days < 0])
    assert np.allclose(gaps_before, 2.0)  # 0.5 a day, the start date's rate
    # After the start the rate doubles each year: gaps halve over 365.25 days.
    first_year = days[(days >= 0) & (days < 365.25)]
    second_year = days[(days >= 365.25) & (days < 730.5)]
    assert len(second_year) == pytest.approx(2 * len(first_year), rel=0.02)
    assert len(first_year) == pytest.approx(0.5 * 365.25 / np.log(2), rel=0.02)


def test_poisson_referral_counts_match_the_rate_with_seasonality():
    data = mmc_scenario(arrivals_per_day=2.0, beds=100, horizon_years=4, warmup_days=0)
    data["pathways"]["adult_ed"]["seasonality"] = [1.6] * 6 + [0.4] * 6
    days = referral_days(data)
    # Start 1 April: months Apr-Jun at x1.6, Jul-Dec at x0.4, Jan-Mar at x1.6 each year.
    months = (np.datetime64("2026-04-01") + days.astype("timedelta64[D]")).astype("datetime64[M]")
    month_of_year = months.astype(int) % 12 + 1
    high = np.isin(month_of_year, [1, 2, 3, 4, 5, 6])
    expected_high = 4 * 2.0 * 1.6 * (31 + 28.25 + 31 + 30 + 31 + 30)
    expected_low = 4 * 2.0 * 0.4 * (31 + 31 + 30 + 31 + 30 + 31)
    assert high.sum() == pytest.approx(expected_high, rel=0.05)
    assert (~high).sum() == pytest.approx(expected_low, rel=0.08)
