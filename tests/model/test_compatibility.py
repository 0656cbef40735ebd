"""Beds that are not interchangeable: whom a unit takes, the scope of bed management,
staffed beds and occupancy ceilings, and placement between panels.

Small scenarios built on the M/M/c builder, with a patient mix by sex. Splitting one
pool of beds into a men's and a women's unit must give more waits and more out-of-area
placements, and each half alone must still be the textbook M/M/c (Erlang C) or M/M/c/c
(Erlang B) queue; a patient whom no unit takes goes out of area at once, for that
reason; writing the defaults out changes nothing; and a ward that changes whom it takes
changes where patients go, never who they are (common random numbers).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simulation
from simulation.theory.queueing import erlang_b, erlang_c, mmc_mean_wait
from tests.builders import PATHWAY, PLACE, UNIT, mmc_scenario
from tests.model.test_queueing import assert_agrees

WORKERS = min(2, os.cpu_count() or 1)
REPLICATIONS = 20
BEDS = 10
ARRIVALS_PER_DAY = 0.8
MEAN_STAY = 10.0
HALF = BEDS // 2


def with_mix(data: dict[str, Any], female: float = 0.5) -> dict[str, Any]:
    """The scenario with a patient mix by sex."""
    data = copy.deepcopy(data)
    data["pathways"][PATHWAY]["patient_mix"] = {"sex": {"male": 1 - female, "female": female}}
    return data


def split_by_sex(data: dict[str, Any], men: int = HALF, women: int = HALF) -> dict[str, Any]:
    """The scenario's one unit split into a men's unit and a women's unit."""
    data = with_mix(data)
    unit = data["units"][0]
    data["units"] = [
        {**unit, "name": "Men", "beds": men, "sex": "male"},
        {**unit, "name": "Women", "beds": women, "sex": "female"},
    ]
    return data


def horizon(kpis: pd.DataFrame, kpi: str) -> np.ndarray:
    """One value per replication: the pathway's whole-horizon KPI."""
    rows = kpis[
        (kpis["kpi"] == kpi)
        & (kpis["pathway"] == PATHWAY)
        & (kpis["service"] == "all")
        & (kpis["unit"] == "all")
        & (kpis["place"] == "all")
        & (kpis["period"] == "horizon")
    ].sort_values("replication")
    return rows["value"].to_numpy(dtype=float)


def run(data: dict[str, Any], replications: int = REPLICATIONS) -> pd.DataFrame:
    scenario = simulation.load_scenario_dict(data)
    return simulation.run_experiment(scenario, replications=replications, workers=WORKERS).kpis


def events(data: dict[str, Any], replication: int = 0) -> pd.DataFrame:
    scenario = simulation.load_scenario_dict(data)
    events = simulation.run_replication(scenario, replication, keep_events=True).events
    assert events is not None
    return events


# -- pooled against split ------------------------------------------------------------
def delay_system(seed: int) -> dict[str, Any]:
    return mmc_scenario(
        beds=BEDS,
        arrivals_per_day=ARRIVALS_PER_DAY,
        mean_stay_days=MEAN_STAY,
        max_wait_days=None,
        horizon_years=20.0,
        warmup_days=365.0,
        seed=seed,
    )


def loss_system(seed: int) -> dict[str, Any]:
    return mmc_scenario(
        beds=BEDS,
        arrivals_per_day=ARRIVALS_PER_DAY,
        mean_stay_days=MEAN_STAY,
        max_wait_days=0,
        repatriation=False,
        horizon_years=10.0,
        warmup_days=365.0,
        seed=seed,
    )


@pytest.mark.slow
def test_split_pools_wait_longer_and_each_half_is_erlang_c() -> None:
    pooled = run(with_mix(delay_system(31)))
    split = run(split_by_sex(delay_system(31)))
    # The pooled system is M/M/10 at load 8; each half is M/M/5 at load 4, with half of
    # the (Poisson) referrals: the same utilisation, but more waiting.
    assert_agrees(horizon(pooled, "waited_pct"), 100 * erlang_c(BEDS, 8.0), max_half_width=3.0)
    assert_agrees(horizon(split, "waited_pct"), 100 * erlang_c(HALF, 4.0), max_half_width=3.5)
    half_wait = mmc_mean_wait(HALF, ARRIVALS_PER_DAY / 2, MEAN_STAY)  # 5.5 days, against 2.0
    for sex in ("female", "male"):
        assert_agrees(horizon(split, f"wait_mean_days_{sex}"), half_wait, max_half_width=1.5)
    assert horizon(split, "wait_mean_days").mean() > 2 * horizon(pooled, "wait_mean_days").mean()


@pytest.mark.slow
def test_split_pools_send_more_out_of_area_and_each_half_is_erlang_b() -> None:
    pooled = run(with_mix(loss_system(32)))
    split = run(split_by_sex(loss_system(32)))
    assert_agrees(
        horizon(pooled, "ooa_admission_pct"), 100 * erlang_b(BEDS, 8.0), max_half_width=1.5
    )
    # Both halves are M/M/5/5 at load 4, so the whole loses Erlang B(5, 4) = 19.9%.
    assert_agrees(
        horizon(split, "ooa_admission_pct"), 100 * erlang_b(HALF, 4.0), max_half_width=2.0
    )
    # Every out-of-area admission has one reason; in the split system some were sent
    # away while the other sex's unit had a free bed.
    reasons = sum(
        horizon(split, f"ooa_{r}")
        for r in ("no_compatible_unit", "compatible_units_full", "max_wait_passed")
    )
    np.testing.assert_array_equal(reasons, horizon(split, "ooa_admissions"))
    assert (horizon(split, "ooa_compatible_units_full") > 0).all()
    assert (horizon(pooled, "ooa_compatible_units_full") == 0).all()


# -- a patient whom no unit takes ------------------------------------------------------
def test_a_stream_with_no_compatible_unit_goes_out_of_area_at_once() -> None:
    data = with_mix(mmc_scenario(beds=30, arrivals_per_day=0.5, horizon_years=2.0), female=0.2)
    data["units"][0]["sex"] = "male"
    data["pathways"][PATHWAY]["max_wait_days"] = {"urgent": 60, "routine": 60}
    log = events(data)
    admitted = log[log["admission_day"].notna() & (log["admission_day"] >= 0)]
    women, men = admitted[admitted["sex"] == "female"], admitted[admitted["sex"] == "male"]
    assert len(women) > 20 and len(men) > 100
    assert (women["admitted_to"] == "out_of_area").all()
    assert (women["ooa_reason"] == "no_compatible_unit").all()
    assert (women["admission_day"] == women["decision_day"]).all()  # no pointless wait
    assert (men["admitted_to"] == UNIT).all()  # 30 beds for a load of 4: never full


def test_linked_units_scope_places_only_in_units_linked_to_home() -> None:
    data = mmc_scenario(beds=30, arrivals_per_day=0.5, horizon_years=1.0)
    data["places"].append({"name": "Away", "population": data["places"][0]["population"]})
    footprint = events(data)
    assert (footprint[footprint["home_place"] == "Away"]["admitted_to"] == UNIT).all()
    data["bed_management"]["scope"] = "linked_units"
    linked = events(data)
    away = linked[(linked["home_place"] == "Away") & linked["admission_day"].notna()]
    home = linked[(linked["home_place"] == PLACE) & linked["admission_day"].notna()]
    assert len(away) > 50
    assert (away["admitted_to"] == "out_of_area").all()
    assert (away["ooa_reason"] == "no_compatible_unit").all()
    assert (home["admitted_to"] == UNIT).all()


# -- the feature costs nothing until used; common random numbers -------------------------
def test_defaults_written_out_give_identical_results() -> None:
    plain = mmc_scenario(beds=8, max_wait_days=20, horizon_years=2.0)
    explicit = copy.deepcopy(plain)
    explicit["units"][0].update(
        {"sex": "any", "streams": [], "age_bands": [], "staffed_beds": 8, "occupancy_ceiling": 1}
    )
    explicit["bed_management"].update({"scope": "footprint", "urgent_between_panels": True})
    explicit["pathways"][PATHWAY]["patient_mix"] = {}
    for replication in (0, 1):
        a = simulation.run_replication(simulation.load_scenario_dict(plain), replication, True)
        b = simulation.run_replication(simulation.load_scenario_dict(explicit), replication, True)
        pd.testing.assert_frame_equal(a.kpis, b.kpis)
        pd.testing.assert_frame_equal(a.monthly, b.monthly)
        pd.testing.assert_frame_equal(a.events, b.events)


def test_a_ward_that_changes_whom_it_takes_sees_the_same_patients() -> None:
    base = split_by_sex(mmc_scenario(beds=BEDS, max_wait_days=14, horizon_years=3.0))
    converted = copy.deepcopy(base)
    converted["units"][0]["sex"] = "female"  # the men's unit becomes a second women's unit
    who = ["patient_id", "referral_day", "home_place", "priority", "sex"]
    a, b = events(base), events(converted)
    a, b = a[a["source"] == "new"], b[b["source"] == "new"]
    same = a[who].sort_values("patient_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(same, b[who].sort_values("patient_id").reset_index(drop=True))
    # ... and the change is felt: men now go out of area, as no unit takes them.
    men = b[(b["sex"] == "male") & b["admission_day"].notna()]
    assert (men["ooa_reason"] == "no_compatible_unit").all() and len(men) > 50
    assert not (a["ooa_reason"] == "no_compatible_unit").any()


# -- staffed beds, ceilings, placement between panels -----------------------------------
def peak_occupancy(log: pd.DataFrame, unit: str) -> int:
    stays = log[log["admitted_to"] == unit]
    end = stays["exit_day"].fillna(np.inf)
    moves = sorted([(t, 1) for t in stays["admission_day"]] + [(t, -1) for t in end])
    return int(np.max(np.cumsum([d for _, d in sorted(moves, key=lambda m: (m[0], m[1]))])))


def test_staffed_beds_cap_admissions_and_money_follows_funded_beds() -> None:
    data = mmc_scenario(beds=10, arrivals_per_day=1.0, max_wait_days=5, horizon_years=2.0)
    data["units"][0].update({"staffed_beds": 6, "funding": "block"})
    scenario = simulation.load_scenario_dict(data)
    result = simulation.run_replication(scenario, 0, keep_events=True)
    assert result.events is not None
    assert peak_occupancy(result.events, UNIT) == 6
    kpis = result.kpis.set_index(["pathway", "service", "unit", "place", "period", "kpi"])
    days = scenario.horizon_days
    spend = kpis.loc[(PATHWAY, "all", "all", "all", "horizon", "cost_inpatient_gbp"), "value"]
    assert spend == pytest.approx(10 * days * 500)  # ten funded beds, every day


def test_a_staffing_change_closes_and_reopens_beds_on_its_dates() -> None:
    data = mmc_scenario(beds=10, arrivals_per_day=1.2, max_wait_days=5, horizon_years=2.0)
    data["changes"] = [
        {"date": "2026-10-01", "set": "staffed_beds", "unit": UNIT, "to": 4},
        {"date": "2027-04-01", "set": "staffed_beds", "unit": UNIT, "to": None},
    ]
    log = events(data)
    admitted = log[log["admitted_to"] == UNIT]
    # While only four beds are staffed nobody is admitted to a fifth: between the two
    # dates admissions happen only when fewer than four patients are in the unit.
    during = admitted[(admitted["admission_day"] >= 183) & (admitted["admission_day"] < 365)]
    for day in during["admission_day"]:
        present = admitted[(admitted["admission_day"] < day) & (admitted["exit_day"] > day)]
        assert len(present) < 4
    assert peak_occupancy(log, UNIT) == 10  # all ten in use outside those dates


def test_an_occupancy_ceiling_keeps_a_unit_below_it() -> None:
    data = mmc_scenario(beds=20, arrivals_per_day=2.0, max_wait_days=3, horizon_years=2.0)
    data["units"][0]["occupancy_ceiling"] = 0.9
    assert peak_occupancy(events(data), UNIT) == 18  # admits while below 90%: to 18 of 20


def panel_scenario(between_panels: bool) -> dict[str, Any]:
    data = mmc_scenario(
        beds=20, arrivals_per_day=0.25, urgent_share=1.0, max_wait_days=0, horizon_years=2.0
    )
    data["bed_management"].update(
        {"allocation": "weekly_panel", "urgent_between_panels": between_panels}
    )
    return data


def test_urgent_patients_are_placed_between_panels_when_a_bed_is_free() -> None:
    # Load 2.5 of 20 beds: a bed is nearly always free. Held to the weekly panel with a
    # maximum wait of 0, every urgent patient but those arriving on panel day would go out
    # of area; placed between panels, nobody does.
    held = run(panel_scenario(False), replications=3)
    placed = run(panel_scenario(True), replications=3)
    assert (horizon(held, "ooa_admission_pct") > 80).all()
    assert (horizon(placed, "ooa_admission_pct") == 0).all()
    assert (horizon(placed, "wait_mean_days") == 0).all()


# -- young people who turn 18 in a bed; patients referred again ---------------------------
def camhs_scenario(stay_days: float) -> dict[str, Any]:
    """CAMHS general adolescent beds aplenty, half the referrals in the year before 18,
    and every patient stepping down to a community team."""
    return {
        "name": "camhs",
        "start_date": "2026-04-01",
        "horizon_years": 3.0,
        "warmup_days": 0,
        "seed": 9,
        "places": [{"name": PLACE, "population": 1_000_000}],
        "units": [
            {
                "name": UNIT,
                "pathway": "camhs_t4",
                "service": "general_adolescent",
                "place": PLACE,
                "beds": 200,
                "cost_per_bed_day_gbp": 700,
                "linked_places": [PLACE],
            }
        ],
        "community_teams": [
            {
                "name": "Team",
                "pathway": "camhs_t4",
                "places": 1000,
                "episode_length": {"distribution": "fixed", "value": 30},
                "cost_per_place_per_year_gbp": 1,
            }
        ],
        "pathways": {
            "camhs_t4": {
                "patient_mix": {
                    "age_bands": {"under_17": 0.5, "aged_17": 0.5},
                    "adult_from_age_band": "aged_17",
                },
                "services": {
                    "general_adolescent": {
                        "referral_rate_per_100k_per_year": 10,
                        "length_of_stay": {"distribution": "fixed", "value": stay_days},
                        "out_of_area": {"cost_per_bed_day_gbp": 800, "distance_miles": 100},
                        "step_down": [{"to": "Team", "probability": 1.0}],
                    }
                },
            }
        },
    }


def test_a_young_person_who_turns_18_in_a_bed_leaves_for_adult_services() -> None:
    # Stays of 400 days: everyone in the year before 18 turns 18 in the bed.
    log = events(camhs_scenario(400.0))
    left = log[log["exit_day"].notna()]
    seventeen, younger = left[left["age_band"] == "aged_17"], left[left["age_band"] == "under_17"]
    assert len(seventeen) > 20 and len(younger) > 20
    assert (seventeen["adult_services_day"] == seventeen["exit_day"]).all()
    assert (seventeen["exit_to"] == "home").all()  # not the CAMHS team: adult services
    assert younger["adult_services_day"].isna().all()
    assert (younger["exit_to"] == "community").all()


def test_the_share_turning_18_is_the_stay_over_a_year() -> None:
    # Stays of 60 days: a 17-year-old's birthday falls within the stay with chance 60/365.
    log = events(camhs_scenario(60.0))
    seventeen = log[(log["age_band"] == "aged_17") & log["exit_day"].notna()]
    share = seventeen["adult_services_day"].notna().mean()
    se = np.sqrt(0.164 * 0.836 / len(seventeen))
    assert abs(share - 60 / 365.25) < 3.5 * se, (share, len(seventeen))
    kpis = run(camhs_scenario(60.0), replications=1)
    turned = kpis[(kpis["kpi"] == "left_for_adult_services") & (kpis["period"] == "horizon")]
    assert turned[(turned["service"] == "all") & (turned["place"] == "all")]["value"].iloc[0] > 0


def test_a_census_patient_turns_18_within_a_year_of_the_census(tmp_path: Path) -> None:
    # The census gives the age band on the census date. 17-year-olds referred 400 days
    # before it still turn 18 within a year of it, evenly: with 60-day stays about one
    # in six turns 18 in the bed (counted from referral, every birthday would have
    # passed and all would). Younger ones given by the census never turn 18 in the run.
    rows = ["pathway,service,home_place,status,unit,since_date,age_band"]
    for i in range(300):
        band = "aged_17" if i % 3 else "under_17"
        if i % 2:
            rows.append(f"camhs_t4,general_adolescent,{PLACE},waiting,,2025-02-25,{band}")
        else:
            rows.append(f"camhs_t4,general_adolescent,{PLACE},in_bed,{UNIT},2026-03-22,{band}")
    census = tmp_path / "census.csv"
    census.write_text("\n".join(rows) + "\n")
    data = camhs_scenario(60.0)
    data["census"] = str(census)
    data["units"][0]["beds"] = 400
    service = data["pathways"]["camhs_t4"]["services"]["general_adolescent"]
    service["referral_rate_per_100k_per_year"] = 0
    log = events(data)
    at_start = log[log["referral_day"] <= 0]
    seventeen = at_start[at_start["age_band"] == "aged_17"]
    younger = at_start[at_start["age_band"] == "under_17"]
    assert len(seventeen) == 200 and len(younger) == 100
    assert younger["adult_services_day"].isna().all()
    turned = seventeen["adult_services_day"].notna()
    # In a bed for 50 (in bed 10 days) or 60 days (waiting) of the year after the census.
    expected = 55 / 365.25
    se = np.sqrt(expected * (1 - expected) / len(seventeen))
    assert abs(turned.mean() - expected) < 4 * se, turned.mean()
    assert (seventeen.loc[turned, "adult_services_day"] >= 0).all()


def test_a_patient_referred_again_is_the_same_person() -> None:
    data = split_by_sex(mmc_scenario(beds=BEDS, max_wait_days=14, horizon_years=4.0))
    data["pathways"][PATHWAY]["readmission"] = {"probability": 0.5, "window_days": 200}
    data["pathways"][PATHWAY]["patient_mix"]["streams"] = {"a": 0.5, "b": 0.5}
    log = events(data)
    people = log.groupby("patient_id")[["sex", "stream"]].nunique()
    assert (log["source"] == "readmission").sum() > 50
    assert (people <= 1).all().all()
