"""Money and reinvestment, checked by arithmetic on deterministic scenarios.

With regular arrivals every 10 days and fixed 100-day stays, exactly 10 patients are in
beds at every moment after the first 100 days, so bed days, spend and savings follow by
hand. Community places cost their price per place-year whether used or not.
"""

import datetime as dt
import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from simulation import load_scenario_dict
from simulation.experiment.experiment import ledger_rows, run_replication
from simulation.model.model import Model
from simulation.model.spend import pathway_spend
from simulation.results.kpis import kpi_rows
from simulation.scenario.loading import derive
from simulation.scenario.schema import MAX_PLACES

COST_BED = 500.0
COST_PLACE = 36_525.0  # £100 a place-day
YEAR_DAYS = 365  # 1 April 2026 to 31 March 2027


def scenario(**extra):
    data = {
        "name": "money",
        "start_date": "2026-04-01",
        "horizon_years": 1,
        "warmup_days": 400,
        "places": [{"name": "Home", "population": 100_000}],
        "units": [
            {
                "name": "Ward",
                "pathway": "adult_ed",
                "service": "inpatient",
                "place": "Home",
                "beds": 20,
                "cost_per_bed_day_gbp": COST_BED,
            }
        ],
        "community_teams": [
            {
                "name": "Team",
                "pathway": "adult_ed",
                "places": 4,
                "episode_length": {"distribution": "fixed", "value": 30},
                "cost_per_place_per_year_gbp": COST_PLACE,
            }
        ],
        "pathways": {
            "adult_ed": {
                "arrivals": "regular",
                "services": {
                    "inpatient": {
                        # one referral every 10 days
                        "referral_rate_per_100k_per_year": 36.525,
                        "length_of_stay": {"distribution": "fixed", "value": 100},
                        "out_of_area": {"cost_per_bed_day_gbp": 900, "distance_miles": 50},
                    }
                },
            }
        },
    }
    data.update(extra)
    return load_scenario_dict(data)


def ledger(result, item, year="2026/27"):
    rows = result.ledger
    row = rows[(rows["item"] == item) & (rows["financial_year"] == year)]
    assert len(row) == 1
    return float(row["value"].iloc[0])


def kpi(result, name, period="horizon"):
    k = result.kpis
    row = k[
        (k["kpi"] == name)
        & (k["period"] == period)
        & (k["pathway"] == "adult_ed")
        & (k["service"] == "all")
        & (k["unit"] == "all")
        & (k["place"] == "all")
    ]
    assert len(row) == 1, row
    return float(row["value"].iloc[0])


def test_spend_and_savings_are_known_by_arithmetic():
    s = scenario(
        money={
            "budget_gbp_per_year": {"adult_ed": 3_000_000},
            "one_off_costs": [{"date": "2026-06-01", "pathway": "adult_ed", "amount_gbp": 50_000}],
        }
    )
    result = run_replication(s, 0)
    bed_days = 10 * YEAR_DAYS
    inpatient = bed_days * COST_BED
    community = 4 * 100.0 * YEAR_DAYS
    assert kpi(result, "bed_days") == pytest.approx(bed_days, rel=1e-9)
    assert ledger(result, "spend_inpatient_gbp") == pytest.approx(inpatient, rel=1e-9)
    assert ledger(result, "spend_community_gbp") == pytest.approx(community, rel=1e-9)
    assert ledger(result, "spend_ooa_gbp") == 0
    assert ledger(result, "spend_one_off_gbp") == 50_000
    total = inpatient + community + 50_000
    assert ledger(result, "spend_total_gbp") == pytest.approx(total, rel=1e-9)
    assert ledger(result, "savings_gbp") == pytest.approx(3_000_000 - total, rel=1e-9)
    # The KPIs price the same bed days and places as the ledger.
    assert kpi(result, "cost_inpatient_gbp") == pytest.approx(inpatient, rel=1e-9)
    assert kpi(result, "cost_community_gbp") == pytest.approx(community, rel=1e-9)


def test_out_of_area_bed_days_are_priced_at_the_out_of_area_cost():
    # Five beds for a need of ten, and nobody waits: five patients are always away.
    s = scenario(
        units=[
            {
                "name": "Ward",
                "pathway": "adult_ed",
                "service": "inpatient",
                "place": "Home",
                "beds": 5,
                "cost_per_bed_day_gbp": COST_BED,
            }
        ]
    )
    s = derive(s, {"pathways.adult_ed.max_wait_days": {"urgent": 0.0, "routine": 0.0}})
    result = run_replication(s, 0)
    assert kpi(result, "bed_days") == pytest.approx(5 * YEAR_DAYS, rel=1e-9)
    assert kpi(result, "ooa_bed_days") == pytest.approx(5 * YEAR_DAYS, rel=1e-9)
    assert ledger(result, "spend_ooa_gbp") == pytest.approx(5 * YEAR_DAYS * 900, rel=1e-9)


def test_bed_closure_waits_for_beds_to_empty_and_moves_nobody():
    s = scenario(changes=[{"date": "2026-07-01", "set": "beds", "unit": "Ward", "to": 6}])
    model = Model(s, 0)
    output = model.run()
    # Nobody is moved: every stay still lasts exactly 100 days.
    stays = [e.exit_day - e.admission_day for e in output.episodes if e.exit_day is not None]
    assert stays and np.allclose(stays, 100.0)
    # Occupancy never exceeds beds except while the closure waits for beds to empty.
    monthly = output.unit_occupancy["Ward"] / model.calendar.month_lengths()
    assert monthly[0] == pytest.approx(10.0)
    assert monthly[-1] == pytest.approx(6.0)
    # Once closed, the unit holds six; the rest of the need is met out of area or waits.
    assert output.unit_beds["Ward"] == 6


def test_length_of_stay_factor_applies_to_admissions_from_its_date():
    change_day = (dt.date(2026, 10, 1) - dt.date(2026, 4, 1)).days
    s = scenario(
        changes=[
            {
                "date": "2026-10-01",
                "set": "length_of_stay_factor",
                "pathway": "adult_ed",
                "service": "inpatient",
                "to": 0.5,
            }
        ]
    )
    output = Model(s, 0).run()
    for e in output.episodes:
        if e.exit_day is None:
            continue
        expected = 50.0 if e.admission_day >= change_day else 100.0
        assert e.exit_day - e.admission_day == pytest.approx(expected)


def rule_scenario(one_off_costs=(), **rule):
    base_rule = {
        "pathway": "adult_ed",
        "share_of_savings": 0.5,
        "teams": {"Team": 1.0},
        "recruitment_lag_days": 90,
        "ramp_up_days": 0,
    }
    base_rule.update(rule)
    return scenario(
        horizon_years=3,
        money={
            "budget_gbp_per_year": {"adult_ed": 3_000_000},
            "one_off_costs": list(one_off_costs),
        },
        reinvestment=[base_rule],
    )


def test_a_saving_buys_no_more_places_than_a_team_may_have():
    # A budget of a billion and a place at £1 a year would buy hundreds of millions of
    # places, each arriving as an event: the team stops at the most places it may have.
    s = rule_scenario(recruitment_lag_days=0, ramp_up_days=30)
    money = s.money.model_dump()
    money["budget_gbp_per_year"] = {"adult_ed": 1e9}
    s = derive(s, {"money": money, "community_teams.Team.cost_per_place_per_year_gbp": 1.0})
    output = Model(s, 0).run()
    added = sum(r.values["places_added"] for r in output.ledger)
    assert added == MAX_PLACES - 4
    assert output.end_state["teams"]["Team"]["capacity"] == MAX_PLACES


def test_reinvested_places_arrive_after_the_lag_and_the_ledger_balances():
    s = rule_scenario()
    model = Model(s, 0)
    output = model.run()
    rows = {(r.financial_year, k): v for r in output.ledger for k, v in r.values.items()}
    savings = rows[("2026/27", "savings_gbp")]
    places = int(0.5 * savings // COST_PLACE)
    assert places > 0
    assert rows[("2026/27", "places_added")] == places
    assert rows[("2026/27", "reinvested_gbp")] == pytest.approx(places * COST_PLACE)
    assert rows[("2026/27", "reinvested_gbp")] <= 0.5 * savings
    for year in ("2026/27", "2027/28", "2028/29"):
        parts = sum(
            rows[(year, k)]
            for k in (
                "spend_inpatient_gbp",
                "spend_ooa_gbp",
                "spend_community_gbp",
                "spend_one_off_gbp",
            )
        )
        assert rows[(year, "spend_total_gbp")] == pytest.approx(parts)
        assert rows[(year, "savings_gbp")] == pytest.approx(
            rows[(year, "budget_gbp")] - rows[(year, "spend_total_gbp")]
        )
    # Places: 4 until 90 days after the year end (30 June 2027), then 4 + places.
    places_per_day = output.places["Team"] / model.calendar.month_lengths()
    months = model.calendar.months
    assert places_per_day[months.index("2027-05")] == pytest.approx(4.0)
    assert places_per_day[months.index("2027-06")] == pytest.approx(4.0 + places / 30)
    assert places_per_day[months.index("2027-08")] == pytest.approx(4.0 + places)


def test_reinvestment_never_exceeds_the_cap():
    model = Model(rule_scenario(cap_places=3), 0)
    output = model.run()
    assert sum(r.values["places_added"] for r in output.ledger) == 3
    assert max(output.places["Team"] / model.calendar.month_lengths()) == pytest.approx(7.0)


def test_overspend_gives_places_back_only_when_asked():
    # A saving in 2026/27 buys places; a one-off cost makes 2027/28 an overspend.
    def run(reverse):
        cost = {"date": "2027-06-01", "pathway": "adult_ed", "amount_gbp": 2_000_000}
        model = Model(rule_scenario(one_off_costs=[cost], reverse_on_overspend=reverse), 0)
        return model, model.run()

    model, kept = run(False)
    added = {r.financial_year: r.values["places_added"] for r in kept.ledger}
    assert added["2026/27"] > 0 and added["2027/28"] == 0
    model, given_back = run(True)
    added = {r.financial_year: r.values["places_added"] for r in given_back.ledger}
    assert added["2026/27"] > 0 and added["2027/28"] < 0
    # Never below the four places the scenario started with.
    assert -added["2027/28"] <= added["2026/27"]
    places_per_day = given_back.places["Team"] / model.calendar.month_lengths()
    assert places_per_day.min() >= 4.0 - 1e-9


def test_block_contract_pays_for_open_beds_and_one_off_costs_reach_the_kpis():
    ward = {
        "name": "Ward",
        "pathway": "adult_ed",
        "service": "inpatient",
        "place": "Home",
        "beds": 20,
        "cost_per_bed_day_gbp": COST_BED,
        "funding": "block",
    }
    cost = {"date": "2026-06-01", "pathway": "adult_ed", "amount_gbp": 50_000}
    s = scenario(
        units=[ward],
        money={"one_off_costs": [cost]},
        changes=[{"date": "2026-10-01", "set": "beds", "unit": "Ward", "to": 12}],
    )
    result = run_replication(s, 0)
    open_bed_days = 20 * 183 + 12 * (YEAR_DAYS - 183)  # 183 days from 1 April to 1 October
    assert kpi(result, "cost_inpatient_gbp") == pytest.approx(open_bed_days * COST_BED)
    assert ledger(result, "spend_inpatient_gbp") == pytest.approx(open_bed_days * COST_BED)
    assert kpi(result, "beds") == pytest.approx(open_bed_days / YEAR_DAYS)
    assert kpi(result, "occupancy_pct") == pytest.approx(100 * 10 * YEAR_DAYS / open_bed_days)
    assert kpi(result, "cost_one_off_gbp") == 50_000
    parts = sum(
        kpi(result, k)
        for k in ("cost_inpatient_gbp", "cost_ooa_gbp", "cost_community_gbp", "cost_one_off_gbp")
    )
    assert kpi(result, "cost_total_gbp") == pytest.approx(parts)


def test_the_ledger_and_the_cost_kpis_are_one_spend_to_the_last_bit():
    # Block and spot-purchased beds, out of area, a team whose places ramp up at odd
    # times and a one-off cost; Poisson arrivals so that no integral is a round number,
    # and a horizon ending part-way through a financial year.
    units = [
        {"name": "Block", "beds": 4, "cost_per_bed_day_gbp": 612.5, "funding": "block"},
        {"name": "Spot", "beds": 3, "cost_per_bed_day_gbp": 455.3},
    ]
    s = rule_scenario(
        one_off_costs=[{"date": "2027-05-17", "pathway": "adult_ed", "amount_gbp": 12_345.67}],
        ramp_up_days=45,
    )
    s = load_scenario_dict(
        {
            **s.model_dump(mode="json"),
            "horizon_years": 2.5,
            "units": [
                {**u, "pathway": "adult_ed", "service": "inpatient", "place": "Home"} for u in units
            ],
            "pathways": {
                "adult_ed": {
                    **s.pathways["adult_ed"].model_dump(mode="json"),
                    "arrivals": "poisson",
                    "max_wait_days": {"urgent": 3, "routine": 20},
                }
            },
        }
    )
    output = Model(s, 0).run()
    result = SimpleNamespace(kpis=kpi_rows(output), ledger=ledger_rows(output))
    cal = output.calendar
    years = cal.financial_year_list()
    assert years == ["2026/27", "2027/28", "2028/29"]
    assert sum(ledger(result, "places_added", year) for year in years) > 0
    parts = ("inpatient", "ooa", "community", "one_off", "total")
    for year in years:
        months = [i for i, fy in enumerate(cal.financial_years) if fy == year]
        spend = pathway_spend(s, output.spend_levels, "adult_ed", months, (year,))
        shared = (spend.inpatient, spend.out_of_area, spend.community, spend.one_off, spend.total)
        for part, value in zip(parts, shared, strict=True):
            # Exactly: both are the one spend function of the same monthly integrals.
            assert ledger(result, f"spend_{part}_gbp", year) == value, (year, part)
            assert kpi(result, f"cost_{part}_gbp", year) == value, (year, part)
    for part in ("inpatient", "ooa", "community"):
        assert ledger(result, f"spend_{part}_gbp", "2028/29") > 0, part
    assert output.unit_occupancy["Spot"].sum() > 0  # the spot-purchased beds were used
    assert ledger(result, "spend_one_off_gbp", "2027/28") == 12_345.67
    # The horizon is the same function over every month of the run.
    spend = pathway_spend(s, output.spend_levels, "adult_ed", range(cal.n_months), years)
    assert kpi(result, "cost_total_gbp") == spend.total
    assert kpi(result, "cost_one_off_gbp") == 12_345.67


def test_budget_from_a_comparator_is_its_spend_replication_by_replication(tmp_path):
    import yaml

    from simulation import load_scenario

    base = scenario(horizon_years=2).model_dump(mode="json")
    base["pathways"]["adult_ed"]["arrivals"] = "poisson"  # so replications differ
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (tmp_path / "alt.yaml").write_text(
        "extends: base.yaml\nname: alt\nseed: 999\n"
        "money: {budget_from: base.yaml}\n"
        "reinvestment:\n  - {pathway: adult_ed, share_of_savings: 1, teams: {Team: 1}}\n"
        "units:\n  - {name: Ward, beds: 8}\n"
    )
    alt = load_scenario(tmp_path / "alt.yaml")
    assert alt.budget_scenario is not None and alt.budget_scenario.name == "money"
    # A longer run than the comparator's still has a budget in every year.
    longer = run_replication(derive(alt, {"horizon_years": 3.0}), 0)
    assert not longer.ledger.query("item == 'budget_gbp'")["value"].isna().any()
    for replication in (0, 1):
        base_run = run_replication(
            derive(load_scenario(tmp_path / "base.yaml"), {"seed": 999}), replication
        )
        alt_run = run_replication(alt, replication)
        for year in ("2026/27", "2027/28"):
            assert ledger(alt_run, "budget_gbp", year) == pytest.approx(
                ledger(base_run, "spend_total_gbp", year)
            )
            assert ledger(alt_run, "savings_gbp", year) == pytest.approx(
                ledger(alt_run, "budget_gbp", year) - ledger(alt_run, "spend_total_gbp", year)
            )


def test_a_copy_made_past_the_loader_is_refused_budgets(tmp_path):
    """A copy with another seed made without ``derive`` would draw budgets from other
    patients: the budget scenario no longer shares its seed, and the run says so."""
    import yaml

    from simulation import load_scenario
    from simulation.model.model import comparator_budgets

    base = scenario().model_dump(mode="json")
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (tmp_path / "alt.yaml").write_text("extends: base.yaml\nmoney: {budget_from: base.yaml}\n")
    alt = load_scenario(tmp_path / "alt.yaml")
    assert comparator_budgets(derive(alt, {"seed": 5}), 0)
    with pytest.raises(ValueError, match="another seed"):
        comparator_budgets(alt.model_copy(update={"seed": 5}), 0)


def test_a_missing_budget_scenario_is_reported_with_its_line(tmp_path):
    import yaml

    from simulation import InputError, load_scenario

    base = scenario().model_dump(mode="json")
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (tmp_path / "alt.yaml").write_text("extends: base.yaml\nmoney:\n  budget_from: nowhere.yaml\n")
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "alt.yaml")
    [problem] = err.value.problems
    assert problem.file.endswith("alt.yaml") and problem.line == 3
    assert "nowhere.yaml" in problem.message


def test_step_down_routes_change_for_referrals_arriving_from_the_date():
    change_day = (dt.date(2026, 7, 1) - dt.date(2026, 4, 1)).days
    s = scenario(
        changes=[
            {
                "date": "2026-07-01",
                "set": "step_down",
                "pathway": "adult_ed",
                "service": "inpatient",
                "to": [{"to": "Team", "probability": 1.0}],
            }
        ]
    )
    output = Model(s, 0).run()
    left = [e for e in output.episodes if e.exit_day is not None]
    assert {e.exit_to for e in left if e.referral_day < change_day} == {"home"}
    assert {e.exit_to for e in left if e.referral_day >= change_day} == {"community"}
    assert {e.community_team for e in left if e.referral_day >= change_day} == {"Team"}


def test_a_dated_step_down_to_an_unknown_team_is_refused_with_its_field():
    from simulation import InputError

    with pytest.raises(InputError) as err:
        scenario(
            changes=[
                {
                    "date": "2026-07-01",
                    "set": "step_down",
                    "pathway": "adult_ed",
                    "service": "inpatient",
                    "to": [{"to": "Teem", "probability": 1.0}],
                }
            ]
        )
    [problem] = err.value.problems
    assert problem.field == "changes[0].to[0].to" and "Teem" in problem.message


def test_a_block_bed_closure_stops_spend_only_as_each_bed_empties():
    # Ten patients are in 20 block-paid beds when the unit is cut to 6 on day 91: the four
    # beds to close stay open, and paid for, until their patients leave.
    ward = {
        "name": "Ward",
        "pathway": "adult_ed",
        "service": "inpatient",
        "place": "Home",
        "beds": 20,
        "cost_per_bed_day_gbp": COST_BED,
        "funding": "block",
    }
    s = scenario(
        units=[ward], changes=[{"date": "2026-07-01", "set": "beds", "unit": "Ward", "to": 6}]
    )
    model = Model(s, 0)
    output = model.run()
    closure = 91.0  # 1 April to 1 July
    # Occupied beds as a step function, from the stays in the ward.
    times, steps = [], []
    for e in output.episodes:
        if e.admission_day is None or e.admitted_to != "Ward":
            continue
        times.append(max(e.admission_day, 0.0))
        steps.append(1)
        if e.exit_day is not None:
            times.append(e.exit_day)
            steps.append(-1)
    order = np.argsort(times, kind="stable")
    times, steps = np.asarray(times)[order], np.asarray(steps)[order]
    grid = np.concatenate([[closure], times[(times > closure) & (times < YEAR_DAYS)], [YEAR_DAYS]])
    open_days = 20 * closure
    for start, end in itertools.pairwise(grid):
        occupied = steps[times <= start].sum()
        open_days += max(6, occupied) * (end - start)
    assert open_days > 20 * closure + 6 * (YEAR_DAYS - closure) + 50  # the closure waited
    result = run_replication(s, 0)
    assert kpi(result, "cost_inpatient_gbp") == pytest.approx(open_days * COST_BED)
    assert ledger(result, "spend_inpatient_gbp") == pytest.approx(open_days * COST_BED)
    # Open beds never fall below the beds occupied: occupancy never passes 100%.
    monthly_open = output.unit_bed_days["Ward"]
    monthly_used = output.unit_occupancy["Ward"]
    assert np.all(monthly_used <= monthly_open + 1e-9)
    assert output.unit_beds["Ward"] == 6
