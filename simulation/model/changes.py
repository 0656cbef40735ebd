"""Dated changes: the scenario's choices that take effect on a date while the model runs.

Open or close beds (a closure takes effect as beds empty; nobody is moved out to make it
happen), staff fewer or more of a unit's funded beds (money follows the funded beds),
add or remove community places, scale length of stay, change the diversion
share, the maximum wait before out of area or a service's step-down routes. Each
change acts on the :class:`~simulation.model.system.System` in force on its date; the
scenario itself is never written.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from simulation.model.system import System
from simulation.scenario.schema import (
    Change,
    SetBeds,
    SetDiversion,
    SetLengthOfStay,
    SetMaxWait,
    SetPlaces,
    SetStaffedBeds,
    SetStepDown,
)


def apply_change(system: System, change: Change) -> None:
    """Make one dated change take effect now."""
    if isinstance(change, SetBeds):
        unit = system.units[change.unit]
        unit.set_beds(system.env.now, change.to)
        beds = system.beds[(unit.spec.pathway, unit.spec.service)]
        if beds.continuous:
            beds.allocate()
    elif isinstance(change, SetStaffedBeds):
        unit = system.units[change.unit]
        unit.set_staffed(change.to)
        beds = system.beds[(unit.spec.pathway, unit.spec.service)]
        if beds.continuous:
            beds.allocate()
    elif isinstance(change, SetPlaces):
        system.teams[change.team].set_capacity(change.to)
    elif isinstance(change, SetLengthOfStay):
        system.policy.los_factor[(change.pathway, change.service)] = change.to
    elif isinstance(change, SetDiversion):
        for draws in system.draws_of(change.pathway):
            draws.diversion_share = change.to
    elif isinstance(change, SetMaxWait):
        system.policy.max_wait[(change.pathway, change.priority == "urgent")] = change.to
    elif isinstance(change, SetStepDown):
        routes = [(r.probability, r.to) for r in change.to]
        for draws in system.draws_of(change.pathway):
            draws.set_routes(change.service, routes)


def dated_changes(system: System) -> Generator[simpy.Event, Any, None]:
    """Apply the scenario's changes on their dates, in date order."""
    scenario = system.scenario
    for change in sorted(scenario.changes, key=lambda c: c.date):
        day = scenario.day_of(change.date)
        if day > system.env.now:
            yield system.env.timeout(day - system.env.now)
        apply_change(system, change)
