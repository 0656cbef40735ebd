"""The KPI catalogue: every KPI's name, label, unit and meaning, and the dimensions.

The vocabulary that the KPI rows, the summaries, the terminal tables and the report
share. It imports nothing, so a report or a terminal table can name a KPI without
loading the model.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"
HORIZON = "horizon"
DIMENSIONS = ("pathway", "service", "unit", "place")


@dataclass(frozen=True)
class KpiInfo:
    """How to read a KPI."""

    label: str
    unit: str
    description: str


KPI_INFO: dict[str, KpiInfo] = {
    "referrals": KpiInfo(
        "Referrals",
        "count",
        "new referrals and readmission referrals (and an adult pathway's transfers at 18)",
    ),
    "readmissions": KpiInfo("Readmissions", "count", "referrals of discharged inpatients"),
    "not_accepted": KpiInfo("Not accepted", "count", "referrals not accepted at assessment"),
    "diversions": KpiInfo(
        "Diversions", "count", "referrals diverted to a community alternative (avoided admission)"
    ),
    "withdrawn": KpiInfo("Withdrawn", "count", "referrals closed while waiting for a bed"),
    "admissions": KpiInfo(
        "Admissions",
        "count",
        "first admissions of referrals (an adult pathway's transfers at 18 included), in or "
        "out of area",
    ),
    "ooa_admissions": KpiInfo("Out-of-area admissions", "count", "admitted outside the footprint"),
    "ooa_admission_pct": KpiInfo(
        "Out-of-area admissions", "%", "share of admissions placed out of area"
    ),
    "transfers_in": KpiInfo("Step-down transfers in", "count", "admissions by step-down"),
    "repatriations": KpiInfo("Repatriations", "count", "out-of-area patients moved to a local bed"),
    "step_downs": KpiInfo(
        "Step-downs", "count", "discharges to a lower-security bed or a community team"
    ),
    "wait_referral_mean_days": KpiInfo(
        "Mean wait from referral to admission", "days", "from referral, as national targets count"
    ),
    "wait_referral_p90_days": KpiInfo(
        "90th percentile wait from referral", "days", "from referral to admission"
    ),
    "wait_mean_days": KpiInfo(
        "Mean wait from acceptance to admission", "days", "from acceptance onto the waiting list"
    ),
    "wait_p90_days": KpiInfo(
        "90th percentile wait from acceptance", "days", "from acceptance to admission"
    ),
    "waited_pct": KpiInfo("Admissions that waited", "%", "admissions with any wait for a bed"),
    "distance_mean_miles": KpiInfo("Mean distance from home", "miles", "at admission"),
    "los_mean_days": KpiInfo(
        "Mean length of stay of stays that ended",
        "days",
        "per service stay that ended in the period, delay included; short when long stays "
        "are still going",
    ),
    "los_median_km_days": KpiInfo(
        "Median length of stay, ongoing stays included (Kaplan-Meier)",
        "days",
        "whole period only: stays still going at its end are censored, stays already going "
        "at its start enter late",
    ),
    "waiting_list_mean": KpiInfo("Waiting list", "patients", "time-average"),
    "occupied_beds_mean": KpiInfo("Occupied beds", "beds", "time-average, in the footprint"),
    "beds": KpiInfo("Beds", "beds", "beds in the footprint"),
    "occupancy_pct": KpiInfo("Bed occupancy", "%", "occupied beds / beds in the footprint"),
    "bed_days": KpiInfo("Bed days in area", "days", "occupied bed days in the footprint"),
    "ooa_bed_days": KpiInfo("Out-of-area bed days", "days", "bed days outside the footprint"),
    "ooa_census_mean": KpiInfo("Out-of-area census", "patients", "time-average"),
    "delayed_discharge_days": KpiInfo(
        "Delayed discharge days", "days", "bed days after ready for discharge"
    ),
    "community_caseload_mean": KpiInfo("Community caseload", "patients", "time-average"),
    "community_places_mean": KpiInfo("Community places", "places", "funded, time-average"),
    "cost_inpatient_gbp": KpiInfo("In-area bed spend", "£", "bed days at each unit's cost"),
    "cost_ooa_gbp": KpiInfo("Out-of-area spend", "£", "bed days at the out-of-area cost"),
    "cost_community_gbp": KpiInfo("Community spend", "£", "funded places at cost per place-year"),
    "cost_one_off_gbp": KpiInfo("One-off costs", "£", "costs incurred once, on a date"),
    "cost_total_gbp": KpiInfo(
        "Total spend", "£", "in-area beds, out-of-area beds, community places and one-off costs"
    ),
    "ooa_no_compatible_unit": KpiInfo(
        "Out of area: no compatible unit",
        "count",
        "out-of-area admissions because no unit the bed manager may use takes the patient",
    ),
    "ooa_compatible_units_full": KpiInfo(
        "Out of area: compatible units full",
        "count",
        "out-of-area admissions at the maximum wait while beds were free only in units "
        "that could not take the patient",
    ),
    "ooa_max_wait_passed": KpiInfo(
        "Out of area: maximum wait passed",
        "count",
        "out-of-area admissions at the maximum wait with no free bed the patient could use",
    ),
    "ooa_search_days_mean": KpiInfo(
        "Mean search for an out-of-area bed",
        "days",
        "from the decision to place out of area to admission there",
    ),
    "ooa_searching_mean": KpiInfo(
        "Waiting for an out-of-area bed", "patients", "time-average, while a search goes on"
    ),
    "waited_week_pct": KpiInfo(
        "Admissions that waited a week or more", "%", "from acceptance to admission"
    ),
    "ooa_admissions_female": KpiInfo(
        "Out-of-area admissions, women", "count", "admitted outside the footprint"
    ),
    "ooa_admissions_male": KpiInfo(
        "Out-of-area admissions, men", "count", "admitted outside the footprint"
    ),
    "wait_mean_days_female": KpiInfo(
        "Mean wait for admission, women", "days", "from acceptance to admission"
    ),
    "wait_mean_days_male": KpiInfo(
        "Mean wait for admission, men", "days", "from acceptance to admission"
    ),
    "left_for_adult_services": KpiInfo(
        "Turned 18 in a bed",
        "count",
        "young people who turned 18 in a bed and left it for adult services: the scenario's "
        "adult pathway where the young people's pathway names one (patient_mix.adult_pathway), "
        "else services outside the model",
    ),
    "transfers_at_18": KpiInfo(
        "Transfers at 18",
        "count",
        "referrals of young people transferred on their 18th birthday from a young people's "
        "bed (move: transfer); the adult pathway counts them in its referrals and, once in "
        "an adult bed, in its admissions, waits and out-of-area placements (only in runs "
        "where a pathway names an adult pathway)",
    ),
}

OOA_REASONS = ("no_compatible_unit", "compatible_units_full", "max_wait_passed")
"""Why a patient is placed out of area; ``ooa_<reason>`` counts each."""

COST_KINDS = ("cost_inpatient_gbp", "cost_ooa_gbp", "cost_community_gbp", "cost_one_off_gbp")
"""The categories that add up to ``cost_total_gbp``."""

HEADLINE_KPIS = (
    "referrals",
    "admissions",
    "diversions",
    "wait_referral_mean_days",
    "wait_mean_days",
    "wait_p90_days",
    "occupancy_pct",
    "ooa_admissions",
    "ooa_bed_days",
    "delayed_discharge_days",
    "cost_total_gbp",
)
