"""Plausibility: what a scenario implies by arithmetic, before anything is simulated.

A scenario's demand and capacity can be checked on the back of an envelope, the way a
commissioner would: referrals a year from the referral rates and the populations;
admissions after the shares not accepted and diverted, plus the readmissions they cause;
step-down transfers from the services above; the mean length of stay of each service;
and by Little's law (beds occupied = admissions a year × mean stay in years) the beds the
demand needs, to set against the beds there are. A ratio near or above one means a
service will run full with a queue and out-of-area placements; well below one, an idle
service. Per-population figures (beds and admissions per 100,000 people) are set beside
published national figures in :data:`PUBLISHED`.

Pure functions of a :class:`~simulation.scenario.schema.Scenario`: nothing here runs the model,
and the figures are steady-state expectations (no withdrawals, diversion whenever the
team has room, growth averaged over the reported period), so the simulation should
agree with them where capacity does not bind and fall short of them where it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulation.core.distributions import Distribution
from simulation.scenario.schema import Pathway, Scenario

DAYS_PER_YEAR = 365.25
_MAX_STEP_DOWN_STAGES = 20  # the model ends a cycle of step-downs after this many stays


@dataclass(frozen=True)
class PublishedFigure:
    """A published figure to compare a scenario with (see shared PARAMETERS.md)."""

    what: str
    value: float
    low: float
    high: float
    source: str
    solidity: str


ENGLAND_POPULATION = 55.6e6
"""Mid-2017 population of England (ONS mid-year estimate), to turn national counts into
rates per 100,000; an outside figure, used only for the derived rates below."""


def _per_100k(count: float) -> float:
    return count / ENGLAND_POPULATION * 1e5


PUBLISHED: dict[tuple[str, str], PublishedFigure] = {
    ("adult_secure", "patients_per_100k"): PublishedFigure(
        "adult secure patients (in and out of area) per 100k",
        _per_100k(7_239 - 700),
        350 / 5.0e6 * 1e5,
        _per_100k(7_239 - 700),
        "England medium+low beds 7,239 (Apr 2017) less ~700 high secure; South West "
        "collaborative ~350 patients for 5m people (derived)",
        "O/R/S",
    ),
    ("adult_secure", "medium_beds_per_100k"): PublishedFigure(
        "medium secure beds per 100k",
        _per_100k(3_500),
        _per_100k(3_500),
        _per_100k(3_500),
        "~3,500 medium secure beds, Völlm et al. 2018 (derived)",
        "R",
    ),
    ("camhs_t4", "beds_per_100k"): PublishedFigure(
        "CAMHS tier 4 beds per 100k",
        _per_100k(1_449),
        1.1,
        3.03,
        "1,449 beds Apr 2017 (Parliamentary answer, derived); regions 1.1-3.03 (EPI 2017)",
        "O/R",
    ),
    ("camhs_t4", "admissions_per_100k"): PublishedFigure(
        "CAMHS tier 4 admissions per 100k a year",
        _per_100k(4_700),
        _per_100k(4_670),
        _per_100k(4_703),
        "4,670-4,703 admissions a year 2016-18, Ougrin et al. 2020 (derived)",
        "R",
    ),
    ("adult_ed", "beds_per_100k"): PublishedFigure(
        "adult eating disorder beds per 100k",
        _per_100k(455),
        _per_100k(455),
        _per_100k(455),
        "455 specialist beds, Ibrahim et al. 2022 (derived)",
        "R",
    ),
    ("adult_ed", "referrals_per_100k"): PublishedFigure(
        "adult eating disorder referrals for admission per 100k a year",
        3.6,
        3.6,
        3.6,
        "351 referrals in 33 months for 3.5m people, Ayton et al. 2022 (derived)",
        "R",
    ),
}
"""Published per-population figures, keyed by (pathway, measure)."""


@dataclass(frozen=True)
class ServiceDemand:
    """What a scenario implies for one service (bed type) of one pathway, per year."""

    pathway: str
    service: str
    population: int
    beds: int
    new_referrals_per_year: float
    readmission_referrals_per_year: float
    referrals_per_year: float
    not_accepted_per_year: float
    diversions_per_year: float
    admissions_per_year: float
    step_down_inflow_per_year: float
    mean_los_days: float

    @property
    def arrivals_per_year(self) -> float:
        """Patients starting a stay a year: first admissions plus step-down transfers in."""
        return self.admissions_per_year + self.step_down_inflow_per_year

    @property
    def beds_needed(self) -> float:
        """Little's law: arrivals a year × mean clinical stay in years (no delays)."""
        return self.arrivals_per_year * self.mean_los_days / DAYS_PER_YEAR

    @property
    def offered_load_ratio(self) -> float:
        """Beds needed over beds in the footprint (infinite when there are none)."""
        return self.beds_needed / self.beds if self.beds else math.inf

    @property
    def beds_per_100k(self) -> float:
        """Footprint beds per 100,000 people."""
        return self.beds / self.population * 1e5

    @property
    def admissions_per_100k(self) -> float:
        """First admissions (in or out of area) a year per 100,000 people."""
        return self.admissions_per_year / self.population * 1e5


@dataclass(frozen=True)
class TeamDemand:
    """What a scenario implies for one community team's caseload."""

    name: str
    pathway: str
    places: int
    diversions_per_year: float
    step_downs_per_year: float
    mean_episode_days: float

    @property
    def places_needed(self) -> float:
        """Little's law: episodes starting a year × mean episode length in years."""
        return (
            (self.diversions_per_year + self.step_downs_per_year)
            * self.mean_episode_days
            / DAYS_PER_YEAR
        )

    @property
    def load_ratio(self) -> float:
        """Places needed over funded places (infinite when there are none)."""
        return self.places_needed / self.places if self.places else math.inf


def population(scenario: Scenario) -> int:
    """People living in the footprint (all places)."""
    return sum(place.population for place in scenario.places)


def growth_factor(scenario: Scenario, pathway: str, annual_growth: float | None = None) -> float:
    """Mean referral-rate multiplier over the reported period from annual growth.

    Rates grow as ``(1 + g) ** years`` from the start date, so over ``H`` years the mean
    multiplier is ``((1 + g) ** H - 1) / (H ln(1 + g))``; seasonality averages to its
    mean month factor. ``annual_growth``: a clinical stream's own growth, in place of
    the pathway's.
    """
    spec = scenario.pathways[pathway]
    years = scenario.horizon_days / DAYS_PER_YEAR
    g = spec.annual_growth if annual_growth is None else annual_growth
    factor = 1.0 if g == 0 else ((1 + g) ** years - 1) / (years * math.log1p(g))
    if spec.seasonality is not None:
        factor *= sum(spec.seasonality) / len(spec.seasonality)
    return factor


def stream_referrals_per_year(scenario: Scenario, pathway: str, service: str) -> float:
    """Mean new referrals a year of a service whose referrals arrive stream by stream."""
    spec = scenario.pathways[pathway]
    return sum(
        rate * place.population / 1e5 * growth_factor(scenario, pathway, growth)
        for place in scenario.places
        for rate, growth in spec.stream_referrals(service, place.name).values()
    )


def admitted_share(spec: Pathway) -> float:
    """Share of referrals that go on to wait for a bed (accepted and not diverted)."""
    diversion = spec.diversion.share if spec.diversion is not None else 0.0
    return (1 - spec.not_accepted_share) * (1 - diversion)


def share_of_census_longer_than(dist: Distribution, days: float) -> float:
    """Share of patients in beds on a census day whose stay so far exceeds ``days``.

    In a steady state the time already spent by a patient found in a bed has density
    ``P(LOS > t) / E[LOS]``, so the share beyond ``days`` is ``E[(LOS - days)+] / E[LOS]``
    (computed on a fine grid of the quantile function). Compare with census figures such
    as the 18.1% of medium secure patients who had stayed over five years.
    """
    u = (np.arange(200_000) + 0.5) / 200_000
    stays = dist.ppf(u)
    mean = float(np.mean(stays))
    return float(np.mean(np.clip(stays - days, 0.0, None))) / mean if mean > 0 else 0.0


def service_demand(scenario: Scenario) -> dict[tuple[str, str], ServiceDemand]:
    """Expected yearly demand, stays and beds needed for every service of a scenario.

    Admissions are the referrals left after the not-accepted and diverted shares; each
    admission is followed by a readmission referral with the pathway's readmission
    probability, which is itself assessed like any referral, so first admissions are
    ``new × q / (1 - r q)`` with ``q`` the admitted share and ``r`` the readmission
    probability. Step-down transfers into a service are the step-down probabilities times
    the arrivals of the services that route to it.
    """
    pop = population(scenario)
    result: dict[tuple[str, str], ServiceDemand] = {}
    for pathway, spec in scenario.pathways.items():
        growth = growth_factor(scenario, pathway)
        q = admitted_share(spec)
        r = spec.readmission.probability
        diversion = spec.diversion.share if spec.diversion is not None else 0.0
        new: dict[str, float] = {}
        admissions: dict[str, float] = {}
        for service, svc in spec.services.items():
            new[service] = svc.referral_rate_per_100k_per_year * pop / 1e5 * growth
            if spec.referrals_by_stream:
                new[service] = stream_referrals_per_year(scenario, pathway, service)
            admissions[service] = new[service] * q / (1 - r * q) if r * q < 1 else math.inf
        inflow = {service: 0.0 for service in spec.services}
        wave = dict(admissions)
        for _ in range(_MAX_STEP_DOWN_STAGES - 1):
            nxt = {service: 0.0 for service in spec.services}
            for service, svc in spec.services.items():
                for route in svc.step_down:
                    if route.to in nxt:
                        nxt[route.to] += route.probability * wave[service]
            for service, value in nxt.items():
                inflow[service] += value
            wave = nxt
        for service, svc in spec.services.items():
            readmissions = r * admissions[service]
            referrals = new[service] + readmissions
            result[(pathway, service)] = ServiceDemand(
                pathway=pathway,
                service=service,
                population=pop,
                beds=sum(u.beds for u in scenario.units_of(pathway, service)),
                new_referrals_per_year=new[service],
                readmission_referrals_per_year=readmissions,
                referrals_per_year=referrals,
                not_accepted_per_year=referrals * spec.not_accepted_share,
                diversions_per_year=referrals * (1 - spec.not_accepted_share) * diversion,
                admissions_per_year=admissions[service],
                step_down_inflow_per_year=inflow[service],
                mean_los_days=svc.length_of_stay.mean_days,
            )
    return result


def team_demand(scenario: Scenario) -> dict[str, TeamDemand]:
    """Expected episodes a year and places needed for every community team."""
    demand = service_demand(scenario)
    result: dict[str, TeamDemand] = {}
    for team in scenario.community_teams:
        spec = scenario.pathways.get(team.pathway)
        if spec is None:
            continue
        diversions = 0.0
        if spec.diversion is not None and spec.diversion.team == team.name:
            diversions = sum(
                d.diversions_per_year for d in demand.values() if d.pathway == team.pathway
            )
        step_downs = 0.0
        for service, svc in spec.services.items():
            for route in svc.step_down:
                if route.to == team.name:
                    step_downs += (
                        route.probability * demand[(team.pathway, service)].arrivals_per_year
                    )
        result[team.name] = TeamDemand(
            name=team.name,
            pathway=team.pathway,
            places=team.places,
            diversions_per_year=diversions,
            step_downs_per_year=step_downs,
            mean_episode_days=team.episode_length.mean_days,
        )
    return result


def pathway_figures(scenario: Scenario) -> dict[str, dict[str, float]]:
    """Per-pathway totals per 100,000 people, in the terms of :data:`PUBLISHED`.

    For each pathway: ``beds_per_100k``, ``admissions_per_100k`` (first admissions a
    year), ``referrals_per_100k`` (new and readmission referrals a year) and
    ``patients_per_100k`` (beds needed by Little's law, in or out of area).
    """
    pop = population(scenario)
    out: dict[str, dict[str, float]] = {}
    for d in service_demand(scenario).values():
        figures = out.setdefault(
            d.pathway,
            {
                "beds_per_100k": 0.0,
                "admissions_per_100k": 0.0,
                "referrals_per_100k": 0.0,
                "patients_per_100k": 0.0,
            },
        )
        figures["beds_per_100k"] += d.beds / pop * 1e5
        figures["admissions_per_100k"] += d.admissions_per_year / pop * 1e5
        figures["referrals_per_100k"] += d.referrals_per_year / pop * 1e5
        figures["patients_per_100k"] += d.beds_needed / pop * 1e5
    return out


def markdown_table(scenario: Scenario) -> str:
    """The per-service plausibility figures as a Markdown table (for the README)."""
    header = (
        "| pathway | service | referrals/yr | admissions/yr | step-down in/yr | mean LOS (days) "
        "| beds needed | beds | needed/beds | beds per 100k | admissions per 100k |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    )
    rows = [
        f"| {d.pathway} | {d.service} | {d.referrals_per_year:.1f} | {d.admissions_per_year:.1f}"
        f" | {d.step_down_inflow_per_year:.1f} | {d.mean_los_days:.0f} | {d.beds_needed:.1f}"
        f" | {d.beds} | {d.offered_load_ratio:.2f} | {d.beds_per_100k:.2f}"
        f" | {d.admissions_per_100k:.2f} |\n"
        for d in service_demand(scenario).values()
    ]
    return header + "".join(rows)
