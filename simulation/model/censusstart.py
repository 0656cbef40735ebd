"""The census start: placing the census file's patients into a fresh system.

The census file (read and checked by :mod:`simulation.scenario.census`) lists who is
in each bed, on each waiting list and caseload on the start date. Here each patient is
put where the file says, with the rest of a stay, wait or episode drawn conditional on
its length so far (one uniform per draw from streams named ``census.*``), and then
continues along the pathway in the pathway's own processes
(:mod:`simulation.model.pathway`): this module adds no pathway logic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from simulation.core.streams import Stream
from simulation.model.journey import journey
from simulation.model.pathway import inpatient_stays, readmission, referral, wait_for_bed
from simulation.model.patients import PatientDraws, Referral
from simulation.model.records import Episode
from simulation.model.resources import OUT_OF_AREA, Caseload, Stay
from simulation.model.system import System
from simulation.scenario.census import HOME
from simulation.scenario.schema import CensusPatient

_IN_A_BED = ("in_bed", "out_of_area")
_ON_A_CASELOAD = ("community", "diverted")

ProcessGen = Generator[simpy.Event, Any, None]


class _Residuals:
    """Named streams of conditional residual durations, one uniform per draw.

    Draws are collected while the census is placed and worked out together, one array
    per stream, by :meth:`resolve` before the run starts: each value reaches its patient
    through the ``assign`` callback given with the request. Within a stream the uniforms
    are used in the census file's order, as if drawn one at a time.
    """

    def __init__(self, system: System):
        self.system = system
        self.streams: dict[str, Stream] = {}
        self.pending: dict[str, tuple[Any, list[float], list[Callable[[float], None]]]] = {}

    def uniform(self, name: str) -> float:
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = self.system.streams.uniform(name)
        return float(stream())

    def draw(
        self, name: str, distribution: Any, elapsed_days: float, assign: Callable[[float], None]
    ) -> None:
        """Ask for the rest of a duration that has lasted ``elapsed_days``."""
        entry = self.pending.setdefault(name, (distribution, [], []))
        entry[1].append(elapsed_days)
        entry[2].append(assign)

    def resolve(self) -> None:
        """Draw every requested residual and hand each to its patient."""
        for name, (distribution, elapsed, assigns) in self.pending.items():
            u = np.array([self.uniform(name) for _ in elapsed])
            values = distribution.residual_days(np.array(elapsed), u).tolist()
            for assign, value in zip(assigns, values, strict=True):
                assign(value)
        self.pending.clear()


def start_census(system: System) -> None:
    """Place the scenario's census patients into ``system`` when it starts.

    Beds and caseload places are taken at once, in the file's order. Each patient then
    continues along the pathway in the pathway's own processes: first those in a bed (the
    longest delayed discharge first), so that a patient already ready to go home frees
    the bed at once; then the waiting list, the longest wait first; then referrals
    still in assessment.
    """
    scenario = system.scenario
    draws = {
        pathway: PatientDraws(system.streams, f"{pathway}.census", pathway, spec, scenario)
        for pathway, spec in scenario.pathways.items()
    }
    residuals = _Residuals(system)
    queued: list[tuple[int, float, int, ProcessGen | None]] = []
    for patient in scenario.census_patients:
        urgent = None if patient.priority is None else patient.priority == "urgent"
        pathway_draws = draws[patient.pathway]
        ref = pathway_draws.draw(
            system.new_patient_id(), patient.service, patient.home_place, "new", urgent
        )
        _attributes(system, patient, ref, residuals)
        _birthday(system, patient, ref, residuals)
        process: ProcessGen | None
        if patient.status in _IN_A_BED:
            process = _in_bed(system, patient, ref, pathway_draws, residuals)
        elif patient.status in _ON_A_CASELOAD:
            process = _on_caseload(system, patient, ref, residuals)
        elif patient.status == "waiting":
            process = _waiting(system, patient, ref, residuals)
        elif patient.status == "discharged":
            process = _discharged(system, patient, ref, residuals)
        else:
            spec = scenario.pathways[patient.pathway]
            residuals.draw(
                f"census.assessment.{patient.pathway}",
                spec.assessment_delay,
                patient.since_days,
                functools.partial(setattr, ref, "assessment_days"),
            )
            process = referral(system, ref, referral_day=_day(system, patient.since_days))
        phase = {"assessment": 2, "waiting": 1, "discharged": 3}.get(patient.status, 0)
        queue_days = patient.since_days if phase == 1 else patient.ready_days
        queued.append((phase, -(queue_days or 0.0), len(queued), process))
    # Capacity below the census is a closure on the start date: beds and places stay
    # open for the census patients and close as they leave.
    for unit in system.units.values():
        unit.set_beds(system.env.now, unit.beds)
    for name, team in system.teams.items():
        places = system.scenario.team(name).places
        if team.capacity != places:
            team.set_capacity(places)
    residuals.resolve()
    journeys = [
        later for *_, later in sorted(queued, key=lambda item: item[:3]) if later is not None
    ]
    # One process starts them all, in this order, at the run's first step: after the
    # first steps of the arrivals, the panel, the dated changes and the finance.
    system.env.process(_start(journeys))


def _start(journeys: list[Generator[simpy.Event, Any, None]]) -> Generator[simpy.Event, Any, None]:
    """Start each census patient's journey, in order."""
    for generator in journeys:
        journey(generator)
    yield from ()


def _attributes(
    system: System, patient: CensusPatient, ref: Referral, residuals: _Residuals
) -> None:
    """The census's sex, stream and age band; unknown ones as drawn, within what the unit takes.

    A value drawn from the mix that the patient's unit would not take is drawn again
    from the mix's shares of the values it does take (a uniform from
    ``census.mix.<attribute>.<pathway>``).
    """
    mix = system.scenario.pathways[patient.pathway].patient_mix
    unit = None
    if patient.status == "in_bed" and patient.unit is not None:
        unit = system.units[patient.unit].spec
    for attribute, field in (("sex", "sex"), ("stream", "streams"), ("age_band", "age_bands")):
        given = getattr(patient, attribute)
        if given is not None:
            setattr(ref, attribute, given)
            continue
        value = getattr(ref, attribute)
        if value is None or unit is None:
            continue
        takes = getattr(unit, field)
        allowed = ([] if takes == "any" else [takes]) if field == "sex" else list(takes)
        if not allowed or value in allowed:
            continue
        place = mix.places.get(patient.home_place)
        shares = dict(getattr(place, field)) if place is not None else {}
        shares = shares or dict(getattr(mix, field))
        weights = [shares.get(name, 0.0) for name in allowed]
        total = sum(weights) or 1.0
        u = residuals.uniform(f"census.mix.{attribute}.{patient.pathway}") * total
        chosen = allowed[-1]
        for name, weight in zip(allowed, weights, strict=True):
            if u < weight:
                chosen = name
                break
            u -= weight
        setattr(ref, attribute, chosen)


def _birthday(system: System, patient: CensusPatient, ref: Referral, residuals: _Residuals) -> None:
    """The 18th birthday of a census patient in the age band that turns 18 within a year.

    The census gives the age band on the census date, so the birthday falls within a
    year of it (evenly), whenever the patient was referred; a band given by the census
    rather than drawn has its birthday drawn from ``census.mix.birthday.<pathway>``.
    """
    band = system.scenario.pathways[patient.pathway].patient_mix.adult_from_age_band
    if band is None or ref.age_band != band:
        ref.adult_after_days = None
        return
    if ref.adult_after_days is None:
        ref.adult_after_days = residuals.uniform(f"census.mix.birthday.{patient.pathway}") * 365.25
    ref.adult_after_days += system.start


def _day(system: System, days_before: float) -> float:
    """The model day ``days_before`` the census was placed (the start of the run)."""
    return system.start - days_before


def _episode(system: System, patient: CensusPatient, ref: Referral) -> Episode:
    """The patient's record, referred and accepted ``since_days`` before the start."""
    episode = system.open_episode(ref, patient.service, "new", None)
    episode.referral_day = episode.decision_day = _day(system, patient.since_days)
    episode.decision = "accepted"
    return episode


def _in_bed(
    system: System,
    patient: CensusPatient,
    ref: Referral,
    draws: PatientDraws,
    residuals: _Residuals,
) -> ProcessGen:
    spec = system.scenario.pathways[patient.pathway].services[patient.service]
    own_stays = system.scenario.pathways[patient.pathway].patient_mix.length_of_stay
    length_of_stay = spec.length_of_stay
    if ref.stream is not None:
        length_of_stay = own_stays.get(ref.stream, {}).get(patient.service, length_of_stay)
    name = f"census.residual.{patient.pathway}.{patient.service}"
    if length_of_stay is not spec.length_of_stay:
        name = f"{name}.{ref.stream}"  # a stream's own stay: its own residuals
    first = ref.stages[0]
    if patient.ready_days is None:
        residuals.draw(
            name,
            length_of_stay,
            patient.since_days,
            functools.partial(setattr, first, "los_days"),
        )
    else:
        first.los_days = 0.0  # ready already: a delayed discharge from the start
        if patient.discharge_to is not None:
            _route(patient.discharge_to, ref, draws)
    episode = _episode(system, patient, ref)
    episode.admission_day = _day(system, patient.since_days)
    beds = system.beds[(patient.pathway, patient.service)]
    if patient.status == "in_bed":
        assert patient.unit is not None
        unit = system.units[patient.unit]
        episode.admitted_to = unit.name
        episode.distance_miles = unit.distance_from(patient.home_place)
        stay = Stay(episode, unit)
        beds.occupy(unit)
    else:
        episode.admitted_to = OUT_OF_AREA
        episode.distance_miles = spec.out_of_area.distance_miles
        # When the patient was accepted is not in a census; the model places a patient
        # out of area at the maximum wait, so the record says they waited that long.
        max_wait = system.policy.max_wait[(patient.pathway, ref.urgent)]
        episode.decision_day = episode.referral_day = episode.admission_day - (max_wait or 0.0)
        stay = Stay(episode, None)
        beds.place_out_of_area(stay)
    return inpatient_stays(system, ref, stay)


def _route(to: str, ref: Referral, draws: PatientDraws) -> None:
    """Send a patient who is ready for discharge where the census says they are going."""
    first = ref.stages[0]
    if to == HOME:
        first.next_kind, first.next_name = "home", None
        del ref.stages[1:]
    elif to in draws.team_names:
        first.next_kind, first.next_name = "team", to
        first.episode_days = draws.episode[to]()
        del ref.stages[1:]
    else:
        first.next_kind, first.next_name = "service", to
        ref.stages[1:] = draws.plan_stages(to, ref.stream)


def _on_caseload(
    system: System, patient: CensusPatient, ref: Referral, residuals: _Residuals
) -> ProcessGen:
    assert patient.team is not None
    team = system.teams[patient.team]
    episode = _episode(system, patient, ref)
    if patient.status == "diverted":
        episode.decision = "diverted"
    else:  # stepped down from a bed to the team
        # The bed the patient left is not in a census: the record names the unit linked
        # to their home place (a stay of no length before the census date).
        episode.admission_day = episode.exit_day = _day(system, patient.since_days)
        units = system.beds[(patient.pathway, patient.service)].preference(patient.home_place)
        episode.admitted_to = units[0].name if units else OUT_OF_AREA
        episode.exit_to, episode.step_down_to = "community", team.name
    days: list[float] = []  # the rest of the episode, drawn before the run starts
    residuals.draw(
        f"census.episode.{team.name}",
        system.scenario.team(team.name).episode_length,
        patient.since_days,
        days.append,
    )
    if team.in_use >= team.capacity:
        # More census patients than places: the cut takes effect as episodes end.
        team.capacity = team.in_use + 1
    granted = team.request()
    readmit = ref.readmit and patient.status == "community"
    return _community(system, ref, episode, team, granted, days, readmit)


def _community(
    system: System,
    ref: Referral,
    episode: Episode,
    team: Caseload,
    granted: simpy.Event,
    days: list[float],
    readmit: bool,
) -> ProcessGen:
    """The rest of a community episode begun before the run, then perhaps a readmission.

    As :func:`~simulation.model.pathway.community_episode`, but the episode began on the
    census date, not now; a patient on the caseload after a bed may then be readmitted.
    ``days`` holds the episode's remaining length once the census's residuals are drawn.
    """
    assert granted.triggered
    episode.community_team = team.name
    episode.community_start_day = episode.exit_day if readmit else episode.decision_day
    (rest,) = days
    yield system.env.timeout(rest)
    team.release()
    episode.community_end_day = system.env.now
    if readmit:
        journey(readmission(system, ref))


def _waiting(
    system: System, patient: CensusPatient, ref: Referral, residuals: _Residuals
) -> ProcessGen:
    spec = system.scenario.pathways[patient.pathway]
    episode = _episode(system, patient, ref)
    if spec.withdrawal is not None:
        waited = patient.since_days

        def patience(rest: float) -> None:
            ref.patience_days = waited + rest

        residuals.draw(
            f"census.patience.{patient.pathway}", spec.withdrawal.patience, waited, patience
        )
    return _wait_then_stay(system, ref, episode, patient.since_days)


def _discharged(
    system: System, patient: CensusPatient, ref: Referral, residuals: _Residuals
) -> ProcessGen | None:
    """A readmission still to come, if any, for a patient discharged ``e`` days ago."""
    spec = system.scenario.pathways[patient.pathway].readmission
    window, p, elapsed = spec.window_days, spec.probability, patient.since_days
    chance = 0.0
    if elapsed < window:
        chance = p * (1 - elapsed / window) / (1 - p * elapsed / window)
    readmit = residuals.uniform(f"census.readmission.{patient.pathway}") < chance
    delay = residuals.uniform(f"census.readmission_delay.{patient.pathway}")
    if not readmit:
        return None
    ref.readmission_delay_days = delay * (window - elapsed)
    return readmission(system, ref)


def _wait_then_stay(
    system: System, ref: Referral, episode: Episode, waited_days: float
) -> ProcessGen:
    """A census patient on the waiting list: the rest of the wait, then the stay.

    The patient joins the queue once the patients ready to leave at the start have left.
    """
    yield system.env.timeout(0)
    spec = system.scenario.pathways[ref.pathway]
    stay = yield from wait_for_bed(system, ref, episode, spec, waited_days=waited_days)
    if stay is not None:
        yield from inpatient_stays(system, ref, stay)
