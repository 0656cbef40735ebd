"""Extreme values: the model runs and says the obvious thing at the edges.

No referrals at all; capacity so large nobody waits; a single bed; no beds, with and
without a waiting list; a community team with no places.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simulation
from simulation.model.model import Model, ModelOutput
from simulation.model.resources import OUT_OF_AREA
from simulation.scenario.schema import Scenario
from tests.builders import PATHWAY, UNIT, flow_scenario, mmc_scenario


def horizon(kpis: pd.DataFrame, kpi: str, **dims: str) -> np.ndarray:
    """Values of a whole-horizon KPI (one per replication) at the given dimensions."""
    rows = kpis[(kpis["kpi"] == kpi) & (kpis["period"] == "horizon")]
    for dim in ("pathway", "service", "unit", "place"):
        rows = rows[rows[dim] == dims.get(dim, "all")]
    assert len(rows) > 0, f"no {kpi} rows at {dims}"  # never pass on an empty selection
    return rows["value"].to_numpy(dtype=float)


def all_rows(kpis: pd.DataFrame, kpi: str, allow_empty: bool = False) -> np.ndarray:
    values = kpis.loc[kpis["kpi"] == kpi, "value"].to_numpy(dtype=float)
    assert allow_empty or len(values) > 0, f"no {kpi} rows"
    return values


def baseline_data() -> dict[str, Any]:
    data = simulation.load_scenario("scenarios/baseline.yaml").model_dump(mode="json")
    # Started empty (no census): these are the extremes of an empty collaborative.
    data.update(horizon_years=1.0, warmup_days=365.0, census=None)
    return data


# -- no referrals -----------------------------------------------------------------------
def no_referrals_mmc() -> Scenario:
    return simulation.load_scenario_dict(mmc_scenario(arrivals_per_day=0.0))


def no_referrals_baseline() -> Scenario:
    data = baseline_data()
    for pathway in data["pathways"].values():
        for service in pathway["services"].values():
            service["referral_rate_per_100k_per_year"] = 0.0
    return simulation.load_scenario_dict(data)


@pytest.mark.parametrize("make", [no_referrals_mmc, no_referrals_baseline], ids=["mmc", "baseline"])
def test_no_referrals_runs_and_reports_zero(make: Any) -> None:
    scenario = make()
    output = Model(scenario, 0).run()
    assert output.episodes == []
    result = simulation.run_experiment(scenario, replications=2, workers=1)
    kpis = result.kpis
    for kpi in (
        "referrals",
        "admissions",
        "ooa_admissions",
        "diversions",
        "bed_days",
        "ooa_bed_days",
        "occupied_beds_mean",
        "waiting_list_mean",
        "delayed_discharge_days",
        "cost_ooa_gbp",
    ):
        values = all_rows(kpis, kpi)  # present: a count must be reported as zero
        assert (values == 0).all(), kpi
    # Empty beds cost nothing when paid per bed day used, but a block contract pays for
    # every open bed: the horizon's in-area spend is exactly the block-funded beds' cost.
    days = scenario.horizon_days
    block_cost = {
        pathway: sum(
            u.beds * u.cost_per_bed_day_gbp * days
            for u in scenario.units
            if u.pathway == pathway and u.funding == "block"
        )
        for pathway in scenario.pathways
    }
    for pathway, expected in block_cost.items():
        spent = horizon(kpis, "cost_inpatient_gbp", pathway=pathway)
        np.testing.assert_allclose(spent, expected, rtol=1e-9)
    # Every pathway reports its zero, per year and for the whole horizon.
    for pathway in scenario.pathways:
        assert (horizon(kpis, "referrals", pathway=pathway) == 0).all()
        assert len(horizon(kpis, "referrals", pathway=pathway)) == 2
    # A mean over no admissions is undefined (absent or NaN), never a made-up zero.
    assert np.isnan(all_rows(kpis, "wait_mean_days", allow_empty=True)).all()
    summary = result.summary
    assert (summary.loc[summary["kpi"] == "referrals", "mean"] == 0).all()


# -- capacity -----------------------------------------------------------------------------
def test_huge_capacity_means_no_waits_and_no_out_of_area() -> None:
    # max_wait 0 would send anyone who found no bed out of area at once: nobody does.
    scenario = simulation.load_scenario_dict(mmc_scenario(beds=100_000, max_wait_days=0))
    kpis = simulation.run_experiment(scenario, replications=2, workers=1).kpis
    referrals = horizon(kpis, "referrals", pathway=PATHWAY)
    assert (referrals > 1000).all()
    np.testing.assert_array_equal(horizon(kpis, "admissions", pathway=PATHWAY), referrals)
    assert (horizon(kpis, "ooa_admissions", pathway=PATHWAY) == 0).all()
    assert (horizon(kpis, "wait_mean_days", pathway=PATHWAY) == 0).all()
    assert (horizon(kpis, "waited_pct", pathway=PATHWAY) == 0).all()
    assert (horizon(kpis, "waiting_list_mean", pathway=PATHWAY) == 0).all()


def test_huge_capacity_everywhere_in_a_full_pathway() -> None:
    data = flow_scenario(horizon_years=2.0)
    for unit in data["units"]:
        unit["beds"] = 10_000
    for team in data["community_teams"]:
        team["places"] = 10_000
    scenario = simulation.load_scenario_dict(data)
    kpis = simulation.run_experiment(scenario, replications=2, workers=1).kpis
    assert (horizon(kpis, "admissions", pathway="adult_secure") > 50).all()
    assert (horizon(kpis, "step_downs", pathway="adult_secure") > 10).all()
    for kpi in ("ooa_admissions", "withdrawn", "wait_mean_days", "delayed_discharge_days"):
        assert (horizon(kpis, kpi, pathway="adult_secure") == 0).all(), kpi
    # The team always has room, so the referrals drawn for diversion are diverted.
    assert (horizon(kpis, "diversions", pathway="adult_secure") > 0).all()


def bed_intervals(output: ModelOutput, unit: str) -> list[tuple[float, float]]:
    out = []
    for e in output.episodes:
        if e.admission_day is None:
            continue
        stop = e.exit_day if e.exit_day is not None else output.scenario.horizon_days
        if e.admitted_to == unit:
            out.append((e.admission_day, stop))
        elif e.repatriated_to == unit:
            assert e.repatriation_day is not None
            out.append((e.repatriation_day, stop))
    return sorted(out)


def test_one_bed_holds_one_patient_at_a_time_first_come_first_served() -> None:
    scenario = simulation.load_scenario_dict(
        mmc_scenario(beds=1, arrivals_per_day=0.5, mean_stay_days=1.0, horizon_years=5.0)
    )
    output = Model(scenario, 0).run()
    stays = bed_intervals(output, UNIT)
    assert len(stays) > 500
    for (_, exit_day), (admission, _) in itertools.pairwise(stays):
        assert admission >= exit_day  # the next patient comes in after the last one left
    admitted = sorted(
        (e for e in output.episodes if e.admission_day is not None), key=lambda e: e.episode_id
    )
    admissions = [e.admission_day for e in admitted]
    assert admissions == sorted(admissions)  # in order of referral
    assert any(e.admission_day > e.referral_day for e in admitted)  # some did wait
    kpis = simulation.run_experiment(scenario, replications=1, workers=1).kpis
    occupied = horizon(kpis, "occupied_beds_mean", pathway="adult_ed", service="inpatient")
    assert 0 < occupied[0] <= 1
    assert output.end_state["occupied"][UNIT] <= 1


def test_one_bed_loss_system_admits_only_to_an_empty_bed() -> None:
    scenario = simulation.load_scenario_dict(
        mmc_scenario(
            beds=1,
            arrivals_per_day=0.5,
            mean_stay_days=1.0,
            max_wait_days=0,
            repatriation=False,
            horizon_years=5.0,
        )
    )
    output = Model(scenario, 0).run()
    stays = bed_intervals(output, UNIT)
    away = [e.admission_day for e in output.episodes if e.admitted_to == OUT_OF_AREA]
    assert len(stays) > 300 and len(away) > 100
    for (_, exit_day), (admission, _) in itertools.pairwise(stays):
        assert admission >= exit_day
    # Everyone sent out of area found the bed taken (strictly inside someone's stay).
    starts = np.array([s for s, _ in stays])
    stops = np.array([s for _, s in stays])
    for day in away:
        assert day is not None
        holder = np.searchsorted(starts, day, side="right") - 1
        assert holder >= 0 and starts[holder] <= day < stops[holder]


def test_zero_beds_with_max_wait_zero_sends_everyone_out_of_area() -> None:
    scenario = simulation.load_scenario_dict(mmc_scenario(beds=0, max_wait_days=0))
    result = simulation.run_experiment(scenario, replications=2, workers=1)
    kpis = result.kpis
    referrals = horizon(kpis, "referrals", pathway=PATHWAY)
    assert (referrals > 1000).all()
    np.testing.assert_array_equal(horizon(kpis, "ooa_admissions", pathway=PATHWAY), referrals)
    np.testing.assert_array_equal(horizon(kpis, "admissions", pathway=PATHWAY), referrals)
    assert (all_rows(kpis, "ooa_admission_pct") == 100).all()
    assert (horizon(kpis, "wait_mean_days", pathway=PATHWAY) == 0).all()
    for kpi in ("bed_days", "occupied_beds_mean", "repatriations", "waiting_list_mean"):
        assert (all_rows(kpis, kpi) == 0).all(), kpi
    assert (horizon(kpis, "ooa_bed_days", pathway=PATHWAY) > 0).all()
    for replication in result.replications:
        assert replication.end_state["occupied"] == {UNIT: 0}
        assert sum(replication.end_state["out_of_area"].values()) > 0


def test_zero_beds_and_no_max_wait_leaves_everyone_waiting() -> None:
    scenario = simulation.load_scenario_dict(
        mmc_scenario(beds=0, max_wait_days=None, horizon_years=1.0, warmup_days=100.0)
    )
    output = Model(scenario, 0).run()
    # Everyone referred since the warm-up began is still on the list.
    assert len(output.episodes) > 300
    assert sum(output.end_state["waiting"].values()) == len(output.episodes)
    assert all(e.admission_day is None for e in output.episodes)
    kpis = simulation.run_experiment(scenario, replications=1, workers=1).kpis
    assert horizon(kpis, "admissions", pathway=PATHWAY)[0] == 0
    # The list grows through the year: on average it holds the warm-up's referrals plus
    # half a year's.
    mean_list = horizon(kpis, "waiting_list_mean", pathway="adult_ed", service="inpatient")[0]
    first_day = sum(e.referral_day < 0 for e in output.episodes)
    assert first_day < mean_list < len(output.episodes)


def test_a_team_with_no_places_takes_nobody() -> None:
    data = flow_scenario(horizon_years=2.0)
    data["community_teams"][0]["places"] = 0
    scenario = simulation.load_scenario_dict(data)
    output = Model(scenario, 0).run()
    assert not any(e.decision == "diverted" for e in output.episodes)
    assert not any(e.community_start_day is not None for e in output.episodes)
    # Low secure patients routed to the team stay in their beds as delayed discharges.
    stuck = [e for e in output.episodes if e.ready_day is not None and e.exit_day is None]
    assert len(stuck) > 0
    waiting_for_a_bed = sum(
        e.source == "step_down" and e.admission_day is None for e in output.episodes
    )
    team = output.end_state["teams"]["Forensic Team"]
    assert team == {"in_use": 0, "queue": len(stuck) - waiting_for_a_bed, "capacity": 0}
    assert team["queue"] > 0
