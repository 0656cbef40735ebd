"""The work estimate at load: expected referrals by arithmetic, and refusals beyond it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simulation.core.problems import InputError
from simulation.scenario.loading import derive, load_scenario
from simulation.scenario.workload import MAX_EVENTS, MAX_REFERRALS, estimate
from tests.cli.test_cli import SMALL

POPULATION = 650_000 + 480_000


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_expected_referrals_are_rate_times_population_times_years(small: Path) -> None:
    scenario = load_scenario(small)
    work, rate = estimate(scenario)
    years = scenario.horizon_days / 365.25
    assert work.referrals == pytest.approx(8 * POPULATION / 1e5 * years)
    assert rate == (
        "pathways",
        "adult_secure",
        "services",
        "low",
        "referral_rate_per_100k_per_year",
    )


def test_growth_compounds_over_the_run(small: Path) -> None:
    grown = derive(
        load_scenario(small), {"pathways.adult_secure.annual_growth": 0.5, "horizon_years": 4.0}
    )
    work, _ = estimate(grown)
    years = grown.horizon_days / 365.25
    # the integral of 1.5**t over the run, at the first year's rate
    assert work.referrals == pytest.approx(8 * POPULATION / 1e5 * (1.5**years - 1) / math.log(1.5))


def test_more_referrals_than_a_replication_can_hold_are_refused(small: Path) -> None:
    populous = {
        "places.Northmoor.population": 10_000_000,
        "places.Eastbrook.population": 10_000_000,
    }
    scenario = derive(load_scenario(small), populous)
    rate = MAX_REFERRALS / (20_000_000 / 1e5) / (scenario.horizon_days / 365.25) * 1.1
    with pytest.raises(InputError) as caught:
        derive(
            scenario, {"pathways.adult_secure.services.low.referral_rate_per_100k_per_year": rate}
        )
    (problem,) = caught.value.problems
    assert problem.field == "pathways.adult_secure.services.low.referral_rate_per_100k_per_year"
    assert "a replication can hold at most 2 million referrals" in problem.message


def test_more_events_than_a_run_can_do_are_refused_naming_replications(small: Path) -> None:
    scenario = load_scenario(small)
    per_replication = estimate(scenario)[0].events / scenario.replications
    rate = 8 * 1000  # a thousand times the demand, still far within a replication
    busy = derive(
        scenario, {"pathways.adult_secure.services.low.referral_rate_per_100k_per_year": rate}
    )
    needed = math.ceil(MAX_EVENTS / (per_replication * 1000)) + 10
    assert needed <= 100_000
    with pytest.raises(InputError) as caught:
        derive(busy, {"replications": needed}, {"replications": "--replications"}, "small.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("small.yaml", "replications")
    assert "model events, days of computing" in problem.message
    derive(busy, {"replications": needed // 2})  # half as many are run
