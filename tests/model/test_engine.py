"""The model's environment runs events exactly as SimPy's own does.

:class:`simulation.model.engine.Environment` writes SimPy's step into its run loop and
its scheduling into ``timeout``. Each scenario here is run on it and on a plain
:class:`simpy.Environment`: every episode record, every monthly level and the event
count must be the same. SimPy's own rules (a failed event nobody defused stops the run;
a negative delay is refused; ``run`` returns at ``until``) hold as well.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import simpy

import simulation
import simulation.model.system as system_module
from simulation.model.engine import Environment
from simulation.model.model import Model, ModelOutput
from tests.builders import mmc_scenario, transition_scenario
from tests.model.test_gc import withdrawing

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def run_on(environment: type[simpy.Environment], data: Any, monkeypatch: Any) -> ModelOutput:
    monkeypatch.setattr(system_module, "Environment", environment)
    if isinstance(data, Path):
        scenario = simulation.load_scenario(data)
    else:
        scenario = simulation.load_scenario_dict(data)
    model = Model(scenario, 3)
    assert type(model.env) is environment
    return model.run()


CASES: dict[str, Any] = {
    "baseline": SCENARIOS / "baseline.yaml",
    "bed management before": SCENARIOS / "bed_management_before.yaml",
    "M/M/5 for ever": mmc_scenario(beds=5, arrivals_per_day=0.45),
    "withdrawals and a maximum wait": withdrawing(),
    "weekly panel": mmc_scenario(beds=5, arrivals_per_day=0.5, allocation="weekly_panel"),
    "moves at 18": transition_scenario("transfer"),
}


@pytest.mark.parametrize("name", CASES)
def test_the_same_run_as_on_simpys_environment(name: str, monkeypatch: Any) -> None:
    ours = run_on(Environment, CASES[name], monkeypatch)
    simpys = run_on(simpy.Environment, CASES[name], monkeypatch)
    assert ours.events_processed == simpys.events_processed
    assert ours.episodes == simpys.episodes
    assert ours.episodes
    assert ours.end_state == simpys.end_state


def test_a_failed_event_nobody_defused_stops_the_run() -> None:
    env = Environment()

    def fails() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        raise KeyError("lost")

    env.process(fails())
    with pytest.raises(KeyError, match="lost"):
        env.run(until=5)


def test_a_defused_failure_goes_on_and_run_stops_at_until() -> None:
    env = Environment()
    seen: list[float] = []

    def fails() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        raise KeyError("caught")

    def catches() -> Generator[simpy.Event, Any, None]:
        try:
            yield env.process(fails())
        except KeyError:
            seen.append(env.now)
        while True:
            yield env.timeout(2, value="tick")
            seen.append(env.now)

    env.process(catches())
    env.run(until=6)
    assert seen == [1, 3, 5]
    assert env.now == 6
    env.run(until=8)  # and it can go on
    assert seen == [1, 3, 5, 7]


def test_a_timeout_is_simpys_own() -> None:
    env = Environment()
    timeout = env.timeout(2.5, value="v")
    assert isinstance(timeout, simpy.Timeout)
    assert repr(timeout).startswith("<Timeout(2.5, value=v)")
    with pytest.raises(ValueError, match="Negative delay"):
        env.timeout(-1)
    env.run(until=3)
    assert timeout.processed and timeout.value == "v"
    with pytest.raises(ValueError, match="greater than the current"):
        env.run(until=2)


@pytest.mark.parametrize("how", ["to a time", "to an event", "to the end", "by steps"])
def test_now_is_the_time_of_the_event_being_processed(how: str) -> None:
    """``now`` is an attribute here, not SimPy's property: it must follow every step."""
    env = Environment(initial_time=2.5)
    assert env.now == 2.5
    seen: list[tuple[float, float]] = []

    def ticking() -> Generator[simpy.Event, Any, None]:
        for delay in (0.5, 1.25, 3.0, 0.0, 7.5):
            yield env.timeout(delay)
            seen.append((env.now, env._now))

    done = env.process(ticking())
    if how == "to a time":
        env.run(until=100.0)
    elif how == "to an event":
        env.run(until=done)
    elif how == "to the end":
        env.run()
    else:
        while env.peek() != simpy.core.Infinity:
            env.step()
    assert [t for t, _ in seen] == [3.0, 4.25, 7.25, 7.25, 14.75]
    assert all(now == time for now, time in seen)
    assert env.now == env._now
