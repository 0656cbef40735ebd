"""The work a scenario asks for, estimated at load, and a refusal of what could not finish.

Every field can be within its own bounds and the whole still be impossible: a
population of 100 million with a referral rate of 100,000 per 100,000 people a year is
ten billion referrals a replication. The model holds each referral's record until the
replication ends and handles about six events for it, so the expected number of
referrals says how much memory a replication needs and, times the replications, how
long the run takes. A scenario whose estimate is beyond :data:`MAX_REFERRALS` per
replication (memory) or :data:`MAX_EVENTS` in all (time) is refused at load, with one
sentence naming the fields and the estimate, before anything runs or is written.

The constants are measured on the shipped scenarios (``pathways run`` of the baseline
and of the baseline with twenty times its population); an estimate is an expectation,
within a factor of about two of a real run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulation.scenario.schema import Scenario
from simulation.scenario.yamlsource import Path_

EVENTS_PER_REFERRAL = 6.0
"""Model events per referral: arrival, assessment, decision, admission, stay, leaving."""
BYTES_PER_REFERRAL = 1_200
"""Memory held per referral until its replication ends (records, queues, monthly tallies)."""
MAX_REFERRALS = 2_000_000
"""Most expected referrals in one replication: about 2.4 GB in each worker process."""
MAX_EVENTS = 5_000_000_000
"""Most expected model events over all replications: about two days of one core."""


@dataclass(frozen=True)
class Workload:
    """The expected size of a run of a scenario."""

    referrals: float
    """Expected new referrals in one replication (warm-up included)."""
    replications: int

    @property
    def events(self) -> float:
        """Expected model events over every replication."""
        return self.referrals * EVENTS_PER_REFERRAL * self.replications

    @property
    def memory_bytes(self) -> float:
        """Expected memory one replication holds at its end."""
        return self.referrals * BYTES_PER_REFERRAL


def _growth_years(years: float, growth: float) -> float:
    """Years of demand at the first year's rate that ``years`` of compound growth make."""
    if abs(growth) < 1e-12:
        return years
    rate = math.log1p(growth)
    return math.expm1(rate * years) / rate


def estimate(scenario: Scenario) -> tuple[Workload, Path_]:
    """The expected work of ``scenario``, and the rate field that contributes most."""
    population = sum(place.population for place in scenario.places)
    years = (scenario.warmup_days + scenario.horizon_days) / 365.25
    referrals = 0.0
    largest: tuple[float, Path_] = (-1.0, ("places",))
    for name, pathway in scenario.pathways.items():
        season = sum(pathway.seasonality) / 12 if pathway.seasonality else 1.0
        span = _growth_years(years, pathway.annual_growth) * season
        for service, spec in pathway.services.items():
            expected = spec.referral_rate_per_100k_per_year * population / 1e5 * span
            if pathway.referrals_by_stream:
                expected = season * sum(
                    rate * place.population / 1e5 * _growth_years(years, growth)
                    for place in scenario.places
                    for rate, growth in pathway.stream_referrals(service, place.name).values()
                )
            referrals += expected
            path: Path_ = ("pathways", name, "services", service, "referral_rate_per_100k_per_year")
            largest = max(largest, (expected, path), key=lambda pair: pair[0])
    return Workload(referrals, scenario.replications), largest[1]


def _count(value: float) -> str:
    """A large count as a planner reads it: 12 million, 3.4 billion."""
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if value >= size:
            return f"{value / size:.3g} {word}"
    return f"{value:,.0f}"


def workload_problems(scenario: Scenario) -> list[tuple[Path_, str]]:
    """What in ``scenario`` asks for more work than a run can do: (field path, message)."""
    work, rate = estimate(scenario)
    years = (scenario.warmup_days + scenario.horizon_days) / 365.25
    if work.referrals > MAX_REFERRALS:
        population = sum(place.population for place in scenario.places)
        return [
            (
                rate,
                f"with the places' population of {population:,} and these referral rates, a "
                f"replication of {years:.3g} years would hold about {_count(work.referrals)} "
                f"referrals and need about {work.memory_bytes / 1e9:,.0f} GB of memory; a "
                f"replication can hold at most {_count(MAX_REFERRALS)} referrals: check the "
                "rates (per 100,000 people a year) and the populations",
            )
        ]
    if work.events > MAX_EVENTS:
        return [
            (
                ("replications",),
                f"{work.replications:,} replications of about {_count(work.referrals)} "
                f"referrals each are about {_count(work.events)} model events, days of "
                f"computing; the most a run does is {_count(MAX_EVENTS)}: run fewer "
                "replications (or a shorter horizon)",
            )
        ]
    return []
