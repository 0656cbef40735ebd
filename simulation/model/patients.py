"""The patient: everything random about a referral, drawn when it arrives.

A :class:`Referral` carries the whole of one patient's future as drawn on arrival:
priority, assessment, acceptance, diversion, patience, the route through beds
(:class:`Stage` by stage, each with its length of stay and where it leads) and any
readmission. :class:`PatientDraws` draws them from streams named by purpose, always in
the same order, so two scenarios that differ only in capacity or policy see the same
patients (common random numbers). Reads the scenario; no SimPy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulation.core.streams import Stream, StreamFactory
from simulation.model.records import Source
from simulation.scenario.schema import Pathway, Scenario

NextKind = Literal["home", "service", "team"]
"""Where a bed stay leads: home, a bed of another service, or a community team."""


@dataclass(slots=True)
class Stage:
    """One bed stay of a patient's planned route: where, how long, where next."""

    service: str
    los_days: float
    next_kind: NextKind
    next_name: str | None
    episode_days: float  # community episode length if next_kind == "team"


@dataclass(slots=True)
class Referral:
    """A referral with everything random about the patient drawn on arrival."""

    patient_id: int
    pathway: str
    service: str
    home_place: str
    source: Source
    urgent: bool
    assessment_days: float
    accepted: bool
    divert: bool
    diversion_episode_days: float
    patience_days: float | None
    stages: list[Stage]
    readmit: bool
    readmission_delay_days: float


class PatientDraws:
    """The random streams for one pathway and one kind of referral (new or readmission).

    :meth:`draw` runs for every referral, so the scenario's values it needs are copied
    into plain attributes once, and each service's step-down routes are kept as running
    totals of probability.
    """

    def __init__(
        self, streams: StreamFactory, prefix: str, pathway: str, spec: Pathway, scenario: Scenario
    ):
        self.pathway = pathway
        self.spec = spec
        u = streams.uniform
        self.priority = u(f"{prefix}.priority")
        self.acceptance = u(f"{prefix}.acceptance")
        self.diversion = u(f"{prefix}.diversion")
        self.readmission = u(f"{prefix}.readmission")
        self.readmission_delay = u(f"{prefix}.readmission_delay")
        self.assessment = streams.values(f"{prefix}.assessment", spec.assessment_delay.ppf)
        self.patience: Stream | None = None
        if spec.withdrawal is not None:
            self.patience = streams.values(f"{prefix}.patience", spec.withdrawal.patience.ppf)
        self.los = {
            name: streams.values(f"{prefix}.los.{name}", svc.length_of_stay.ppf)
            for name, svc in spec.services.items()
        }
        self.route = {name: u(f"{prefix}.route.{name}") for name in spec.services}
        teams = [t for t in scenario.community_teams if t.pathway in scenario.pathways]
        self.episode = {
            t.name: streams.values(f"{prefix}.episode.{t.name}", t.episode_length.ppf)
            for t in teams
        }
        self.team_names = {t.name for t in teams}
        self.routes: dict[str, list[tuple[float, str, NextKind]]] = {}
        for name, svc in spec.services.items():
            self.set_routes(name, [(r.probability, r.to) for r in svc.step_down])
        diversion = spec.diversion
        self.diversion_share = diversion.share if diversion is not None else 0.0
        self.diversion_team = diversion.team if diversion is not None else None
        self.urgent_share = spec.priority_mix.urgent
        self.not_accepted_share = spec.not_accepted_share
        self.readmission_probability = spec.readmission.probability
        self.readmission_window = spec.readmission.window_days

    def set_routes(self, service: str, routes: list[tuple[float, str]]) -> None:
        """Where patients go from ``service``: (probability, destination) in order."""
        cumulative = 0.0
        table: list[tuple[float, str, NextKind]] = []
        for probability, to in routes:
            cumulative += probability
            table.append((cumulative, to, "team" if to in self.team_names else "service"))
        self.routes[service] = table

    def plan_stages(self, service: str) -> list[Stage]:
        """Draw the route through beds: each stay's length and where it leads."""
        stages: list[Stage] = []
        while True:
            los = self.los[service]()
            u = self.route[service]()
            route = None
            for entry in self.routes[service]:
                if u < entry[0]:
                    route = entry
                    break
            if route is None:
                stages.append(Stage(service, los, "home", None, 0.0))
                return stages
            _, to, kind = route
            if kind == "team":
                stages.append(Stage(service, los, kind, to, self.episode[to]()))
                return stages
            stages.append(Stage(service, los, kind, to, 0.0))
            if len(stages) >= 20:  # a cycle of step-downs: end it at home
                stages[-1].next_kind, stages[-1].next_name = "home", None
                return stages
            service = to

    def draw(
        self, patient_id: int, service: str, home: str, source: Source, urgent: bool | None
    ) -> Referral:
        """Draw a whole referral, in a fixed order of purposes."""
        u_priority = self.priority()
        if urgent is None:
            urgent = u_priority < self.urgent_share
        divert = self.diversion() < self.diversion_share
        diversion_days = 0.0
        if self.diversion_team is not None:
            diversion_days = self.episode[self.diversion_team]()
        return Referral(
            patient_id,
            self.pathway,
            service,
            home,
            source,
            urgent,
            self.assessment(),
            self.acceptance() >= self.not_accepted_share,
            divert,
            diversion_days,
            self.patience() if self.patience is not None else None,
            self.plan_stages(service),
            self.readmission() < self.readmission_probability,
            self.readmission_delay() * self.readmission_window,
        )
