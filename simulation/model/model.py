"""The model: SimPy processes that follow a patient along a specialised pathway.

One replication of one scenario. Referrals arrive from each home place as a Poisson
process whose rate grows year on year and may vary by month. Each referral is
assessed; it is not accepted, or diverted to a community team that has room, or joins
the queue for a bed. The bed manager places it in the unit linked to the home place,
else elsewhere in the footprint; past the maximum wait for its priority the patient is
placed out of area. After the clinical length of stay the patient is ready for
discharge, and leaves for home, a lower-security bed or a community team; while the
destination has no room the patient stays in the bed as a delayed discharge. Community
episodes end; some discharged inpatients are referred again within a window.

Everything random about a patient is drawn when the referral arrives, from streams
named by purpose (see :mod:`simulation.core.streams`), so two scenarios that differ only in
capacity or policy see the same patients. The clock is in days from the start date;
the warm-up runs from ``-warmup_days`` and is not reported. A run may instead start
from a census of the patients already in the system (see :mod:`simulation.scenario.census`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from simulation.core.calendar import Calendar
from simulation.core.streams import Stream, StreamFactory
from simulation.model.policy import Finance, Policy, dated_changes
from simulation.model.records import Episode
from simulation.model.resources import OUT_OF_AREA, Caseload, ServiceBeds, Stay, UnitState
from simulation.scenario.census import start_census
from simulation.scenario.schema import WEEKDAYS, Pathway, Scenario

ProcessGen = Generator[simpy.Event, Any, None]


@dataclass(slots=True)
class Stage:
    """One bed stay of a patient's planned route: where, how long, where next."""

    service: str
    los_days: float
    next_kind: str  # home | service | team
    next_name: str | None
    episode_days: float  # community episode length if next_kind == "team"


@dataclass(slots=True)
class Referral:
    """A referral with everything random about the patient drawn on arrival."""

    patient_id: int
    pathway: str
    service: str
    home_place: str
    source: str  # new | readmission
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
        self.routes: dict[str, list[tuple[float, str, str]]] = {}
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
        table: list[tuple[float, str, str]] = []
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
        self, patient_id: int, service: str, home: str, source: str, urgent: bool | None
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


class Model:
    """One replication of one scenario. Build, then :meth:`run`."""

    def __init__(
        self,
        scenario: Scenario,
        replication: int,
        budgets: dict[tuple[str, str], float] | None = None,
    ):
        self.scenario = scenario
        self.replication = replication
        self.start = -float(scenario.warmup_days)
        self.horizon = scenario.horizon_days
        self.env = simpy.Environment(initial_time=self.start)
        self.calendar = Calendar.build(scenario.start_date, self.horizon)
        self.streams = StreamFactory(scenario.seed, replication)
        self.policy = Policy(scenario)
        self.episodes: list[Episode] = []
        self._next_patient = 0
        continuous = scenario.bed_management.allocation == "continuous"
        self.units: dict[str, UnitState] = {}
        self.beds: dict[tuple[str, str], ServiceBeds] = {}
        for pathway, service in scenario.services():
            units = [
                UnitState(u, self.calendar, self.start) for u in scenario.units_of(pathway, service)
            ]
            self.units.update({u.name: u for u in units})
            self.beds[(pathway, service)] = ServiceBeds(
                self.env, units, self.calendar, continuous, scenario.bed_management.repatriation
            )
        self.teams = {
            t.name: Caseload(self.env, t.name, t.places, self.calendar)
            for t in scenario.community_teams
        }
        self.draws = {
            (pathway, source): PatientDraws(
                self.streams, f"{pathway}.{source}", pathway, spec, scenario
            )
            for pathway, spec in scenario.pathways.items()
            for source in ("new", "readmission")
        }
        for pathway, spec in scenario.pathways.items():
            for service, svc in spec.services.items():
                for place in scenario.places:
                    rate = svc.referral_rate_per_100k_per_year * place.population / 1e5
                    if rate > 0:
                        self.env.process(self.arrivals(pathway, service, place.name, rate))
        if not continuous:
            self.env.process(self.panel())
        if scenario.changes:
            self.env.process(dated_changes(self))
        self.finance = Finance(self, budgets)
        self.env.process(self.finance.process())
        if scenario.census_patients:
            start_census(self)

    # -- referrals -------------------------------------------------------------------
    def arrivals(self, pathway: str, service: str, place: str, rate_per_year: float) -> ProcessGen:
        """Referrals of one service from one place.

        Poisson arrivals are simulated by thinning a process at the peak rate; regular
        arrivals are spaced at the reciprocal of the current rate.
        """
        spec = self.scenario.pathways[pathway]
        stream = self.streams.uniform(f"arrivals.{pathway}.{service}.{place}")
        growth = 1.0 + spec.annual_growth
        season = spec.seasonality
        base = rate_per_year / 365.25
        month_of_day = self.months_of_days if season is not None else []
        first_day = math.floor(self.start)

        def rate_at(t: float) -> float:
            # Growth runs from the start date; the warm-up runs at today's demand.
            rate: float = base * growth ** (max(t, 0.0) / 365.25)
            if season is not None:
                rate *= season[month_of_day[math.floor(t) - first_day]]
            return rate

        peak = base * max(1.0, growth ** (self.horizon / 365.25))
        if season is not None:
            peak *= max(season)
        env = self.env
        horizon = self.horizon
        draw = self.draws[(pathway, "new")].draw
        if spec.arrivals == "regular":
            while True:
                gap = 1.0 / rate_at(env.now)
                if env.now + gap >= horizon:
                    return
                yield env.timeout(gap)
                self._next_patient += 1
                env.process(self.referral(draw(self._next_patient, service, place, "new", None)))
        while True:
            now = env.now
            gap = -math.log1p(-stream()) / peak
            if now + gap >= horizon:
                return
            yield env.timeout(gap)
            if stream() * peak < rate_at(now + gap):
                self._next_patient += 1
                env.process(self.referral(draw(self._next_patient, service, place, "new", None)))

    @functools.cached_property
    def months_of_days(self) -> list[int]:
        """Calendar month (0-11) of each whole model day from the warm-up start on."""
        first = math.floor(self.start)
        start_date = self.scenario.start_date
        days = range(first, math.floor(self.horizon) + 1)
        return [(start_date + dt.timedelta(days=day)).month - 1 for day in days]

    def _new_patient_id(self) -> int:
        self._next_patient += 1
        return self._next_patient

    def _episode(
        self, ref: Referral, service: str, source: str, referral_id: int | None
    ) -> Episode:
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
        self.episodes.append(episode)
        return episode

    def referral(self, ref: Referral, referral_day: float | None = None) -> ProcessGen:
        """A referral's whole journey: assessment, diversion or a bed, stay, discharge.

        ``referral_day`` is for a census patient referred before the run began.
        """
        env = self.env
        episode = self._episode(ref, ref.service, ref.source, None)
        if referral_day is not None:
            episode.referral_day = referral_day
        if ref.assessment_days > 0:
            yield env.timeout(ref.assessment_days)
        episode.decision_day = env.now
        if not ref.accepted:
            episode.decision = "not_accepted"
            return
        spec = self.scenario.pathways[ref.pathway]
        if ref.divert and spec.diversion is not None:
            team = self.teams[spec.diversion.team]
            if team.has_room():
                episode.decision = "diverted"
                yield from self.community_episode(
                    episode, team, team.request(), ref.diversion_episode_days
                )
                return
        episode.decision = "accepted"
        stay = yield from self.wait_for_bed(ref, episode, spec)
        if stay is None:
            return
        yield from self.inpatient_stays(ref, stay)

    def wait_for_bed(
        self, ref: Referral, episode: Episode, spec: Pathway, waited_days: float = 0.0
    ) -> Generator[simpy.Event, Any, Stay | None]:
        """Queue for a footprint bed; out of area past the maximum wait; or withdraw.

        ``waited_days``: time already waited before the run (a census patient), which
        counts towards the maximum wait and the patience.
        """
        env = self.env
        beds = self.beds[(ref.pathway, ref.service)]
        request = beds.request(episode, ref.urgent)
        max_wait = self.policy.max_wait[(ref.pathway, ref.urgent)]
        if max_wait is not None:
            max_wait = max(0.0, max_wait - waited_days)
        wait_timer = patience_timer = None
        if request.triggered:
            unit = request.value
        elif max_wait == 0:
            unit = None
        else:
            # A timer that fires first takes the request out of the queue and resolves it
            # with no bed; the process waits on the request alone (no AnyOf condition).
            def expire(_: simpy.Event) -> None:
                if not request.triggered:
                    beds.cancel(request)
                    request.succeed(None)

            if max_wait is not None:
                wait_timer = env.timeout(max_wait)
                wait_timer.callbacks.append(expire)
            if ref.patience_days is not None:
                patience_timer = env.timeout(max(0.0, ref.patience_days - waited_days))
                patience_timer.callbacks.append(expire)
            unit = yield request
        if unit is not None:
            assert isinstance(unit, UnitState)
            episode.admission_day = env.now
            episode.admitted_to = unit.name
            episode.distance_miles = unit.distance_from(ref.home_place)
            return Stay(episode, unit)
        beds.cancel(request)
        if (
            patience_timer is not None
            and patience_timer.processed
            and not (wait_timer is not None and wait_timer.processed)
        ):
            episode.withdrawn_day = env.now
            return None
        stay = Stay(episode, None)
        episode.admission_day = env.now
        episode.admitted_to = OUT_OF_AREA
        svc = self.scenario.pathways[ref.pathway].services[ref.service]
        episode.distance_miles = svc.out_of_area.distance_miles
        beds.place_out_of_area(stay)
        return stay

    def inpatient_stays(self, ref: Referral, stay: Stay) -> ProcessGen:
        """Stay in bed, become ready for discharge, and leave by the planned route."""
        env = self.env
        for stage in ref.stages:
            beds = self.beds[(ref.pathway, stage.service)]
            episode = stay.episode
            yield env.timeout(stage.los_days * self.policy.los_factor[(ref.pathway, stage.service)])
            episode.ready_day = env.now
            beds.mark_ready(stay)
            if stage.next_kind == "service":
                assert stage.next_name is not None
                nxt = self._episode(ref, stage.next_name, "step_down", episode.referral_id)
                nxt.priority = "routine"
                nxt.decision, nxt.decision_day = "accepted", env.now
                target = self.beds[(ref.pathway, stage.next_name)]
                bed_request = target.request(nxt, urgent=False, listed=False)
                if not bed_request.triggered:
                    yield bed_request
                self._leave(beds, stay, "step_down_bed", stage.next_name)
                step_unit = bed_request.value
                assert isinstance(step_unit, UnitState)
                nxt.admission_day = env.now
                nxt.admitted_to = step_unit.name
                nxt.distance_miles = step_unit.distance_from(ref.home_place)
                stay = Stay(nxt, step_unit)
                continue
            if stage.next_kind == "team":
                assert stage.next_name is not None
                team = self.teams[stage.next_name]
                request = team.request()
                if not request.triggered:
                    yield request
                self._leave(beds, stay, "community", stage.next_name)
                yield from self.community_episode(episode, team, request, stage.episode_days)
            else:
                self._leave(beds, stay, "home", None)
            break
        if ref.readmit:
            env.process(self.readmission(ref))

    def _leave(self, beds: ServiceBeds, stay: Stay, exit_to: str, destination: str | None) -> None:
        episode = stay.episode
        episode.exit_day = self.env.now
        episode.exit_to = exit_to
        episode.step_down_to = destination
        beds.leave(stay)

    def community_episode(
        self, episode: Episode, team: Caseload, granted: simpy.Event, days: float
    ) -> ProcessGen:
        """A community episode on a team's caseload (the place is already granted)."""
        assert granted.triggered
        episode.community_team = team.name
        episode.community_start_day = self.env.now
        yield self.env.timeout(days)
        team.release()
        episode.community_end_day = self.env.now

    def readmission(self, ref: Referral) -> ProcessGen:
        """A discharged inpatient referred again, as urgent, after a delay."""
        yield self.env.timeout(ref.readmission_delay_days)
        if self.env.now >= self.horizon:
            return
        draws = self.draws[(ref.pathway, "readmission")]
        again = draws.draw(ref.patient_id, ref.service, ref.home_place, "readmission", True)
        yield from self.referral(again)

    # -- bed management --------------------------------------------------------------
    def panel(self) -> ProcessGen:
        """A weekly bed-management panel: beds are allocated only when it meets."""
        weekday = WEEKDAYS.index(self.scenario.bed_management.panel_weekday)
        first_day = self.scenario.start_date + dt.timedelta(days=math.ceil(self.start))
        offset = (weekday - first_day.weekday()) % 7
        yield self.env.timeout(math.ceil(self.start) - self.start + offset)
        while True:
            for beds in self.beds.values():
                beds.allocate()
            yield self.env.timeout(7)

    # -- running ---------------------------------------------------------------------
    def run(self) -> ModelOutput:
        """Run from the warm-up start to the horizon and return what was recorded."""
        self.env.run(until=self.horizon)
        for beds in self.beds.values():
            beds.close(self.horizon)
        for team in self.teams.values():
            team.close(self.horizon)
        self.finance.finish()
        return ModelOutput(self)


class ModelOutput:
    """What one replication recorded: episodes, levels by month, and the end state."""

    def __init__(self, model: Model):
        self.scenario = model.scenario
        self.replication = model.replication
        self.calendar = model.calendar
        self.episodes = model.episodes
        self.events_processed = next(model.env._eid)  # SimPy's count of scheduled events
        self.unit_occupancy = {name: np.array(u.occupancy.bins) for name, u in model.units.items()}
        self.unit_beds = {name: u.beds for name, u in model.units.items()}
        self.unit_bed_days = {name: np.array(u.bed_level.bins) for name, u in model.units.items()}
        """Bed days available (beds open x days) per unit per month."""
        self.ledger = model.finance.ledger
        self.waiting = {key: np.array(b.waiting.bins) for key, b in model.beds.items()}
        self.ooa_census = {key: np.array(b.ooa_census.bins) for key, b in model.beds.items()}
        self.delayed = {key: np.array(b.delayed.bins) for key, b in model.beds.items()}
        self.caseload = {name: np.array(t.caseload.bins) for name, t in model.teams.items()}
        self.places = {name: np.array(t.places.bins) for name, t in model.teams.items()}
        self.end_state: dict[str, Any] = {
            "waiting": {k: b.queue_length() for k, b in model.beds.items()},
            "occupied": {name: u.occupied for name, u in model.units.items()},
            "out_of_area": {k: round(b.ooa_census.level) for k, b in model.beds.items()},
            "teams": {name: t.summary() for name, t in model.teams.items()},
            "repatriations": {k: b.repatriations for k, b in model.beds.items()},
        }


def run_model(scenario: Scenario, replication: int) -> ModelOutput:
    """Run one replication of a scenario."""
    return Model(scenario, replication).run()
