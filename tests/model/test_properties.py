"""The model's invariants over generated scenarios (hypothesis).

For every valid scenario the strategies in tests/strategies.py build (any number of
places, units and teams; any distribution within its bounds; zero, one and huge
capacities; extreme priority mixes; zero to very high demand; dated changes and
reinvestment), one replication must: complete; account for every referral in exactly
one state; never hold more patients in a unit than it has beds; record no negative wait,
stay or level; spend exactly bed days and places times their prices (the KPIs, and the
year-end ledger equal to them to the last bit); leave the scenario as it was; and give
the same results again from the same seed.

``make test`` runs the fast profile (a few dozen scenarios per property); the deep run
is ``HYPOTHESIS_PROFILE=deep pytest -m deep tests/model/test_properties.py`` (thousands).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulation
from simulation.core.distributions import Exponential, Gamma, LogNormal, Weibull
from simulation.experiment.experiment import ledger_rows
from simulation.model.model import Model, ModelOutput
from simulation.results.catalogue import ALL, HORIZON
from simulation.results.kpis import episodes_frame as events_frame
from simulation.results.kpis import kpi_rows, monthly_rows, referral_states
from simulation.scenario.schema import Scenario, SetBeds
from tests.builders import transition_scenario
from tests.model.test_conservation import STATES, bed_intervals, episode_timeline, own_states
from tests.strategies import scenarios

EPS = 1e-6


def load(data: dict[str, Any]) -> Scenario:
    return simulation.load_scenario_dict(data)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


# -- the invariants ------------------------------------------------------------------
def check_referrals_accounted_for(output: ModelOutput) -> None:
    referrals = [e.episode_id for e in output.episodes if e.source != "step_down"]
    states = referral_states(output)
    assert states.index.is_unique
    assert sorted(states.index) == sorted(referrals)
    assert set(states) <= STATES
    mine = own_states(output)  # asserts the states are exclusive, referral by referral
    assert states.to_dict() == mine
    counts = Counter(mine.values())
    end = output.end_state
    assert counts["waiting"] == sum(end["waiting"].values())
    assert counts["in_bed"] == sum(end["occupied"].values())
    assert counts["out_of_area"] == sum(end["out_of_area"].values())
    kpis = kpi_rows(output)
    horizon = kpis[(kpis["period"] == HORIZON) & (kpis["service"] == ALL) & (kpis["place"] == ALL)]
    referred_in_period = sum(
        e.source != "step_down" and 0 <= e.referral_day < output.scenario.horizon_days
        for e in output.episodes
    )
    assert horizon[horizon["kpi"] == "referrals"]["value"].sum() == referred_in_period


def most_beds(scenario: Scenario) -> dict[str, int]:
    most = {u.name: u.beds for u in scenario.units}
    for change in scenario.changes:
        if isinstance(change, SetBeds):
            most[change.unit] = max(most[change.unit], change.to)
    return most


def check_beds_never_over_occupied(output: ModelOutput) -> None:
    scenario = output.scenario
    most = most_beds(scenario)
    closed = {c.unit for c in scenario.changes if isinstance(c, SetBeds)}
    lengths = output.calendar.month_lengths()
    for unit in scenario.units:
        occupied = output.unit_occupancy[unit.name]
        assert np.all(occupied <= most[unit.name] * lengths + EPS), unit.name
        if unit.name not in closed:
            # Fixed beds: occupied bed days never exceed open bed days in any month.
            assert np.all(occupied <= output.unit_bed_days[unit.name] + EPS), unit.name
        assert 0 <= output.end_state["occupied"][unit.name] <= most[unit.name]
    moves: dict[str, list[tuple[float, int]]] = {}
    for unit_name, start, stop in bed_intervals(output):
        if unit_name != "out_of_area" and stop > start:
            moves.setdefault(unit_name, []).extend([(start, 1), (stop, -1)])
    for unit_name, events in moves.items():
        peak = int(np.max(np.cumsum([delta for _, delta in sorted(events)])))
        assert peak <= most[unit_name], unit_name


def check_nothing_negative(output: ModelOutput, kpis: pd.DataFrame) -> None:
    horizon = output.scenario.horizon_days
    start = -float(output.scenario.warmup_days)
    for e in output.episodes:
        seen = episode_timeline(e)
        assert seen == sorted(seen), e
        assert all(start - EPS <= t <= horizon + EPS for t in seen), e
        if e.withdrawn_day is not None:
            assert e.decision_day is not None and e.withdrawn_day >= e.decision_day, e
        if e.community_start_day is not None and e.community_end_day is not None:
            assert e.community_end_day >= e.community_start_day, e
        if e.distance_miles is not None:
            assert e.distance_miles >= 0, e
    levels = [
        *output.unit_occupancy.values(),
        *output.unit_bed_days.values(),
        *output.waiting.values(),
        *output.ooa_census.values(),
        *output.delayed.values(),
        *output.caseload.values(),
        *output.places.values(),
    ]
    for bins in levels:
        assert np.all(np.isfinite(bins)) and np.all(bins >= -EPS), bins
    values = kpis["value"].to_numpy()
    assert not np.any(np.isinf(values)), kpis[np.isinf(values)]
    defined = kpis[kpis["value"].notna()]
    negative = defined[(defined["value"] < -EPS) & (defined["kpi"] != "cost_one_off_gbp")]
    assert negative.empty, negative
    for kpi in ("wait_mean_days", "wait_p90_days", "los_mean_days", "occupancy_pct"):
        assert (defined[defined["kpi"] == kpi]["value"] >= 0).all(), kpi


def check_every_patient_in_a_unit_that_takes_them(output: ModelOutput) -> None:
    """From the event log: nobody is admitted or repatriated to a unit that would not take
    them, nor, under ``linked_units`` scope, to a unit not linked to their home place."""
    scenario = output.scenario
    units = {u.name: u for u in scenario.units}
    linked_only = scenario.bed_management.scope == "linked_units"
    events = events_frame(output)
    for row in events.itertuples():
        for unit_name in (row.admitted_to, row.repatriated_to):
            if not isinstance(unit_name, str) or unit_name == "out_of_area":
                continue
            unit = units[unit_name]
            assert unit.sex == "any" or not isinstance(row.sex, str) or unit.sex == row.sex, row
            if unit.streams and isinstance(row.stream, str):
                assert row.stream in unit.streams, row
            if linked_only and row.source != "step_down":
                assert row.home_place in unit.linked_places, row
    away = events[events["admitted_to"] == "out_of_area"]
    assert away["ooa_reason"].notna().all()
    assert (away["ooa_search_day"] <= away["admission_day"] + EPS).all()


def expected_spend(output: ModelOutput) -> dict[tuple[str, str, str], float]:
    """Spend by (pathway, kind, period) from bed days and places times their prices."""
    scenario = output.scenario
    years = output.calendar.financial_years
    periods = [*dict.fromkeys(years), HORIZON]
    spend = {
        (p, kind, period): 0.0
        for p in scenario.pathways
        for kind in ("cost_inpatient_gbp", "cost_ooa_gbp", "cost_community_gbp")
        for period in periods
    }

    def add(pathway: str, kind: str, bins: np.ndarray, price: float) -> None:
        for month, days in enumerate(bins):
            spend[(pathway, kind, years[month])] += days * price
            spend[(pathway, kind, HORIZON)] += days * price

    for unit in scenario.units:
        if unit.pathway not in scenario.pathways:
            continue
        block = unit.funding == "block"
        days = output.unit_bed_days[unit.name] if block else output.unit_occupancy[unit.name]
        add(unit.pathway, "cost_inpatient_gbp", days, unit.cost_per_bed_day_gbp)
    for (pathway, service), bins in output.ooa_census.items():
        price = scenario.pathways[pathway].services[service].out_of_area.cost_per_bed_day_gbp
        add(pathway, "cost_ooa_gbp", bins, price)
    for team in scenario.community_teams:
        price = team.cost_per_place_per_year_gbp / 365.25
        add(team.pathway, "cost_community_gbp", output.places[team.name], price)
    return spend


def check_spend(output: ModelOutput, kpis: pd.DataFrame) -> None:
    costs = kpis[kpis["kpi"].str.startswith("cost_") & (kpis["service"] == ALL)]
    got = {(r.pathway, r.kpi, r.period): r.value for r in costs.itertuples()}
    for (pathway, kind, period), value in expected_spend(output).items():
        assert math.isclose(got[(pathway, kind, period)], value, rel_tol=1e-9, abs_tol=1e-3), (
            pathway,
            kind,
            period,
        )
    for pathway in output.scenario.pathways:
        for period in {p for (pw, _, p) in got if pw == pathway}:
            parts = sum(
                got[(pathway, kind, period)]
                for kind in (
                    "cost_inpatient_gbp",
                    "cost_ooa_gbp",
                    "cost_community_gbp",
                    "cost_one_off_gbp",
                )
            )
            assert math.isclose(
                got[(pathway, "cost_total_gbp", period)], parts, rel_tol=1e-9, abs_tol=1e-3
            )
    # The year-end ledger is the same spend function: it agrees exactly, year by year.
    ledger = ledger_rows(output)
    for row in ledger[ledger["item"].str.startswith("spend_")].itertuples():
        kind = row.item.replace("spend_", "cost_", 1)
        assert row.value == got[(row.pathway, kind, row.financial_year)], row


# -- the properties ------------------------------------------------------------------
def keeps_every_invariant(data: dict[str, Any]) -> None:
    scenario = load(data)
    before = scenario.model_dump()
    output = Model(scenario, 0).run()
    kpis = kpi_rows(output)
    monthly_rows(output)
    check_referrals_accounted_for(output)
    check_beds_never_over_occupied(output)
    check_nothing_negative(output, kpis)
    check_spend(output, kpis)
    check_every_patient_in_a_unit_that_takes_them(output)
    assert scenario.model_dump() == before  # running a scenario leaves it as it was


def gives_the_same_results_again(data: dict[str, Any], replication: int) -> None:
    first = Model(load(data), replication).run()
    again = Model(load(data), replication).run()
    pd.testing.assert_frame_equal(kpi_rows(first), kpi_rows(again))
    pd.testing.assert_frame_equal(monthly_rows(first), monthly_rows(again))
    assert first.episodes == again.episodes


@given(scenarios())
def test_generated_scenarios_keep_every_invariant(data: dict[str, Any]) -> None:
    keeps_every_invariant(data)


@given(scenarios(), st.integers(0, 3))
def test_the_same_seed_gives_the_same_results(data: dict[str, Any], replication: int) -> None:
    gives_the_same_results_again(data, replication)


DAYS = st.floats(0.001, 1_000_000)
"""Every duration parameter the schema allows."""
ANY_DISTRIBUTION = st.one_of(
    st.builds(lambda m: Exponential(distribution="exponential", mean=m), DAYS),
    st.builds(lambda m, s: LogNormal(distribution="lognormal", mean=m, sd=s), DAYS, DAYS),
    st.tuples(DAYS, DAYS)
    .filter(lambda pair: pair[0] < pair[1])
    .map(lambda pair: LogNormal(distribution="lognormal", median=pair[0], p90=pair[1])),
    st.builds(lambda m, s: Gamma(distribution="gamma", mean=m, sd=s), DAYS, DAYS),
    st.builds(
        lambda k, s: Weibull(distribution="weibull", shape=k, scale=s), st.floats(0.01, 100), DAYS
    ),
)
PROBABILITIES = st.lists(
    st.one_of(st.sampled_from([0.0, 1e-300, 0.5, 1.0 - 2.0**-53]), st.floats(0.0, 1.0 - 2.0**-53)),
    min_size=1,
    max_size=6,
).map(np.array)


@given(ANY_DISTRIBUTION, PROBABILITIES)
def test_any_distribution_within_its_bounds_gives_durations(dist: Any, u: np.ndarray) -> None:
    """Never NaN nor negative, whatever the parameters (a NaN stay would corrupt the clock)."""
    with np.errstate(over="ignore"):
        days = dist.ppf(u)
        rest = dist.residual_days(np.array([0.0, 30.0, 1e7]), np.full(3, u[0]))
    assert not np.any(np.isnan(days)) and np.all(days >= 0), (dist, u, days)
    assert not np.any(np.isnan(rest)) and np.all(rest >= 0), (dist, rest)
    assert math.isfinite(dist.mean_days) and dist.mean_days > 0, dist


@settings(max_examples=8)
@given(scenarios())
def test_generated_scenarios_run_summarise_and_save(data: dict[str, Any]) -> None:
    """The whole tool's path: replications, summary with intervals, a results folder read back."""
    import tempfile

    from simulation.experiment.experiment import run_experiment
    from simulation.store.reader import RunFolder, read_results_folder
    from simulation.store.writer import write_results

    scenario = load(data)
    result = run_experiment(scenario, replications=2, workers=1)
    assert set(result.summary["kpi"]) == set(result.kpis["kpi"])
    with tempfile.TemporaryDirectory() as root:
        folder = write_results(result, root)
        saved = read_results_folder(folder)
        assert isinstance(saved, RunFolder)
        assert len(saved.kpis) == len(result.kpis)


@pytest.mark.deep
@given(scenarios(), st.integers(0, 3))
def test_deep_generated_scenarios(data: dict[str, Any], replication: int) -> None:
    """Both properties at once, for the deep profile's many examples (``pytest -m deep``)."""
    keeps_every_invariant(data)
    gives_the_same_results_again(data, replication)


@settings(max_examples=12)
@given(
    st.sampled_from(["transfer", "discharge"]),
    st.integers(0, 2**31),
    st.tuples(st.integers(0, 6), st.integers(0, 3)),
    st.floats(1.0, 400.0),
    st.sampled_from(["continuous", "weekly_panel"]),
    st.booleans(),
)
def test_young_people_moving_to_the_adult_pathway_keep_every_invariant(
    move: str,
    seed: int,
    adult_beds: tuple[int, int],
    camhs_mean_stay: float,
    allocation: str,
    by_stream: bool,
) -> None:
    """The moves at 18, in both ways, under any beds and stays: every invariant holds
    (every referral, the CAMHS one and the adult transfer, in exactly one state; no one
    in a unit that does not take them; money on the bed each is in)."""
    data = transition_scenario(
        move,
        seed=seed,
        adult_beds=adult_beds,
        camhs_stay={"distribution": "exponential", "mean": camhs_mean_stay},
        horizon_years=2.0,
        warmup_days=180.0,
    )
    data["bed_management"] = {"allocation": allocation}
    if by_stream:
        data["pathways"]["adult_secure"]["patient_mix"]["referrals"] = {
            "ld_autism": {"referral_rate_per_100k_per_year": {"low": 1.5}, "annual_growth": 0.2}
        }
    keeps_every_invariant(data)
