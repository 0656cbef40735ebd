"""The system: the running state of one replication that the pathway's processes share.

What a bed manager's office would keep on its walls: the clock (a SimPy environment and
the calendar), the beds of every unit and service with their queues, the community
teams' caseloads, the named random streams and each pathway's patient draws, the policy
in force (maximum waits, length-of-stay factors, which dated changes may alter), and
the record of every episode. Built from a scenario and never writing to it. The
pathway's processes (:mod:`simulation.model.pathway`), the census start, dated changes
and the finance rule all act on a :class:`System`; :class:`~simulation.model.model.Model`
is a System that also starts them and runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Generator
from typing import Any, Literal, Protocol

import simpy

from simulation.core.calendar import Calendar
from simulation.core.streams import StreamFactory
from simulation.model.engine import Environment
from simulation.model.market import Market
from simulation.model.patients import PatientDraws, Referral
from simulation.model.records import Episode, Source
from simulation.model.resources import Caseload, ServiceBeds, Stay, UnitState
from simulation.scenario.schema import Scenario


class MovesAt18(Protocol):
    """How a young people's pathway moves its patients to an adult pathway at 18."""

    def moves(self, service: str) -> Literal["transfer", "discharge"] | None:
        """How a patient in ``service`` moves (None: they leave for adult services)."""
        ...

    def transfer(
        self, system: System, ref: Referral, stay: Stay, rest_days: float
    ) -> Generator[simpy.Event, Any, None]:
        """Referred to the adult pathway now, with ``rest_days`` of the stay still to go."""
        ...

    def discharge(
        self, system: System, ref: Referral, stay: Stay
    ) -> Generator[simpy.Event, Any, None]:
        """Ready for discharge now: leave by the adult pathway's routes."""
        ...


class Policy:
    """Policy values that dated changes may alter while the model runs."""

    def __init__(self, scenario: Scenario):
        self.los_factor: dict[tuple[str, str], float] = {key: 1.0 for key in scenario.services()}
        self.max_wait: dict[tuple[str, bool], float | None] = {}
        for pathway, spec in scenario.pathways.items():
            self.max_wait[(pathway, True)] = spec.max_wait_days.urgent
            self.max_wait[(pathway, False)] = spec.max_wait_days.routine


class System:
    """Beds, teams, streams, clock and records of one replication of one scenario."""

    def __init__(self, scenario: Scenario, replication: int):
        self.scenario = scenario
        self.replication = replication
        self.start = -float(scenario.warmup_days)
        self.horizon = scenario.horizon_days
        self.env = Environment(initial_time=self.start)
        self.calendar = Calendar.build(scenario.start_date, self.horizon)
        self.streams = StreamFactory(scenario.seed, replication)
        self.policy = Policy(scenario)
        self.episodes: list[Episode] = []
        self.last_patient_id = 0
        self.continuous = scenario.bed_management.allocation == "continuous"
        self.units: dict[str, UnitState] = {}
        self.beds: dict[tuple[str, str], ServiceBeds] = {}
        management = scenario.bed_management
        for pathway, service in scenario.services():
            units = [
                UnitState(u, self.calendar, self.start) for u in scenario.units_of(pathway, service)
            ]
            self.units.update({u.name: u for u in units})
            ooa = scenario.pathways[pathway].services[service].out_of_area
            self.beds[(pathway, service)] = ServiceBeds(
                self.env,
                units,
                self.calendar,
                self.continuous,
                management.repatriation,
                scope=management.scope,
                urgent_between_panels=management.urgent_between_panels,
                priced=ooa.search is not None and ooa.search.cost_per_bed_day_gbp is not None,
                default_price=ooa.cost_per_bed_day_gbp,
            )
        self.markets = {
            (pathway, service): Market(
                self.streams, pathway, service, svc.out_of_area, scenario.start_date
            )
            for pathway, spec in scenario.pathways.items()
            for service, svc in spec.services.items()
            if svc.out_of_area.search is not None
        }
        """The out-of-area market of each service that searches (others find at once)."""
        self.teams = {
            t.name: Caseload(self.env, t.name, t.places, self.calendar)
            for t in scenario.community_teams
        }
        self.moves_at_18: dict[str, MovesAt18] = {}
        """Young people's pathways whose patients move to an adult pathway at 18 (set by
        :mod:`simulation.model.adulthood`); empty: they leave for adult services."""
        self.draws = {
            (pathway, source): PatientDraws(
                self.streams, f"{pathway}.{source}", pathway, spec, scenario
            )
            for pathway, spec in scenario.pathways.items()
            for source in ("new", "readmission")
        }

    @functools.cached_property
    def months_of_days(self) -> list[int]:
        """Calendar month (0-11) of each whole model day from the warm-up start on."""
        first = math.floor(self.start)
        start_date = self.scenario.start_date
        days = range(first, math.floor(self.horizon) + 1)
        return [(start_date + dt.timedelta(days=day)).month - 1 for day in days]

    def draws_of(self, pathway: str) -> list[PatientDraws]:
        """Every patient draws of a pathway, which dated changes of its policy reach.

        New referrals, readmissions, and any others: a clinical stream's own referrals,
        young people moving to it at 18.
        """
        return [draws for (name, _), draws in self.draws.items() if name == pathway]

    def new_patient_id(self) -> int:
        """The next patient's identifier."""
        self.last_patient_id += 1
        return self.last_patient_id

    def open_episode(
        self, ref: Referral, service: str, source: Source, referral_id: int | None
    ) -> Episode:
        """Start the record of the patient's passage through ``service``, as of now."""
        episode_id = len(self.episodes) + 1
        episode = Episode(
            episode_id,
            referral_id if referral_id is not None else episode_id,
            ref.patient_id,
            ref.pathway,
            service,
            ref.home_place,
            source,
            "urgent" if ref.urgent else "routine",
            self.env.now,
        )
        # Set apart, not as keywords: binding keywords among thirty fields costs more
        # than the rest of the record.
        if ref.sex is not None or ref.stream is not None or ref.age_band is not None:
            episode.sex, episode.stream, episode.age_band = ref.sex, ref.stream, ref.age_band
        self.episodes.append(episode)
        return episode
