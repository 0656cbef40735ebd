"""Referrals by clinical stream: each stream's own rate and growth, from its own streams.

A pathway whose patient mix gives ``referrals`` brings each stream's referrals at that
stream's rate and growth (the rest at their share of the service's rate and the
pathway's growth): the counts match rate x time within a confidence interval, year by
year under growth, and the stream's own growth is not capped by the pathway's peak rate.
Each stream's referrals come from their own random streams, so changing one stream's
rate leaves every other stream's referrals, times and patients, exactly as they were.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd

import simulation
from tests.builders import PATHWAY, SERVICE, mmc_scenario

YEARS = 4.0
DAYS = 365.25


def scenario(referrals: dict[str, Any], seasonality: bool = False) -> dict[str, Any]:
    """Ample beds (nobody waits), two streams, no warm-up: arrivals are the only story."""
    data = mmc_scenario(beds=2000, arrivals_per_day=1.0, horizon_years=YEARS, warmup_days=0)
    spec = data["pathways"][PATHWAY]
    spec["patient_mix"] = {
        "sex": {"male": 0.8, "female": 0.2},
        "streams": {"mental_illness": 0.75, "personality_disorder": 0.25},
        "referrals": referrals,
    }
    spec["priority_mix"] = {"urgent": 0.3, "routine": 0.7}
    spec["services"][SERVICE]["length_of_stay"] = {"distribution": "gamma", "mean": 20, "sd": 10}
    if seasonality:
        spec["seasonality"] = [1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
    return data


def events(data: dict[str, Any], replication: int = 0) -> pd.DataFrame:
    loaded = simulation.load_scenario_dict(data)
    log = simulation.run_replication(loaded, replication, keep_events=True).events
    assert log is not None
    return log[log["source"] == "new"]


def expected(rate_per_year: float, growth: float, start: float, end: float) -> float:
    """Referrals in [start, end) days at a rate growing by ``growth`` a year."""
    if growth == 0:
        return rate_per_year * (end - start) / DAYS
    g = math.log1p(growth)
    return rate_per_year / g * (math.exp(g * end / DAYS) - math.exp(g * start / DAYS))


def assert_poisson(count: int, mean: float) -> None:
    """A Poisson count within four standard deviations of its mean (1 in 15,000 fails)."""
    assert abs(count - mean) < 4 * math.sqrt(mean), (count, mean)


SERVICE_RATE = 365.25  # the builder's rate per 100k for one referral a day


def test_each_stream_arrives_at_its_own_rate() -> None:
    data = scenario({"personality_disorder": {"referral_rate_per_100k_per_year": {SERVICE: 150}}})
    for replication in range(3):
        log = events(data, replication)
        counts = log["stream"].value_counts()
        # 100,000 people: the rate per 100k is the rate per year.
        assert_poisson(counts["personality_disorder"], expected(150, 0, 0, YEARS * DAYS))
        share = 0.75 * SERVICE_RATE
        assert_poisson(counts["mental_illness"], expected(share, 0, 0, YEARS * DAYS))
        # The stream is set by the arrival; sex is still drawn from the mix.
        women = (log["sex"] == "female").mean()
        assert abs(women - 0.2) < 0.05


def test_a_streams_own_growth_year_by_year_even_above_the_pathways() -> None:
    data = scenario({"personality_disorder": {"annual_growth": 0.5}}, seasonality=False)
    data["pathways"][PATHWAY]["annual_growth"] = -0.1
    totals = np.zeros(int(YEARS))
    other = np.zeros(int(YEARS))
    replications = 4
    for replication in range(replications):
        log = events(data, replication)
        year = np.floor(log["referral_day"] / DAYS).astype(int)
        pd_year = year[log["stream"] == "personality_disorder"]
        mi_year = year[log["stream"] == "mental_illness"]
        totals += np.bincount(pd_year, minlength=int(YEARS))[: int(YEARS)]
        other += np.bincount(mi_year, minlength=int(YEARS))[: int(YEARS)]
    for y in range(int(YEARS)):
        start, end = y * DAYS, (y + 1) * DAYS
        own = expected(0.25 * SERVICE_RATE, 0.5, start, end) * replications
        assert_poisson(int(totals[y]), own)
        inherited = expected(0.75 * SERVICE_RATE, -0.1, start, end) * replications
        assert_poisson(int(other[y]), inherited)
    assert totals[-1] > 2.5 * totals[0]  # 1.5 ** 3 = 3.4: growth the pathway's peak would cap


def test_seasonality_shapes_every_stream() -> None:
    data = scenario({"personality_disorder": {"annual_growth": 0.2}}, seasonality=True)
    log = pd.concat([events(data, r) for r in range(3)])
    month = log["referral_day"].map(
        lambda d: (pd.Timestamp("2026-04-01") + pd.Timedelta(days=d)).month
    )
    for stream in ("mental_illness", "personality_disorder"):
        mine = month[log["stream"] == stream]
        # January's factor is 1.3, July's 0.7: January brings far more referrals.
        assert (mine == 1).sum() > 1.4 * (mine == 7).sum(), stream


def patients(log: pd.DataFrame, stream: str) -> pd.DataFrame:
    """A stream's referrals as who they are and when: everything but identifiers."""
    mine = log[log["stream"] == stream]
    columns = ["referral_day", "home_place", "priority", "sex", "admission_day", "exit_day"]
    return mine[columns].reset_index(drop=True)


def test_changing_one_streams_rate_leaves_the_others_referrals_alone() -> None:
    low = scenario({"personality_disorder": {"referral_rate_per_100k_per_year": {SERVICE: 50}}})
    high = copy.deepcopy(low)
    high["pathways"][PATHWAY]["patient_mix"]["referrals"]["personality_disorder"] = {
        "referral_rate_per_100k_per_year": {SERVICE: 400},
        "annual_growth": 0.2,
    }
    a, b = events(low), events(high)
    assert len(a[a["stream"] == "personality_disorder"]) < len(
        b[b["stream"] == "personality_disorder"]
    )
    unchanged = patients(a, "mental_illness")
    assert len(unchanged) > 1000
    pd.testing.assert_frame_equal(unchanged, patients(b, "mental_illness"))
    # The first referrals of the changed stream are other draws, not shifted copies.
    assert (
        not patients(a, "personality_disorder")
        .head(20)
        .equals(patients(b, "personality_disorder").head(20))
    )


def test_a_pathway_without_stream_referrals_is_untouched_by_anothers() -> None:
    """The baseline's CAMHS pathway sees the same referrals whether or not its adult
    secure pathway brings referrals by stream (pathways share no beds)."""
    base = simulation.load_scenario("scenarios/baseline.yaml")
    short = {"horizon_years": 1.0, "warmup_days": 0.0, "census": None}
    plain = simulation.scenario.loading.derive(base, short)
    streams = list(base.pathways["adult_secure"].patient_mix.streams)
    assert streams
    changed = simulation.scenario.loading.derive(
        base,
        {
            **short,
            "pathways.adult_secure.patient_mix.referrals": {streams[0]: {"annual_growth": 0.1}},
        },
    )
    assert changed.pathways["adult_secure"].referrals_by_stream
    logs = []
    for loaded in (plain, changed):
        log = simulation.run_replication(loaded, 0, keep_events=True).events
        assert log is not None
        camhs = log[(log["pathway"] == "camhs_t4") & (log["source"] == "new")]
        logs.append(camhs[["referral_day", "service", "home_place", "priority", "sex", "stream"]])
    pd.testing.assert_frame_equal(logs[0].reset_index(drop=True), logs[1].reset_index(drop=True))
