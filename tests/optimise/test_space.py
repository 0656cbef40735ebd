"""Allocations as scenarios: default costs, a budget in places, dated changes, diversion."""

import datetime as dt

import pytest

from simulation.optimise.optimiser import check
from simulation.optimise.space import candidate_scenario


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_units_cost_defaults_to_a_bed_paid_every_day_of_the_year(tiny):
    _edit(tiny, ", cost_per_unit_gbp_per_year: 100000}", "}")
    _edit(tiny, "gbp_per_year: 120000", "gbp_per_year: 300000")
    problem, space = check(tiny)
    assert problem.costs == (20000.0, pytest.approx(600 * 365.25))
    for candidate in space.feasible:
        assert space.cost(tuple(candidate)) <= 300000 + 1e-6


def test_a_budget_in_places_counts_only_places_added(tiny):
    _edit(tiny, "budget: {gbp_per_year: 120000}", "budget: {places: 4, spend: all}")
    _, space = check(tiny)
    allocations = {space.allocation(tuple(c)) for c in space.feasible}
    assert allocations == {(4.0, 9.0), (4.0, 10.0), (4.0, 11.0)}


def test_values_from_a_date_are_dated_changes_after_the_base_scenarios_own(tiny):
    _edit(tiny, "horizon_years: 1\n", "horizon_years: 1\ntakes_effect: 2026-10-01\n")
    _edit(
        tiny,
        "  - {unit: Unit,",
        "  - {diversion: adult_ed, min: 0.1, max: 0.5, step: 0.2}\n  - {unit: Unit,",
    )
    problem, space = check(tiny)
    assert problem.today == (0.0, pytest.approx(0.3), 10.0)
    candidate = next(
        tuple(int(i) for i in c)
        for c in space.feasible
        if space.allocation(tuple(c)) == (6.0, 0.5, 9.0)
    )
    scenario = candidate_scenario(space, candidate, "x")
    assert scenario.team("Day Service").places == 0  # as today until the date
    assert scenario.pathways["adult_ed"].diversion.share == pytest.approx(0.3)
    dated = {(c.set, c.date, c.to) for c in scenario.changes}
    assert dated == {
        ("places", dt.date(2026, 10, 1), 6),
        ("diversion_share", dt.date(2026, 10, 1), 0.5),
        ("beds", dt.date(2026, 10, 1), 9),
    }


def test_values_from_the_start_are_the_scenarios_own(tiny):
    problem, space = check(tiny)
    candidate = next(
        tuple(int(i) for i in c) for c in space.feasible if space.allocation(tuple(c)) == (8.0, 9.0)
    )
    scenario = candidate_scenario(space, candidate, "x", seed=99)
    assert scenario.team("Day Service").places == 8
    assert scenario.units[0].beds == 9
    assert scenario.seed == 99 and scenario.changes == problem.base.changes
    assert candidate_scenario(space, (), "today").model_dump(exclude={"name"}) == (
        problem.base.model_dump(exclude={"name"})
    )
