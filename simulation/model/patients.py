"""The patient: everything random about a referral, drawn when it arrives.

A :class:`Referral` carries the whole of one patient's future as drawn on arrival:
priority, assessment, acceptance, diversion, patience, the route through beds
(:class:`Stage` by stage, each with its length of stay and where it leads) and any
readmission, and who the patient is (sex, clinical stream, age band, where the pathway's
patient mix models them). :class:`PatientDraws` draws them from streams named by purpose,
always in the same order, so two scenarios that differ only in capacity or policy see the
same patients (common random numbers): a ward that changes whom it takes changes where
patients go, never who they are. Reads the scenario; no SimPy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from simulation.core.distributions import Distribution
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
    sex: str | None = None
    stream: str | None = None
    age_band: str | None = None
    adult_after_days: float | None = None
    """Days from referral to the 18th birthday of a young person who turns 18 within a year."""

    @property
    def kind(self) -> tuple[str | None, str | None, str | None]:
        """Whom a unit must take to take this patient: sex, stream and age band."""
        return (self.sex, self.stream, self.age_band)


def _cumulative(shares: dict[str, float]) -> list[tuple[float, str]]:
    """Running totals of shares, for drawing a value with one uniform."""
    total = 0.0
    table: list[tuple[float, str]] = []
    for name, share in shares.items():
        total += share
        table.append((total, name))
    return table


def _pick(table: list[tuple[float, str]], u: float) -> str:
    for cumulative, name in table:
        if u < cumulative:
            return name
    return table[-1][1]


class _Mix:
    """A pathway's patient mix as cumulative share tables, by place.

    Each attribute has its own stream (``<prefix>.mix.sex``, ``.stream``, ``.age_band``),
    drawn once per referral whose pathway models it, so the draws of every other purpose
    are the same whether or not a mix is given.
    """

    ATTRIBUTES = ("sex", "streams", "age_bands")

    def __init__(self, streams: StreamFactory, prefix: str, spec: Pathway):
        mix = spec.patient_mix
        self.tables: dict[str, dict[str | None, list[tuple[float, str]]]] = {}
        self.streams: dict[str, Stream] = {}
        for attribute in self.ATTRIBUTES:
            shares: dict[str, float] = dict(getattr(mix, attribute))
            if not shares:
                continue
            table: dict[str | None, list[tuple[float, str]]] = {None: _cumulative(shares)}
            for place, own in mix.places.items():
                given: dict[str, float] = dict(getattr(own, attribute))
                if given:
                    table[place] = _cumulative(given)
            self.tables[attribute] = table
            self.streams[attribute] = streams.uniform(f"{prefix}.mix.{attribute}")

    def draw(self, home: str) -> tuple[str | None, str | None, str | None]:
        """Sex, stream and age band of a referral from ``home`` (None: not modelled)."""
        drawn: list[str | None] = []
        for attribute in self.ATTRIBUTES:
            table = self.tables.get(attribute)
            if table is None:
                drawn.append(None)
                continue
            u = self.streams[attribute]()
            drawn.append(_pick(table.get(home) or table[None], u))
        return drawn[0], drawn[1], drawn[2]


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
        mix = spec.patient_mix
        self.mix = _Mix(streams, prefix, spec) if mix.used else None
        self.adult_band = mix.adult_from_age_band
        self.birthday: Stream | None = None
        if self.adult_band is not None:
            self.birthday = streams.uniform(f"{prefix}.mix.birthday")
        # A service whose stay differs by stream draws plain uniforms and applies the
        # stream's quantile function, so each patient keeps the same uniform either way.
        self.stream_los: dict[str, dict[str, Distribution]] = {}
        for stream, services in mix.length_of_stay.items():
            for name, distribution in services.items():
                self.stream_los.setdefault(name, {})[stream] = distribution
        self.los = {
            name: streams.values(
                f"{prefix}.los.{name}",
                None if name in self.stream_los else svc.length_of_stay.ppf,
            )
            for name, svc in spec.services.items()
        }
        self.service_los = {name: svc.length_of_stay for name, svc in spec.services.items()}
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
        self.stream_routes: dict[tuple[str, str], list[tuple[float, str, NextKind]]] = {}
        for stream, by_service in mix.step_down.items():
            for name, routes in by_service.items():
                self.stream_routes[(stream, name)] = self._table(
                    [(r.probability, r.to) for r in routes]
                )
        diversion = spec.diversion
        self.diversion_share = diversion.share if diversion is not None else 0.0
        self.diversion_team = diversion.team if diversion is not None else None
        self.urgent_share = spec.priority_mix.urgent
        self.not_accepted_share = spec.not_accepted_share
        self.readmission_probability = spec.readmission.probability
        self.readmission_window = spec.readmission.window_days

    def _table(self, routes: list[tuple[float, str]]) -> list[tuple[float, str, NextKind]]:
        cumulative = 0.0
        table: list[tuple[float, str, NextKind]] = []
        for probability, to in routes:
            cumulative += probability
            table.append((cumulative, to, "team" if to in self.team_names else "service"))
        return table

    def set_routes(self, service: str, routes: list[tuple[float, str]]) -> None:
        """Where patients go from ``service``: (probability, destination) in order.

        A clinical stream's own routes (the patient mix's ``step_down``) stay in force.
        """
        self.routes[service] = self._table(routes)

    def plan_stages(self, service: str, stream: str | None = None) -> list[Stage]:
        """Draw the route through beds: each stay's length and where it leads."""
        stages: list[Stage] = []
        while True:
            los = self.los[service]()
            by_stream = self.stream_los.get(service)
            if by_stream is not None:
                own = by_stream.get(stream) if stream is not None else None
                los = float((own or self.service_los[service]).ppf(np.asarray(los)))
            u = self.route[service]()
            route = None
            table = self.routes[service]
            if stream is not None and self.stream_routes:
                table = self.stream_routes.get((stream, service), table)
            for entry in table:
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
        self,
        patient_id: int,
        service: str,
        home: str,
        source: Source,
        urgent: bool | None,
        person: tuple[str | None, str | None, str | None] | None = None,
    ) -> Referral:
        """Draw a whole referral, in a fixed order of purposes.

        ``person``: the sex, stream and age band of a patient referred again, who keeps
        them (the mix's draws are made all the same, so every stream stays in step).
        """
        u_priority = self.priority()
        if urgent is None:
            urgent = u_priority < self.urgent_share
        divert = self.diversion() < self.diversion_share
        diversion_days = 0.0
        if self.diversion_team is not None:
            diversion_days = self.episode[self.diversion_team]()
        sex = stream = age_band = None
        if self.mix is not None:
            sex, stream, age_band = self.mix.draw(home)
            if person is not None:
                sex, stream, age_band = person
        adult_after = None
        if self.birthday is not None and age_band == self.adult_band:
            adult_after = self.birthday() * 365.25
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
            self.plan_stages(service, stream),
            self.readmission() < self.readmission_probability,
            self.readmission_delay() * self.readmission_window,
            sex,
            stream,
            age_band,
            adult_after,
        )


class StreamMix(_Mix):
    """A patient mix whose referrals all belong to one clinical stream.

    A stream whose referrals arrive on their own (the patient mix's ``referrals``) sets
    their stream; the mix's draws are made all the same, so its sex and age band are
    drawn as for any referral and every stream stays in step.
    """

    def __init__(self, mix: _Mix, stream: str):
        self.tables = mix.tables
        self.streams = mix.streams
        self.stream = stream

    def draw(self, home: str) -> tuple[str | None, str | None, str | None]:
        """Sex and age band drawn from the mix; the stream is this one."""
        sex, _, age_band = _Mix.draw(self, home)
        return sex, self.stream, age_band


class MovedMix(_Mix):
    """The patient mix of a pathway that a patient moves to (at 18, to the adult pathway).

    Its draws are made as for any referral; then the patient keeps their own sex, and
    their own clinical stream where this mix has it, and has no age band. Set
    :attr:`person` to the patient's sex, stream and age band before each draw.
    """

    def __init__(self, mix: _Mix | None, streams: tuple[str, ...]):
        self.tables = mix.tables if mix is not None else {}
        self.streams = mix.streams if mix is not None else {}
        self.known_streams = frozenset(streams)
        self.person: tuple[str | None, str | None, str | None] = (None, None, None)

    def draw(self, home: str) -> tuple[str | None, str | None, str | None]:
        """The patient's sex and (where this mix has it) stream, else as drawn; no age band."""
        sex, stream, _ = _Mix.draw(self, home)
        own_sex, own_stream, _ = self.person
        if own_sex is not None:
            sex = own_sex
        if own_stream in self.known_streams:
            stream = own_stream
        return sex, stream, None
