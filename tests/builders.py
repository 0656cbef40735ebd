"""Small scenario builders for tests: plain dicts for ``simulation.load_scenario_dict``.

``mmc_scenario`` is one unit of ``beds`` beds fed by one Poisson stream with exponential
stays: the M/M/c queue of queueing theory (or M/M/c/c with ``max_wait_days=0`` and no
repatriation). Nothing else happens: no assessment delay, no rejection, no diversion,
no step-down, no readmission, no growth or seasonality.
"""

from __future__ import annotations

from typing import Any

POPULATION = 100_000
DAYS_PER_YEAR = 365.25
PLACE = "Home"
UNIT = "Unit"
PATHWAY = "adult_ed"
SERVICE = "inpatient"


def rate_per_100k_per_year(arrivals_per_day: float, population: int = POPULATION) -> float:
    """The scenario's referral rate that gives ``arrivals_per_day`` from one place."""
    return arrivals_per_day * DAYS_PER_YEAR * 100_000 / population


def mmc_scenario(
    *,
    beds: int = 10,
    arrivals_per_day: float = 0.8,
    mean_stay_days: float = 10.0,
    length_of_stay: dict[str, Any] | None = None,
    max_wait_days: float | None = None,
    urgent_share: float = 0.0,
    repatriation: bool = True,
    allocation: str = "continuous",
    horizon_years: float = 5.0,
    warmup_days: float = 365.0,
    seed: int = 12345,
    name: str = "mmc",
) -> dict[str, Any]:
    """One unit of ``beds`` beds, Poisson arrivals and exponential stays, as a dict.

    Stays are exponential with mean ``mean_stay_days`` unless ``length_of_stay`` gives
    another distribution (a scenario distribution mapping; then it is M/G/c).
    ``max_wait_days`` applies to both priorities: ``None`` waits for ever (M/M/c), ``0``
    sends anyone who finds no free bed out of area at once (M/M/c/c when
    ``repatriation`` is off).
    """
    return {
        "name": name,
        "start_date": "2026-04-01",
        "horizon_years": horizon_years,
        "warmup_days": warmup_days,
        "seed": seed,
        "places": [{"name": PLACE, "population": POPULATION}],
        "units": [
            {
                "name": UNIT,
                "pathway": PATHWAY,
                "service": SERVICE,
                "place": PLACE,
                "beds": beds,
                "cost_per_bed_day_gbp": 500,
                "linked_places": [PLACE],
            }
        ],
        "pathways": {
            PATHWAY: {
                "priority_mix": {"urgent": urgent_share, "routine": 1.0 - urgent_share},
                "assessment_delay": {"distribution": "fixed", "value": 0},
                "not_accepted_share": 0.0,
                "max_wait_days": {"urgent": max_wait_days, "routine": max_wait_days},
                "readmission": {"probability": 0.0},
                "services": {
                    SERVICE: {
                        "referral_rate_per_100k_per_year": rate_per_100k_per_year(arrivals_per_day),
                        "length_of_stay": length_of_stay
                        or {"distribution": "exponential", "mean": mean_stay_days},
                        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 100},
                    }
                },
            }
        },
        "bed_management": {"allocation": allocation, "repatriation": repatriation},
    }


def flow_scenario(
    *,
    allocation: str = "continuous",
    horizon_years: float = 3.0,
    warmup_days: float = 365.0,
    seed: int = 777,
    name: str = "flow",
) -> dict[str, Any]:
    """A small, busy adult secure pathway that exercises every route a referral can take.

    Two places and two medium secure units (one linked to each place), one low secure
    unit and one community team; referrals are assessed (some not accepted), some are
    diverted to the team, the rest wait (urgent first), withdraw after a patience time
    or go out of area past the maximum wait, and are repatriated when a bed frees.
    Medium secure patients step down to low secure, low secure patients to the team,
    and discharged patients may be readmitted. Capacity is tight, so every queue,
    delayed discharge and out-of-area placement happens within a few years.
    """
    places = ["North", "South"]
    return {
        "name": name,
        "start_date": "2026-04-01",
        "horizon_years": horizon_years,
        "warmup_days": warmup_days,
        "seed": seed,
        "places": [{"name": p, "population": 500_000} for p in places],
        "units": [
            {
                "name": "North Medium",
                "pathway": "adult_secure",
                "service": "medium",
                "place": "North",
                "beds": 8,
                "cost_per_bed_day_gbp": 480,
                "linked_places": ["North"],
                "distance_miles": {"North": 5, "South": 30},
            },
            {
                "name": "South Medium",
                "pathway": "adult_secure",
                "service": "medium",
                "place": "South",
                "beds": 6,
                "cost_per_bed_day_gbp": 500,
                "linked_places": ["South"],
                "distance_miles": {"North": 30, "South": 5},
            },
            {
                "name": "Low Secure",
                "pathway": "adult_secure",
                "service": "low",
                "place": "North",
                "beds": 8,
                "cost_per_bed_day_gbp": 420,
                "linked_places": places,
            },
        ],
        "community_teams": [
            {
                "name": "Forensic Team",
                "pathway": "adult_secure",
                "places": 6,
                "episode_length": {"distribution": "gamma", "mean": 120, "sd": 60},
                "cost_per_place_per_year_gbp": 25_000,
            }
        ],
        "pathways": {
            "adult_secure": {
                "priority_mix": {"urgent": 0.3, "routine": 0.7},
                "assessment_delay": {"distribution": "exponential", "mean": 7},
                "not_accepted_share": 0.1,
                "diversion": {"share": 0.2, "team": "Forensic Team"},
                "max_wait_days": {"urgent": 14, "routine": 60},
                "readmission": {"probability": 0.3, "window_days": 180},
                "withdrawal": {"patience": {"distribution": "exponential", "mean": 45}},
                "services": {
                    "medium": {
                        "referral_rate_per_100k_per_year": 3.0,
                        "length_of_stay": {"distribution": "lognormal", "median": 90, "p90": 250},
                        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 110},
                        "step_down": [{"to": "low", "probability": 0.5}],
                    },
                    "low": {
                        "referral_rate_per_100k_per_year": 1.5,
                        "length_of_stay": {"distribution": "gamma", "mean": 80, "sd": 40},
                        "out_of_area": {"cost_per_bed_day_gbp": 520, "distance_miles": 100},
                        "step_down": [{"to": "Forensic Team", "probability": 0.6}],
                    },
                },
            }
        },
        "bed_management": {"allocation": allocation, "repatriation": True},
    }


def transition_scenario(
    move: str | None = "transfer",
    *,
    horizon_years: float = 4.0,
    warmup_days: float = 365.0,
    camhs_stay: dict[str, Any] | None = None,
    adult_beds: tuple[int, int] = (5, 2),
    seed: int = 1818,
    name: str = "transition",
) -> dict[str, Any]:
    """A CAMHS tier 4 pathway whose 17-year-olds move to the adult secure pathway at 18.

    One place; a CAMHS general adolescent unit (any sex) with a CAMHS community team, and
    an adult low secure men's unit and women's unit (``adult_beds``) with an adult
    community team. Half of CAMHS referrals are 17 (``aged_17``, turning 18 within a
    year). CAMHS streams are mental illness and eating disorder; the adult pathway's are
    mental illness and learning disability/autism. ``move`` is the adult pathway's
    ``move`` (``None``: no adult pathway named, so 18-year-olds leave the model).
    """
    camhs_mix: dict[str, Any] = {
        "sex": {"male": 0.6, "female": 0.4},
        "streams": {"mental_illness": 0.7, "eating_disorder": 0.3},
        "age_bands": {"under_17": 0.5, "aged_17": 0.5},
        "adult_from_age_band": "aged_17",
    }
    if move is not None:
        camhs_mix["adult_pathway"] = {
            "pathway": "adult_secure",
            "services": {"general_adolescent": "low"},
            "move": move,
        }
    men, women = adult_beds
    adult_unit = {
        "pathway": "adult_secure",
        "service": "low",
        "place": PLACE,
        "cost_per_bed_day_gbp": 450,
        "linked_places": [PLACE],
    }
    return {
        "name": name,
        "start_date": "2026-04-01",
        "horizon_years": horizon_years,
        "warmup_days": warmup_days,
        "seed": seed,
        "places": [{"name": PLACE, "population": 500_000}],
        "units": [
            {
                "name": "Adolescent Unit",
                "pathway": "camhs_t4",
                "service": "general_adolescent",
                "place": PLACE,
                "beds": 12,
                "cost_per_bed_day_gbp": 750,
                "linked_places": [PLACE],
            },
            {**adult_unit, "name": "Adult Men", "beds": men, "sex": "male"},
            {**adult_unit, "name": "Adult Women", "beds": women, "sex": "female"},
        ],
        "community_teams": [
            {
                "name": "CAMHS Team",
                "pathway": "camhs_t4",
                "places": 1000,
                "episode_length": {"distribution": "fixed", "value": 60},
                "cost_per_place_per_year_gbp": 30_000,
            },
            {
                "name": "Adult Team",
                "pathway": "adult_secure",
                "places": 1000,
                "episode_length": {"distribution": "fixed", "value": 120},
                "cost_per_place_per_year_gbp": 25_000,
            },
        ],
        "pathways": {
            "camhs_t4": {
                "priority_mix": {"urgent": 0.5, "routine": 0.5},
                "max_wait_days": {"urgent": 3, "routine": 21},
                "patient_mix": camhs_mix,
                "services": {
                    "general_adolescent": {
                        "referral_rate_per_100k_per_year": 8.0,
                        "length_of_stay": camhs_stay
                        or {"distribution": "gamma", "mean": 90, "sd": 45},
                        "out_of_area": {"cost_per_bed_day_gbp": 900, "distance_miles": 120},
                        "step_down": [{"to": "CAMHS Team", "probability": 0.8}],
                    }
                },
            },
            "adult_secure": {
                "priority_mix": {"urgent": 0.3, "routine": 0.7},
                "max_wait_days": {"urgent": 7, "routine": 30},
                "readmission": {"probability": 0.3, "window_days": 365},
                "patient_mix": {
                    "sex": {"male": 0.85, "female": 0.15},
                    "streams": {"mental_illness": 0.8, "ld_autism": 0.2},
                },
                "services": {
                    "low": {
                        "referral_rate_per_100k_per_year": 2.0,
                        "length_of_stay": {"distribution": "gamma", "mean": 200, "sd": 100},
                        "out_of_area": {"cost_per_bed_day_gbp": 550, "distance_miles": 90},
                        "step_down": [{"to": "Adult Team", "probability": 1.0}],
                    }
                },
            },
        },
    }
