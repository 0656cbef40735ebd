"""Fitting by maximum likelihood: censored and truncated durations, Kaplan-Meier, the
Poisson referral model, and recovery of the true parameters from synthetic extracts.

Tolerances are statistical, stated once: an estimate recovers its true value when the
truth lies within ``Z`` standard errors of it (the standard error read off its own 95%
interval), with ``Z = 3.5`` so that across the few dozen estimates checked here a
correct fit fails less than once in fifty seeds; where a relative bound is also stated
it is given beside the check.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from calibration.estimate import Estimate
from calibration.extract import read_extract
from calibration.fitting import Fit, fit_extract
from calibration.likelihood import Durations
from calibration.rates import fit_rates
from calibration.survival import fit_durations, fit_family, kaplan_meier
from calibration.synthetic import synthetic_extract, write_extract
from simulation import load_scenario, load_scenario_dict
from simulation.core.problems import InputError

Z = 3.5
Z95 = 1.959963984540054
EXAMPLE = Path("calibration/data/example_extract.csv")
BASELINE = "scenarios/baseline.yaml"


def within(est: Estimate, truth: float, log: bool = True) -> bool:
    """Whether ``truth`` lies within Z standard errors of the estimate."""
    if log:
        se = (math.log(est.high) - math.log(est.low)) / (2 * Z95)
        return abs(math.log(est.value) - math.log(truth)) <= Z * se
    se = (est.high - est.low) / (2 * Z95)
    return abs(est.value - truth) <= Z * se


# -- durations -------------------------------------------------------------------------------
def lognormal(median: float, p90: float, n: int, rng: np.random.Generator) -> np.ndarray:
    sigma = (math.log(p90) - math.log(median)) / 1.2815515655446004
    return np.exp(math.log(median) + sigma * rng.standard_normal(n))


def observed(stays: np.ndarray, admitted: np.ndarray, end: float) -> Durations:
    """Stays admitted at ``admitted`` (days, may be < 0) seen over ``[0, end)`` in whole days."""
    seen = admitted + stays > 0
    stays, admitted = stays[seen], admitted[seen]
    entry = np.maximum(-admitted, 0.0)
    ended = admitted + stays < end
    recorded = np.floor(admitted + stays) - np.floor(admitted)
    exit_ = np.where(ended, recorded, end - admitted)
    return Durations.build(entry, np.maximum(exit_, entry), ended)


def test_heavily_censored_stays_naive_mean_is_biased_censored_fit_is_not() -> None:
    """Adult secure-like stays (lognormal, median 580, p90 2,000, mean 925 days) admitted
    over a two-year extract: most are still in hospital at the end. The mean of the
    completed stays is less than half the truth; the censored fit is within 15% and its
    95% interval holds the truth."""
    rng = np.random.default_rng(11)
    stays = lognormal(580, 2000, 1500, rng)
    truth = math.exp(math.log(580) + ((math.log(2000) - math.log(580)) / 1.2816) ** 2 / 2)
    d = observed(stays, rng.uniform(0, 730, len(stays)), 730)
    assert d.censored > d.events  # heavily censored
    assert d.naive_mean < 0.5 * truth
    fit = fit_durations(d)
    assert fit.chosen == "lognormal"
    mean = fit.best.mean
    assert mean.value == pytest.approx(truth, rel=0.15)
    assert mean.low <= truth <= mean.high


def test_left_truncated_stays_are_not_mistaken_for_long_ones() -> None:
    """Stays open at the period start are seen because they are long: ignoring that
    (entry at 0) overstates the median; conditioning on survival to entry does not."""
    rng = np.random.default_rng(5)
    stays = lognormal(450, 1300, 4000, rng)
    d = observed(stays, rng.uniform(-3000, 1095, len(stays)), 1095)
    assert d.truncated > 300
    honest = fit_family("lognormal", d).quantile(0.5)
    naive = fit_family("lognormal", Durations.build(np.zeros(len(d)), d.exit, d.event)).quantile(
        0.5
    )
    assert within(honest, 450)
    assert naive.value > 1.3 * 450


@pytest.mark.parametrize(
    ("family", "draw", "truth"),
    [
        ("gamma", lambda r, n: r.gamma(4.0, 30.0, n), {"mean": 120.0, "sd": 60.0}),
        ("weibull", lambda r, n: 100.0 * r.weibull(1.5, n), {"shape": 1.5, "scale": 100.0}),
        ("lognormal", lambda r, n: lognormal(45, 150, n, r), {"median": 45.0, "p90": 150.0}),
        ("exponential", lambda r, n: r.exponential(3.0, n), {"mean": 3.0}),
    ],
)
def test_each_family_is_recovered_and_chosen_by_aic(family, draw, truth) -> None:
    """2,000 stays over a one-year window (some open at its end, some open at its start);
    short ones (the exponential, mean 3 days) test the whole-day likelihood."""
    rng = np.random.default_rng(3)
    d = observed(draw(rng, 2000), rng.uniform(-200, 365, 2000), 365)
    fit = fit_durations(d)
    assert fit.chosen == family, fit.aic_text()
    estimates = fit.best.parameter_estimates()
    for name, value in truth.items():
        assert within(estimates[name], value), (name, estimates[name], value)
    assert fit.gof.p_value > 0.001
    assert fit.gof.max_gap < 0.05


def test_a_wrong_family_fails_the_goodness_of_fit() -> None:
    rng = np.random.default_rng(9)
    d = observed(lognormal(45, 300, 3000, rng), rng.uniform(0, 365, 3000), 365)
    fit = fit_durations(d, families=("exponential",))
    assert fit.gof.p_value < 0.001


def test_kaplan_meier_by_hand() -> None:
    """Ends at 2, 3 (censored), 5, 5 and 8, and one stay enters at 4 and ends at 6.

    At 2: five at risk (the late entrant not yet in), one ends: 4/5. At 5: the four
    still there (5, 5, 8 and the entrant), two end: x 2/4. At 6: two at risk, the
    entrant ends: x 1/2. At 8: the last one ends: 0.
    """
    d = Durations.build(
        np.array([0, 0, 0, 0, 0, 4.0]),
        np.array([2, 3, 5, 5, 8, 6.0]),
        np.array([1, 0, 1, 1, 1, 1], dtype=bool),
    )
    km = kaplan_meier(d)
    assert list(km.time) == [2, 5, 6, 8]
    assert list(km.at_risk) == [5, 4, 2, 1]
    assert km.survival == pytest.approx([0.8, 0.4, 0.2, 0.0])
    assert list(km.at(np.array([0, 2, 4.9, 5, 7, 9]))) == pytest.approx(
        [1, 0.8, 0.8, 0.4, 0.2, 0.0]
    )


# -- referral rates ------------------------------------------------------------------------------
def test_poisson_model_recovers_rate_growth_and_season() -> None:
    """Four years of referrals from two places at 30 per 100k a year on the end date,
    growing 8% a year, 40% more in January than in July; a flat place effect."""
    rng = np.random.default_rng(2)
    start, end = dt.date(2022, 4, 1), dt.date(2026, 4, 1)
    season = 1 + 0.4 * np.cos(2 * np.pi * (np.arange(12)) / 12)
    season /= season.mean()
    populations = {"A": 600_000, "B": 400_000}
    rows = []
    for day in range((end - start).days):
        date = start + dt.timedelta(days=day)
        years = (date - end).days / 365.25
        for place, pop in populations.items():
            rate = 30 * pop / 1e5 / 365.25 * 1.08**years * season[date.month - 1]
            for _ in range(rng.poisson(rate)):
                rows.append(("x", place, np.datetime64(date)))
    frame = pd.DataFrame(rows, columns=["service", "home_place", "referral_date"])
    fit = fit_rates("adult_ed", ["x"], populations, frame, start, end, base_growth=0.0)
    assert within(fit.rate_per_100k["x"], 30)
    assert fit.growth_used and fit.growth is not None
    assert within(fit.growth, 0.08, log=False)
    assert fit.seasonal and fit.seasonality is not None and fit.seasonality_ci is not None
    for month, (lo, hi) in enumerate(fit.seasonality_ci):
        se = (math.log(hi) - math.log(lo)) / (2 * Z95)
        assert abs(math.log(fit.seasonality[month] / season[month])) <= Z * se
    assert fit.place_p is not None and fit.place_p > 0.001
    assert 0.8 < fit.dispersion < 1.2


def test_no_pattern_no_growth_keeps_the_base() -> None:
    rng = np.random.default_rng(4)
    start, end = dt.date(2023, 4, 1), dt.date(2026, 4, 1)
    days = rng.integers(0, (end - start).days, 300)
    dates = np.datetime64(start) + days
    frame = pd.DataFrame({"service": "x", "home_place": "A", "referral_date": dates})
    fit = fit_rates("adult_ed", ["x"], {"A": 500_000}, frame, start, end, base_growth=0.02)
    assert not fit.growth_used
    assert not fit.seasonal and fit.seasonality is None
    assert within(fit.rate_per_100k["x"], 300 / 3 / 5 * 1.0, log=True)


# -- recovery from synthetic extracts ---------------------------------------------------------
@pytest.fixture(scope="module")
def example() -> Fit:
    base = load_scenario(BASELINE)
    return fit_extract(read_extract(EXAMPLE, base), base)


def test_example_extract_period_is_inferred(example: Fit) -> None:
    assert example.extract.start == dt.date(2023, 4, 1)
    assert example.extract.extract_date <= dt.date(2026, 3, 31)
    assert example.extract.extract_date >= dt.date(2026, 3, 25)


def test_example_extract_recovers_the_baseline(example: Fit) -> None:
    """The shipped example is the baseline simulated over 2023/24 to 2025/26: rates on
    1 April 2026 (grown by the true growth), mean lengths of stay and routing shares are
    recovered within Z standard errors; the maximum waits exactly where an out-of-area
    bed is found at once, and as a lower bound where a search follows them."""
    base = example.base
    years = (example.extract.end - dt.date(2023, 4, 1)).days / 365.25
    misses = []
    for p, pf in example.pathways.items():
        spec = base.pathways[p]
        for s, svc in spec.services.items():
            truth = svc.referral_rate_per_100k_per_year * (1 + spec.annual_growth) ** years
            if not within(pf.rates.rate_per_100k[s], truth):
                misses.append((p, s, "rate", pf.rates.rate_per_100k[s], truth))
            sf = example.services[(p, s)]
            assert sf.los is not None
            if not within(sf.los.best.mean, svc.length_of_stay.mean_days):
                misses.append((p, s, "los", sf.los.best.mean, svc.length_of_stay.mean_days))
            for route in svc.step_down:
                share = sf.routes[route.to].estimate
                if not within(share, route.probability, log=False):
                    misses.append((p, s, route.to, share, route.probability))
        checks = [
            ("urgent", pf.urgent.estimate, spec.priority_mix.urgent),
            ("not accepted", pf.not_accepted.estimate, spec.not_accepted_share),
        ]
        if spec.diversion is not None:
            checks.append(("diverted", pf.diverted.estimate, spec.diversion.share))
        if pf.readmission is not None:
            checks.append(("readmission", pf.readmission.probability, spec.readmission.probability))
        for name, est, truth in checks:
            if not within(est, truth, log=False):
                misses.append((p, name, est, truth))
        searching = any(svc.out_of_area.search is not None for svc in spec.services.values())
        for priority, wait in pf.max_wait.items():
            maximum = getattr(spec.max_wait_days, priority)
            if searching:
                # The wait before an out-of-area admission is the maximum wait and then
                # the search for a bed: at least the maximum wait, never less.
                assert wait.days.value >= maximum, (p, priority)
            else:
                assert wait.days.value == maximum, (p, priority)
    assert misses == []


def test_example_assessment_delays_are_recovered(example: Fit) -> None:
    for p, pf in example.pathways.items():
        truth = example.base.pathways[p].assessment_delay.mean_days
        assert pf.assessment is not None
        assert within(pf.assessment.best.mean, truth), (p, pf.assessment.best.mean, truth)


@pytest.mark.slow
def test_large_synthetic_collaborative_recovers_trend_season_and_stays(tmp_path: Path) -> None:
    """A one-pathway collaborative with plenty of beds, 6% growth a year and a strong
    winter peak, simulated over five years: the trend and monthly pattern are found
    and recovered, the gamma stay is chosen and recovered within 5%, and the shares too.
    """
    shape = [1.4, 1.3, 1.1, 1.0, 0.9, 0.8, 0.7, 0.7, 0.9, 1.0, 1.1, 1.3]
    season = [float(f) for f in np.array(shape) / np.mean(shape)]  # factors average 1
    data: dict[str, Any] = {
        "name": "truth",
        "start_date": "2021-04-01",
        "horizon_years": 1,
        "warmup_days": 0,
        "seed": 3,
        "places": [{"name": "A", "population": 1_500_000}, {"name": "B", "population": 1_000_000}],
        "units": [
            {
                "name": "U",
                "pathway": "adult_ed",
                "service": "inpatient",
                "place": "A",
                "beds": 400,
                "cost_per_bed_day_gbp": 500,
                "linked_places": ["A", "B"],
            }
        ],
        "community_teams": [
            {
                "name": "Day",
                "pathway": "adult_ed",
                "places": 400,
                "episode_length": {"distribution": "gamma", "mean": 120, "sd": 50},
                "cost_per_place_per_year_gbp": 1,
            }
        ],
        "pathways": {
            "adult_ed": {
                "annual_growth": 0.06,
                "seasonality": season,
                "priority_mix": {"urgent": 0.25, "routine": 0.75},
                "assessment_delay": {"distribution": "gamma", "mean": 14, "sd": 7},
                "not_accepted_share": 0.3,
                "readmission": {"probability": 0.2, "window_days": 365},
                "services": {
                    "inpatient": {
                        "referral_rate_per_100k_per_year": 40,
                        "length_of_stay": {"distribution": "gamma", "mean": 110, "sd": 55},
                        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 90},
                        "step_down": [{"to": "Day", "probability": 0.4}],
                    }
                },
            }
        },
    }
    truth = load_scenario_dict(data)
    start, end = dt.date(2021, 4, 1), dt.date(2026, 3, 31)
    frame = synthetic_extract(truth, start, end, warmup_days=730)
    path = tmp_path / "extract.csv"
    write_extract(frame, path)
    # The base a planner starts from assumes no growth and no season: the data must say.
    data["pathways"]["adult_ed"].update(annual_growth=0.0, seasonality=None)
    base = load_scenario_dict(data)
    fit = fit_extract(read_extract(path, base, start=start, extract_date=end), base)
    pf = fit.pathways["adult_ed"]
    rates = pf.rates
    assert rates.growth_used and rates.growth is not None
    assert within(rates.growth, 0.06, log=False)
    rate_at_end = 40 * 1.06 ** ((end - start).days / 365.25 + 1 / 365.25)
    assert within(rates.rate_per_100k["inpatient"], rate_at_end)
    assert rates.seasonal and rates.seasonality is not None and rates.seasonality_ci is not None
    truth_season = np.array(season) / np.mean(season)
    for month, (lo, hi) in enumerate(rates.seasonality_ci):
        se = (math.log(hi) - math.log(lo)) / (2 * Z95)
        assert abs(math.log(rates.seasonality[month] / truth_season[month])) <= Z * se
    sf = fit.services[("adult_ed", "inpatient")]
    assert sf.los is not None and sf.los.chosen in ("gamma", "weibull")
    mean, sd = sf.los.best.mean, sf.los.best.sd
    assert mean.value == pytest.approx(110, rel=0.05) and within(mean, 110)
    assert within(sd, 55)
    for name, est, value in [
        ("urgent", pf.urgent.estimate, 0.25),
        ("not accepted", pf.not_accepted.estimate, 0.3),
        ("step-down", sf.routes["Day"].estimate, 0.4),
    ]:
        assert within(est, value, log=False), name
    assert pf.readmission is not None and within(pf.readmission.probability, 0.2, log=False)
    assert pf.assessment is not None and within(pf.assessment.best.mean, 14)


def test_patient_mix_and_a_streams_own_stay_are_recovered_and_written(tmp_path: Path) -> None:
    """A collaborative whose referrals are 20% women and 30% personality disorder, with
    that stream's stays twice as long: the shares and its stay are estimated and written
    into the fitted scenario, which loads; its census carries each patient's attributes."""
    from calibration.census import census_from_extract
    from calibration.writer import write_fitted

    data: dict[str, Any] = {
        "name": "truth",
        "start_date": "2022-04-01",
        "horizon_years": 1,
        "seed": 5,
        "places": [{"name": "A", "population": 2_000_000}],
        "units": [
            {
                "name": "U",
                "pathway": "adult_ed",
                "service": "inpatient",
                "place": "A",
                "beds": 400,
                "cost_per_bed_day_gbp": 500,
                "linked_places": ["A"],
            }
        ],
        "pathways": {
            "adult_ed": {
                "patient_mix": {
                    "sex": {"male": 0.8, "female": 0.2},
                    "streams": {"mi": 0.7, "pd": 0.3},
                    "length_of_stay": {
                        "pd": {"inpatient": {"distribution": "gamma", "mean": 200, "sd": 80}}
                    },
                },
                "services": {
                    "inpatient": {
                        "referral_rate_per_100k_per_year": 40,
                        "length_of_stay": {"distribution": "gamma", "mean": 100, "sd": 40},
                        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 90},
                    }
                },
            }
        },
    }
    truth = load_scenario_dict(data)
    start, end = dt.date(2022, 4, 1), dt.date(2025, 3, 31)
    frame = synthetic_extract(truth, start, end, warmup_days=730)
    path = tmp_path / "extract.csv"
    write_extract(frame, path)
    del data["pathways"]["adult_ed"]["patient_mix"]  # the base knows nothing of the mix
    base = load_scenario_dict(data)
    fit = fit_extract(read_extract(path, base, start=start, extract_date=end), base)
    mix = fit.pathways["adult_ed"].mix
    assert within(mix["sex"]["female"].estimate, 0.2, log=False)
    assert within(mix["streams"]["pd"].estimate, 0.3, log=False)
    stays = fit.services[("adult_ed", "inpatient")].stream_los
    assert stays["pd"].best.mean.value == pytest.approx(200, rel=0.1)
    assert stays["mi"].best.mean.value == pytest.approx(100, rel=0.1)
    base_path = tmp_path / "base.yaml"
    base_path.write_text(__import__("yaml").safe_dump(data))
    out = tmp_path / "fitted.yaml"
    census = census_from_extract(fit.extract, fit.extract.period_days, base, 1)
    write_fitted(fit, base_path, out, census, "", None, "pathways calibrate")
    fitted = load_scenario(out)
    got = fitted.pathways["adult_ed"].patient_mix
    assert got.sex["female"] == pytest.approx(mix["sex"]["female"].estimate.value, abs=1e-3)
    assert sum(got.streams.values()) == pytest.approx(1.0)
    assert got.length_of_stay["pd"]["inpatient"].mean_days == pytest.approx(200, rel=0.1)
    in_bed = [p for p in fitted.census_patients if p.status == "in_bed"]
    assert in_bed and all(p.sex in ("male", "female") and p.stream for p in in_bed)


# -- growth: honest about its uncertainty -------------------------------------------------------
def _clustered_referrals(
    rng: np.random.Generator, start: dt.date, end: dt.date, growth: float, per_year: float
) -> pd.DataFrame:
    """Referrals growing at ``growth`` a year, arriving in clusters (overdispersed counts)."""
    rows = []
    for day in range((end - start).days):
        date = start + dt.timedelta(days=day)
        years = (date - end).days / 365.25
        rate = per_year / 365.25 * (1 + growth) ** years
        for _ in range(rng.poisson(rate / 3)):  # clusters of mean size 3
            rows += [("x", "A", np.datetime64(date))] * int(1 + rng.poisson(2))
    return pd.DataFrame(rows, columns=["service", "home_place", "referral_date"])


def test_the_growth_interval_covers_the_truth_when_referrals_cluster() -> None:
    # Clustered referrals vary three times as much as Poisson ones; a Poisson interval
    # then covers the true growth far less often than 95%.
    rng = np.random.default_rng(14)
    start, end = dt.date(2022, 4, 1), dt.date(2026, 4, 1)
    covered = []
    for _ in range(30):
        frame = _clustered_referrals(rng, start, end, 0.03, 150)
        fit = fit_rates("adult_ed", ["x"], {"A": 500_000}, frame, start, end, base_growth=0.0)
        assert fit.growth is not None
        covered.append(fit.growth.low <= 0.03 <= fit.growth.high)
    assert np.mean(covered) >= 0.85


def test_a_growth_from_a_short_extract_is_shown_but_not_projected() -> None:
    rng = np.random.default_rng(3)
    start, end = dt.date(2024, 10, 1), dt.date(2026, 4, 1)  # 18 months
    frame = _clustered_referrals(rng, start, end, 0.5, 600)
    fit = fit_rates("adult_ed", ["x"], {"A": 500_000}, frame, start, end, base_growth=0.01)
    assert fit.growth is not None and fit.growth.low > 0.0  # a clear trend in the data
    assert not fit.growth_used
    assert any("too short" in note and "kept" in note for note in fit.notes)


def test_an_extract_date_after_the_data_is_refused_in_one_sentence(tmp_path: Path) -> None:
    base = load_scenario(BASELINE)
    with pytest.raises(InputError) as refused:
        read_extract(EXAMPLE, base, extract_date=dt.date(2027, 3, 31))
    (problem,) = refused.value.problems
    assert "after the extract's last date" in problem.message
    assert "no later than" in problem.message
