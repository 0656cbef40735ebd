"""Spend: what a pathway's beds, places and one-off costs cost over some months.

The one definition of spend, shared by the year-end ledger
(:mod:`simulation.model.finance`, while the model runs) and the cost KPIs
(:mod:`simulation.results.kpis`, after it), so the two agree to the last bit:

- in-area beds: each unit's bed days at its cost per bed day, where a block-funded unit
  pays for its open beds and a spot-purchased one for the beds used;
- out of area: each service's out-of-area bed days at its out-of-area cost per bed day,
  or, where its market prices each bed found, the sum of those prices over the days;
- community: each team's funded place days at its cost per place-year / 365.25;
- one-off costs dated in the financial years asked for.

Days over the months are the correctly rounded sum of the monthly level integrals
(``math.fsum``), so they do not depend on the order the months are listed in; each
unit's, service's or team's days are priced once, and the priced amounts are added in
the scenario's order of services, units and teams.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from simulation.core.calendar import financial_year
from simulation.scenario.schema import Scenario

Bins = Sequence[float] | np.ndarray
"""A level's integral per month of the reported period (days, or bed or place days)."""

DAYS_PER_YEAR = 365.25
"""Days in the year a community place's yearly cost is spread over."""


@dataclass(frozen=True)
class SpendLevels:
    """The monthly level integrals spend is priced from, by unit, service and team."""

    occupied: Mapping[str, Bins]
    """Occupied bed days per unit: what a spot-purchased unit pays for."""
    open: Mapping[str, Bins]
    """Open bed days per unit: what a block-funded unit pays for."""
    out_of_area: Mapping[tuple[str, str], Bins]
    """Out-of-area bed days per (pathway, service)."""
    places: Mapping[str, Bins]
    """Funded place days per community team."""
    out_of_area_cost: Mapping[tuple[str, str], Bins] = field(default_factory=dict)
    """Out-of-area spend per (pathway, service) whose market prices each bed found."""


@dataclass(frozen=True)
class Spend:
    """A pathway's spend over some months, by category (£)."""

    inpatient: float
    out_of_area: float
    community: float
    one_off: float

    @property
    def total(self) -> float:
        """The four categories added, in-area beds first."""
        return self.inpatient + self.out_of_area + self.community + self.one_off


def _days(bins: Bins, months: Iterable[int]) -> float:
    """The integral over some months: the correctly rounded sum of their bins."""
    return math.fsum(bins[i] for i in months)


def pathway_spend(
    scenario: Scenario,
    levels: SpendLevels,
    pathway: str,
    months: Sequence[int],
    years: Collection[str],
) -> Spend:
    """The spend of ``pathway`` over ``months``, with the one-off costs dated in ``years``."""
    inpatient = out_of_area = community = one_off = 0.0
    for service, spec in scenario.pathways[pathway].services.items():
        for unit in scenario.units_of(pathway, service):
            paid = levels.open if unit.funding == "block" else levels.occupied
            inpatient += _days(paid[unit.name], months) * unit.cost_per_bed_day_gbp
        priced = levels.out_of_area_cost.get((pathway, service))
        if priced is not None:
            out_of_area += _days(priced, months)
        else:
            ooa_days = _days(levels.out_of_area[(pathway, service)], months)
            out_of_area += ooa_days * spec.out_of_area.cost_per_bed_day_gbp
    for team in scenario.community_teams:
        if team.pathway == pathway:
            price = team.cost_per_place_per_year_gbp / DAYS_PER_YEAR
            community += _days(levels.places[team.name], months) * price
    for cost in scenario.money.one_off_costs:
        if cost.pathway == pathway and financial_year(cost.date) in years:
            one_off += cost.amount_gbp
    return Spend(inpatient, out_of_area, community, one_off)
