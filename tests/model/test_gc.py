"""A model run leaves no reference cycles behind, so pausing the cycle collector is safe.

:meth:`Model.run` pauses Python's cycle collector while it runs, and
:func:`~simulation.experiment.experiment.run_replication` for the whole replication
(:func:`simulation.model.model.cycle_collector_paused`): everything a run frees must be
freed by reference counting, or memory would grow with the run. These tests run the
shipped scenarios, generated scenarios and the features no shipped scenario uses (the
out-of-area market's searches, moves at 18, referrals by stream) with the collector off,
and ask it afterwards what it would have found. They also check that the collector
comes back on, and stays off for a caller who had switched it off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import simulation
from simulation.model.model import Model, cycle_collector_paused
from simulation.scenario.schema import Scenario
from tests.builders import PATHWAY, mmc_scenario, transition_scenario
from tests.model.test_market import busy, with_search
from tests.model.test_stream_referrals import SERVICE as STREAM_SERVICE
from tests.model.test_stream_referrals import scenario as stream_scenario
from tests.strategies import scenarios

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.collect()
    yield
    gc.enable()


def cycles_left_by_a_run(scenario: Scenario, referrals: bool = True) -> int:
    """Objects in reference cycles that a run made and no longer uses (the model kept).

    ``referrals``: check that the run had referrals (a generated scenario may have none).
    """
    gc.collect()
    gc.disable()
    model = Model(scenario, 1)
    output = model.run()
    assert output.episodes or not referrals
    found = gc.collect()
    gc.enable()
    return found


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_shipped_scenario_leaves_no_cycles(path: Path) -> None:
    assert cycles_left_by_a_run(simulation.load_scenario(path)) == 0


def cycles_left_by_a_released_model(scenario: Scenario) -> int:
    """Objects in reference cycles once a run's model is released and dropped (output kept)."""
    gc.collect()
    gc.disable()
    model = Model(scenario, 1)
    output = model.run()
    model.release()
    del model
    found = gc.collect()
    gc.enable()
    assert output.end_state is not None
    return found


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_released_model_of_a_shipped_scenario_is_freed_without_the_collector(
    path: Path,
) -> None:
    # Unreleased, the baseline's model is some 7,000 objects in cycles at its horizon.
    assert cycles_left_by_a_released_model(simulation.load_scenario(path)) == 0


def withdrawing() -> dict[str, Any]:
    """A queue whose patients may withdraw, urgent ones first, with a maximum wait."""
    data = mmc_scenario(beds=5, arrivals_per_day=0.6, max_wait_days=40, urgent_share=0.3)
    data["pathways"][PATHWAY]["withdrawal"] = {
        "patience": {"distribution": "exponential", "mean": 20}
    }
    return data


FEATURES: dict[str, dict[str, Any]] = {
    "queue for ever": mmc_scenario(beds=5, arrivals_per_day=0.6),
    "withdrawals and a maximum wait": withdrawing(),
    "weekly panel": mmc_scenario(beds=5, arrivals_per_day=0.5, allocation="weekly_panel"),
    "max wait then out of area": busy(max_wait_days=10),
    "market searches in rounds": with_search(
        busy(max_wait_days=5),
        round_days={"distribution": "fixed", "value": 3},
        working_days_only=True,
        probability_found=0.3,
        cost_per_bed_day_gbp={"distribution": "gamma", "mean": 900, "sd": 200},
    ),
    "moves at 18 (transfer)": transition_scenario("transfer"),
    "moves at 18 (discharge)": transition_scenario("discharge"),
    "referrals by stream": stream_scenario(
        {"personality_disorder": {"referral_rate_per_100k_per_year": {STREAM_SERVICE: 50.0}}}
    ),
}


@pytest.mark.parametrize("name", FEATURES)
def test_a_feature_leaves_no_cycles(name: str) -> None:
    scenario = simulation.load_scenario_dict(FEATURES[name])
    assert cycles_left_by_a_run(scenario) == 0
    assert cycles_left_by_a_released_model(scenario) == 0, "nor its released model"


@settings(max_examples=15, deadline=None)
@given(scenarios())
def test_a_generated_scenario_leaves_no_cycles(data: dict[str, Any]) -> None:
    scenario = simulation.load_scenario_dict(data)
    assert cycles_left_by_a_run(scenario, referrals=False) == 0
    assert cycles_left_by_a_released_model(scenario) == 0, "nor its released model"


def test_an_unreleased_model_is_left_to_the_collector() -> None:
    """What :meth:`Model.release` is for: without it, the baseline's model is in cycles."""
    gc.collect()
    gc.disable()
    model = Model(simulation.load_scenario(SCENARIOS[0].with_name("baseline.yaml")), 1)
    model.run()
    del model
    found = gc.collect()
    gc.enable()
    assert found > 1_000


def test_the_collector_is_off_during_a_run_and_back_on_after() -> None:
    seen: list[bool] = []
    scenario = simulation.load_scenario_dict(mmc_scenario(beds=3, arrivals_per_day=0.2))
    model = Model(scenario, 0)
    model.env.process(_watch(model, seen))
    model.run()
    assert seen == [False]
    assert gc.isenabled()


def test_no_collection_falls_within_a_replication() -> None:
    """:func:`run_replication` pauses the collector from the model's build to its tables."""
    from simulation.experiment.experiment import run_replication
    from simulation.scenario.loading import derive

    baseline = simulation.load_scenario(SCENARIOS[0].with_name("baseline.yaml"))
    scenario = derive(baseline, {"horizon_years": 2})
    run_replication(scenario, 0)  # imports and caches made before counting
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        result = run_replication(scenario, 1)
        during = list(collections)
        gc.collect(0)  # what the next allocation would start
    finally:
        gc.callbacks.remove(count)
    assert result.kpis["value"].notna().any()
    assert during in ([], [0]), "none while it ran; at most the young one as it returned"
    assert gc.isenabled()


def _watch(model: Model, seen: list[bool]) -> Iterator[Any]:
    yield model.env.timeout(1.0)
    seen.append(gc.isenabled())


def test_a_caller_who_switched_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_runs_in_threads_turn_it_back_on_only_when_the_last_ends() -> None:
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with cycle_collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other run still goes on
    release.set()
    thread.join(10)
    assert gc.isenabled()
