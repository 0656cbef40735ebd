"""Determinism and common random numbers.

A result depends only on (scenario, seed, replication): not on how many workers ran it,
in which order, or what else ran before. Two scenarios that differ only in capacity see
the same patients in each replication. Running a scenario never changes it.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

import simulation
from simulation.experiment.experiment import run_replication
from simulation.model.model import Model
from simulation.scenario.loading import derive
from simulation.scenario.schema import Scenario
from tests.builders import flow_scenario, mmc_scenario


def flow(**overrides: Any) -> Scenario:
    data = flow_scenario(horizon_years=2.0, warmup_days=365.0)
    data.update(overrides)
    return simulation.load_scenario_dict(data)


def baseline() -> Scenario:
    scenario = simulation.load_scenario("scenarios/baseline.yaml")
    return derive(scenario, {"horizon_years": 1.0, "warmup_days": 730.0})


def with_beds(scenario: Scenario, factor: float, minimum: int = 1) -> Scenario:
    """The same scenario with every unit's beds scaled (and nothing else changed)."""
    data = scenario.model_dump(mode="json")
    for unit in data["units"]:
        unit["beds"] = max(minimum, round(unit["beds"] * factor))
    return simulation.load_scenario_dict(data)


def test_same_seed_gives_identical_replications() -> None:
    scenario = flow()
    first = simulation.run_experiment(scenario, replications=3, workers=1)
    second = simulation.run_experiment(scenario, replications=3, workers=1)
    pd.testing.assert_frame_equal(first.kpis, second.kpis)
    pd.testing.assert_frame_equal(first.monthly, second.monthly)
    pd.testing.assert_frame_equal(first.summary, second.summary)
    # Guard: the replications differ from each other, and another seed changes them.
    kpis = first.kpis.set_index(["replication", "pathway", "service", "unit", "place", "period"])
    referrals = kpis[kpis["kpi"] == "referrals"]["value"]
    assert referrals.groupby(level="replication").sum().nunique() == 3
    reseeded = simulation.run_experiment(flow(seed=778), replications=3, workers=1)
    assert not first.kpis["value"].equals(reseeded.kpis["value"])


def test_workers_do_not_change_results() -> None:
    scenario = flow()
    serial = simulation.run_experiment(scenario, replications=4, workers=1, keep_events=True)
    parallel = simulation.run_experiment(scenario, replications=4, workers=2, keep_events=True)
    assert [r.replication for r in parallel.replications] == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(serial.kpis, parallel.kpis)
    pd.testing.assert_frame_equal(serial.monthly, parallel.monthly)
    assert serial.events is not None and parallel.events is not None
    pd.testing.assert_frame_equal(serial.events, parallel.events)
    for a, b in zip(serial.replications, parallel.replications, strict=True):
        assert a.end_state == b.end_state
        assert a.events_processed == b.events_processed


def test_a_replication_does_not_depend_on_what_ran_before() -> None:
    scenario = flow()
    batch = simulation.run_experiment(scenario, replications=3, workers=1)
    alone = run_replication(scenario, 2)
    pd.testing.assert_frame_equal(batch.replications[2].kpis, alone.kpis)
    assert batch.replications[2].end_state == alone.end_state


def new_referrals(scenario: Scenario, replication: int) -> pd.DataFrame:
    """What arrives from outside in one replication: the patients, not what happens to them."""
    output = Model(scenario, replication).run()
    rows = [
        {
            "patient_id": e.patient_id,
            "pathway": e.pathway,
            "service": e.service,
            "referral_day": e.referral_day,
            "home_place": e.home_place,
            "priority": e.priority,
            "decision_day": e.decision_day,
            "not_accepted": e.decision == "not_accepted",
            "clinical_stay": None
            if e.ready_day is None or e.admission_day is None
            else e.ready_day - e.admission_day,
        }
        for e in output.episodes
        if e.source == "new"
    ]
    return pd.DataFrame(rows).set_index("patient_id").sort_index()


@pytest.mark.parametrize("make", [flow, baseline], ids=["flow", "baseline"])
def test_scenarios_differing_only_in_beds_see_the_same_patients(make: Any) -> None:
    tight = make()
    roomy = with_beds(tight, 2.0)
    for replication in range(2):
        a = new_referrals(tight, replication)
        b = new_referrals(roomy, replication)
        arrivals = ["pathway", "service", "referral_day", "home_place", "priority"]
        assert len(a) > 50
        pd.testing.assert_frame_equal(a[arrivals], b[arrivals])
        # Assessment is drawn with the patient too: same delay, same decision to accept.
        pd.testing.assert_frame_equal(
            a[["decision_day", "not_accepted"]], b[["decision_day", "not_accepted"]]
        )
        # Patients admitted in both scenarios have the same clinical length of stay,
        # however long each waited.
        both = a["clinical_stay"].notna() & b["clinical_stay"].notna()
        assert both.sum() > 20
        pd.testing.assert_series_equal(a.loc[both, "clinical_stay"], b.loc[both, "clinical_stay"])


def test_more_beds_change_what_happens_to_the_patients() -> None:
    # Guard for the test above: the capacity change must matter, or it proves nothing.
    tight, roomy = flow(), with_beds(flow(), 2.0)
    waits = []
    for scenario in (tight, roomy):
        kpis = simulation.run_experiment(scenario, replications=1, workers=1).kpis
        rows = kpis[
            (kpis["kpi"] == "wait_mean_days")
            & (kpis["period"] == "horizon")
            & (kpis["service"] == "all")
            & (kpis["place"] == "all")
        ]
        waits.append(float(rows["value"].iloc[0]))
    assert waits[1] < 0.5 * waits[0]


@pytest.mark.parametrize(
    "make",
    [
        flow,
        baseline,
        lambda: simulation.load_scenario_dict(mmc_scenario(horizon_years=1, warmup_days=30)),
        lambda: simulation.load_scenario_dict(
            {
                **flow_scenario(horizon_years=2.0),
                "changes": [
                    {"date": "2026-10-01", "set": "beds", "unit": "North Medium", "to": 2},
                    {"date": "2026-11-01", "set": "places", "team": "Forensic Team", "to": 12},
                    {
                        "date": "2027-01-01",
                        "set": "length_of_stay_factor",
                        "pathway": "adult_secure",
                        "service": "medium",
                        "to": 0.8,
                    },
                    {
                        "date": "2027-02-01",
                        "set": "max_wait_days",
                        "pathway": "adult_secure",
                        "priority": "routine",
                        "to": 5,
                    },
                    {
                        "date": "2027-03-01",
                        "set": "diversion_share",
                        "pathway": "adult_secure",
                        "to": 0.5,
                    },
                ],
            }
        ),
    ],
    ids=["flow", "baseline", "mmc", "flow_with_changes"],
)
def test_running_a_scenario_does_not_change_it(make: Any) -> None:
    scenario = make()
    before = copy.deepcopy(scenario.model_dump())
    Model(scenario, 0).run()
    simulation.run_experiment(scenario, replications=2, workers=1)
    assert scenario.model_dump() == before
    # And a second run of the same object gives the same result as a fresh load.
    again = simulation.run_experiment(scenario, replications=1, workers=1).kpis
    fresh = simulation.run_experiment(make(), replications=1, workers=1).kpis
    pd.testing.assert_frame_equal(again, fresh)
