"""Money: what each pathway spends, its budget, and the year-end reinvestment rule.

The *dynamic* reinvestment rule works like a finance committee: at each financial year
end it compares the pathway's spend with its budget, and turns a share of any saving
into community places that arrive after a recruitment lag and ramp up; optionally an
overspend takes places away. Every year end writes a ledger row per pathway: budget,
spend by category, savings, amount reinvested and places added.

The spend is :func:`simulation.model.spend.pathway_spend` of the monthly level
integrals, the function the cost KPIs use too, so the ledger and the KPIs agree by
construction.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from simulation.model.spend import SpendLevels, pathway_spend
from simulation.model.system import System
from simulation.scenario.schema import MAX_PLACES, ReinvestmentRule

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


@dataclass
class LedgerRow:
    """One pathway's money in one financial year."""

    pathway: str
    financial_year: str
    values: dict[str, float]


class Finance:
    """Spend, budgets and the reinvestment rule of one replication."""

    def __init__(self, system: System, budgets: dict[tuple[str, str], float] | None = None):
        self.system = system
        self.budgets = budgets or {}
        """Budgets by (pathway, financial year) from the ``budget_from`` scenario."""
        scenario = system.scenario
        self.scenario = scenario
        self.rules: dict[str, ReinvestmentRule] = {r.pathway: r for r in scenario.reinvestment}
        self.initial_places = {t.name: t.places for t in scenario.community_teams}
        self.added_places: dict[str, int] = {r.pathway: 0 for r in scenario.reinvestment}
        self.bought: dict[str, int] = {t.name: 0 for t in scenario.community_teams}
        """Places bought (less those given up) per team so far."""
        self.ledger: list[LedgerRow] = []
        # The recorders' own bins: read at each year end, after the year is closed.
        self.levels = SpendLevels(
            occupied={name: u.occupancy.bins for name, u in system.units.items()},
            open={name: u.bed_level.bins for name, u in system.units.items()},
            out_of_area={key: b.ooa_census.bins for key, b in system.beds.items()},
            places={name: t.places.bins for name, t in system.teams.items()},
            out_of_area_cost={
                key: b.ooa_cost.bins for key, b in system.beds.items() if b.ooa_cost is not None
            },
        )
        cal = system.calendar
        self.year_ends: list[tuple[str, float, list[int]]] = []
        for year in cal.financial_year_list():
            months = [i for i, fy in enumerate(cal.financial_years) if fy == year]
            self.year_ends.append((year, cal.edges[months[-1] + 1], months))

    def spend(self, pathway: str, months: list[int], year: str) -> dict[str, float]:
        """Spend of a pathway over some months of a financial year, as ledger items."""
        spend = pathway_spend(self.scenario, self.levels, pathway, months, (year,))
        return {
            "spend_inpatient_gbp": spend.inpatient,
            "spend_ooa_gbp": spend.out_of_area,
            "spend_community_gbp": spend.community,
            "spend_one_off_gbp": spend.one_off,
            "spend_total_gbp": spend.total,
        }

    def year_end(self, year: str, months: list[int]) -> None:
        """Close a financial year: write the ledger and apply the reinvestment rule."""
        system = self.system
        now = system.env.now
        for beds in system.beds.values():
            beds.close(now)
        for team in system.teams.values():
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
            if rule is not None and now < system.horizon:
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
            if amount > 0:
                # A team never grows past the most places a scenario may give it, however
                # cheap a place or large a saving: each place arrives as an event.
                room = MAX_PLACES - self.initial_places[name] - self.bought[name]
                places = min(places, max(0, room))
            if amount < 0:
                current = self.system.teams[name].capacity
                places = -min(places, max(0, current - self.initial_places[name]))
            if places == 0:
                continue
            self.added_places[rule.pathway] += places
            self.bought[name] += places
            total_places += places
            money += places * team.cost_per_place_per_year_gbp
            self.system.env.process(self.recruit(name, places, rule))
        return money, total_places

    def recruit(
        self, team_name: str, places: int, rule: ReinvestmentRule
    ) -> Generator[simpy.Event, Any, None]:
        """Places arrive (or leave) after the lag, one at a time over the ramp-up."""
        env = self.system.env
        team = self.system.teams[team_name]
        step = 1 if places > 0 else -1
        gap = rule.ramp_up_days / abs(places)
        yield env.timeout(rule.recruitment_lag_days + (gap if rule.ramp_up_days else 0.0))
        for i in range(abs(places)):
            if i and gap:
                yield env.timeout(gap)
            team.set_capacity(team.capacity + step)

    def process(self) -> Generator[simpy.Event, Any, None]:
        """Close each financial year that ends before the horizon, at its end."""
        env = self.system.env
        for year, end, months in self.year_ends:
            if end >= self.system.horizon:
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
