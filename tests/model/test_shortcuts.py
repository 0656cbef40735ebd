"""The model's shortcuts change nothing but the work done.

Four paths are shortened: a free bed is taken without joining the queue where the
queue could not matter (:meth:`ServiceBeds.bed_at_once`); a patient whom nothing but a
bed can take off the waiting list waits without timers
(:func:`~simulation.model.pathway.only_a_bed_ends_the_wait`); a patient who goes home as
soon as ready leaves the delayed-discharge level alone while nobody is delayed
(:meth:`ServiceBeds.leave_when_ready`); and events run on the model's own
:class:`~simulation.model.engine.Environment`. Here generated scenarios
(tests/strategies.py: any number of units, mixes, panels, searches, withdrawals, dated
changes) are run with all four and with none, on SimPy's own environment: every episode
record, monthly level, end state and the count of events must be the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings

import simulation
import simulation.model.pathway as pathway_module
import simulation.model.system as system_module
from simulation.model.model import Model, ModelOutput
from simulation.model.resources import ServiceBeds, Stay
from tests.builders import flow_scenario, mmc_scenario
from tests.model.test_compatibility import split_by_sex
from tests.strategies import scenarios


def ready_then_leave(beds: ServiceBeds, stay: Stay) -> None:
    beds.mark_ready(stay)
    beds.leave(stay)


def without_shortcuts(data: dict[str, Any], replication: int) -> ModelOutput:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(system_module, "Environment", simpy.Environment)
        patch.setattr(ServiceBeds, "bed_at_once", lambda self, order: None)
        patch.setattr(pathway_module, "only_a_bed_ends_the_wait", lambda system, ref: False)
        patch.setattr(ServiceBeds, "leave_when_ready", ready_then_leave)
        return Model(simulation.load_scenario_dict(data), replication).run()


def levels(output: ModelOutput) -> dict[str, Any]:
    return {
        name: {str(key): values.tolist() for key, values in getattr(output, name).items()}
        for name in (
            "unit_occupancy",
            "unit_bed_days",
            "waiting",
            "ooa_census",
            "delayed",
            "caseload",
            "places",
            "searching",
        )
    }


def assert_same(data: dict[str, Any], replication: int) -> ModelOutput:
    short = Model(simulation.load_scenario_dict(data), replication).run()
    long = without_shortcuts(data, replication)
    assert short.events_processed == long.events_processed
    assert short.episodes == long.episodes
    assert levels(short) == levels(long)
    assert short.end_state == long.end_state
    assert repr(short.ledger) == repr(long.ledger)  # exact, and NaN (no budget) equal to NaN
    return short


@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_generated_scenarios_run_the_same_without_the_shortcuts(data: dict[str, Any]) -> None:
    assert_same(data, 1)


def test_the_shortcuts_are_taken_and_change_nothing_on_a_busy_queue() -> None:
    # An M/M/3 at load 0.9: many patients get a bed at once, many wait for ever.
    data = mmc_scenario(beds=3, arrivals_per_day=0.27, horizon_years=3.0)
    taken = {"at once": 0, "waits": 0}
    original_at_once = ServiceBeds.bed_at_once
    original_only = pathway_module.only_a_bed_ends_the_wait

    def counting_at_once(self: ServiceBeds, order: Any) -> Any:
        unit = original_at_once(self, order)
        taken["at once"] += unit is not None
        return unit

    def counting_only(system: Any, ref: Any) -> bool:
        only = original_only(system, ref)
        taken["waits"] += only
        return only

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ServiceBeds, "bed_at_once", counting_at_once)
        patch.setattr(pathway_module, "only_a_bed_ends_the_wait", counting_only)
        output = assert_same(data, 2)
    admitted = sum(e.admission_day is not None for e in output.episodes)
    assert taken["at once"] > admitted / 10
    assert taken["waits"] > admitted / 10
    assert np.isfinite(output.waiting[next(iter(output.waiting))]).all()


@pytest.mark.parametrize("repatriation", [False, True])
def test_a_bed_at_once_while_others_wait_for_another_ward(repatriation: bool) -> None:
    # Three women's beds at load 1.5 with a maximum wait (women wait, some go out of area
    # and wait to come back), seven men's beds at load 0.2 (men find a bed at once): the
    # waiting list and the out-of-area census are rarely empty when a man is admitted.
    data = split_by_sex(
        mmc_scenario(beds=10, arrivals_per_day=0.9, max_wait_days=15, repatriation=repatriation),
        men=7,
        women=3,
    )
    output = assert_same(data, 3)
    men = [e for e in output.episodes if e.sex == "male" and e.admission_day is not None]
    women = [e for e in output.episodes if e.sex == "female" and e.admitted_to == "out_of_area"]
    assert len(men) > 100
    assert len(women) > 20


@pytest.mark.parametrize("allocation", ["continuous", "weekly_panel"])
def test_going_home_when_ready_is_the_same_with_others_delayed_or_not(allocation: str) -> None:
    # A busy pathway with step-downs to full beds and to a full team: patients often go
    # home as soon as they are ready while others wait to step down (the delayed level is
    # above zero), and often while nobody does.
    data = flow_scenario(allocation=allocation, horizon_years=4.0)
    seen = {"nobody delayed": 0, "others delayed": 0, "others delayed, level moved": 0}
    original, original_ready = ServiceBeds.leave_when_ready, ServiceBeds.mark_ready
    others: list[bool] = []

    def counting(self: ServiceBeds, stay: Stay) -> None:
        others.append(bool(self.delayed.level))
        seen["others delayed" if others[-1] else "nobody delayed"] += 1
        original(self, stay)
        others.pop()

    def ready(self: ServiceBeds, stay: Stay) -> None:
        if others and others[-1]:
            seen["others delayed, level moved"] += 1
        original_ready(self, stay)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ServiceBeds, "leave_when_ready", counting)
        patch.setattr(ServiceBeds, "mark_ready", ready)
        output = assert_same(data, 4)
    assert seen["nobody delayed"] > 20 and seen["others delayed"] > 20, seen
    # Splitting a nonzero level's time at one more instant can change its sum in the last
    # bit (as test_recorders shows), so then the level goes up and back as before.
    assert seen["others delayed, level moved"] == seen["others delayed"], seen
    assert max(max(values) for values in output.delayed.values()) > 0
