"""Capacity the model's patients compete for: beds and community caseload places.

Beds are not SimPy ``Resource`` objects because placing a patient is a decision, not a
first-come queue: the bed manager goes down a service's queue (urgent first, then
longest wait) and offers each patient a bed in the unit linked to their home place, else
the nearest unit of that service with a free bed; under ``linked_units`` scope only linked
units. Beds are not interchangeable: a unit takes patients of one sex, some clinical
streams or age bands, so a patient is offered only units that take them, and a patient
no free unit takes does not hold up the next one who fits a free bed. A unit admits up to
the beds it can staff, and, under an occupancy ceiling, only while below it.
:class:`ServiceBeds` holds one service's units, its queue and its out-of-area patients;
:class:`Caseload` is a community team's finite caseload with a first-come queue for
step-downs. Both record their levels as they change. Running state only: nothing here
writes to the scenario.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Literal

import simpy

from simulation.core.calendar import Calendar
from simulation.model.records import Episode, Level, OutOfAreaReason
from simulation.scenario.schema import Unit

OUT_OF_AREA = "out_of_area"

Kind = tuple[str | None, str | None, str | None]
"""Whom a patient is, as units choose: sex, clinical stream, age band (None: not modelled)."""
ANYONE: Kind = (None, None, None)
"""The kind of a patient of a pathway without a patient mix: every unit takes them."""


def granted_at_once(event: simpy.Event, value: Any = None) -> None:
    """Resolve ``event`` for a patient asking now, without scheduling it.

    ``succeed`` schedules an event so that its waiters are resumed, and the patient who
    asked is not waiting: they check ``triggered`` and go on. Scheduling it anyway would
    add an event that changes nothing, one for each admission without a wait. The event
    is left as processed, so that a journey or process that yields it all the same goes
    on at once with its value rather than waiting for ever.
    """
    event._ok = True
    event._value = value
    # Processed: nothing is waiting, and nothing will be (SimPy itself sets None so).
    event.callbacks = None  # type: ignore[assignment]


def admission_limit(beds: int, staffed: int | None, ceiling: float | None) -> int:
    """The most patients a unit admits up to: its staffed beds, under its occupancy ceiling.

    Under a ceiling ``c`` the unit admits while occupied / beds < ``c``, so it fills to
    ``ceil(c x beds)``.
    """
    limit = beds if staffed is None else min(beds, staffed)
    if ceiling is not None and ceiling < 1:
        limit = min(limit, math.ceil(ceiling * limit - 1e-9))
    return limit


class UnitState:
    """An inpatient unit while the model runs."""

    __slots__ = (
        "bed_level",
        "beds",
        "limit",
        "linked",
        "name",
        "occupancy",
        "occupied",
        "spec",
        "staffed",
        "takes_all",
    )

    def __init__(self, spec: Unit, calendar: Calendar, start: float):
        self.spec = spec
        self.name = spec.name
        self.beds = spec.beds
        self.staffed = spec.staffed_beds
        self.limit = admission_limit(spec.beds, spec.staffed_beds, spec.occupancy_ceiling)
        self.occupied = 0
        self.linked = frozenset(spec.linked_places)
        self.occupancy = Level(calendar, start)
        self.bed_level = Level(calendar, start, level=spec.beds)
        self.takes_all = spec.sex == "any" and not spec.streams and not spec.age_bands

    def set_beds(self, t: float, beds: int) -> None:
        """Open or close beds; a closure below occupancy takes effect as patients leave.

        A bed to be closed stays open (staffed, and paid for under a block contract) until
        its patient leaves: the open-bed level never falls below the beds occupied.
        """
        self.beds = beds
        self.limit = admission_limit(beds, self.staffed, self.spec.occupancy_ceiling)
        self.bed_level.set(t, max(beds, self.occupied))

    def vacate(self, t: float) -> None:
        """A patient has left: close the bed now if a closure was waiting for it."""
        self.occupancy.add(t, -1)
        if self.occupied >= self.beds:
            self.bed_level.set(t, self.occupied)

    def set_staffed(self, staffed: int | None) -> None:
        """Change the beds the unit can staff; the funded beds (and money) are unchanged."""
        self.staffed = staffed
        self.limit = admission_limit(self.beds, staffed, self.spec.occupancy_ceiling)

    @property
    def free(self) -> int:
        """Beds free now (zero while a closure is still waiting for beds to empty)."""
        return max(0, self.limit - self.occupied)

    def takes(self, kind: Kind) -> bool:
        """Whether the unit takes a patient of this sex, stream and age band."""
        if self.takes_all:
            return True
        sex, stream, age_band = kind
        spec = self.spec
        if spec.sex != "any" and sex is not None and sex != spec.sex:
            return False
        if spec.streams and stream is not None and stream not in spec.streams:
            return False
        return not (spec.age_bands and age_band is not None and age_band not in spec.age_bands)

    def distance_from(self, place: str) -> float:
        """Miles from a home place to this unit."""
        miles = self.spec.distance_miles.get(place)
        if miles is not None:
            return miles
        return 0.0 if self.spec.place == place else self.spec.default_distance_miles


class Stay:
    """Where one patient is staying; the bed manager may move it (repatriation).

    ``price`` is the cost per bed day of an out-of-area bed found by a search that prices
    each bed (None: the service's out-of-area cost).
    """

    __slots__ = ("episode", "price", "ready", "unit")

    def __init__(self, episode: Episode, unit: UnitState | None, price: float | None = None):
        self.episode = episode
        self.unit = unit
        self.ready = False
        self.price = price


class BedRequest(simpy.Event):
    """A patient's place in a service's queue; succeeds with the unit allocated."""

    __slots__ = ("episode", "kind", "listed", "since", "urgent")

    def __init__(self, env: simpy.Environment, episode: Episode, urgent: bool, listed: bool):
        super().__init__(env)
        self.episode = episode
        self.urgent = urgent
        self.since = env.now
        self.listed = listed  # counts on the waiting list (not a step-down holding a bed)
        self.kind: Kind = (episode.sex, episode.stream, episode.age_band)


Scope = Literal["footprint", "linked_units"]


class ServiceBeds:
    """One service's beds in the footprint, its queue and its out-of-area patients."""

    def __init__(
        self,
        env: simpy.Environment,
        units: list[UnitState],
        calendar: Calendar,
        continuous: bool,
        repatriation: bool,
        scope: Scope = "footprint",
        urgent_between_panels: bool = False,
        priced: bool = False,
        default_price: float = 0.0,
    ):
        self.env = env
        self.units = units
        self.continuous = continuous
        self.repatriation = repatriation
        self.scope = scope
        self.between_panels = urgent_between_panels and not continuous
        # Every unit takes everyone, anywhere in the footprint: the head of the queue
        # stands for all of it (if it finds no bed, nobody does).
        self.uniform = scope == "footprint" and all(u.takes_all for u in units)
        start = env.now
        self.urgent: dict[int, BedRequest] = {}
        self.routine: dict[int, BedRequest] = {}
        self.out_of_area: dict[int, Stay] = {}
        self.waiting = Level(calendar, start)
        self.ooa_census = Level(calendar, start)
        self.delayed = Level(calendar, start)
        self.searching = Level(calendar, start)
        """Patients waiting for an out-of-area bed to be found."""
        self.unqueued = 0
        """Patients on the waiting list outside the queue: no unit here takes them, and
        the out-of-area search for them goes on."""
        self.ooa_cost: Level | None = Level(calendar, start) if priced else None
        """Out-of-area beds' cost per day, summed over the patients in them (priced beds)."""
        self.default_price = default_price
        """The service's out-of-area cost per bed day, for a bed found without a price."""
        self.repatriations = 0
        self._asking: BedRequest | None = None
        """The request being made now: granted at once if a bed is given to it."""
        self._preference: dict[tuple[str, Kind], tuple[UnitState, ...]] = {}

    # -- the queue ---------------------------------------------------------------------
    def request(self, episode: Episode, urgent: bool, listed: bool = True) -> BedRequest:
        """Join the queue; in continuous allocation a free bed is given at once.

        Under a weekly panel with placement between panels, an urgent patient is given
        a free bed that takes them at once too.
        """
        req = BedRequest(self.env, episode, urgent, listed)
        (self.urgent if urgent else self.routine)[episode.episode_id] = req
        if listed:
            self.waiting.add(self.env.now, 1)
        self._asking = req
        if self.continuous:
            self.allocate()
        elif urgent and self.between_panels:
            self.allocate(urgent_only=True)
        self._asking = None
        return req

    def bed_at_once(self, order: tuple[UnitState, ...]) -> UnitState | None:
        """A free bed taken now from the units in ``order``, where queueing could not matter.

        ``order`` is the patient's :meth:`preference`. Where beds are given as they free
        (continuous allocation), nobody is waiting (in the queue or for a search) and no
        patient out of area waits to come back, joining the queue gives the patient the
        first unit in ``order`` with a free bed, and nothing else changes: the waiting
        list goes from none to one and back at the same instant. This takes that unit
        without the queue's bookkeeping. None: no such bed, or the queue could matter;
        ask with :meth:`request`.
        """
        if (
            not self.continuous
            or self.urgent
            or self.routine
            or self.unqueued
            or (self.repatriation and self.out_of_area)
        ):
            return None
        for unit in order:  # the patient's preference (:meth:`preference`)
            if unit.limit > unit.occupied:
                unit.occupied += 1
                unit.occupancy.add(self.env.now, 1)
                return unit
        return None

    def _grant(self, req: BedRequest, unit: UnitState) -> None:
        if req is self._asking:
            granted_at_once(req, unit)
        else:
            req.succeed(unit)

    def cancel(self, req: BedRequest) -> None:
        """Leave the queue without a bed (out-of-area placement or withdrawal)."""
        queue = self.urgent if req.urgent else self.routine
        if queue.pop(req.episode.episode_id, None) is not None and req.listed:
            self.waiting.add(self.env.now, -1)

    def queue_length(self, listed_only: bool = True) -> int:
        """Patients waiting now (by default only those on the waiting list)."""
        reqs = [*self.urgent.values(), *self.routine.values()]
        return sum(1 for r in reqs if r.listed or not listed_only) + self.unqueued

    def preference(self, home: str, kind: Kind = ANYONE) -> tuple[UnitState, ...]:
        """The units a patient from ``home`` may be offered, in the order offered.

        Only units that take the patient, and under ``linked_units`` scope only units
        linked to ``home``; linked units first, then by distance, then in the scenario's
        order. Distances, links and whom a unit takes do not change during a run, so each
        order is worked out once.
        """
        key = (home, kind)
        order = self._preference.get(key)
        if order is None:
            ranked = sorted(
                (
                    (i, unit)
                    for i, unit in enumerate(self.units)
                    if unit.takes(kind) and (self.scope == "footprint" or home in unit.linked)
                ),
                key=lambda item: (
                    0 if home in item[1].linked else 1,
                    item[1].distance_from(home),
                    item[0],
                ),
            )
            order = self._preference[key] = tuple(unit for _, unit in ranked)
        return order

    def choose_unit(self, home: str, kind: Kind = ANYONE) -> UnitState | None:
        """A unit linked to ``home`` with a free bed, else the nearest unit with one."""
        for unit in self._preference.get((home, kind)) or self.preference(home, kind):
            if unit.limit > unit.occupied:
                return unit
        return None

    def out_of_area_reason(self, home: str, kind: Kind) -> OutOfAreaReason:
        """Why a patient waiting now is placed out of area (see :data:`OutOfAreaReason`)."""
        if not self.preference(home, kind):
            return "no_compatible_unit"
        usable = set(map(id, self.preference(home, kind)))
        if any(u.limit > u.occupied and id(u) not in usable for u in self.units):
            return "compatible_units_full"
        return "max_wait_passed"

    def allocate(self, urgent_only: bool = False) -> None:
        """Give free beds to the queue in priority order, then repatriate if enabled."""
        urgent, routine = self.urgent, self.routine
        if self.uniform:
            while urgent or (routine and not urgent_only):
                req = next(iter((urgent or routine).values()))  # urgent first, then longest
                unit = self.choose_unit(req.episode.home_place)
                if unit is None:
                    return
                self.cancel(req)
                self.occupy(unit)
                self._grant(req, unit)
        else:
            self._allocate_by_kind((urgent,) if urgent_only else (urgent, routine))
        if self.repatriation and self.out_of_area and not urgent_only:
            self._repatriate()

    def _allocate_by_kind(self, queues: tuple[dict[int, BedRequest], ...]) -> None:
        """Go down the queues in order; a patient no free unit takes waits on."""
        no_bed: set[tuple[str, Kind]] = set()
        for queue in queues:
            for req in list(queue.values()):
                if not any(u.limit > u.occupied for u in self.units):
                    return
                key = (req.episode.home_place, req.kind)
                if key in no_bed:
                    continue
                unit = self.choose_unit(*key)
                if unit is None:
                    no_bed.add(key)
                    continue
                self.cancel(req)
                self.occupy(unit)
                self._grant(req, unit)

    def _repatriate(self) -> None:
        """Bring out-of-area patients back to free beds that take them."""
        now = self.env.now
        no_bed: set[tuple[str, Kind]] = set()
        for stay in list(self.out_of_area.values()):
            episode = stay.episode
            key = (episode.home_place, (episode.sex, episode.stream, episode.age_band))
            if key in no_bed:
                continue
            unit = self.choose_unit(*key)
            if unit is None:
                if self.uniform:
                    return
                no_bed.add(key)
                continue
            del self.out_of_area[episode.episode_id]
            self.ooa_census.add(now, -1)
            if self.ooa_cost is not None:
                self.ooa_cost.add(now, -self._price(stay))
            self.occupy(unit)
            stay.unit = unit
            episode.repatriation_day = now
            episode.repatriated_to = unit.name
            self.repatriations += 1

    def take_free_bed(self, req: BedRequest) -> UnitState | None:
        """Give a waiting patient a free bed that takes them now, if there is one."""
        unit = self.choose_unit(req.episode.home_place, req.kind)
        if unit is not None:
            self.cancel(req)
            self.occupy(unit)
        return unit

    # -- beds --------------------------------------------------------------------------
    def occupy(self, unit: UnitState) -> None:
        """Take a bed in ``unit``."""
        unit.occupied += 1
        unit.occupancy.add(self.env.now, 1)

    def place_out_of_area(self, stay: Stay) -> None:
        """Record a patient as placed out of area; a candidate for repatriation."""
        self.ooa_census.add(self.env.now, 1)
        if self.ooa_cost is not None:
            self.ooa_cost.add(self.env.now, self._price(stay))
        self.out_of_area[stay.episode.episode_id] = stay

    def _price(self, stay: Stay) -> float:
        return self.default_price if stay.price is None else stay.price

    def mark_ready(self, stay: Stay) -> None:
        """The clinical stay is over: no longer repatriated; delayed until it leaves."""
        stay.ready = True
        if stay.unit is None:
            self.out_of_area.pop(stay.episode.episode_id, None)
        self.delayed.add(self.env.now, 1)

    def leave_when_ready(self, stay: Stay) -> None:
        """As :meth:`mark_ready` and then :meth:`leave`: the patient leaves as soon as ready.

        With nobody else delayed, the delayed-discharge level would go up by one and back
        at this instant, and a level that is zero integrates nothing over any time, so it
        is left as it is: to the last bit what the two calls would leave.
        """
        if self.delayed.level or stay.unit is None:
            self.mark_ready(stay)
            self.leave(stay)
            return
        stay.ready = True
        self._free(stay.unit, self.env.now)

    def leave(self, stay: Stay) -> None:
        """The patient leaves the bed; the freed bed goes to the queue at once if continuous."""
        now = self.env.now
        if stay.ready:
            self.delayed.add(now, -1)
        if stay.unit is None:
            self.out_of_area.pop(stay.episode.episode_id, None)
            self.ooa_census.add(now, -1)
            if self.ooa_cost is not None:
                self.ooa_cost.add(now, -self._price(stay))
            return
        self._free(stay.unit, now)

    def _free(self, unit: UnitState, now: float) -> None:
        """A bed of ``unit`` is free; it goes to the queue at once if beds are given so."""
        unit.occupied -= 1
        unit.vacate(now)
        if self.continuous:
            self.allocate()
        elif self.between_panels and self.urgent:
            self.allocate(urgent_only=True)

    def close(self, t: float) -> None:
        """Bring every level up to the end time."""
        for level in (self.waiting, self.ooa_census, self.delayed, self.searching):
            level.close(t)
        if self.ooa_cost is not None:
            self.ooa_cost.close(t)
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
            granted_at_once(event)
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
