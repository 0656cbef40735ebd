"""The out-of-area market: a search in rounds that take time and may fail.

In a deterministic case (fixed rounds, a bed found every time) each out-of-area
admission comes exactly one round after the search began, so the mean time to an
out-of-area bed is the round's length; counted in working days, a round that spans a
weekend is two days longer. With a chance ``p`` of finding a bed per round, the number
of rounds is geometric and the mean search ``round / p``. While the search goes on the
patient waits (and is counted as waiting for an out-of-area bed); a footprint bed that
frees first is still theirs. Without a search the market finds a bed at once, as before.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simulation
from simulation.model.market import working_days_later
from tests.builders import PATHWAY, SERVICE, mmc_scenario
from tests.model.test_compatibility import events, horizon, run


def with_search(data: dict[str, Any], **search: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["pathways"][PATHWAY]["services"][SERVICE]["out_of_area"]["search"] = search
    return data


def busy(max_wait_days: float = 0, **kwargs: Any) -> dict[str, Any]:
    """Five beds at load 8: most referrals go out of area."""
    return mmc_scenario(
        beds=5,
        arrivals_per_day=0.8,
        max_wait_days=max_wait_days,
        repatriation=False,
        horizon_years=2.0,
        **kwargs,
    )


def placed_away(log: pd.DataFrame) -> pd.DataFrame:
    away = log[(log["admitted_to"] == "out_of_area") & (log["admission_day"] >= 0)]
    assert len(away) > 50
    return away


# -- the arithmetic of working days -----------------------------------------------------
MONDAY = dt.date(2026, 3, 30).weekday()  # day 0 of a run starting on Monday 30 March 2026


@pytest.mark.parametrize(
    ("now", "days", "expected"),
    [
        (0.0, 3.0, 3.0),  # Monday 00:00 + 3 working days: Thursday 00:00
        (0.5, 1.0, 1.5),  # Monday noon + 1: Tuesday noon
        (4.5, 1.0, 7.5),  # Friday noon + 1: Monday noon (the weekend skipped)
        (5.25, 1.0, 8.0),  # Saturday morning: the round starts Monday, ends Tuesday 00:00
        (6.9, 0.5, 7.5),  # late Sunday + half a day: Monday noon
        (0.0, 10.0, 12.0),  # ten working days: the end of the second Friday
    ],
)
def test_working_days_skip_weekends(now: float, days: float, expected: float) -> None:
    assert MONDAY == 0
    assert working_days_later(now, days, MONDAY) == pytest.approx(expected)


# -- the market in the model ---------------------------------------------------------
def test_default_market_is_instant_and_always_finds_a_bed() -> None:
    away = placed_away(events(busy()))
    assert (away["admission_day"] == away["ooa_search_day"]).all()
    assert (away["admission_day"] == away["decision_day"]).all()


def test_fixed_rounds_that_always_find_a_bed_take_one_round() -> None:
    data = with_search(busy(), round_days={"distribution": "fixed", "value": 3})
    log = events(data)
    away = placed_away(log)
    np.testing.assert_allclose(away["admission_day"] - away["ooa_search_day"], 3.0)
    # Every patient placed out of area waited exactly the search: 3 days.
    np.testing.assert_allclose(away["admission_day"] - away["decision_day"], 3.0)
    kpis = run(data, replications=2)
    np.testing.assert_allclose(horizon(kpis, "ooa_search_days_mean"), 3.0)
    # With a maximum wait of 0 every patient on the waiting list is waiting for an
    # out-of-area bed (some get a footprint bed first), and nobody else is.
    searching = horizon(kpis, "ooa_searching_mean")
    np.testing.assert_allclose(searching, horizon(kpis, "waiting_list_mean"), rtol=1e-9)
    assert (searching > 0.5).all()


def test_rounds_in_working_days_wait_over_weekends() -> None:
    data = with_search(
        busy(),
        round_days={"distribution": "fixed", "value": 1},
        working_days_only=True,
    )
    scenario = simulation.load_scenario_dict(data)
    weekday = scenario.start_date.weekday()
    away = placed_away(events(data))
    for start, admitted in zip(away["ooa_search_day"], away["admission_day"], strict=True):
        assert admitted == pytest.approx(working_days_later(start, 1.0, weekday))
    # A one-working-day search from a Friday, Saturday or Sunday lasts into the week.
    assert (away["admission_day"] - away["ooa_search_day"]).max() > 2.0


def test_a_bed_found_one_round_in_four_takes_four_rounds_on_average() -> None:
    # No footprint beds, so no search is cut short by a local bed (which would leave
    # only the short searches among those placed out of area).
    data = with_search(
        busy(),
        round_days={"distribution": "fixed", "value": 2},
        probability_found=0.25,
    )
    data["units"][0]["beds"] = 0
    away = placed_away(events(data))
    searched = (away["admission_day"] - away["ooa_search_day"]).to_numpy()
    rounds = searched / 2.0
    np.testing.assert_allclose(rounds, np.round(rounds))  # whole rounds only
    # Geometric rounds with p = 1/4: mean 4, sd sqrt(1 - p) / p = 3.46.
    se = np.sqrt(0.75) / 0.25 / np.sqrt(len(rounds))
    assert abs(rounds.mean() - 4.0) < 3 * se


def test_a_footprint_bed_that_frees_during_the_search_is_taken() -> None:
    data = with_search(
        busy(max_wait_days=0),
        round_days={"distribution": "fixed", "value": 30},
    )
    log = events(data)
    admitted = log[log["admission_day"].notna() & (log["admission_day"] >= 0)]
    local = admitted[admitted["admitted_to"] != "out_of_area"]
    # With stays of 10 days and searches of 30, most who waited got a local bed first.
    assert ((local["admission_day"] - local["decision_day"]) > 0).sum() > 50
    assert (admitted["ooa_reason"].isna() == (admitted["admitted_to"] != "out_of_area")).all()


def test_priced_beds_cost_what_the_market_charges() -> None:
    data = with_search(
        busy(),
        round_days={"distribution": "fixed", "value": 1},
        cost_per_bed_day_gbp={"distribution": "fixed", "value": 900},
        distance_miles={"distribution": "fixed", "value": 250},
    )
    kpis = run(data, replications=1)
    ooa_days = horizon(kpis, "ooa_bed_days")
    cost = kpis[
        (kpis["kpi"] == "cost_ooa_gbp")
        & (kpis["pathway"] == PATHWAY)
        & (kpis["period"] == "horizon")
    ]["value"].to_numpy()
    np.testing.assert_allclose(cost, 900 * ooa_days, rtol=1e-9)
    away = placed_away(events(data))
    assert (away["distance_miles"] == 250).all()
