"""Hypothesis strategies that build valid scenario dicts for ``simulation.load_scenario_dict``.

Each generated scenario is valid by construction and small enough to run in a fraction
of a second: a horizon of days to a few months, a short warm-up, and demand scaled so
that even "very high demand" (thousands of referrals a year per place) stays within a
few thousand referrals. Within that, anything the schema allows may appear: any number
of places, units and teams (including none), every distribution with parameters from
tiny to huge, zero, one and effectively unlimited beds and places, priority mixes of
all-urgent and all-routine, zero demand, closures and openings by date, reinvestment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from simulation.scenario.schema import PATHWAY_SERVICES, WEEKDAYS

HUGE = 100_000
"""The schema's largest bed and place count: effectively unlimited capacity."""

MAX_REFERRALS = 1_500.0
"""Expected referrals of one run (warm-up included) above which demand is scaled down."""

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=12).map(
    lambda s: s.strip() or "x"
)


def clamp(days: float) -> float:
    """Within the schema's bounds for a duration parameter (0.001 to 1,000,000 days)."""
    return min(max(days, 0.001), 1_000_000.0)


@st.composite
def distributions(draw: st.DrawFn, scale: float = 30.0) -> dict[str, Any]:
    """Any duration distribution, parameters from tiny to very large around ``scale`` days."""
    factor = draw(st.sampled_from([1e-3, 0.1, 1.0, 1.0, 1.0, 10.0, 1e3]))
    mean = clamp(draw(st.floats(0.01, 3.0)) * scale * factor)
    kind = draw(
        st.sampled_from(["exponential", "lognormal", "gamma", "weibull", "fixed", "empirical"])
    )
    if kind == "exponential":
        return {"distribution": "exponential", "mean": mean}
    if kind == "lognormal":
        if draw(st.booleans()):
            return {
                "distribution": "lognormal",
                "median": mean,
                "p90": clamp(mean * draw(st.floats(1.01, 20))),
            }
        return {
            "distribution": "lognormal",
            "mean": mean,
            "sd": clamp(mean * draw(st.floats(0.01, 5))),
        }
    if kind == "gamma":
        return {"distribution": "gamma", "mean": mean, "sd": clamp(mean * draw(st.floats(0.01, 5)))}
    if kind == "weibull":
        return {"distribution": "weibull", "shape": draw(st.floats(0.2, 10)), "scale": mean}
    if kind == "fixed":
        return {"distribution": "fixed", "value": draw(st.sampled_from([0.0, mean]))}
    values = draw(st.lists(st.floats(0, 3 * mean), min_size=1, max_size=6))
    return {"distribution": "empirical", "values": values}


def capacities() -> st.SearchStrategy[int]:
    """Zero, one, a few, and the schema's largest capacity."""
    return st.one_of(st.sampled_from([0, 1, 2, HUGE]), st.integers(0, 20))


def shares() -> st.SearchStrategy[float]:
    """A share with its edges (0 and 1) likely."""
    return st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))


@st.composite
def split(draw: st.DrawFn, n: int, total: float) -> list[float]:
    """``n`` non-negative shares adding up to at most ``total``."""
    weights = [draw(st.floats(0.0, 1.0)) for _ in range(n)]
    s = sum(weights) or 1.0
    return [total * w / s * 0.999 for w in weights]


@st.composite
def searches(draw: st.DrawFn) -> dict[str, Any]:
    """A search for an out-of-area bed: rounds of any length, any chance of finding one."""
    search: dict[str, Any] = {
        "round_days": draw(distributions(scale=3)),
        "working_days_only": draw(st.booleans()),
        "probability_found": draw(st.sampled_from([1.0, 0.5, 0.05])),
    }
    if draw(st.booleans()):
        search["distance_miles"] = draw(distributions(scale=100))
    return search


def _shares_of(draw: st.DrawFn, names_: list[str]) -> dict[str, float]:
    weights = [draw(st.sampled_from([0.0, 0.2, 1.0])) for _ in names_]
    if not sum(weights):
        weights[0] = 1.0
    total = sum(weights)
    shares_ = [w / total for w in weights]
    shares_[-1] = 1.0 - sum(shares_[:-1])
    return dict(zip(names_, shares_, strict=True))


@st.composite
def patient_mixes(draw: st.DrawFn, place_names: list[str]) -> dict[str, Any]:
    """A patient mix by sex and, perhaps, clinical stream, perhaps one place its own."""
    mix: dict[str, Any] = {"sex": _shares_of(draw, ["male", "female"])}
    if draw(st.booleans()):
        mix["streams"] = _shares_of(draw, ["mi", "pd", "ld"])
    if draw(st.booleans()):
        mix["places"] = {place_names[0]: {"sex": _shares_of(draw, ["male", "female"])}}
    return mix


@st.composite
def takes(draw: st.DrawFn, mix: dict[str, Any]) -> dict[str, Any]:
    """Whom a unit takes, among the values its pathway's mix draws."""
    out: dict[str, Any] = {"sex": draw(st.sampled_from(["any", "male", "female"]))}
    if "streams" in mix and draw(st.booleans()):
        out["streams"] = draw(st.lists(st.sampled_from(["mi", "pd", "ld"]), unique=True))
    return out


@st.composite
def scenarios(draw: st.DrawFn, changes: bool = True) -> dict[str, Any]:
    """A valid scenario dict: small and quick to run, otherwise anything the schema allows."""
    start = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 730)))
    horizon_days = draw(st.sampled_from([1, 7, 31, 60, 120, 200]))
    warmup_days = draw(st.sampled_from([0.0, 0.0, 10.0, 45.5]))
    place_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    populations = [draw(st.sampled_from([1, 1_000, 100_000, 1_000_000])) for _ in place_names]
    places = [{"name": n, "population": p} for n, p in zip(place_names, populations, strict=True)]
    chosen = draw(
        st.lists(st.sampled_from(sorted(PATHWAY_SERVICES)), min_size=1, max_size=3, unique=True)
    )
    demand = draw(st.sampled_from(["zero", "low", "moderate", "very_high"]))
    if demand == "very_high":
        horizon_days, warmup_days = min(horizon_days, 7), 0.0

    teams: list[dict[str, Any]] = []
    for pathway in chosen:
        for i in range(draw(st.integers(0, 2))):
            teams.append(
                {
                    "name": f"{pathway} team {i}",
                    "pathway": pathway,
                    "places": draw(capacities()),
                    "episode_length": draw(distributions(scale=60)),
                    "cost_per_place_per_year_gbp": draw(st.sampled_from([0.0, 1.0, 25_000.5])),
                }
            )

    units: list[dict[str, Any]] = []
    pathways: dict[str, Any] = {}
    total_population = sum(populations)
    for pathway in chosen:
        services = draw(
            st.lists(
                st.sampled_from(PATHWAY_SERVICES[pathway]),
                min_size=1,
                max_size=len(PATHWAY_SERVICES[pathway]),
                unique=True,
            )
        )
        own_teams = [t["name"] for t in teams if t["pathway"] == pathway]
        spec: dict[str, Any] = {"services": {}}
        for service in services:
            # Referrals per day across the footprint, before scaling to MAX_REFERRALS.
            per_day = {"zero": 0.0, "low": 0.05, "moderate": 1.0, "very_high": 200.0}[demand]
            per_day *= draw(st.floats(0.5, 1.5))
            days = horizon_days + warmup_days
            per_day = min(per_day, MAX_REFERRALS / days / len(services) / len(chosen))
            rate = per_day * 365.25 * 100_000 / total_population
            targets = [s for s in services if s != service] + own_teams
            n_routes = draw(st.integers(0, len(targets))) if targets else 0
            routes = draw(st.permutations(targets))[:n_routes] if targets else []
            probabilities = draw(split(n_routes, draw(shares())))
            spec["services"][service] = {
                "referral_rate_per_100k_per_year": min(rate, 100_000.0),
                "length_of_stay": draw(distributions(scale=20)),
                "out_of_area": {
                    "cost_per_bed_day_gbp": draw(st.sampled_from([0.0, 650.25, 1e6])),
                    "distance_miles": draw(st.floats(0, 500)),
                    **({"search": draw(searches())} if draw(st.booleans()) else {}),
                },
                "step_down": [
                    {"to": to, "probability": p}
                    for to, p in zip(routes, probabilities, strict=True)
                ],
            }
            for j in range(draw(st.integers(0, 2))):
                linked = draw(st.lists(st.sampled_from(place_names), max_size=2, unique=True))
                units.append(
                    {
                        "name": f"{pathway} {service} {j}",
                        "pathway": pathway,
                        "service": service,
                        "place": draw(st.sampled_from(place_names)),
                        "beds": draw(capacities()),
                        "cost_per_bed_day_gbp": draw(st.sampled_from([0.0, 1.0, 512.5])),
                        "funding": draw(st.sampled_from(["occupied_bed_days", "block"])),
                        "linked_places": linked,
                        "distance_miles": {p: draw(st.floats(0, 300)) for p in linked},
                    }
                )
        urgent = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1)))
        spec["priority_mix"] = {"urgent": urgent, "routine": 1.0 - urgent}
        spec["arrivals"] = draw(st.sampled_from(["poisson", "regular"]))
        spec["annual_growth"] = draw(st.sampled_from([0.0, -0.5, 0.1, 1.0]))
        if draw(st.booleans()):
            factors = [draw(st.floats(0.1, 3.0)) for _ in range(12)]
            spec["seasonality"] = [f * 12 / sum(factors) for f in factors]  # averaging 1
        spec["assessment_delay"] = draw(distributions(scale=5))
        spec["not_accepted_share"] = draw(shares())
        if own_teams and draw(st.booleans()):
            spec["diversion"] = {"share": draw(shares()), "team": draw(st.sampled_from(own_teams))}
        max_wait = st.one_of(st.none(), st.sampled_from([0.0, 1.0]), st.floats(0, 100))
        spec["max_wait_days"] = {"urgent": draw(max_wait), "routine": draw(max_wait)}
        spec["readmission"] = {
            "probability": draw(shares()),
            "window_days": draw(st.floats(0.5, 400)),
        }
        if draw(st.booleans()):
            spec["withdrawal"] = {"patience": draw(distributions(scale=20))}
        if draw(st.booleans()):
            spec["patient_mix"] = draw(patient_mixes(place_names))
            mix = spec["patient_mix"]
            for unit in units:
                if unit["pathway"] == pathway:
                    unit.update(draw(takes(mix)))
        pathways[pathway] = spec
    for unit in units:
        if draw(st.booleans()):
            unit["staffed_beds"] = draw(st.integers(0, unit["beds"]))
        if draw(st.booleans()):
            unit["occupancy_ceiling"] = draw(st.sampled_from([0.5, 0.9, 1.0]))

    data: dict[str, Any] = {
        "name": "generated",
        "start_date": start.isoformat(),
        "horizon_years": horizon_days / 365.25,
        "warmup_days": warmup_days,
        "replications": 1,
        "seed": draw(st.integers(0, 2**63 - 1)),
        "places": places,
        "units": units,
        "community_teams": teams,
        "pathways": pathways,
        "bed_management": {
            "allocation": draw(st.sampled_from(["continuous", "weekly_panel"])),
            "panel_weekday": draw(st.sampled_from(WEEKDAYS)),
            "repatriation": draw(st.booleans()),
            "scope": draw(st.sampled_from(["footprint", "linked_units"])),
            "urgent_between_panels": draw(st.booleans()),
        },
    }
    if changes:
        data["changes"] = draw(dated_changes(data, start, horizon_days, warmup_days))
    budgets = {p: draw(st.sampled_from([0.0, 1e5, 1e9])) for p in chosen if draw(st.booleans())}
    data["money"] = {"budget_gbp_per_year": budgets}
    rules = []
    for pathway, budget in budgets.items():
        paid = [
            t for t in teams if t["pathway"] == pathway and t["cost_per_place_per_year_gbp"] > 0
        ]
        if paid and budget > 0 and draw(st.booleans()):
            weights = draw(split(len(paid), 1.0))
            weights[-1] = 1.0 - sum(weights[:-1])
            rules.append(
                {
                    "pathway": pathway,
                    "share_of_savings": draw(shares()),
                    "teams": {t["name"]: w for t, w in zip(paid, weights, strict=True)},
                    "recruitment_lag_days": draw(st.sampled_from([0.0, 5.0])),
                    "ramp_up_days": draw(st.sampled_from([0.0, 3.0])),
                    "cap_places": draw(st.one_of(st.none(), st.integers(0, 50))),
                    "reverse_on_overspend": draw(st.booleans()),
                }
            )
    data["reinvestment"] = rules
    return data


@st.composite
def dated_changes(
    draw: st.DrawFn, data: dict[str, Any], start: dt.date, horizon_days: int, warmup_days: float
) -> list[dict[str, Any]]:
    """Zero to three dated changes of capacity or policy, on dates inside the run."""
    first = -int(warmup_days)
    options: list[st.SearchStrategy[dict[str, Any]]] = []
    if data["units"]:
        options.append(
            st.fixed_dictionaries(
                {
                    "set": st.just("beds"),
                    "unit": st.sampled_from([u["name"] for u in data["units"]]),
                    "to": capacities(),
                }
            )
        )
    if data["community_teams"]:
        options.append(
            st.fixed_dictionaries(
                {
                    "set": st.just("places"),
                    "team": st.sampled_from([t["name"] for t in data["community_teams"]]),
                    "to": capacities(),
                }
            )
        )
    services = [(p, s) for p, spec in data["pathways"].items() for s in spec["services"]]
    options.append(
        st.sampled_from(services).flatmap(
            lambda ps: st.fixed_dictionaries(
                {
                    "set": st.just("length_of_stay_factor"),
                    "pathway": st.just(ps[0]),
                    "service": st.just(ps[1]),
                    "to": st.floats(0.01, 10),
                }
            )
        )
    )
    options.append(
        st.fixed_dictionaries(
            {
                "set": st.just("max_wait_days"),
                "pathway": st.sampled_from(sorted(data["pathways"])),
                "priority": st.sampled_from(["urgent", "routine"]),
                "to": st.one_of(st.none(), st.floats(0, 60)),
            }
        )
    )
    diverting = [p for p, spec in data["pathways"].items() if "diversion" in spec]
    if diverting:
        options.append(
            st.fixed_dictionaries(
                {
                    "set": st.just("diversion_share"),
                    "pathway": st.sampled_from(diverting),
                    "to": shares(),
                }
            )
        )
    changes = draw(st.lists(st.one_of(options), max_size=3))
    for change in changes:
        day = draw(st.integers(first, horizon_days - 1))
        change["date"] = (start + dt.timedelta(days=day)).isoformat()
    return changes
