"""Derived copies: every changed copy of a scenario is checked again, as the loader checks a file.

A copy with another seed, horizon or number of units goes through the schema and the
checks between parts; a bad value is one problem naming the field, what was expected and
where the value came from, never a line of a file that does not hold it. The copy keeps
what the loader read from other files, and reads or aligns it again when that depends on
what changed: the budget scenario takes the copy's seed, start date and horizon, and the
census is checked again against new dates, units or teams.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from simulation import load, load_scenario, load_scenario_dict
from simulation.api import demo_scenario
from simulation.core.problems import InputError
from simulation.scenario.loading import derive
from simulation.scenario.schema import Scenario
from tests.scenario.test_census import row, scenario_file


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return load_scenario_dict(demo_scenario(), name="demo.yaml")


def only_problem(error: pytest.ExceptionInfo[InputError]) -> tuple[str, int | None, str, str]:
    [problem] = error.value.problems
    return problem.file, problem.line, problem.field, problem.message


# -- a changed copy is checked as a file is ---------------------------------------------


def test_a_copy_has_the_changes_and_the_original_is_unchanged(demo: Scenario) -> None:
    copy = derive(demo, {"seed": 5, "replications": 7, "units.Unit.beds": 12})
    assert (copy.seed, copy.replications, copy.units[0].beds) == (5, 7, 12)
    assert (demo.seed, demo.replications, demo.units[0].beds) == (1, 3, 10)
    assert derive(demo, {}) is demo


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"seed": -5}, "seed", "expected a whole number of at least 0 and below"),
        ({"seed": 2**63}, "seed", "expected a whole number of at least 0 and below"),
        ({"replications": 0}, "replications", "expected a whole number from 1 to 100,000, got 0"),
        ({"replications": 2.5}, "replications", "expected a whole number from 1 to 100,000"),
        ({"horizon_years": 0.001}, "horizon_years", "0.001 years is less than a day"),
        ({"warmup_days": -1}, "warmup_days", "expected a number from 0 to 36,500, got -1"),
        ({"units.Unit.beds": -1}, "units[0].beds", "expected a whole number from 0 to 100,000"),
        ({"start_date": "someday"}, "start_date", "expected a date written as YYYY-MM-DD"),
    ],
)
def test_a_bad_value_is_one_problem_naming_the_field_and_its_origin(
    demo: Scenario, changes: dict[str, object], field: str, expected: str
) -> None:
    with pytest.raises(InputError) as error:
        derive(demo, changes, "the argument x")
    file, line, found_field, message = only_problem(error)
    assert (file, line, found_field) == ("scenario demo", None, field)
    assert expected in message
    assert message.endswith("(from the argument x)")


def test_each_change_is_reported_with_its_own_origin(demo: Scenario) -> None:
    origins = {"seed": "--seed", "replications": "--replications"}
    with pytest.raises(InputError) as error:
        derive(demo, {"seed": -1, "replications": 0}, origins, "small.yaml")
    found = {(p.file, p.field, p.message.rsplit(" (from ", 1)[1]) for p in error.value.problems}
    assert found == {
        ("small.yaml", "seed", "--seed)"),
        ("small.yaml", "replications", "--replications)"),
    }
    assert str(error.value).splitlines()[0].startswith("small.yaml: ")


def test_the_checks_between_parts_run_again(demo: Scenario) -> None:
    """A copy that names a place the scenario does not have is refused, as in a file."""
    with pytest.raises(InputError) as error:
        derive(demo, {"units.Unit.place": "Elsewhere"})
    _, line, field, message = only_problem(error)
    assert (line, field) == (None, "units[0].place")
    assert "Elsewhere" in message


def test_the_schema_checks_of_a_whole_part_run_again(demo: Scenario) -> None:
    with pytest.raises(InputError) as error:
        derive(demo, {"pathways.adult_ed.priority_mix": {"urgent": 0.9, "routine": 0.9}})
    _, _, field, message = only_problem(error)
    assert field == "pathways.adult_ed.priority_mix"
    assert message.endswith("(from overrides)")


def test_a_misspelt_field_is_an_unknown_field(demo: Scenario) -> None:
    with pytest.raises(InputError) as error:
        derive(demo, {"replicatons": 4}, "the argument replicatons")
    _, _, field, message = only_problem(error)
    assert field == "replicatons"
    assert "did you mean 'replications'?" in message


# -- the budget scenario ----------------------------------------------------------------


@pytest.fixture
def with_budget(tmp_path: Path) -> Path:
    """``alt.yaml`` takes its budget from ``base.yaml``, which has its own seed, horizon
    and warm-up."""
    base = demo_scenario("base")
    base.update(seed=1, horizon_years=1, warmup_days=180)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (tmp_path / "alt.yaml").write_text(
        "extends: base.yaml\nname: alt\nseed: 999\nhorizon_years: 2\nwarmup_days: 30\n"
        "money: {budget_from: base.yaml}\n"
    )
    return tmp_path / "alt.yaml"


def timing(scenario: Scenario | None) -> tuple[object, ...]:
    assert scenario is not None
    return scenario.seed, scenario.start_date, scenario.horizon_years, scenario.warmup_days


def test_the_budget_scenario_shares_seed_dates_and_horizon_but_keeps_its_warm_up(
    with_budget: Path,
) -> None:
    alt = load_scenario(with_budget)
    assert timing(alt.budget_scenario) == (999, dt.date(2026, 4, 1), 2.0, 180.0)


def test_a_copy_aligns_its_budget_scenario(with_budget: Path) -> None:
    alt = load_scenario(with_budget)
    copy = derive(alt, {"seed": 5, "horizon_years": 3, "start_date": "2027-04-01"})
    assert timing(copy.budget_scenario) == (5, dt.date(2027, 4, 1), 3.0, 180.0)
    # a warm-up set in the copy is set in its budget scenario too, as an override is
    assert timing(derive(alt, {"warmup_days": 10}).budget_scenario)[3] == 10.0
    assert timing(load(with_budget, {"warmup_days": 10}).budget_scenario)[3] == 10.0
    assert timing(alt.budget_scenario) == (999, dt.date(2026, 4, 1), 2.0, 180.0)


def test_a_copy_without_a_budget_scenario_has_none(with_budget: Path) -> None:
    alt = load_scenario(with_budget)
    assert derive(alt, {"money.budget_from": None}).budget_scenario is None


# -- the census ---------------------------------------------------------------------------


@pytest.fixture
def with_census(tmp_path: Path) -> Scenario:
    census = [
        row("a", "in_bed", "2026-03-01", unit="Unit"),
        row("b", "in_bed", "2026-03-22", unit="Unit"),
    ]
    return load_scenario(scenario_file(tmp_path, census, beds=3))


def test_a_copy_that_changes_nothing_the_census_needs_keeps_its_patients(
    with_census: Scenario,
) -> None:
    copy = derive(with_census, {"seed": 3, "horizon_years": 2, "warmup_days": 30})
    assert copy.census_patients is with_census.census_patients


def test_a_new_start_date_dates_the_census_again(with_census: Scenario) -> None:
    copy = derive(with_census, {"start_date": "2026-05-01"})
    before = [p.since_days for p in with_census.census_patients]
    assert [p.since_days for p in copy.census_patients] == [d + 30 for d in before]


def test_a_start_date_before_the_census_is_refused(with_census: Scenario) -> None:
    with pytest.raises(InputError) as error:
        derive(with_census, {"start_date": "2026-03-15"})
    file, line, field, message = only_problem(error)
    assert file.endswith("census.csv") and (line, field) == (3, "since_date")
    assert "not before the start date 2026-03-15" in message


def test_fewer_beds_than_census_patients_is_a_closure_not_a_refusal(
    with_census: Scenario,
) -> None:
    # The cut takes effect as the census patients leave (tests/scenario/test_census.py).
    cut = derive(with_census, {"units.Unit.beds": 1})
    assert cut.census_patients == with_census.census_patients
    assert cut.units[0].beds == 1


def test_a_copy_without_the_census_starts_empty(with_census: Scenario) -> None:
    assert derive(with_census, {"census": None}).census_patients == ()
