"""KPI rows are right: by hand on a few made-up episodes, and against a slow oracle.

``kpi_rows`` is written for speed (one pass over the episodes, then roll-ups). These
tests pin down what it must compute without trusting that code:

* a hand-built replication of one unit with seven episodes and known level integrals,
  whose KPIs are worked out by arithmetic in the comments;
* a short run of the shipped baseline, every episode KPI row of which is recomputed by
  a deliberately naive oracle: each episode is exploded into every group and period it
  belongs to, and each statistic is taken with the standard library;
* Kaplan-Meier medians of many groups at once, against the median of each group alone.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulation import load_scenario, load_scenario_dict
from simulation.core.calendar import Calendar
from simulation.model.model import Model
from simulation.model.records import Episode
from simulation.model.resources import OUT_OF_AREA
from simulation.model.spend import SpendLevels
from simulation.results.catalogue import ALL, HORIZON
from simulation.results.kpis import km_median, km_medians, kpi_rows
from simulation.scenario.loading import derive

KEYS = ["pathway", "service", "unit", "place", "period", "kpi"]
PW, SVC, PLACE, UNIT = "adult_ed", "inpatient", "Home", "Unit"
FY1, FY2 = "2026/27", "2027/28"


def tiny_scenario() -> Any:
    return load_scenario_dict(
        {
            "name": "tiny",
            "start_date": "2026-04-01",
            "horizon_years": 2.0,  # 730 days: 2026/27 is days 0-365, 2027/28 is 365-730
            "places": [{"name": PLACE, "population": 100_000}],
            "units": [
                {
                    "name": UNIT,
                    "pathway": PW,
                    "service": SVC,
                    "place": PLACE,
                    "beds": 2,
                    "cost_per_bed_day_gbp": 500,
                    "linked_places": [PLACE],
                }
            ],
            "pathways": {
                PW: {
                    "services": {
                        SVC: {
                            "referral_rate_per_100k_per_year": 1.0,
                            "length_of_stay": {"distribution": "fixed", "value": 30},
                            "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 100},
                        }
                    }
                }
            },
        }
    )


def episode(n: int, **fields: Any) -> Episode:
    base: dict[str, Any] = {
        "episode_id": n,
        "referral_id": n,
        "patient_id": n,
        "pathway": PW,
        "service": SVC,
        "home_place": PLACE,
        "source": "new",
        "priority": "routine",
    }
    return Episode(**{**base, **fields})


def hand_built_output() -> SimpleNamespace:
    scenario = tiny_scenario()
    calendar = Calendar.build(scenario.start_date, scenario.horizon_days)
    assert scenario.horizon_days == 730 and calendar.n_months == 24
    episodes = [
        # 1: waits 2 days, stays 28 days at home unit, then steps down (to itself: the
        #    KPIs do not check routes) and episode 7 is the step-down stay.
        episode(
            1,
            referral_day=10.0,
            decision="accepted",
            decision_day=10.0,
            admission_day=12.0,
            admitted_to=UNIT,
            distance_miles=0.0,
            ready_day=40.0,
            exit_day=40.0,
            exit_to="step_down_bed",
            sex="female",
        ),
        # 2: referred and admitted in the warm-up; only its exit (day 20) is reported.
        episode(
            2,
            referral_day=-5.0,
            decision="accepted",
            decision_day=-5.0,
            admission_day=-3.0,
            admitted_to=UNIT,
            distance_miles=0.0,
            ready_day=20.0,
            exit_day=20.0,
            exit_to="home",
        ),
        # 3: referred in 2026/27, out of area from day 370 (2027/28) after 10 days'
        #    wait, repatriated on day 380, leaves on day 400.
        episode(
            3,
            referral_day=360.0,
            decision="accepted",
            decision_day=360.0,
            admission_day=370.0,
            admitted_to=OUT_OF_AREA,
            distance_miles=100.0,
            sex="female",
            ooa_reason="max_wait_passed",
            ooa_search_day=365.0,  # the search took 5 days
            repatriation_day=380.0,
            repatriated_to=UNIT,
            ready_day=400.0,
            exit_day=400.0,
            exit_to="home",
        ),
        # 4: not accepted.
        episode(4, referral_day=100.0, decision="not_accepted", decision_day=100.0),
        # 5: out of area at once on day 300 and never leaves: 65 days in 2026/27, 365
        #    in 2027/28.
        episode(
            5,
            priority="urgent",
            referral_day=300.0,
            decision="accepted",
            decision_day=300.0,
            admission_day=300.0,
            admitted_to=OUT_OF_AREA,
            distance_miles=100.0,
            sex="male",
            ooa_reason="no_compatible_unit",
            ooa_search_day=300.0,
        ),
        # 6: a readmission referral that withdraws while waiting.
        episode(
            6,
            source="readmission",
            referral_day=500.0,
            decision="accepted",
            decision_day=500.0,
            withdrawn_day=520.0,
        ),
        # 7: the step-down stay of episode 1, still in a bed at the end.
        episode(
            7,
            referral_id=1,
            patient_id=1,
            source="step_down",
            referral_day=40.0,
            decision="accepted",
            decision_day=40.0,
            admission_day=40.0,
            admitted_to=UNIT,
            distance_miles=0.0,
        ),
    ]
    lengths = calendar.month_lengths()
    key = (PW, SVC)
    zeros = np.zeros(calendar.n_months)
    levels = SpendLevels(
        occupied={UNIT: 1.5 * lengths},  # 1.5 beds occupied all the time
        open={UNIT: 2 * lengths},  # two beds open all the time
        out_of_area={key: np.where(np.arange(calendar.n_months) < 12, 0.5, 1.0) * lengths},
        places={},
    )
    return SimpleNamespace(
        scenario=scenario,
        calendar=calendar,
        episodes=episodes,
        unit_occupancy=levels.occupied,
        unit_beds={UNIT: 2},
        unit_bed_days=levels.open,
        waiting={key: zeros.copy()},
        ooa_census=levels.out_of_area,
        delayed={key: zeros.copy()},
        searching={key: zeros.copy()},
        caseload={},
        places=levels.places,
        spend_levels=levels,
    )


def test_kpis_of_hand_built_episodes_and_levels() -> None:
    kpis = kpi_rows(hand_built_output())  # type: ignore[arg-type]
    assert not kpis.duplicated(KEYS).any()
    assert kpis.columns.tolist() == [*KEYS, "value"]
    values = kpis.set_index(KEYS)["value"]

    def at(kpi: str, period: str, service: str = SVC, place: str = PLACE, unit: str = ALL) -> Any:
        return values[(PW, service, unit, place, period, kpi)]

    expected = {
        # kpi: (2026/27, 2027/28, horizon)
        "referrals": (4, 1, 5),  # 1, 3, 4, 5 | 6 (2 is in the warm-up, 7 a step-down)
        "readmissions": (0, 1, 1),
        "not_accepted": (1, 0, 1),
        "diversions": (0, 0, 0),
        "withdrawn": (0, 1, 1),
        "admissions": (2, 1, 3),  # 1, 5 | 3
        "ooa_admissions": (1, 1, 2),  # 5 | 3
        "repatriations": (0, 1, 1),
        "transfers_in": (1, 0, 1),
        "step_downs": (1, 0, 1),
        "ooa_bed_days": (65, 365 + 10, 440),  # 5: 65 + 365; 3: days 370-380
        "wait_mean_days": (1, 10, 4),  # waits 2 and 0 | 10
        "waited_pct": (50, 100, 100 * 2 / 3),
        "ooa_admission_pct": (50, 100, 100 * 2 / 3),
        "distance_mean_miles": (50, 100, 200 / 3),
        "los_mean_days": (
            (28 + 23) / 2,  # 1 leaves on day 40 after 28 days; 2 on day 20 after 23
            30,  # 3 leaves on day 400 after 30 days
            (28 + 23 + 30) / 3,
        ),
        # Levels: 1.5 of 2 beds all the time; out-of-area census 0.5 then 1.
        "bed_days": (1.5 * 365, 1.5 * 365, 1.5 * 730),
        "occupied_beds_mean": (1.5, 1.5, 1.5),
        "beds": (2, 2, 2),
        "occupancy_pct": (75, 75, 75),
        "ooa_census_mean": (0.5, 1.0, 0.75),
        "ooa_searching_mean": (0, 0, 0),
        # Out of area by reason and sex: 5 (a man, no compatible unit) | 3 (a woman,
        # after the maximum wait, found after a 5-day search).
        "ooa_no_compatible_unit": (1, 0, 1),
        "ooa_compatible_units_full": (0, 0, 0),
        "ooa_max_wait_passed": (0, 1, 1),
        "ooa_admissions_female": (0, 1, 1),
        "ooa_admissions_male": (1, 0, 1),
        "ooa_search_days_mean": (0, 5, 2.5),
        "waited_week_pct": (0, 100, 100 / 3),  # waits 2 and 0 | 10
        "wait_mean_days_female": (2, 10, 6),  # 1 | 3
        "waiting_list_mean": (0, 0, 0),
        "delayed_discharge_days": (0, 0, 0),
        "cost_inpatient_gbp": (500 * 547.5, 500 * 547.5, 500 * 1095),
        "cost_ooa_gbp": (600 * 182.5, 600 * 365, 600 * 547.5),
        "cost_community_gbp": (0, 0, 0),
        "cost_total_gbp": (
            500 * 547.5 + 600 * 182.5,
            500 * 547.5 + 600 * 365,
            500 * 1095 + 600 * 547.5,
        ),
    }
    # 90th percentile by linear interpolation at h = 0.9 (n - 1) of the sorted waits:
    # (0, 2) gives 0 + 0.9 * 2; (0, 2, 10) gives h = 1.8, so 2 + 0.8 * (10 - 2).
    expected["wait_p90_days"] = (1.8, 10, 2 + 0.8 * (10 - 2))
    assert set(expected) <= set(kpis["kpi"])
    for kpi, per_period in expected.items():
        for period, value in zip((FY1, FY2, HORIZON), per_period, strict=True):
            if kpi.startswith("cost_"):
                got = values[(PW, ALL, ALL, ALL, period, kpi)]
                total = values[(ALL, ALL, ALL, ALL, period, kpi)]
                assert total == pytest.approx(value, rel=1e-12), (kpi, period)
            elif kpi in _LEVEL_KPIS:
                got = at(kpi, period, place=ALL)
                assert at(kpi, period, place=ALL, unit=UNIT if kpi in _UNIT_KPIS else ALL) == (
                    pytest.approx(value, rel=1e-12)
                )
                assert values[(PW, ALL, ALL, ALL, period, kpi)] == pytest.approx(value, rel=1e-12)
            else:
                got = at(kpi, period)
                # One service and one place: every grouping gives the same number.
                for service, place in ((SVC, ALL), (ALL, PLACE), (ALL, ALL)):
                    assert at(kpi, period, service, place) == pytest.approx(got, rel=1e-12)
            assert got == pytest.approx(value, rel=1e-12), (kpi, period)


_UNIT_KPIS = {"bed_days", "occupied_beds_mean", "beds", "occupancy_pct"}
_LEVEL_KPIS = _UNIT_KPIS | {
    "ooa_census_mean",
    "waiting_list_mean",
    "delayed_discharge_days",
    "ooa_searching_mean",
}


# -- a naive oracle for the episode KPIs on a real run ----------------------------------
Rule = tuple[Callable[[Episode], bool], Callable[[Episode], float | None], str, Any]


def _wait(e: Episode) -> float | None:
    assert e.admission_day is not None
    return None if e.decision_day is None else e.admission_day - e.decision_day


def _admitted(e: Episode) -> bool:
    return e.source != "step_down" and e.admission_day is not None


ORACLE: dict[str, Rule] = {
    # kpi: (which episodes, the day that places it in a period, statistic, value)
    "referrals": (lambda e: e.source != "step_down", lambda e: e.referral_day, "count", None),
    "readmissions": (lambda e: e.source == "readmission", lambda e: e.referral_day, "count", None),
    "not_accepted": (
        lambda e: e.source != "step_down" and e.decision == "not_accepted",
        lambda e: e.decision_day,
        "count",
        None,
    ),
    "diversions": (
        lambda e: e.source != "step_down" and e.decision == "diverted",
        lambda e: e.decision_day,
        "count",
        None,
    ),
    "withdrawn": (
        lambda e: e.source != "step_down" and e.withdrawn_day is not None,
        lambda e: e.withdrawn_day,
        "count",
        None,
    ),
    "admissions": (_admitted, lambda e: e.admission_day, "count", None),
    "ooa_admissions": (
        lambda e: _admitted(e) and e.admitted_to == OUT_OF_AREA,
        lambda e: e.admission_day,
        "count",
        None,
    ),
    "repatriations": (
        lambda e: e.repatriation_day is not None,
        lambda e: e.repatriation_day,
        "count",
        None,
    ),
    "transfers_in": (
        lambda e: e.source == "step_down" and e.admission_day is not None,
        lambda e: e.admission_day,
        "count",
        None,
    ),
    "step_downs": (
        lambda e: e.exit_to in ("step_down_bed", "community"),
        lambda e: e.exit_day,
        "count",
        None,
    ),
    "wait_referral_mean_days": (
        _admitted,
        lambda e: e.admission_day,
        "mean",
        lambda e: None if e.referral_day is None else e.admission_day - e.referral_day,
    ),
    "wait_mean_days": (_admitted, lambda e: e.admission_day, "mean", _wait),
    "wait_p90_days": (_admitted, lambda e: e.admission_day, "p90", _wait),
    "waited_pct": (
        _admitted,
        lambda e: e.admission_day,
        "pct",
        lambda e: float((_wait(e) or 0.0) > 1e-9),
    ),
    "ooa_admission_pct": (
        _admitted,
        lambda e: e.admission_day,
        "pct",
        lambda e: float(e.admitted_to == OUT_OF_AREA),
    ),
    "distance_mean_miles": (
        _admitted,
        lambda e: e.admission_day,
        "mean",
        lambda e: e.distance_miles,
    ),
    "los_mean_days": (
        lambda e: e.exit_day is not None and e.admission_day is not None,
        lambda e: e.exit_day,
        "mean",
        lambda e: e.exit_day - e.admission_day,
    ),
}


def _groups(e: Episode) -> list[tuple[str, str, str]]:
    """Every (pathway, service, place) group an episode counts in, ``all`` for totals."""
    return [
        (e.pathway, e.service, e.home_place),
        (e.pathway, e.service, ALL),
        (e.pathway, ALL, e.home_place),
        (e.pathway, ALL, ALL),
    ]


def _stat(values: list[float], how: str) -> float:
    if how == "mean":
        return statistics.fmean(values)
    if how == "pct":
        return 100 * statistics.fmean(values)
    assert how == "p90"
    return float(np.percentile(values, 90))  # linear interpolation, as pandas


def oracle_rows(output: Any) -> pd.DataFrame:
    """Episode KPIs by brute force: every episode into every group and period."""
    cal = output.calendar
    # Each financial year runs from its first month's start to the next year's start.
    bounds: dict[str, tuple[float, float]] = {}
    for start, year in zip(cal.edges, cal.financial_years, strict=False):
        if year not in bounds:
            bounds[year] = (start, cal.horizon_days)
            previous = list(bounds)[-2:-1]
            if previous:
                bounds[previous[0]] = (bounds[previous[0]][0], start)
    bounds[HORIZON] = (0.0, cal.horizon_days)
    rows = []
    for kpi, (select, when, how, value) in ORACLE.items():
        bags: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
        for e in output.episodes:
            if not select(e):
                continue
            day = when(e)
            for period, (a, b) in bounds.items():
                if day is not None and a <= day < b:
                    for group in _groups(e):
                        bags[(*group, period)].append(1.0 if value is None else value(e))
        if how == "count":  # zero-filled for every service and place of the scenario
            for pathway, service in output.scenario.services():
                for place in [p.name for p in output.scenario.places]:
                    for group in _groups(
                        SimpleNamespace(pathway=pathway, service=service, home_place=place)  # type: ignore[arg-type]
                    ):
                        for period in bounds:
                            bags.setdefault((*group, period), [])
        for (pathway, service, place, period), values in bags.items():
            finite = [v for v in values if v is not None and not math.isnan(v)]
            if how == "count":
                result = float(len(values))
            elif finite:
                result = _stat(finite, how)
            else:
                result = math.nan
            rows.append((pathway, service, ALL, place, period, kpi, result))
    return pd.DataFrame(rows, columns=[*KEYS, "value"])


@pytest.fixture(scope="module")
def baseline_output() -> Any:
    scenario = derive(
        load_scenario("scenarios/baseline.yaml"), {"horizon_years": 2.0, "warmup_days": 730.0}
    )
    return Model(scenario, 3).run()


def test_episode_kpis_match_a_naive_oracle_on_the_baseline(baseline_output: Any) -> None:
    kpis = kpi_rows(baseline_output)
    assert not kpis.duplicated(KEYS).any()
    got = kpis[kpis["kpi"].isin(list(ORACLE))]
    expected = oracle_rows(baseline_output)
    assert len(expected) > 1000  # the run has something to check

    def tidy(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype(dict.fromkeys(KEYS, object) | {"value": float})
        return frame.sort_values(KEYS).reset_index(drop=True)

    pd.testing.assert_frame_equal(tidy(got), tidy(expected), rtol=1e-9)


def test_level_kpis_add_up_on_the_baseline(baseline_output: Any) -> None:
    kpis = kpi_rows(baseline_output)
    out = baseline_output
    cal = out.calendar
    horizon = kpis[kpis["period"] == HORIZON].set_index(KEYS)["value"]
    total_cost = 0.0
    block = False
    for pathway, service in out.scenario.services():
        units = out.scenario.units_of(pathway, service)
        for unit in units:
            days = float(np.sum(out.unit_occupancy[unit.name]))
            assert horizon[(pathway, service, unit.name, ALL, HORIZON, "bed_days")] == (
                pytest.approx(days, rel=1e-12)
            )
            mean_beds = days / cal.horizon_days
            if unit.beds:
                pct = horizon[(pathway, service, unit.name, ALL, HORIZON, "occupancy_pct")]
                assert pct == pytest.approx(100 * mean_beds / unit.beds, rel=1e-12)
            total_cost += days * unit.cost_per_bed_day_gbp
            block = block or getattr(unit, "funding", "occupied_bed_days") != "occupied_bed_days"
        ooa = float(np.sum(out.ooa_census[(pathway, service)]))
        cost = out.scenario.pathways[pathway].services[service].out_of_area.cost_per_bed_day_gbp
        total_cost += ooa * cost
    for team in out.scenario.community_teams:
        total_cost += (
            float(np.sum(out.places[team.name])) * team.cost_per_place_per_year_gbp / 365.25
        )
    if not block:  # block contracts pay for open beds, not occupied ones
        assert horizon[(ALL, ALL, ALL, ALL, HORIZON, "cost_total_gbp")] == pytest.approx(
            total_cost, rel=1e-9
        )


def _stays_scenario(warmup_days: float) -> Any:
    """One roomy unit, a referral a day, exponential stays of mean 400 days (median 277)."""
    return load_scenario_dict(
        {
            "name": "stays",
            "start_date": "2026-04-01",
            "horizon_years": 3.0,
            "warmup_days": warmup_days,
            "places": [{"name": PLACE, "population": 100_000}],
            "units": [
                {
                    "name": UNIT,
                    "pathway": PW,
                    "service": SVC,
                    "place": PLACE,
                    "beds": 900,
                    "cost_per_bed_day_gbp": 500,
                }
            ],
            "pathways": {
                PW: {
                    "services": {
                        SVC: {
                            "referral_rate_per_100k_per_year": 365.25,
                            "length_of_stay": {"distribution": "exponential", "mean": 400},
                            "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 80},
                        }
                    },
                    "not_accepted_share": 0.0,
                }
            },
        }
    )


@pytest.mark.parametrize("warmup_days", [0.0, 3000.0])
def test_the_censoring_aware_length_of_stay_finds_the_true_median(warmup_days: float) -> None:
    # From an empty start only the short stays end within the period, so the mean of
    # stays that ended is far below the true mean; Kaplan-Meier, counting the stays still
    # going (and, after a warm-up, entering those already going late), finds the median.
    kpis = kpi_rows(Model(_stays_scenario(warmup_days), 0).run())
    whole = kpis[
        (kpis["period"] == HORIZON)
        & (kpis["service"] == ALL)
        & (kpis["place"] == ALL)
        & (kpis["pathway"] == PW)
    ].set_index("kpi")["value"]
    median = 400 * math.log(2)
    assert whole["los_median_km_days"] == pytest.approx(median, rel=0.12)
    if warmup_days == 0.0:
        assert whole["los_mean_days"] < 0.8 * 400


@pytest.mark.parametrize("seed", range(6))
def test_kaplan_meier_medians_by_group_are_each_groups_own(seed: int) -> None:
    # Stays in groups of very different sizes, some with none and some never ending,
    # with tied durations (whole days), late entries and censoring.
    rng = np.random.default_rng(seed)
    n, size = 400, 12
    group = rng.choice(
        size - 2, n, p=np.linspace(1, 10, size - 2) / np.linspace(1, 10, size - 2).sum()
    )
    duration = np.round(rng.exponential(30.0, n))
    entry = np.where(rng.random(n) < 0.3, np.floor(duration * rng.random(n)), 0.0)
    event = rng.random(n) < 0.7
    event[group == 0] = False  # a group in which no stay ended
    got = km_medians(group, size, entry, duration, event)
    for g in range(size):
        mine = group == g
        expected = km_median(entry[mine], duration[mine], event[mine])
        assert np.array_equal(got[g], expected, equal_nan=True), g
    assert np.isnan(got[[0, size - 2, size - 1]]).all()
    assert np.isfinite(got).sum() >= 5  # most groups have a median to compare
