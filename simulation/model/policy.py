"""Reinvestment: changes to capacity and policy on dates, and the year-end rule.

Two kinds of choice change a running model. *Static* choices are scenario changes on
a date: open or close beds (a closure takes effect as beds empty; nobody is moved out to
make it happen), add or remove community places, scale length of stay, change the
diversion share or the maximum wait before out of area. The *dynamic* rule works like a
finance committee: at each financial year end it compares the pathway's spend with its
budget, and turns a share of any saving into community places that arrive after a
recruitment lag and ramp up; optionally an overspend takes places away.

Every year end also writes a ledger row per pathway: budget, spend by category,
savings, amount reinvested and places added. The spend is read from the same monthly
level integrals the KPIs use, so the ledger and the KPIs agree by construction.

This module holds the checks of these sections' references too, so that a dated change
to a unit that does not exist is reported at load time with its line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import simpy

from simulation.core.calendar import financial_year
from simulation.core.problems import InputError
from simulation.scenario.schema import (
    PATHWAY_SERVICES,
    ReinvestmentRule,
    Scenario,
    SetBeds,
    SetDiversion,
    SetLengthOfStay,
    SetMaxWait,
    SetPlaces,
    SetStepDown,
)
from simulation.scenario.yamlsource import LocatedData, Path_

if TYPE_CHECKING:
    from simulation.model.model import Model

LEDGER_ITEMS = (
    "budget_gbp",
    "spend_inpatient_gbp",
    "spend_ooa_gbp",
    "spend_community_gbp",
    "spend_one_off_gbp",
    "spend_total_gbp",
    "savings_gbp",
    "reinvested_gbp",
    "places_added",
)
"""The ledger's lines, per pathway per financial year."""


# -- load-time checks -------------------------------------------------------------------
def reference_problems(s: Scenario) -> Iterator[tuple[Path_, str]]:
    """Check references in ``money``, ``changes`` and ``reinvestment``."""
    units = {u.name for u in s.units}
    teams = {t.name: t for t in s.community_teams}
    first = s.start_date - dt.timedelta(days=s.warmup_days)
    for pathway in s.money.budget_gbp_per_year:
        if pathway not in s.pathways:
            yield ("money", "budget_gbp_per_year", pathway), _not_described(pathway)
    for i, cost in enumerate(s.money.one_off_costs):
        if cost.pathway not in s.pathways:
            yield ("money", "one_off_costs", i, "pathway"), _not_described(cost.pathway)
        if not s.start_date <= cost.date < s.end_date:
            yield ("money", "one_off_costs", i, "date"), _outside(s, cost.date, s.start_date)
    for i, change in enumerate(s.changes):
        base: Path_ = ("changes", i)
        if not first <= change.date < s.end_date:
            yield (*base, "date"), _outside(s, change.date, first)
        if isinstance(change, SetBeds) and change.unit not in units:
            yield (*base, "unit"), f"unknown unit {change.unit!r}"
        elif isinstance(change, SetPlaces) and change.team not in teams:
            yield (*base, "team"), f"unknown community team {change.team!r}"
        elif isinstance(change, SetLengthOfStay | SetDiversion | SetMaxWait | SetStepDown):
            if change.pathway not in s.pathways:
                yield (*base, "pathway"), _not_described(change.pathway)
            elif isinstance(change, SetStepDown):
                yield from _step_down_problems(s, change, base)
            elif isinstance(change, SetLengthOfStay):
                if change.service not in s.pathways[change.pathway].services:
                    known = ", ".join(s.pathways[change.pathway].services)
                    yield (
                        (*base, "service"),
                        (
                            f"service {change.service!r} is not described for {change.pathway} "
                            f"(described: {known})"
                        ),
                    )
            elif isinstance(change, SetDiversion) and s.pathways[change.pathway].diversion is None:
                yield (
                    (*base, "pathway"),
                    (
                        f"{change.pathway} has no diversion team; describe "
                        f"pathways.{change.pathway}.diversion first"
                    ),
                )
    seen: set[str] = set()
    for i, rule in enumerate(s.reinvestment):
        base = ("reinvestment", i)
        if rule.pathway not in s.pathways:
            yield (*base, "pathway"), _not_described(rule.pathway)
            continue
        if rule.pathway in seen:
            yield (*base, "pathway"), f"a second reinvestment rule for {rule.pathway}"
        seen.add(rule.pathway)
        if rule.pathway not in s.money.budget_gbp_per_year and s.money.budget_from is None:
            yield (
                (*base, "pathway"),
                f"the rule needs a budget: give money.budget_gbp_per_year.{rule.pathway}, or "
                "money.budget_from: a scenario file whose simulated spend is the budget",
            )
        for team in rule.teams:
            if team not in teams:
                yield (*base, "teams", team), f"unknown community team {team!r}"
            elif teams[team].pathway != rule.pathway:
                yield (
                    (*base, "teams", team),
                    (f"community team {team!r} belongs to {teams[team].pathway}"),
                )
            elif teams[team].cost_per_place_per_year_gbp <= 0:
                yield (
                    (*base, "teams", team),
                    ("the team's cost_per_place_per_year_gbp is 0, so savings cannot buy places"),
                )


def _step_down_problems(
    s: Scenario, change: SetStepDown, base: Path_
) -> Iterator[tuple[Path_, str]]:
    services = s.pathways[change.pathway].services
    if change.service not in services:
        yield (
            (*base, "service"),
            (
                f"service {change.service!r} is not described for {change.pathway} "
                f"(described: {', '.join(services)})"
            ),
        )
        return
    teams = [t.name for t in s.community_teams if t.pathway == change.pathway]
    for j, route in enumerate(change.to):
        if route.to == change.service:
            yield (*base, "to", j, "to"), "a service cannot step down to itself"
        elif route.to not in services and route.to not in teams:
            yield (
                (*base, "to", j, "to"),
                (
                    f"unknown step-down destination {route.to!r} (expected a service of "
                    f"{change.pathway} or one of its community teams: "
                    f"{', '.join([*services, *teams])})"
                ),
            )


def _not_described(pathway: str) -> str:
    if pathway in PATHWAY_SERVICES:
        return f"pathway {pathway!r} is not described under pathways"
    return f"unknown pathway {pathway!r} (expected one of {', '.join(PATHWAY_SERVICES)})"


def _outside(s: Scenario, date: dt.date, first: dt.date) -> str:
    return f"date {date} is outside the run ({first} to {s.end_date - dt.timedelta(days=1)})"


# -- the policy the model reads --------------------------------------------------------
class Policy:
    """Policy values that dated changes may alter while the model runs."""

    def __init__(self, scenario: Scenario):
        self.los_factor: dict[tuple[str, str], float] = {key: 1.0 for key in scenario.services()}
        self.max_wait: dict[tuple[str, bool], float | None] = {}
        for pathway, spec in scenario.pathways.items():
            self.max_wait[(pathway, True)] = spec.max_wait_days.urgent
            self.max_wait[(pathway, False)] = spec.max_wait_days.routine


@dataclass
class LedgerRow:
    """One pathway's money in one financial year."""

    pathway: str
    financial_year: str
    values: dict[str, float]


# -- processes -------------------------------------------------------------------------
def apply_change(model: Model, change: Any) -> None:
    """Make one dated change take effect now."""
    if isinstance(change, SetBeds):
        unit = model.units[change.unit]
        unit.set_beds(model.env.now, change.to)
        beds = model.beds[(unit.spec.pathway, unit.spec.service)]
        if beds.continuous:
            beds.allocate()
    elif isinstance(change, SetPlaces):
        model.teams[change.team].set_capacity(change.to)
    elif isinstance(change, SetLengthOfStay):
        model.policy.los_factor[(change.pathway, change.service)] = change.to
    elif isinstance(change, SetDiversion):
        for source in ("new", "readmission"):
            model.draws[(change.pathway, source)].diversion_share = change.to
    elif isinstance(change, SetMaxWait):
        model.policy.max_wait[(change.pathway, change.priority == "urgent")] = change.to
    elif isinstance(change, SetStepDown):
        routes = [(r.probability, r.to) for r in change.to]
        for source in ("new", "readmission"):
            model.draws[(change.pathway, source)].set_routes(change.service, routes)


def dated_changes(model: Model) -> Generator[simpy.Event, Any, None]:
    """Apply the scenario's changes on their dates, in date order."""
    scenario = model.scenario
    for change in sorted(scenario.changes, key=lambda c: c.date):
        day = scenario.day_of(change.date)
        if day > model.env.now:
            yield model.env.timeout(day - model.env.now)
        apply_change(model, change)


class Finance:
    """Spend, budgets and the reinvestment rule of one replication."""

    def __init__(self, model: Model, budgets: dict[tuple[str, str], float] | None = None):
        self.model = model
        self.budgets = budgets or {}
        """Budgets by (pathway, financial year) from the ``budget_from`` scenario."""
        scenario = model.scenario
        self.scenario = scenario
        self.rules: dict[str, ReinvestmentRule] = {r.pathway: r for r in scenario.reinvestment}
        self.initial_places = {t.name: t.places for t in scenario.community_teams}
        self.added_places: dict[str, int] = {r.pathway: 0 for r in scenario.reinvestment}
        self.ledger: list[LedgerRow] = []
        cal = model.calendar
        self.year_ends: list[tuple[str, float, list[int]]] = []
        for year in cal.financial_year_list():
            months = [i for i, fy in enumerate(cal.financial_years) if fy == year]
            self.year_ends.append((year, cal.edges[months[-1] + 1], months))

    def spend(self, pathway: str, months: list[int], year: str) -> dict[str, float]:
        """Spend of a pathway over some months, by category, from the level integrals."""
        model = self.model
        scenario = self.scenario
        inpatient = ooa = community = 0.0
        for service, svc in scenario.pathways[pathway].services.items():
            for unit in model.beds[(pathway, service)].units:
                level = unit.bed_level if unit.spec.funding == "block" else unit.occupancy
                days = sum(level.bins[i] for i in months)
                inpatient += days * unit.spec.cost_per_bed_day_gbp
            ooa_days = sum(model.beds[(pathway, service)].ooa_census.bins[i] for i in months)
            ooa += ooa_days * svc.out_of_area.cost_per_bed_day_gbp
        for team in scenario.community_teams:
            if team.pathway == pathway:
                place_days = sum(model.teams[team.name].places.bins[i] for i in months)
                community += place_days * team.cost_per_place_per_year_gbp / 365.25
        one_off = sum(
            c.amount_gbp
            for c in scenario.money.one_off_costs
            if c.pathway == pathway and financial_year(c.date) == year
        )
        return {
            "spend_inpatient_gbp": inpatient,
            "spend_ooa_gbp": ooa,
            "spend_community_gbp": community,
            "spend_one_off_gbp": one_off,
            "spend_total_gbp": inpatient + ooa + community + one_off,
        }

    def year_end(self, year: str, months: list[int]) -> None:
        """Close a financial year: write the ledger and apply the reinvestment rule."""
        model = self.model
        now = model.env.now
        for beds in model.beds.values():
            beds.close(now)
        for team in model.teams.values():
            team.close(now)
        for pathway in self.scenario.pathways:
            values = self.spend(pathway, months, year)
            budget = self.scenario.money.budget_gbp_per_year.get(
                pathway, self.budgets.get((pathway, year), math.nan)
            )
            values["budget_gbp"] = budget
            values["savings_gbp"] = budget - values["spend_total_gbp"]
            values["reinvested_gbp"] = 0.0
            values["places_added"] = 0.0
            rule = self.rules.get(pathway)
            if rule is not None and now < model.horizon:
                reinvested, places = self.reinvest(rule, values["savings_gbp"])
                values["reinvested_gbp"] = reinvested
                values["places_added"] = float(places)
            self.ledger.append(LedgerRow(pathway, year, values))

    def reinvest(self, rule: ReinvestmentRule, savings: float) -> tuple[float, int]:
        """Buy (or, after an overspend, give up) places; return money and places moved."""
        if math.isnan(savings) or savings == 0:
            return 0.0, 0
        if savings < 0 and not rule.reverse_on_overspend:
            return 0.0, 0
        amount = rule.share_of_savings * savings
        money = 0.0
        total_places = 0
        for name, share in rule.teams.items():
            team = self.scenario.team(name)
            places = int(abs(amount) * share // team.cost_per_place_per_year_gbp)
            if amount > 0 and rule.cap_places is not None:
                places = min(places, rule.cap_places - self.added_places[rule.pathway])
            if amount < 0:
                current = self.model.teams[name].capacity
                places = -min(places, max(0, current - self.initial_places[name]))
            if places == 0:
                continue
            self.added_places[rule.pathway] += places
            total_places += places
            money += places * team.cost_per_place_per_year_gbp
            self.model.env.process(self.recruit(name, places, rule))
        return money, total_places

    def recruit(
        self, team_name: str, places: int, rule: ReinvestmentRule
    ) -> Generator[simpy.Event, Any, None]:
        """Places arrive (or leave) after the lag, one at a time over the ramp-up."""
        env = self.model.env
        team = self.model.teams[team_name]
        step = 1 if places > 0 else -1
        gap = rule.ramp_up_days / abs(places)
        yield env.timeout(rule.recruitment_lag_days + (gap if rule.ramp_up_days else 0.0))
        for i in range(abs(places)):
            if i and gap:
                yield env.timeout(gap)
            team.set_capacity(team.capacity + step)

    def process(self) -> Generator[simpy.Event, Any, None]:
        """Close each financial year that ends before the horizon, at its end."""
        env = self.model.env
        for year, end, months in self.year_ends:
            if end >= self.model.horizon:
                return
            if end > env.now:
                yield env.timeout(end - env.now)
            self.year_end(year, months)

    def finish(self) -> None:
        """Close the financial year the horizon falls in (it may be part of a year)."""
        closed = {row.financial_year for row in self.ledger}
        for year, _, months in self.year_ends:
            if year not in closed:
                self.year_end(year, months)


def attach_budget_scenario(scenario: Scenario, source: LocatedData) -> None:
    """Load the ``money.budget_from`` scenario, relative to the file that named it."""
    name = scenario.money.budget_from
    if name is None:
        return
    folder = Path(source.problem(("money", "budget_from"), "").file).parent
    path = folder / name
    if not path.is_file():
        raise InputError(
            [
                source.problem(
                    ("money", "budget_from"),
                    f"budget scenario {name!r} not found (looked for {path})",
                )
            ]
        )
    from simulation.scenario.loading import load_scenario  # the one door into scenarios

    scenario._budget_scenario = load_scenario(path)


def comparator_budgets(scenario: Scenario, replication: int) -> dict[tuple[str, str], float]:
    """Spend of the budget scenario's same replication, by (pathway, financial year)."""
    comparator = scenario.budget_scenario
    if comparator is None:
        return {}
    from simulation.model.model import Model

    # Same seed, dates and horizon, so each financial year has its budget; the comparator
    # keeps its own start state (census or warm-up).
    update = {
        "seed": scenario.seed,
        "start_date": scenario.start_date,
        "horizon_years": scenario.horizon_years,
    }
    aligned = comparator.model_copy(update=update)
    output = Model(aligned, replication).run()
    return {(r.pathway, r.financial_year): r.values["spend_total_gbp"] for r in output.ledger}
