"""The model schedules only events that change something.

A patient's journey runs without a process event of its own (no initialising or ending
event), a bed or a team place given at once is not scheduled as an event, and Poisson
candidates turned down by thinning are no events. The journey must still behave as a
SimPy process does, and the results must be those of the events it no longer schedules
(the regression fingerprints check every shipped scenario's outputs value for value).
"""

from __future__ import annotations

import gc
from collections.abc import Generator
from typing import Any

import pytest
import simpy

import simulation
from simulation.model.journey import journey
from simulation.model.model import Model
from simulation.model.resources import granted_at_once
from tests.builders import mmc_scenario


def test_a_journey_resumes_as_a_process_does() -> None:
    env = simpy.Environment()
    seen: list[tuple[str, float, Any]] = []
    done = env.event()
    done.succeed("ready")

    def patient() -> Generator[simpy.Event, Any, None]:
        seen.append(("start", env.now, None))
        value = yield env.timeout(2.5, value="stay over")
        seen.append(("timeout", env.now, value))
        value = yield done  # already triggered: resumed when it is processed
        seen.append(("done", env.now, value))
        failed = env.event()
        failed.fail(RuntimeError("no bed"))
        try:
            yield failed
        except RuntimeError as error:
            seen.append(("failed", env.now, str(error)))

    journey(patient())
    # The first step runs at once, before the run starts.
    assert seen == [("start", 0.0, None)]
    env.run()
    assert seen == [
        ("start", 0.0, None),
        ("timeout", 2.5, "stay over"),
        ("done", 2.5, "ready"),
        ("failed", 2.5, "no bed"),
    ]


def test_an_error_in_a_journey_stops_the_run() -> None:
    env = simpy.Environment()

    def patient() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        raise ValueError("a model fault")

    journey(patient())
    with pytest.raises(ValueError, match="a model fault"):
        env.run()


def test_a_journey_schedules_no_event_of_its_own() -> None:
    env = simpy.Environment()

    def patient() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)

    journey(patient())
    env.run()
    assert next(env._eid) == 1  # the timeout alone (env.process would add two more)


def test_a_finished_journey_is_freed_at_once() -> None:
    # Freed by reference counting, not left in a cycle for the garbage collector: with
    # thousands of referrals a replication, collecting them cost a fifth of the run.
    env = simpy.Environment()

    def patient() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        yield env.timeout(2)

    gc.collect()
    gc.disable()
    try:
        for _ in range(100):
            journey(patient())
        env.run()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_grant_at_once_can_still_be_waited_for() -> None:
    # A bed given at once is no event; a journey (or a process) that yields the request
    # all the same must go on at once with the unit, not wait for ever.
    env = simpy.Environment()
    request = env.event()
    granted_at_once(request, "Beacon Low Secure")
    got: list[tuple[float, Any]] = []

    def patient() -> Generator[simpy.Event, Any, None]:
        unit = yield request
        got.append((env.now, unit))

    def process() -> Generator[simpy.Event, Any, None]:
        unit = yield request
        got.append((env.now, unit))

    journey(patient())
    env.process(process())
    env.run()
    assert got == [(0.0, "Beacon Low Secure"), (0.0, "Beacon Low Secure")]
    assert next(env._eid) == 2  # the process's start and end; no event for the grant


def test_an_admission_without_a_wait_costs_its_stay_and_its_arrival_only() -> None:
    # Beds to spare: nobody waits. Each referral is one arrival and one stay; before
    # journeys and beds given at once it was five events (start, bed, stay, end).
    data = mmc_scenario(beds=40, arrivals_per_day=1.0, mean_stay_days=10.0, horizon_years=4)
    output = Model(simulation.load_scenario_dict(data), 0).run()
    referrals = len(output.episodes)
    assert referrals > 1000
    assert output.events_processed <= 2 * referrals + 10


def test_thinning_candidates_turned_down_are_no_events() -> None:
    # Seasonality with a peak 1.9 times the mean: nearly half the candidates are turned
    # down, and none of them may be an event.
    data = mmc_scenario(beds=40, arrivals_per_day=1.0, mean_stay_days=10.0, horizon_years=4)
    pathway = next(iter(data["pathways"].values()))
    pathway["seasonality"] = [1.9, 0.1] * 6
    output = Model(simulation.load_scenario_dict(data), 0).run()
    referrals = len(output.episodes)
    assert referrals > 1000
    assert output.events_processed <= 2 * referrals + 10
