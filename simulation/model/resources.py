"""Capacity the model's patients compete for: beds and community caseload places.

Beds are not SimPy ``Resource`` objects because placing a patient is a decision, not a
first-come queue: the bed manager offers the patient at the head of a service's queue
(urgent first, then longest wait) a bed in the unit linked to their home place, else
the nearest unit of that service with a free bed. :class:`ServiceBeds` holds one
service's units, its queue and its out-of-area patients; :class:`Caseload` is a
community team's finite caseload with a first-come queue for step-downs. Both record
their levels as they change. Running state only: nothing here writes to the scenario.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import simpy

from simulation.core.calendar import Calendar
from simulation.model.records import Episode, Level
from simulation.scenario.schema import Unit

OUT_OF_AREA = "out_of_area"


class UnitState:
    """An inpatient unit while the model runs."""

    __slots__ = ("bed_level", "beds", "linked", "name", "occupancy", "occupied", "spec")

    def __init__(self, spec: Unit, calendar: Calendar, start: float):
        self.spec = spec
        self.name = spec.name
        self.beds = spec.beds
        self.occupied = 0
        self.linked = frozenset(spec.linked_places)
        self.occupancy = Level(calendar, start)
        self.bed_level = Level(calendar, start, level=spec.beds)

    def set_beds(self, t: float, beds: int) -> None:
        """Open or close beds; a closure below occupancy takes effect as patients leave.

        A bed to be closed stays open (staffed, and paid for under a block contract) until
        its patient leaves: the open-bed level never falls below the beds occupied.
        """
        self.beds = beds
        self.bed_level.set(t, max(beds, self.occupied))

    def vacate(self, t: float) -> None:
        """A patient has left: close the bed now if a closure was waiting for it."""
        self.occupancy.add(t, -1)
        if self.occupied >= self.beds:
            self.bed_level.set(t, self.occupied)

    @property
    def free(self) -> int:
        """Beds free now (zero while a closure is still waiting for beds to empty)."""
        return max(0, self.beds - self.occupied)

    def distance_from(self, place: str) -> float:
        """Miles from a home place to this unit."""
        miles = self.spec.distance_miles.get(place)
        if miles is not None:
            return miles
        return 0.0 if self.spec.place == place else self.spec.default_distance_miles


class Stay:
    """Where one patient is staying; the bed manager may move it (repatriation)."""

    __slots__ = ("episode", "ready", "unit")

    def __init__(self, episode: Episode, unit: UnitState | None):
        self.episode = episode
        self.unit = unit
        self.ready = False


class BedRequest(simpy.Event):
    """A patient's place in a service's queue; succeeds with the unit allocated."""

    __slots__ = ("episode", "listed", "since", "urgent")

    def __init__(self, env: simpy.Environment, episode: Episode, urgent: bool, listed: bool):
        super().__init__(env)
        self.episode = episode
        self.urgent = urgent
        self.since = env.now
        self.listed = listed  # counts on the waiting list (not a step-down holding a bed)


class ServiceBeds:
    """One service's beds in the footprint, its queue and its out-of-area patients."""

    def __init__(
        self,
        env: simpy.Environment,
        units: list[UnitState],
        calendar: Calendar,
        continuous: bool,
        repatriation: bool,
    ):
        self.env = env
        self.units = units
        self.continuous = continuous
        self.repatriation = repatriation
        start = env.now
        self.urgent: dict[int, BedRequest] = {}
        self.routine: dict[int, BedRequest] = {}
        self.out_of_area: dict[int, Stay] = {}
        self.waiting = Level(calendar, start)
        self.ooa_census = Level(calendar, start)
        self.delayed = Level(calendar, start)
        self.repatriations = 0
        self._preference: dict[str, tuple[UnitState, ...]] = {}

    # -- the queue ---------------------------------------------------------------------
    def request(self, episode: Episode, urgent: bool, listed: bool = True) -> BedRequest:
        """Join the queue; in continuous allocation a free bed is given at once."""
        req = BedRequest(self.env, episode, urgent, listed)
        (self.urgent if urgent else self.routine)[episode.episode_id] = req
        if listed:
            self.waiting.add(self.env.now, 1)
        if self.continuous:
            self.allocate()
        return req

    def cancel(self, req: BedRequest) -> None:
        """Leave the queue without a bed (out-of-area placement or withdrawal)."""
        queue = self.urgent if req.urgent else self.routine
        if queue.pop(req.episode.episode_id, None) is not None and req.listed:
            self.waiting.add(self.env.now, -1)

    def queue_length(self, listed_only: bool = True) -> int:
        """Patients waiting now (by default only those on the waiting list)."""
        reqs = [*self.urgent.values(), *self.routine.values()]
        return sum(1 for r in reqs if r.listed or not listed_only)

    def preference(self, home: str) -> tuple[UnitState, ...]:
        """The service's units in the order a patient from ``home`` is offered them.

        Linked units first, then by distance, then in the scenario's order. Distances
        and links do not change during a run, so each home's order is worked out once.
        """
        order = self._preference.get(home)
        if order is None:
            ranked = sorted(
                enumerate(self.units),
                key=lambda item: (
                    0 if home in item[1].linked else 1,
                    item[1].distance_from(home),
                    item[0],
                ),
            )
            order = self._preference[home] = tuple(unit for _, unit in ranked)
        return order

    def choose_unit(self, home: str) -> UnitState | None:
        """A unit linked to ``home`` with a free bed, else the nearest unit with one."""
        for unit in self._preference.get(home) or self.preference(home):
            if unit.beds > unit.occupied:
                return unit
        return None

    def allocate(self) -> None:
        """Give free beds to the queue in priority order, then repatriate if enabled."""
        urgent, routine = self.urgent, self.routine
        while urgent or routine:
            req = next(iter((urgent or routine).values()))  # urgent first, then longest wait
            unit = self.choose_unit(req.episode.home_place)
            if unit is None:
                return
            self.cancel(req)
            self.occupy(unit)
            req.succeed(unit)
        if self.repatriation and self.out_of_area:
            now = self.env.now
            for stay in list(self.out_of_area.values()):
                unit = self.choose_unit(stay.episode.home_place)
                if unit is None:
                    return
                del self.out_of_area[stay.episode.episode_id]
                self.ooa_census.add(now, -1)
                self.occupy(unit)
                stay.unit = unit
                stay.episode.repatriation_day = now
                stay.episode.repatriated_to = unit.name
                self.repatriations += 1

    # -- beds --------------------------------------------------------------------------
    def occupy(self, unit: UnitState) -> None:
        """Take a bed in ``unit``."""
        unit.occupied += 1
        unit.occupancy.add(self.env.now, 1)

    def place_out_of_area(self, stay: Stay) -> None:
        """Record a patient as placed out of area; a candidate for repatriation."""
        self.ooa_census.add(self.env.now, 1)
        self.out_of_area[stay.episode.episode_id] = stay

    def mark_ready(self, stay: Stay) -> None:
        """The clinical stay is over: no longer repatriated; delayed until it leaves."""
        stay.ready = True
        if stay.unit is None:
            self.out_of_area.pop(stay.episode.episode_id, None)
        self.delayed.add(self.env.now, 1)

    def leave(self, stay: Stay) -> None:
        """The patient leaves the bed; the freed bed goes to the queue at once if continuous."""
        now = self.env.now
        if stay.ready:
            self.delayed.add(now, -1)
        if stay.unit is None:
            self.out_of_area.pop(stay.episode.episode_id, None)
            self.ooa_census.add(now, -1)
            return
        stay.unit.occupied -= 1
        stay.unit.vacate(now)
        if self.continuous:
            self.allocate()

    def close(self, t: float) -> None:
        """Bring every level up to the end time."""
        for level in (self.waiting, self.ooa_census, self.delayed):
            level.close(t)
        for unit in self.units:
            unit.occupancy.close(t)
            unit.bed_level.close(t)


class Caseload:
    """A community team's caseload: finite places, a first-come queue for step-downs."""

    def __init__(self, env: simpy.Environment, name: str, places: int, calendar: Calendar):
        self.env = env
        self.name = name
        self.capacity = places
        self.in_use = 0
        self.queue: deque[simpy.Event] = deque()
        self.caseload = Level(calendar, env.now)
        self.places = Level(calendar, env.now, level=places)

    def has_room(self) -> bool:
        """A place is free and nobody is queuing for one."""
        return self.in_use < self.capacity and not self.queue

    def request(self) -> simpy.Event:
        """Ask for a place: succeeds at once if there is room, else when one frees."""
        event = simpy.Event(self.env)
        if self.has_room():
            self._take()
            event.succeed()
        else:
            self.queue.append(event)
        return event

    def _take(self) -> None:
        self.in_use += 1
        self.caseload.add(self.env.now, 1)

    def release(self) -> None:
        """A community episode ends; the place goes to the next in the queue."""
        self.in_use -= 1
        self.caseload.add(self.env.now, -1)
        self._serve()

    def _serve(self) -> None:
        while self.queue and self.in_use < self.capacity:
            self._take()
            self.queue.popleft().succeed()

    def set_capacity(self, places: int) -> None:
        """Change the funded places (reductions take effect as episodes end)."""
        self.capacity = places
        self.places.set(self.env.now, places)
        self._serve()

    def close(self, t: float) -> None:
        """Bring levels up to the end time."""
        self.caseload.close(t)
        self.places.close(t)

    def summary(self) -> dict[str, Any]:
        """State at the end, for conservation checks."""
        return {"in_use": self.in_use, "queue": len(self.queue), "capacity": self.capacity}
