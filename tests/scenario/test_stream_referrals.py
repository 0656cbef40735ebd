"""Loading a patient mix's referrals by stream: each mistake named by file, line and field.

A stream's own referral rate or growth must name a stream of the mix and a service of
the pathway, with a rate that is not negative and a growth above -100%; a good one loads
and gives each stream the rate and growth a planner would read off the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation import load_scenario
from tests.scenario.test_loading import assert_problem, line_of, only_problem, variant, write

MIX = """\
    patient_mix:
      streams: {mental_illness: 0.7, personality_disorder: 0.3}
      referrals:
        personality_disorder:
          referral_rate_per_100k_per_year: {low: 0.4}
          annual_growth: 0.05
    priority_mix: {urgent: 0.3, routine: 0.7}
"""


def with_mix(mix: str = MIX) -> str:
    return variant("    priority_mix: {urgent: 0.3, routine: 0.7}\n", mix)


def test_a_stream_gets_its_own_rate_and_growth_and_the_rest_their_share(tmp_path: Path) -> None:

    scenario = load_scenario(write(tmp_path, with_mix()))
    spec = scenario.pathways["adult_secure"]
    assert spec.referrals_by_stream
    assert not scenario.pathways["camhs_t4"].referrals_by_stream
    rates = spec.stream_referrals("low", "Northmoor")
    assert rates["personality_disorder"] == (0.4, 0.05)
    assert rates["mental_illness"] == pytest.approx((0.7 * 2.2, 0.0))


CASES = {
    "unknown stream": (
        "        personality_disorder:\n",
        "        personality_disordr:\n",
        "personality_disordr:",
        "pathways.adult_secure.patient_mix.referrals.personality_disordr",
        ["unknown stream 'personality_disordr'", "did you mean 'personality_disorder'"],
    ),
    "service not in the pathway": (
        "{low: 0.4}",
        "{medium: 0.4}",
        "{medium: 0.4}",
        "pathways.adult_secure.patient_mix.referrals.personality_disorder."
        "referral_rate_per_100k_per_year.medium",
        ["service 'medium' is not described for adult_secure", "(described: low)"],
    ),
    "negative rate": (
        "{low: 0.4}",
        "{low: -0.4}",
        "{low: -0.4}",
        "pathways.adult_secure.patient_mix.referrals.personality_disorder."
        "referral_rate_per_100k_per_year.low",
        ["-0.4"],
    ),
    "growth of -100%": (
        "annual_growth: 0.05",
        "annual_growth: -1",
        "annual_growth: -1",
        "pathways.adult_secure.patient_mix.referrals.personality_disorder.annual_growth",
        ["-1"],
    ),
    "unknown field": (
        "annual_growth: 0.05",
        "growth: 0.05",
        "growth: 0.05",
        "pathways.adult_secure.patient_mix.referrals.personality_disorder.growth",
        [],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_stream_referral_is_refused_with_its_line(case: str, tmp_path: Path) -> None:
    old, new, marker, field, fragments = CASES[case]
    text = variant(old, new, with_mix())
    problem = only_problem(write(tmp_path, text))
    assert_problem(problem, tmp_path / "scenario.yaml", line_of(text, marker), field, *fragments)


# -- the adult pathway a young person moves to at 18 ----------------------------------
YOUNG = """\
    patient_mix:
      age_bands: {under_17: 0.6, aged_17: 0.4}
      adult_from_age_band: aged_17
      adult_pathway:
        pathway: adult_secure
        services: {picu: low}
        move: transfer
    services:
      picu:
"""


def with_adult_pathway(young: str = YOUNG) -> str:
    return variant("    services:\n      picu:\n", young)


def test_an_adult_pathway_loads(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, with_adult_pathway()))
    adult = scenario.pathways["camhs_t4"].patient_mix.adult_pathway
    assert adult is not None
    assert (adult.pathway, adult.services, adult.move) == (
        "adult_secure",
        {"picu": "low"},
        "transfer",
    )


ADULT_CASES = {
    "adult pathway not in the scenario": (
        "        pathway: adult_secure\n",
        "        pathway: adult_ed\n",
        "pathway: adult_ed",
        "pathways.camhs_t4.patient_mix.adult_pathway.pathway",
        ["pathway 'adult_ed' is not another pathway of this scenario", "(described: adult_secure)"],
    ),
    "the young people's own pathway": (
        "        pathway: adult_secure\n",
        "        pathway: camhs_t4\n",
        "        pathway: camhs_t4",
        "pathways.camhs_t4.patient_mix.adult_pathway.pathway",
        ["pathway 'camhs_t4' is not another pathway of this scenario"],
    ),
    "an adult service not in the adult pathway": (
        "{picu: low}",
        "{picu: medium}",
        "{picu: medium}",
        "pathways.camhs_t4.patient_mix.adult_pathway.services.picu",
        ["service 'medium' is not described for adult_secure", "(described: low)"],
    ),
    "a young people's service not in the pathway": (
        "{picu: low}",
        "{low_secure: low}",
        "{low_secure: low}",
        "pathways.camhs_t4.patient_mix.adult_pathway.services.low_secure",
        ["service 'low_secure' is not described for camhs_t4", "(described: picu)"],
    ),
    "no age band that turns 18": (
        "      adult_from_age_band: aged_17\n",
        "",
        "adult_pathway:",
        "pathways.camhs_t4.patient_mix.adult_pathway",
        ["give patient_mix.age_bands and patient_mix.adult_from_age_band"],
    ),
    "an unknown move": (
        "move: transfer",
        "move: transfers",
        "move: transfers",
        "pathways.camhs_t4.patient_mix.adult_pathway.move",
        ["'transfer', 'discharge'", "got 'transfers'"],
    ),
    "no move": (
        "        move: transfer\n",
        "",
        "adult_pathway:",
        "pathways.camhs_t4.patient_mix.adult_pathway.move",
        ["missing required field 'move'", "'transfer', 'discharge'"],
    ),
}


@pytest.mark.parametrize("case", sorted(ADULT_CASES))
def test_a_bad_adult_pathway_is_refused_with_its_line(case: str, tmp_path: Path) -> None:
    old, new, marker, field, fragments = ADULT_CASES[case]
    text = variant(old, new, with_adult_pathway())
    problem = only_problem(write(tmp_path, text))
    assert_problem(problem, tmp_path / "scenario.yaml", line_of(text, marker), field, *fragments)
