"""The optimisation file: checked like a scenario, and refused when nothing is feasible."""

from pathlib import Path

import pytest

from simulation.cli.main import main
from simulation.core.problems import InputError
from simulation.optimise.optimiser import check


def _problems(path: Path, old: str, new: str) -> list[str]:
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(InputError) as caught:
        check(path)
    return [str(p) for p in caught.value.problems]


def test_the_tiny_file_is_valid_and_its_feasible_set_respects_budget_and_constraint(tiny):
    problem, space = check(tiny)
    assert problem.today == (0.0, 10.0)
    assert problem.costs == (20000.0, 100000.0)
    allocations = [space.allocation(tuple(c)) for c in space.feasible]
    assert allocations
    for c in space.feasible:
        assert space.cost(tuple(c)) <= 120000
    for places, beds in allocations:
        assert places + 2 * beds <= 26
    # Everything the bounds allow that meets both is there: 3 bed counts x 5 place counts.
    every = [
        (p, b)
        for p in (0, 2, 4, 6, 8)
        for b in (9, 10, 11)
        if 20000 * p + 100000 * (b - 10) <= 120000 and p + 2 * b <= 26
    ]
    assert sorted(allocations) == sorted(every)


def test_an_unknown_team_is_named_with_its_line_and_a_suggestion(tiny):
    problems = _problems(tiny, "team: Day Service,", "team: Day Servce,")
    assert problems == [
        f"{tiny}:6: variables[0].team: no community team 'Day Servce' in the base scenario; "
        "did you mean 'Day Service'? (teams: Day Service)"
    ]


def test_schema_mistakes_name_file_line_and_field(tiny):
    problems = _problems(tiny, "min: 0, max: 8, step: 2", "min: 0, max: 8, step: two")
    assert len(problems) == 1 and problems[0].startswith(f"{tiny}:6: variables[0].step: expected")
    tiny.write_text(tiny.read_text().replace("step: two", "step: 2"))
    problems = _problems(tiny, "kpi: ooa_bed_days", "kpi: ooa_bed_dayz")
    assert (
        "objective.minimise[0].kpi: unknown KPI 'ooa_bed_dayz'; did you mean 'ooa_bed_days'"
        in (problems[0])
    )


def test_a_constraint_on_an_unknown_variable_is_refused(tiny):
    problems = _problems(tiny, "Unit: 2}", "Ward: 2}")
    assert problems[0].startswith(f"{tiny}:9: constraints[0].terms.Ward: no variable called 'Ward'")


def test_a_mean_kpi_over_all_pathways_is_refused(tiny):
    problems = _problems(tiny, "kpi: ooa_bed_days,", "kpi: wait_mean_days,")
    assert "does not add up over pathways: name one pathway (adult_ed)" in problems[0]


def test_an_unaffordable_budget_is_refused_with_the_cheapest_allocation(tiny):
    tiny.write_text(tiny.read_text().replace("min: 9, max: 11", "min: 11, max: 12"))
    problems = _problems(tiny, "gbp_per_year: 120000", "gbp_per_year: 50000")
    assert problems == [
        f"{tiny}:4: budget: no allocation within the bounds and steps fits the budget: the "
        "cheapest costs £100,000 a year above today's plan, against a budget of £50,000 a year"
    ]


def test_a_constraint_nothing_meets_is_refused_at_its_line(tiny):
    problems = _problems(tiny, "at_most: 26", "at_most: 5")
    assert problems[0].startswith(f"{tiny}:9: constraints[0].at_most: no allocation")


def test_the_command_refuses_an_infeasible_file_and_writes_nothing(tiny, tmp_path, capsys):
    tiny.write_text(tiny.read_text().replace("at_most: 26", "at_most: 5"))
    out = tmp_path / "out"
    assert main(["optimise", str(tiny), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "constraints[0].at_most: no allocation" in err and "Traceback" not in err
    assert not out.exists()


def test_check_counts_feasible_allocations(tiny, capsys):
    assert main(["optimise", "--check", str(tiny)]) == 0
    assert "valid optimisation 'tiny' over 2 variables: 10 feasible allocations" in (
        capsys.readouterr().out
    )
