"""The shipped baseline: Little's law, agreement with its plausibility arithmetic, and
staying in the band that published figures make credible.

One module-level run of the baseline exactly as shipped (from its census, over its 5-year
horizon) with ``REPLICATIONS`` replications serves every simulated check. Results depend
only on (scenario, seed, replication), so these checks are deterministic: they fail when
a change to the scenario or the model moves the baseline, which is their purpose.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from simulation import load_scenario, run_experiment
from simulation.core.distributions import LogNormal
from simulation.scenario import plausibility as pl

BASELINE = "scenarios/baseline.yaml"
REPLICATIONS = 4
WORKERS = 2

pytestmark = pytest.mark.slow  # about 10 s on two cores: one run of 4 replications


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def kpis(scenario) -> pd.DataFrame:
    """Per-replication horizon KPIs at service and pathway level (all places, all units)."""
    result = run_experiment(scenario, replications=REPLICATIONS, workers=WORKERS)
    k = result.kpis
    return k[(k["period"] == "horizon") & (k["place"] == "all") & (k["unit"] == "all")]


@pytest.fixture(scope="module")
def years(scenario) -> float:
    return scenario.horizon_days / pl.DAYS_PER_YEAR


def _wide(kpis: pd.DataFrame, level: str) -> pd.DataFrame:
    """Replication x (pathway, service) rows, one column per KPI."""
    rows = kpis[kpis["service"] != "all"] if level == "service" else kpis[kpis["service"] == "all"]
    return rows.pivot_table(
        index=["replication", "pathway", "service"], columns="kpi", values="value"
    )


def _ci(values: pd.Series) -> tuple[float, float]:
    """95% t confidence interval of a mean over replications."""
    n = len(values)
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return values.mean() - half, values.mean() + half


# -- (a) Little's law -----------------------------------------------------------------------
def test_littles_law_holds_for_every_service(scenario, kpis, years):
    """Time-average patients in beds (in area + out of area) = arrival rate x mean stay.

    Arrivals are first admissions plus step-down transfers in; the mean stay is the mean
    of the stays that ended in the horizon, delays included. In a steady state the two
    sides agree in expectation; over a finite window they differ by the patients already
    in a bed at the start and still in one at the end, a boundary error of order mean
    stay / horizon. Tolerance: 5% where the mean stay is under a tenth of the horizon,
    10% where it is longer: the secure services (means 634 and 925 days, a third to a
    half of the horizon) and CAMHS low secure (222 days, 12%, in a unit of six beds). Over
    20 replications the agreement is within 2% for every service but CAMHS low secure
    (4%).
    """
    wide = _wide(kpis, "service")
    wide = wide.assign(
        in_beds=wide["occupied_beds_mean"] + wide["ooa_census_mean"],
        littles=(wide["admissions"] + wide["transfers_in"])
        / years
        * wide["los_mean_days"]
        / pl.DAYS_PER_YEAR,
    )
    means = wide.groupby(["pathway", "service"])[["in_beds", "littles"]].mean()
    for (pathway, service), row in means.iterrows():
        mean_los = scenario.pathways[pathway].services[service].length_of_stay.mean_days
        tolerance = 0.10 if mean_los > 0.1 * scenario.horizon_days else 0.05
        assert row["in_beds"] == pytest.approx(row["littles"], rel=tolerance), (
            f"{pathway}/{service}: {row['in_beds']:.2f} patients in beds on average, but "
            f"arrivals x mean stay = {row['littles']:.2f}"
        )


# -- (b) the plausibility arithmetic agrees with the simulation --------------------------------
def test_referral_rates_match_the_plausibility_arithmetic(scenario, kpis, years):
    """Referrals a year per service (new + readmissions) lie in the simulated 95% CI."""
    wide = _wide(kpis, "service")
    for (pathway, service), expected in pl.service_demand(scenario).items():
        simulated = wide.xs((pathway, service), level=("pathway", "service"))["referrals"] / years
        low, high = _ci(simulated)
        assert low <= expected.referrals_per_year <= high, (
            f"{pathway}/{service}: plausibility says {expected.referrals_per_year:.1f} "
            f"referrals a year; the simulation's 95% CI is {low:.1f} to {high:.1f}"
        )


def test_admissions_match_where_capacity_does_not_bind(scenario, kpis, years):
    """Where the offered load is under the beds (CAMHS), admissions and step-down transfers
    agree with the arithmetic within the simulated 95% CI widened by 5% (diversion needs a
    free team place, which the arithmetic assumes is always there)."""
    wide = _wide(kpis, "service")
    for (pathway, service), expected in pl.service_demand(scenario).items():
        if expected.offered_load_ratio >= 1:
            continue
        sim = wide.xs((pathway, service), level=("pathway", "service"))
        for kpi, value in (
            ("admissions", expected.admissions_per_year),
            ("transfers_in", expected.step_down_inflow_per_year),
        ):
            low, high = _ci(sim[kpi] / years)
            assert low * 0.95 <= value <= high * 1.05 + 1e-9, (
                f"{pathway}/{service} {kpi}: plausibility {value:.1f} a year, "
                f"simulated 95% CI {low:.1f} to {high:.1f}"
            )


def test_plausibility_figures_sit_beside_the_published_ones(scenario):
    """Per-100k figures of the scenario against the published national ones.

    Adult ED beds match England's 455 beds per head; CAMHS beds lie in the published
    regional range; CAMHS admissions are within 10% of England's 4,700 a year per head;
    secure patients (Little's law, in and out of area) lie between the South West
    collaborative's 7 per 100k and England's medium+low beds per head.
    """
    figures = pl.pathway_figures(scenario)
    published = pl.PUBLISHED
    ed_beds = published[("adult_ed", "beds_per_100k")].value
    assert figures["adult_ed"]["beds_per_100k"] == pytest.approx(ed_beds, rel=0.05)
    camhs = published[("camhs_t4", "beds_per_100k")]
    assert camhs.low <= figures["camhs_t4"]["beds_per_100k"] <= camhs.high
    camhs_adm = published[("camhs_t4", "admissions_per_100k")].value
    assert figures["camhs_t4"]["admissions_per_100k"] == pytest.approx(camhs_adm, rel=0.10)
    secure = published[("adult_secure", "patients_per_100k")]
    assert secure.low <= figures["adult_secure"]["patients_per_100k"] <= secure.high
    ed_refs = published[("adult_ed", "referrals_per_100k")].value
    assert figures["adult_ed"]["referrals_per_100k"] == pytest.approx(ed_refs, rel=0.15)


def test_medium_secure_stays_match_the_census_figures(scenario):
    """Median 580 days (Earnshaw 2019) and 18.1% of a census over 5 years (Völlm 2018)."""
    los = scenario.pathways["adult_secure"].services["medium"].length_of_stay
    assert isinstance(los, LogNormal)
    assert los.median == 580
    share = pl.share_of_census_longer_than(los, 5 * pl.DAYS_PER_YEAR)
    assert share == pytest.approx(0.181, abs=0.01)


def test_start_holds_the_long_secure_stays(scenario):
    """The run starts with the long secure stays a steady state has.

    From a census (the shipped baseline): the share of secure patients in a bed who have
    stayed over five years is the steady-state share (18.0% medium, 6.3% low) within
    0.08, about two binomial standard errors for the ~90-100 patients in each service.
    From empty: under 2% of a steady-state census has stayed longer than the warm-up.
    """
    for service in ("medium", "low"):
        los = scenario.pathways["adult_secure"].services[service].length_of_stay
        if not scenario.census_patients:
            assert pl.share_of_census_longer_than(los, scenario.warmup_days) < 0.02
            continue
        expected = pl.share_of_census_longer_than(los, 5 * pl.DAYS_PER_YEAR)
        in_beds = [
            p
            for p in scenario.census_patients
            if (p.pathway, p.service) == ("adult_secure", service)
            and p.status in ("in_bed", "out_of_area")
        ]
        long_stays = sum(p.since_days > 5 * pl.DAYS_PER_YEAR for p in in_beds)
        assert long_stays / len(in_beds) == pytest.approx(expected, abs=0.08), service


def test_no_service_or_team_is_far_from_its_capacity(scenario):
    """Offered load 0.8-1.25 of beds for every service, and community teams not over
    their places: demand that needs many more beds than there are collapses, far fewer
    idles. (Small CAMHS units run lower than large ones at the same load.)"""
    for (pathway, service), d in pl.service_demand(scenario).items():
        assert 0.8 <= d.offered_load_ratio <= 1.25, (pathway, service, d.offered_load_ratio)
    for name, team in pl.team_demand(scenario).items():
        assert 0.4 <= team.load_ratio <= 0.95, (name, team.load_ratio)


# -- (c) the plausible band -------------------------------------------------------------------
# Bands, from PARAMETERS.md, wide enough for 4 replications and for deliberate retuning, narrow
# enough that an idle or collapsing baseline fails:
# - occupancy 80-99% for each pathway: secure units report > 90% (HSJ 2011, S), national
#   tier 4 and adult ED units run near full; below 80% is an idle service, 99% and above means
#   every bed is always full and the queue only grows.
# - out-of-area admissions: adult secure 3-30% (East Midlands < 6% of patients now, 14% at
#   go-live; North London ~15%; West Midlands 40% in 2016); CAMHS 5-50% (far from home 13.7-16.9
#   per 100k 13-17 year olds, about 10-12% of admissions; 69% out of the local area, S); adult
#   ED 0-25% (West Midlands removed all out-of-area activity; our baseline predates that).
# - adult ED referral to admission (assessment + wait) 20-60 days around Ayton's 33-46 days.
# - CAMHS mean wait under 7 days: local units place urgent patients within days (East
#   Midlands now under 5 days), although 41% of far-from-home admissions waited a week.
# - delayed discharge under 10% of bed days in each pathway (a step-down bottleneck above
#   that is the collapse the old baseline had); some delay in adult secure, where waits for
#   a lower-security bed or a community team are common.
OCCUPANCY_BAND = (80.0, 99.0)
OOA_ADMISSION_BAND = {"adult_secure": (3.0, 30.0), "camhs_t4": (5.0, 50.0), "adult_ed": (0.0, 25.0)}


def _pathway_means(kpis: pd.DataFrame) -> pd.DataFrame:
    wide = _wide(kpis, "pathway")
    wide = wide[wide.index.get_level_values("pathway") != "all"]
    return wide.groupby("pathway").mean()


def test_occupancy_is_under_pressure_but_not_full(kpis):
    means = _pathway_means(kpis)
    low, high = OCCUPANCY_BAND
    for pathway, row in means.iterrows():
        assert low <= row["occupancy_pct"] <= high, (pathway, row["occupancy_pct"])


def test_some_patients_are_placed_out_of_area(kpis):
    means = _pathway_means(kpis)
    for pathway, (low, high) in OOA_ADMISSION_BAND.items():
        value = means.loc[pathway, "ooa_admission_pct"]
        assert low <= value <= high, (pathway, value)


def test_waits_for_admission_are_in_the_published_ranges(scenario, kpis):
    means = _pathway_means(kpis)
    ed_assessment = scenario.pathways["adult_ed"].assessment_delay.mean_days
    ed_wait = ed_assessment + means.loc["adult_ed", "wait_mean_days"]
    assert 20.0 <= ed_wait <= 60.0, ed_wait
    assert means.loc["camhs_t4", "wait_mean_days"] < 7.0


def test_split_wards_send_patients_away_below_full_occupancy(kpis):
    """Adult secure wards split by sex and stream: about 88-94% occupancy with 10-20% of
    admissions out of area (services run at about 90-92% and place 10-20%, PARAMETERS.md),
    many of them while beds stood free in wards that could not take the patient.

    The out-of-area share is checked on the mean of these 4 replications, whose 95%
    interval is about 4.5 points either side (20 replications give 12.0%, 9.9 to 14.1,
    scenarios/README.md), so its band is 10-20% widened by 2 points each side."""
    means = _pathway_means(kpis)
    secure = means.loc["adult_secure"]
    assert 88.0 <= secure["occupancy_pct"] <= 94.0, secure["occupancy_pct"]
    assert 8.0 <= secure["ooa_admission_pct"] <= 22.0, secure["ooa_admission_pct"]
    assert secure["ooa_compatible_units_full"] > 0.2 * secure["ooa_admissions"]


def test_a_substantial_share_of_camhs_admissions_waits_a_week(kpis):
    """With no national bed search (Fung & Cullen 2015) a real share of CAMHS admissions
    waits a week or more (41% published, Holland 2023; 6.7% when out-of-area beds were
    found at once); and adult secure waits do not all stop at the 28-day target."""
    means = _pathway_means(kpis)
    assert means.loc["camhs_t4", "waited_week_pct"] >= 15.0
    assert means.loc["adult_secure", "ooa_search_days_mean"] > 0
    assert means.loc["camhs_t4", "ooa_search_days_mean"] > 0


def test_delayed_discharge_is_present_but_not_a_bottleneck(kpis):
    means = _pathway_means(kpis)
    share = means["delayed_discharge_days"] / means["bed_days"]
    assert (share < 0.10).all(), share.to_dict()
    assert means.loc["adult_secure", "delayed_discharge_days"] > 0
