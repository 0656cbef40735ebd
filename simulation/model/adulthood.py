"""Turning 18 in a young people's bed: moving to the adult pathway's rules.

A young person who turns 18 while in a CAMHS bed leaves for adult services. Where the
young people's pathway names an adult pathway of the same scenario (its patient mix's
``adult_pathway``), they move to it instead, in one of two ways, as services do:

- a **transfer**: from the 18th birthday the patient is referred to the adult service
  their service maps to (an episode of the adult pathway, source ``transfer_at_18``) and
  waits for an adult bed as any adult referral does (the units that take them, the
  maximum wait, the out-of-area market), keeping their young people's bed as a delayed
  discharge meanwhile; in the adult bed they have the rest of their clinical stay (as
  it stood on the birthday; one admitted already 18 is transferred on admission), then
  the adult pathway's step-down routes and readmission;
- a **discharge**: the patient stays in the young people's bed until ready for
  discharge, then leaves it by the adult service's step-down routes (an adult bed, an
  adult community team, or home), and any readmission is to the adult pathway.

Either way the young people's episode records the day they left (``adult_services_day``,
counted as ``left_for_adult_services``). The patient keeps their sex, and their clinical
stream where the adult pathway's mix has one (else it is drawn from that mix), and has
no age band there. Everything random about them as an adult patient is drawn, when they
move, from the adult pathway's own streams for patients from this pathway
(``<adult>.from.<pathway>.*``), so the adult pathway's own referrals are not changed.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from simulation.model.journey import journey
from simulation.model.pathway import (
    ProcessGen,
    community_episode,
    inpatient_stays,
    leave,
    leave_for_team,
    readmission,
    step_down,
    wait_for_bed,
)
from simulation.model.patients import MovedMix, PatientDraws, Referral
from simulation.model.resources import Stay
from simulation.model.system import System
from simulation.scenario.schema import AdultPathway

Move = Literal["transfer", "discharge"]


def start_moves_at_18(system: System) -> None:
    """Give every young people's pathway that names an adult pathway its moves."""
    for pathway, spec in system.scenario.pathways.items():
        adult = spec.patient_mix.adult_pathway
        if adult is not None and spec.patient_mix.adult_from_age_band is not None:
            system.moves_at_18[pathway] = MovesToAdultPathway(system, pathway, adult)


class MovesToAdultPathway:
    """One young people's pathway's moves to its adult pathway."""

    def __init__(self, system: System, pathway: str, spec: AdultPathway):
        scenario = system.scenario
        self.adult = spec.pathway
        self.services = dict(spec.services)
        self.move: Move = spec.move
        adult_spec = scenario.pathways[self.adult]
        draws = PatientDraws(
            system.streams, f"{self.adult}.from.{pathway}", self.adult, adult_spec, scenario
        )
        self.mix = MovedMix(draws.mix, tuple(adult_spec.patient_mix.streams))
        draws.mix = self.mix
        self.draws = system.draws[(self.adult, f"from.{pathway}")] = draws  # dated changes

    def moves(self, service: str) -> Move | None:
        """How a patient in ``service`` moves (None: not mapped, they leave the model)."""
        return self.move if service in self.services else None

    def adult_referral(self, ref: Referral, service: str) -> Referral:
        """The patient as an adult referral of ``service``: drawn now, who they are kept.

        They are in a bed already: accepted, not diverted, and not withdrawing.
        """
        self.mix.person = ref.kind
        adult = self.draws.draw(ref.patient_id, service, ref.home_place, "transfer_at_18", None)
        adult.accepted, adult.divert, adult.patience_days = True, False, None
        adult.assessment_days = 0.0
        return adult

    # -- a transfer on the 18th birthday -------------------------------------------------
    def transfer(self, system: System, ref: Referral, stay: Stay, rest_days: float) -> ProcessGen:
        """Referred to the adult service now; wait in the young people's bed; move."""
        env = system.env
        episode = stay.episode
        beds = system.beds[(ref.pathway, episode.service)]
        episode.ready(env.now)  # from the birthday the bed is a delayed discharge
        beds.mark_ready(stay)
        service = self.services[episode.service]
        adult = self.adult_referral(ref, service)
        adult.stages[0].los_days = rest_days
        referred = system.open_episode(adult, service, "transfer_at_18", None)
        referred.decide("accepted", env.now)
        spec = system.scenario.pathways[self.adult]
        moved = yield from wait_for_bed(system, adult, referred, spec)
        assert moved is not None  # a patient in a bed does not withdraw
        episode.adult_services_day = env.now
        leave(system, beds, stay, "home", None)  # home: out of the young people's pathway
        yield from inpatient_stays(system, adult, moved)

    # -- a discharge by the adult pathway's routes ---------------------------------------
    def discharge(self, system: System, ref: Referral, stay: Stay) -> ProcessGen:
        """Ready for discharge (and 18): leave by the adult service's step-down routes."""
        env = system.env
        episode = stay.episode
        beds = system.beds[(ref.pathway, episode.service)]
        adult = self.adult_referral(ref, self.services[episode.service])
        first = adult.stages[0]
        if first.next_kind == "service":
            assert first.next_name is not None
            moved = yield from step_down(system, adult, stay, beds, first.next_name)
            episode.adult_services_day = env.now  # left the bed now, by the adult routes
            rest = dataclasses.replace(adult, stages=adult.stages[1:])
            yield from inpatient_stays(system, rest, moved)
            return
        if first.next_kind == "team":
            assert first.next_name is not None
            team, place = yield from leave_for_team(system, stay, beds, first.next_name)
            episode.adult_services_day = env.now
            yield from community_episode(system, episode, team, place, first.episode_days)
        else:
            episode.adult_services_day = env.now
            leave(system, beds, stay, "home", None)
        if adult.readmit:
            journey(readmission(system, adult))
