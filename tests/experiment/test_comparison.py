"""Comparing scenarios: paired differences, common random numbers, honest wording."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from simulation import load_scenario, load_scenario_dict, run_experiment
from simulation.core.problems import InputError
from simulation.experiment.comparison import (
    aligned,
    compare_kpis,
    mark_comparison_part_years,
    paired_differences,
    shared_arrivals,
)
from simulation.scenario.loading import derive
from tests.builders import mmc_scenario


def horizon_row(frame, kpi):
    rows = frame[
        (frame["kpi"] == kpi)
        & (frame["period"] == "horizon")
        & (frame["service"] == "all")
        & (frame["place"] == "all")
        & (frame["unit"] == "all")
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def run(scenario, n=8):
    return run_experiment(scenario, replications=n, workers=1).kpis


def test_a_scenario_compared_with_itself_differs_by_exactly_zero():
    scenario = load_scenario_dict(mmc_scenario(horizon_years=1, warmup_days=60))
    kpis = run(scenario, n=4)
    diffs = paired_differences(kpis, kpis.copy())
    assert (diffs["diff_mean"] == 0).all()
    assert (diffs["diff_ci_low"].fillna(0) == 0).all() and (
        diffs["diff_ci_high"].fillna(0) == 0
    ).all()
    assert not diffs["clear"].any()


def test_common_random_numbers_narrow_the_interval_of_a_capacity_change():
    base = load_scenario_dict(mmc_scenario(beds=9, horizon_years=2, warmup_days=60))
    more = derive(base, {"units.0.beds": 10})
    other_seed = derive(more, {"seed": base.seed + 1})
    base_kpis = run(base, n=12)
    crn = horizon_row(paired_differences(base_kpis, run(more, n=12)), "wait_mean_days")
    independent = horizon_row(
        paired_differences(base_kpis, run(other_seed, n=12)), "wait_mean_days"
    )
    crn_width = crn["diff_ci_high"] - crn["diff_ci_low"]
    independent_width = independent["diff_ci_high"] - independent["diff_ci_low"]
    # Both see a shorter wait with a tenth bed; sharing patients makes it far more precise.
    assert crn["diff_mean"] < 0 and crn["clear"]
    assert crn_width < 0.5 * independent_width


def test_shared_arrivals_is_told_apart_from_a_change_of_demand():
    base = load_scenario_dict(mmc_scenario())
    more_beds = derive(base, {"units.0.beds": 20})
    more_people = derive(base, {"places.0.population": 200_000})
    assert shared_arrivals(base, more_beds)[0]
    same, sentence = shared_arrivals(base, more_people)
    assert not same and "do not see the same referrals" in sentence


def test_another_starting_census_is_not_called_the_same_referrals():
    base = load_scenario("scenarios/baseline.yaml")  # starts from its census
    empty = derive(base, {"census": None, "name": "empty"})
    assert base.census_patients and not empty.census_patients
    same, sentence = shared_arrivals(base, empty)
    assert not same and "starts from other patients in the system" in sentence
    assert shared_arrivals(base, derive(base, {"name": "same"}))[0]


def test_percent_change_and_clarity_follow_the_paired_interval():
    base = run(load_scenario_dict(mmc_scenario(horizon_years=1, warmup_days=60)), n=3)
    doubled = base.assign(value=base["value"] * 2)
    table = compare_kpis("base", base, {"double": doubled})
    row = horizon_row(table, "referrals")
    assert row["alternative"] == "double"
    assert np.isclose(row["pct_change"], 100.0)
    assert row["clear"] == bool(row["diff_ci_low"] > 0)


def test_aligned_gives_alternatives_the_base_seed_and_checks_the_replications():
    base = load_scenario_dict(mmc_scenario(seed=1))
    other = load_scenario_dict(mmc_scenario(seed=2, name="other"))
    first, second = aligned(base, [other], replications=4)
    assert (first.seed, first.replications) == (second.seed, second.replications) == (1, 4)
    with pytest.raises(InputError) as caught:
        aligned(base, [other], replications=0)
    [problem] = caught.value.problems
    assert problem.field == "replications"
    assert problem.message == (
        "expected a whole number from 1 to 100,000, got 0 (from the argument replications)"
    )


def test_scenarios_over_different_periods_are_not_compared():
    # A one-year alternative's totals against a two-year base's read as a cut of a half.
    base = load_scenario_dict(mmc_scenario(horizon_years=2))
    shorter = derive(base, {"horizon_years": 1, "name": "shorter"})
    later = derive(base, {"start_date": dt.date(2027, 4, 1), "name": "later"})
    same = derive(base, {"units.0.beds": 11, "name": "same"})
    with pytest.raises(InputError) as caught:
        aligned(base, [shorter, same, later], files={"shorter": "shorter.yaml"})
    assert [(p.file, p.field) for p in caught.value.problems] == [
        ("shorter.yaml", "horizon_years"),
        ("scenario later", "start_date"),
    ]
    assert caught.value.problems[0].message == (
        "covers 1 year from 1 April 2026, and the base mmc 2 years from 1 April 2026: "
        "scenarios compared must cover the same period (the same start date and years "
        "simulated: horizon_years)"
    )
    assert [s.name for s in aligned(base, [same])] == ["mmc", "same"]


def test_a_year_part_of_either_scenarios_period_is_a_part_year_of_their_comparison():
    base = load_scenario_dict(mmc_scenario(horizon_years=2, warmup_days=0))  # 1 April 2026
    later = derive(base, {"start_date": dt.date(2026, 10, 1), "name": "later"})
    same = derive(base, {"units.0.beds": 11, "name": "same"})
    periods = ["2026/27", "2027/28", "horizon"]
    table = pd.DataFrame(
        {"alternative": ["later"] * 3 + ["same"] * 3, "period": periods * 2, "diff_mean": 0.0}
    )
    marked = mark_comparison_part_years(table, base, [later, same])
    flagged = marked.groupby("alternative")["part_year"].apply(
        lambda s: set(marked.loc[s.index[s], "period"])
    )
    # Two years from 1 April 2026 lose 2027/28's leap day; from 1 October they hold half of
    # 2026/27, and (the base's) 2027/28 is part in both.
    assert flagged["same"] == {"2027/28"}
    assert flagged["later"] == {"2026/27", "2027/28"}
    assert list(marked.columns) == [*table.columns, "part_year"]
