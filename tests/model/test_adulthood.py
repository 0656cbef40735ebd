"""Turning 18 in a CAMHS bed: moving to the adult pathway's rules, counted.

A CAMHS pathway that names the scenario's adult secure pathway moves its young people
who turn 18 in a bed there. Under ``transfer`` they are referred to adult low secure on
their birthday (source ``transfer_at_18``), wait for an adult bed that takes them while
keeping the CAMHS bed, and have the rest of their stay, step-down and readmission as
adults; under ``discharge`` they stay until ready and leave by the adult routes. They
keep their sex and (where the adult mix has it) their stream; the adult pathway's own
referrals are untouched; and without the setting they leave the model as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import simulation
from tests.builders import transition_scenario

EPS = 1e-9


def events(data: dict[str, Any], replication: int = 0) -> pd.DataFrame:
    scenario = simulation.load_scenario_dict(data)
    log = simulation.run_replication(scenario, replication, keep_events=True).events
    assert log is not None
    return log


def moved_pairs(log: pd.DataFrame) -> pd.DataFrame:
    """Each CAMHS stay that ended with a move, beside the patient's transfer referral."""
    camhs = log[(log["pathway"] == "camhs_t4") & log["adult_services_day"].notna()]
    transfers = log[log["source"] == "transfer_at_18"]
    return camhs.merge(transfers, on="patient_id", suffixes=("", "_adult"))


def test_a_transfer_is_an_adult_referral_on_the_birthday_in_a_unit_that_takes_them() -> None:
    log = events(transition_scenario("transfer"))
    transfers = log[log["source"] == "transfer_at_18"]
    assert len(transfers) > 15
    assert (transfers["pathway"] == "adult_secure").all()
    assert (transfers["service"] == "low").all()
    assert transfers["age_band"].isna().all()  # no age band as an adult
    pairs = moved_pairs(log)
    assert len(pairs) == transfers["admission_day"].notna().sum()  # every move is a transfer
    # Referred on the day the CAMHS bed became a delayed discharge; left it for the adult
    # bed at the moment of admission; the same person.
    assert np.allclose(pairs["referral_day_adult"], pairs["ready_day"])
    assert np.allclose(pairs["exit_day"], pairs["admission_day_adult"])
    assert (pairs["exit_to"] == "home").all()  # out of the CAMHS pathway, not its team
    assert (pairs["sex"] == pairs["sex_adult"]).all()
    assert (pairs["age_band"] == "aged_17").all()
    # Adult units are single-sex: every transfer admitted in area is in a unit for its sex.
    in_area = transfers[transfers["admitted_to"].isin(["Adult Men", "Adult Women"])]
    assert len(in_area) > 10
    expected = in_area["sex"].map({"male": "Adult Men", "female": "Adult Women"})
    assert (in_area["admitted_to"] == expected).all()


def test_a_transfer_has_the_rest_of_the_stay_in_the_adult_bed() -> None:
    data = transition_scenario("transfer", camhs_stay={"distribution": "fixed", "value": 200})
    data["pathways"]["adult_secure"]["readmission"] = {"probability": 0.0}
    pairs = moved_pairs(events(data))
    pairs = pairs[pairs["ready_day_adult"].notna() & (pairs["admitted_to_adult"] != "out_of_area")]
    assert len(pairs) > 10
    before = pairs["ready_day"] - pairs["admission_day"]  # admission to the birthday
    after = pairs["ready_day_adult"] - pairs["admission_day_adult"]
    np.testing.assert_allclose(before + after, 200.0, atol=1e-6)
    # Then the adult route: the adult community team, not the CAMHS one.
    done = pairs[pairs["exit_day_adult"].notna()]
    assert len(done) > 5 and (done["community_team_adult"] == "Adult Team").all()


def test_waiting_for_an_adult_bed_is_a_camhs_delayed_discharge_under_adult_rules() -> None:
    # No women's adult unit: a woman transferred is placed out of area at once; a man
    # waits in his CAMHS bed at most the adult maximum wait (30 days routine, 7 urgent).
    data = transition_scenario("transfer", adult_beds=(5, 0))
    data["units"] = [u for u in data["units"] if u["name"] != "Adult Women"]
    log = events(data)
    pairs = moved_pairs(log)
    women = pairs[pairs["sex"] == "female"]
    assert len(women) > 5
    assert (women["admitted_to_adult"] == "out_of_area").all()
    assert (women["ooa_reason_adult"] == "no_compatible_unit").all()
    assert np.allclose(women["exit_day"], women["ready_day"])  # no unit: placed at once
    men = pairs[pairs["sex"] == "male"]
    waited = men["admission_day_adult"] - men["referral_day_adult"]
    assert (waited > EPS).any()  # some men wait for an adult bed, in their CAMHS bed
    limit = np.where(men["priority_adult"] == "urgent", 7.0, 30.0)
    assert (waited <= limit + EPS).all()
    delayed = men["exit_day"] - men["ready_day"]
    np.testing.assert_allclose(delayed, waited, atol=1e-9)


def test_a_discharge_leaves_by_the_adult_routes_and_is_readmitted_as_an_adult() -> None:
    data = transition_scenario("discharge")
    data["pathways"]["adult_secure"]["readmission"] = {"probability": 1.0, "window_days": 200}
    log = events(data)
    camhs = log[(log["pathway"] == "camhs_t4") & log["exit_day"].notna()]
    moved = camhs[camhs["adult_services_day"].notna()]
    stayed = camhs[camhs["adult_services_day"].isna()]
    assert len(moved) > 15 and len(stayed) > 50
    assert (log["source"] != "transfer_at_18").all()
    # They stayed until ready, then took the adult low secure route (all to the adult team).
    assert np.allclose(moved["adult_services_day"], moved["exit_day"])
    assert (moved["community_team"] == "Adult Team").all()
    assert set(stayed["community_team"].dropna()) == {"CAMHS Team"}
    # Readmitted (probability 1) to the adult pathway, the same person with no age band.
    again = log[(log["source"] == "readmission") & log["patient_id"].isin(moved["patient_id"])]
    assert len(again) > 5
    assert (again["pathway"] == "adult_secure").all()
    assert again["age_band"].isna().all()
    sex = moved.set_index("patient_id")["sex"]
    assert (again["sex"].to_numpy() == sex.loc[again["patient_id"]].to_numpy()).all()


def test_a_discharge_to_an_adult_bed_is_a_step_down_into_the_adult_pathway() -> None:
    data = transition_scenario("discharge")
    adult = data["pathways"]["adult_secure"]["services"]
    adult["medium"] = {
        "referral_rate_per_100k_per_year": 0.0,
        "length_of_stay": {"distribution": "fixed", "value": 50},
        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 100},
        "step_down": [{"to": "low", "probability": 1.0}],
    }
    data["pathways"]["camhs_t4"]["patient_mix"]["adult_pathway"]["services"] = {
        "general_adolescent": "medium"
    }
    log = events(data)
    moved = log[(log["pathway"] == "camhs_t4") & log["adult_services_day"].notna()]
    assert len(moved) > 10
    assert (moved["exit_to"] == "step_down_bed").all()
    assert (moved["step_down_to"] == "low").all()
    stepped = log[(log["source"] == "step_down") & log["referral_id"].isin(moved["referral_id"])]
    assert (stepped["pathway"] == "adult_secure").all() and (stepped["service"] == "low").all()
    admitted = stepped[stepped["admission_day"].notna()]
    assert len(admitted) > 5
    joined = admitted.merge(moved, on="referral_id", suffixes=("", "_camhs"))
    assert np.allclose(joined["admission_day"], joined["exit_day_camhs"])


def test_streams_are_kept_where_the_adult_mix_has_them() -> None:
    log = events(transition_scenario("transfer"), replication=1)
    pairs = moved_pairs(log)
    mental = pairs[pairs["stream"] == "mental_illness"]
    eating = pairs[pairs["stream"] == "eating_disorder"]
    assert len(mental) > 5 and len(eating) > 1
    assert (mental["stream_adult"] == "mental_illness").all()
    assert eating["stream_adult"].isin(["mental_illness", "ld_autism"]).all()


@pytest.mark.parametrize("move", ["transfer", "discharge"])
def test_the_adult_pathways_own_referrals_are_untouched(move: str) -> None:
    def adult_new(data: dict[str, Any]) -> pd.DataFrame:
        log = events(data)
        new = log[(log["pathway"] == "adult_secure") & (log["source"] == "new")]
        return new[["referral_day", "priority", "sex", "stream"]].reset_index(drop=True)

    pd.testing.assert_frame_equal(
        adult_new(transition_scenario(None)), adult_new(transition_scenario(move))
    )


def test_without_an_adult_pathway_they_leave_the_model_as_before() -> None:
    log = events(transition_scenario(None))
    moved = log[log["adult_services_day"].notna()]
    assert len(moved) > 15
    assert (moved["exit_to"] == "home").all()
    assert (log["source"] != "transfer_at_18").all()
    assert moved["pathway"].eq("camhs_t4").all()


def test_the_kpis_count_the_moves_on_both_sides() -> None:
    scenario = simulation.load_scenario_dict(transition_scenario("transfer"))
    result = simulation.run_replication(scenario, 0, keep_events=True)
    log = result.events
    assert log is not None
    kpis = result.kpis
    rows = kpis[
        (kpis["period"] == "horizon")
        & (kpis["service"] == "all")
        & (kpis["unit"] == "all")
        & (kpis["place"] == "all")
    ].set_index(["pathway", "kpi"])["value"]
    reported = log[(log["referral_day"] >= 0)]
    transfers = reported[reported["source"] == "transfer_at_18"]
    assert rows[("adult_secure", "transfers_at_18")] == len(transfers) > 0
    left = log[(log["adult_services_day"] >= 0) & (log["pathway"] == "camhs_t4")]
    assert rows[("camhs_t4", "left_for_adult_services")] == len(left)
    adult = reported[(reported["pathway"] == "adult_secure") & (reported["source"] != "step_down")]
    assert rows[("adult_secure", "referrals")] == len(adult)  # transfers are its referrals
    plain = simulation.run_replication(simulation.load_scenario_dict(transition_scenario(None)), 0)
    assert "transfers_at_18" not in set(plain.kpis["kpi"])
