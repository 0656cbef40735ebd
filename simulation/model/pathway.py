"""The pathway: SimPy processes that follow one patient from referral to leaving.

Read top to bottom, this is the pathway a clinician knows. Referrals arrive from each
home place; each is assessed, and is not accepted, or diverted to a community team that
has room, or waits for a bed. The bed manager admits the patient to the unit linked to
their home place, else elsewhere in the footprint; past the maximum wait for their
priority they are placed out of area (and may withdraw first). After the clinical length
of stay the patient is ready for discharge and leaves for home, a lower-security bed or a
community team; while the destination has no room the patient stays as a delayed
discharge. A community episode ends; some discharged inpatients are referred again.

Every process acts on a :class:`~simulation.model.system.System` (beds, teams, streams,
clock, records) and everything random about the patient was drawn on arrival (see
:mod:`simulation.model.patients`), so this module holds the order of events only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Generator
from typing import Any

import simpy

from simulation.core.streams import Stream
from simulation.model.journey import journey
from simulation.model.market import Market
from simulation.model.patients import PatientDraws, Referral
from simulation.model.records import Episode, ExitTo, OutOfAreaReason
from simulation.model.resources import BedRequest, Caseload, ServiceBeds, Stay, UnitState
from simulation.model.system import System
from simulation.scenario.schema import WEEKDAYS, Pathway

ProcessGen = Generator[simpy.Event, Any, None]


# -- referral ------------------------------------------------------------------------------
def arrivals(
    system: System, pathway: str, service: str, place: str, rate_per_year: float
) -> ProcessGen:
    """Referrals of one service from one place, at the pathway's growth."""
    return referral_arrivals(
        system,
        pathway,
        service,
        place,
        rate_per_year,
        system.scenario.pathways[pathway].annual_growth,
        system.streams.uniform(f"arrivals.{pathway}.{service}.{place}"),
        system.draws[(pathway, "new")],
    )


def referral_arrivals(
    system: System,
    pathway: str,
    service: str,
    place: str,
    rate_per_year: float,
    annual_growth: float,
    stream: Stream,
    draws: PatientDraws,
) -> ProcessGen:
    """Referrals to one service from one place, at a rate growing by ``annual_growth``.

    Poisson arrivals are simulated by thinning a process at the peak rate (candidate
    times and the choice to keep each from ``stream``); regular arrivals are spaced at the
    reciprocal of the current rate. Each referral's patient is drawn from ``draws``; the
    pathway's seasonality shapes the rate.
    """
    spec = system.scenario.pathways[pathway]
    growth = 1.0 + annual_growth
    season = spec.seasonality
    base = rate_per_year / 365.25
    month_of_day = system.months_of_days if season is not None else []
    first_day = math.floor(system.start)

    def rate_at(t: float) -> float:
        # Growth runs from the start date; the warm-up runs at today's demand.
        rate: float = base * growth ** (max(t, 0.0) / 365.25)
        if season is not None:
            rate *= season[month_of_day[math.floor(t) - first_day]]
        return rate

    peak = base * max(1.0, growth ** (system.horizon / 365.25))
    if season is not None:
        peak *= max(season)
    constant = growth == 1.0 and season is None  # every candidate is kept
    env = system.env
    horizon = system.horizon
    draw = draws.draw
    new_patient_id = system.new_patient_id
    if spec.arrivals == "regular":
        while True:
            gap = 1.0 / rate_at(env.now)
            if env.now + gap >= horizon:
                return
            yield env.timeout(gap)
            journey(referral(system, draw(new_patient_id(), service, place, "new", None)))
    t = env.now
    gaps: list[float] = []  # since the last referral
    while True:
        # Candidates at the peak rate, each kept with chance rate / peak: the process
        # waits only for the ones kept (a candidate turned down is no event).
        gap = -math.log1p(-stream()) / peak
        t += gap
        if t >= horizon:
            return
        gaps.append(gap)
        if stream() * peak < (base if constant else rate_at(t)):
            now = env.now
            if now + (t - now) == t:
                yield env.timeout(t - now)
            else:  # one delay cannot reach t exactly: step through the candidates
                for gap in gaps:
                    yield env.timeout(gap)
            gaps.clear()
            journey(referral(system, draw(new_patient_id(), service, place, "new", None)))


def referral(system: System, ref: Referral, referral_day: float | None = None) -> ProcessGen:
    """A referral's whole journey: assessment, diversion or a bed, stay, discharge.

    ``referral_day`` is for a census patient referred before the run began.
    """
    env = system.env
    episode = system.open_episode(ref, ref.service, ref.source, None)
    if referral_day is not None:
        episode.referral_day = referral_day
    if ref.adult_after_days is not None and referral_day is None:
        ref.adult_after_days += env.now  # now the day of the 18th birthday
    # -- assessment
    if ref.assessment_days > 0:
        yield env.timeout(ref.assessment_days)
    if not ref.accepted:
        episode.decide("not_accepted", env.now)
        return
    spec = system.scenario.pathways[ref.pathway]
    if ref.divert and spec.diversion is not None:
        team = system.teams[spec.diversion.team]
        if team.has_room():
            episode.decide("diverted", env.now)
            yield from community_episode(
                system, episode, team, team.request(), ref.diversion_episode_days
            )
            return
    episode.decide("accepted", env.now)
    # -- waiting, admission, stay
    stay = yield from wait_for_bed(system, ref, episode, spec)
    if stay is None:
        return
    yield from inpatient_stays(system, ref, stay)


# -- waiting and admission -------------------------------------------------------------------
class _Search:
    """A search for an out-of-area bed on a patient's behalf, while they keep waiting.

    It runs in rounds (:class:`~simulation.model.market.Market`); when a round finds a
    bed it calls ``on_found``. A search that is no longer needed (the patient got a
    footprint bed or withdrew) stops at the end of its round.
    """

    def __init__(self, system: System, beds: ServiceBeds, market: Market, reason: OutOfAreaReason):
        self.system = system
        self.beds = beds
        self.market = market
        self.reason = reason
        self.start_day = system.env.now
        self.active = True
        self.found = False
        self.price: float | None = None
        self.miles = market.fixed_distance_miles
        beds.searching.add(self.start_day, 1)

    def stop(self) -> None:
        """The patient no longer waits for an out-of-area bed."""
        if self.active:
            self.active = False
            self.beds.searching.add(self.system.env.now, -1)

    def rounds(self, on_found: simpy.Event) -> ProcessGen:
        """Search round after round until a bed is found (then ``on_found`` succeeds)."""
        env = self.system.env
        while self.active:
            yield env.timeout(self.market.round_end(env.now) - env.now)
            if not self.active:
                return
            if self.market.found():
                self.found = True
                self.price, self.miles = self.market.bed()
                self.stop()
                if not on_found.triggered:
                    on_found.succeed()
                return


def wait_for_bed(
    system: System, ref: Referral, episode: Episode, spec: Pathway, waited_days: float = 0.0
) -> Generator[simpy.Event, Any, Stay | None]:
    """Queue for a footprint bed; out of area past the maximum wait; or withdraw.

    Only units that take the patient (and that the bed management's scope allows) are
    offered; a patient no such unit takes is placed out of area at once. Under a weekly
    panel an urgent patient, and any patient at the maximum wait, takes a free bed that
    takes them between panels (if the scenario says so). Where the out-of-area market
    searches, the patient keeps waiting for a footprint bed until the search finds one.

    ``waited_days``: time already waited before the run (a census patient), which
    counts towards the maximum wait and the patience.
    """
    beds = system.beds[(ref.pathway, ref.service)]
    order = beds.preference(ref.home_place, ref.kind)
    if not order:
        market = system.markets.get((ref.pathway, ref.service))
        return (yield from _no_compatible_unit(system, ref, episode, beds, market))
    unit = beds.bed_at_once(order)
    if unit is not None:
        return _admit(system, ref, episode, unit)
    request = beds.request(episode, ref.urgent)
    if request.triggered:  # a bed at once
        return _admit(system, ref, episode, request.value)
    if only_a_bed_ends_the_wait(system, ref):
        return _admit(system, ref, episode, (yield request))
    return (yield from _queue(system, ref, episode, beds, request, waited_days))


def only_a_bed_ends_the_wait(system: System, ref: Referral) -> bool:
    """No maximum wait and no withdrawal: the patient waits for a bed, with no timers."""
    return ref.patience_days is None and system.policy.max_wait[(ref.pathway, ref.urgent)] is None


def _queue(
    system: System,
    ref: Referral,
    episode: Episode,
    beds: ServiceBeds,
    request: BedRequest,
    waited_days: float,
) -> Generator[simpy.Event, Any, Stay | None]:
    """Wait in the queue: for a bed, the maximum wait, a bed out of area or patience's end."""
    env = system.env
    market = system.markets.get((ref.pathway, ref.service))
    max_wait = system.policy.max_wait[(ref.pathway, ref.urgent)]
    if max_wait is not None:
        max_wait = max(0.0, max_wait - waited_days)
    wait_timer = patience_timer = None
    search: _Search | None = None
    reason: OutOfAreaReason | None = None
    if max_wait == 0 and market is None and not beds.between_panels:
        unit = None
    else:
        # A timer that fires first takes the request out of the queue and resolves it
        # with no bed; the process waits on the request alone (no AnyOf condition).
        def expire(_: simpy.Event | None) -> None:
            if not request.triggered:
                beds.cancel(request)
                request.succeed(None)

        def wait_over(event: simpy.Event | None) -> None:
            nonlocal search, reason
            if request.triggered:
                return
            if beds.between_panels:
                free = beds.take_free_bed(request)
                if free is not None:
                    request.succeed(free)
                    return
            reason = beds.out_of_area_reason(ref.home_place, ref.kind)
            if market is None:
                expire(event)
                return
            found = env.event()
            found.callbacks.append(expire)
            search = _Search(system, beds, market, reason)
            journey(search.rounds(found))

        if max_wait == 0:
            wait_over(None)
        elif max_wait is not None:
            wait_timer = env.timeout(max_wait)
            wait_timer.callbacks.append(wait_over)
        if ref.patience_days is not None and not request.triggered:
            patience_timer = env.timeout(max(0.0, ref.patience_days - waited_days))
            patience_timer.callbacks.append(expire)
        unit = yield request
    if search is not None:
        search.stop()
    if unit is not None:
        return _admit(system, ref, episode, unit)
    beds.cancel(request)
    if (search is not None and not search.found) or (
        patience_timer is not None
        and patience_timer.processed
        and not (wait_timer is not None and wait_timer.processed)
    ):
        episode.withdraw(env.now)
        return None
    if reason is None:
        reason = beds.out_of_area_reason(ref.home_place, ref.kind)
    if search is not None:
        return _admit_out_of_area(system, episode, beds, reason, search.start_day, search)
    svc = system.scenario.pathways[ref.pathway].services[ref.service]
    stay = Stay(episode, None)
    episode.place_out_of_area(env.now, svc.out_of_area.distance_miles, reason, env.now)
    beds.place_out_of_area(stay)
    return stay


def _admit(system: System, ref: Referral, episode: Episode, unit: object) -> Stay:
    """Admit the patient now to ``unit``, the footprint unit their request was given."""
    assert isinstance(unit, UnitState)
    episode.admit(system.env.now, unit.name, unit.distance_from(ref.home_place))
    return Stay(episode, unit)


def _admit_out_of_area(
    system: System,
    episode: Episode,
    beds: ServiceBeds,
    reason: OutOfAreaReason,
    search_day: float,
    search: _Search,
) -> Stay:
    """Admit the patient to the out-of-area bed the search found."""
    stay = Stay(episode, None, search.price)
    episode.place_out_of_area(system.env.now, search.miles, reason, search_day)
    beds.place_out_of_area(stay)
    return stay


def _no_compatible_unit(
    system: System, ref: Referral, episode: Episode, beds: ServiceBeds, market: Market | None
) -> Generator[simpy.Event, Any, Stay | None]:
    """No unit the bed manager may use takes the patient: out of area, after any search."""
    env = system.env
    if market is None:
        svc = system.scenario.pathways[ref.pathway].services[ref.service]
        stay = Stay(episode, None)
        episode.place_out_of_area(
            env.now, svc.out_of_area.distance_miles, "no_compatible_unit", env.now
        )
        beds.place_out_of_area(stay)
        return stay
    search = _Search(system, beds, market, "no_compatible_unit")
    beds.waiting.add(env.now, 1)  # on the waiting list until a bed is found
    beds.unqueued += 1
    found = env.event()
    yield env.process(search.rounds(found))
    beds.unqueued -= 1
    beds.waiting.add(env.now, -1)
    return _admit_out_of_area(system, episode, beds, "no_compatible_unit", search.start_day, search)


# -- stay, ready for discharge, step-down ----------------------------------------------------
def inpatient_stays(system: System, ref: Referral, stay: Stay) -> ProcessGen:
    """Stay in bed, become ready for discharge, and leave by the planned route."""
    env = system.env
    birthday = ref.adult_after_days
    moves = system.moves_at_18.get(ref.pathway) if birthday is not None else None
    for stage in ref.stages:
        beds = system.beds[(ref.pathway, stage.service)]
        episode = stay.episode
        factor = system.policy.los_factor[(ref.pathway, stage.service)]
        los = stage.los_days * factor
        if moves is not None and moves.moves(stage.service) == "transfer":
            assert birthday is not None
            stage_end = env.now + los
            if stage_end >= birthday:
                # Eighteen during this stay: referred to the adult pathway on the birthday,
                # with the rest of the clinical stay (in unscaled days) still to go.
                if birthday > env.now:
                    yield env.timeout(birthday - env.now)
                yield from moves.transfer(system, ref, stay, (stage_end - env.now) / factor)
                return
        yield env.timeout(los)
        episode.ready(env.now)
        if birthday is None and stage.next_kind == "home":  # most stays end so
            episode.leave(env.now, "home", None)
            beds.leave_when_ready(stay)
            break
        beds.mark_ready(stay)
        if birthday is not None and env.now >= birthday:
            if moves is not None and moves.moves(stage.service) == "discharge":
                # Eighteen now: leaves by the adult pathway's routes.
                yield from moves.discharge(system, ref, stay)
                return
            # Eighteen now: discharged to adult services, not within the pathway.
            episode.adult_services_day = env.now
            leave(system, beds, stay, "home", None)
            return
        if stage.next_kind == "service":
            assert stage.next_name is not None
            stay = yield from step_down(system, ref, stay, beds, stage.next_name)
            continue
        if stage.next_kind == "team":
            assert stage.next_name is not None
            team, place = yield from leave_for_team(system, stay, beds, stage.next_name)
            yield from community_episode(system, episode, team, place, stage.episode_days)
        else:
            leave(system, beds, stay, "home", None)
        break
    if ref.readmit:
        journey(readmission(system, ref))


def step_down(
    system: System, ref: Referral, stay: Stay, beds: ServiceBeds, service: str
) -> Generator[simpy.Event, Any, Stay]:
    """Leave ``stay`` (in ``beds``) for a bed of ``service`` of ``ref``'s pathway.

    The step-down is a routine episode, accepted now. The patient keeps the bed they are
    in (a delayed discharge) until a unit of ``service`` that takes them has a bed, or
    goes to an out-of-area bed at once if no unit in the footprint takes them.
    """
    env = system.env
    nxt = system.open_episode(ref, service, "step_down", stay.episode.referral_id)
    nxt.priority = "routine"
    nxt.decide("accepted", env.now)
    target = system.beds[(ref.pathway, service)]
    order = target.preference(ref.home_place, ref.kind)
    if not order:
        leave(system, beds, stay, "step_down_bed", service)
        ooa = system.scenario.pathways[ref.pathway].services[service].out_of_area
        nxt.place_out_of_area(env.now, ooa.distance_miles, "no_compatible_unit", env.now)
        moved = Stay(nxt, None)
        target.place_out_of_area(moved)
        return moved
    unit = target.bed_at_once(order)
    if unit is not None:
        leave(system, beds, stay, "step_down_bed", service)
        return _admit(system, ref, nxt, unit)
    request = target.request(nxt, urgent=False, listed=False)
    if not request.triggered:
        yield request
    leave(system, beds, stay, "step_down_bed", service)
    return _admit(system, ref, nxt, request.value)


def leave_for_team(
    system: System, stay: Stay, beds: ServiceBeds, team_name: str
) -> Generator[simpy.Event, Any, tuple[Caseload, simpy.Event]]:
    """Keep the bed until a place on the team's caseload frees, then leave for it."""
    team = system.teams[team_name]
    place = team.request()
    if not place.triggered:
        yield place
    leave(system, beds, stay, "community", team_name)
    return team, place


def leave(
    system: System, beds: ServiceBeds, stay: Stay, exit_to: ExitTo, destination: str | None
) -> None:
    """The patient leaves the bed now, for ``exit_to`` (named ``destination``)."""
    stay.episode.leave(system.env.now, exit_to, destination)
    beds.leave(stay)


# -- community episode and readmission ------------------------------------------------------
def community_episode(
    system: System, episode: Episode, team: Caseload, granted: simpy.Event, days: float
) -> ProcessGen:
    """A community episode on a team's caseload (the place is already granted)."""
    assert granted.triggered
    episode.join_team(team.name, system.env.now)
    yield system.env.timeout(days)
    team.release()
    episode.end_community(system.env.now)


def readmission(system: System, ref: Referral) -> ProcessGen:
    """A discharged inpatient referred again, as urgent, after a delay."""
    yield system.env.timeout(ref.readmission_delay_days)
    if system.env.now >= system.horizon:
        return
    draws = system.draws[(ref.pathway, "readmission")]
    # The same person: their sex, stream, age band and birthday stay theirs.
    again = draws.draw(ref.patient_id, ref.service, ref.home_place, "readmission", True, ref.kind)
    if ref.adult_after_days is not None:
        again.adult_after_days = max(0.0, ref.adult_after_days - system.env.now)
    yield from referral(system, again)


# -- bed management ------------------------------------------------------------------------
def panel(system: System) -> ProcessGen:
    """A weekly bed-management panel: beds are allocated only when it meets."""
    scenario = system.scenario
    weekday = WEEKDAYS.index(scenario.bed_management.panel_weekday)
    first_day = scenario.start_date + dt.timedelta(days=math.ceil(system.start))
    offset = (weekday - first_day.weekday()) % 7
    yield system.env.timeout(math.ceil(system.start) - system.start + offset)
    while True:
        for beds in system.beds.values():
            beds.allocate()
        yield system.env.timeout(7)
