"""Loading scenarios: valid files load; every kind of bad input is one clear problem.

Each test writes a small scenario with one defect and checks the problem word for word
where it matters: the file, the line, the field path as written in the YAML and what was
expected. Line numbers are found from the text itself (the line holding a marker), so
the expectations stay readable and exact.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import demo_scenario, load_scenario, load_scenario_dict, load_scenario_text
from simulation.core.problems import InputError, Problem
from simulation.results.catalogue import ALL
from simulation.scenario.schema import TOTAL_NAME, Place
from simulation.scenario.yamlsource import MAX_FILE_BYTES, MAX_VALUES

BASE = """\
name: small
start_date: 2026-04-01
horizon_years: 0.25
warmup_days: 30
replications: 2
seed: 7
places:
  - {name: Northmoor, population: 650000}
  - {name: Eastbrook, population: 480000}
units:
  - name: Beacon Low Secure
    pathway: adult_secure
    service: low
    place: Eastbrook
    beds: 20
    cost_per_bed_day_gbp: 420
    linked_places: [Northmoor, Eastbrook]
community_teams:
  - name: Community Forensic Team
    pathway: adult_secure
    places: 10
    episode_length: {distribution: lognormal, median: 540, p90: 1100}
    cost_per_place_per_year_gbp: 25000
  - name: CAMHS Intensive Community Team
    pathway: camhs_t4
    places: 12
    episode_length: {distribution: gamma, mean: 90, sd: 40}
    cost_per_place_per_year_gbp: 40000
pathways:
  adult_secure:
    priority_mix: {urgent: 0.3, routine: 0.7}
    diversion: {share: 0.1, team: Community Forensic Team}
    services:
      low:
        referral_rate_per_100k_per_year: 2.2
        length_of_stay: {distribution: lognormal, median: 100, p90: 300}
        out_of_area: {cost_per_bed_day_gbp: 520, distance_miles: 100}
        step_down:
          - {to: Community Forensic Team, probability: 0.6}
  camhs_t4:
    services:
      picu:
        referral_rate_per_100k_per_year: 1.25
        length_of_stay: {distribution: fixed, value: 35}
        out_of_area: {cost_per_bed_day_gbp: 1600, distance_miles: 120}
"""


def variant(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def line_of(text: str, marker: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(lines) == 1, f"{marker!r} must be on one line, found {lines}"
    return lines[0]


def write(folder: Path, text: str | bytes, name: str = "scenario.yaml") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_in(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    problems = caught.value.problems
    assert problems
    return problems


def only_problem(path: Path) -> Problem:
    problems = problems_in(path)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def assert_problem(problem: Problem, path: Path, line: int | None, field: str, *fragments: str):
    assert problem.file == str(path)
    assert problem.line == line, str(problem)
    assert problem.field == field, str(problem)
    for fragment in fragments:
        assert fragment in problem.message, (fragment, str(problem))
    where = f"{path}:{line}" if line is not None else str(path)
    prefix = f"{where}: {field}: " if field else f"{where}: "
    assert str(problem).startswith(prefix), str(problem)


# -- valid files -----------------------------------------------------------------------


def test_shipped_baseline_loads():
    scenario = load_scenario("scenarios/baseline.yaml")
    assert scenario.name == "baseline"
    assert set(scenario.pathways) == {"adult_secure", "camhs_t4", "adult_ed"}
    assert scenario.places and scenario.units and scenario.community_teams


def test_the_small_scenario_these_tests_break_is_itself_valid(tmp_path):
    scenario = load_scenario(write(tmp_path, BASE))
    assert scenario.name == "small"
    assert scenario.units[0].beds == 20
    assert scenario.pathways["adult_secure"].diversion is not None


def test_anchors_and_aliases_within_reason_still_work(tmp_path):
    text = variant(
        "        length_of_stay: {distribution: lognormal, median: 100, p90: 300}",
        "        length_of_stay: &stay {distribution: lognormal, median: 100, p90: 300}",
    )
    text = variant(
        "length_of_stay: {distribution: fixed, value: 35}", "length_of_stay: *stay", text
    )
    scenario = load_scenario(write(tmp_path, text))
    picu = scenario.pathways["camhs_t4"].services["picu"]
    assert picu.length_of_stay == scenario.pathways["adult_secure"].services["low"].length_of_stay


def test_yes_and_no_are_accepted_where_true_or_false_is_expected(tmp_path):
    text = BASE + "bed_management: {repatriation: no}\n"
    assert load_scenario(write(tmp_path, text)).bed_management.repatriation is False


# -- one defect, one problem: file, line, field path and what was expected ----------------

CASES = {
    # name: (text to replace, replacement, marker on the reported line, field, fragments)
    "population beyond any footprint": (
        "  - {name: Northmoor, population: 650000}",
        "  - {name: Northmoor, population: 65000000000}",
        "65000000000",
        "places[0].population",
        ["at most 100,000,000", "got 65000000000"],
    ),
    "beds beyond any unit": (
        "    beds: 20",
        "    beds: 2000000",
        "beds: 2000000",
        "units[0].beds",
        ["from 0 to 100,000", "got 2000000"],
    ),
    "misspelt top-level field": (
        "horizon_years: 0.25",
        "horizon_yeras: 0.25",
        "horizon_yeras",
        "horizon_yeras",
        ["unknown field 'horizon_yeras'", "did you mean 'horizon_years'?"],
    ),
    "misspelt field of a unit": (
        "    beds: 20",
        "    bedz: 20",
        "bedz",
        "units[0].bedz",
        ["unknown field 'bedz'", "did you mean 'beds'?"],
    ),
    "misspelt field of a distribution": (
        "median: 100, p90: 300",
        "median: 100, p95: 300",
        "p95",
        "pathways.adult_secure.services.low.length_of_stay.p95",
        ["unknown field 'p95'", "did you mean 'p90'?"],
    ),
    "unknown field with no near name lists the fields": (
        "  - {name: Northmoor, population: 650000}",
        "  - {name: Northmoor, population: 650000, colour: red}",
        "colour",
        "places[0].colour",
        ["unknown field 'colour'", f"(fields here: {', '.join(Place.model_fields)})"],
    ),
    "number written with a comma": (
        "population: 650000",
        "population: 650,000",
        "650,000",
        "places[0].000",
        ["Write numbers without commas: 650000, not 650,000"],
    ),
    "text for a whole number": (
        "beds: 20",
        "beds: twenty",
        "twenty",
        "units[0].beds",
        ["expected a whole number from 0 to 100,000, got 'twenty'"],
    ),
    "fraction for a whole number": (
        "places: 10",
        "places: 10.5",
        "10.5",
        "community_teams[0].places",
        ["expected a whole number from 0 to 100,000, got 10.5"],
    ),
    "yes for a number": (
        "beds: 20",
        "beds: yes",
        "beds: yes",
        "units[0].beds",
        ["expected a whole number from 0 to 100,000, got true", "YAML reads yes, no, on, off"],
    ),
    "no for a maximum wait (would have meant 0 days)": (
        "    priority_mix:",
        "    max_wait_days: {urgent: no}\n    priority_mix:",
        "urgent: no",
        "pathways.adult_secure.max_wait_days.urgent",
        ["expected a number from 0 to 36,525, got false"],
    ),
    "list where a number is expected": (
        "cost_per_bed_day_gbp: 420",
        "cost_per_bed_day_gbp: [420]",
        "[420]",
        "units[0].cost_per_bed_day_gbp",
        ["expected a number from 0 to 1,000,000,000,000, got a list of 1 item"],
    ),
    "mapping where a list is expected": (
        "    linked_places: [Northmoor, Eastbrook]",
        "    linked_places: {Northmoor: 1}",
        "linked_places",
        "units[0].linked_places",
        ["expected a list (one item per line, each starting with '- '), got a mapping"],
    ),
    "empty value": (
        "beds: 20",
        "beds:",
        "beds:",
        "units[0].beds",
        ["expected a whole number from 0 to 100,000, got nothing (the value is empty)"],
    ),
    "negative cost": (
        "cost_per_bed_day_gbp: 420",
        "cost_per_bed_day_gbp: -420",
        "-420",
        "units[0].cost_per_bed_day_gbp",
        ["expected a number from 0 to 1,000,000,000,000, got -420"],
    ),
    "negative seed": (
        "seed: 7",
        "seed: -7",
        "seed: -7",
        "seed",
        ["expected a whole number of at least 0 and below", "got -7"],
    ),
    "zero horizon": (
        "horizon_years: 0.25",
        "horizon_years: 0",
        "horizon_years",
        "horizon_years",
        ["expected a number greater than 0 and at most 50, got 0"],
    ),
    "horizon under a day": (
        "horizon_years: 0.25",
        "horizon_years: 0.001",
        "horizon_years",
        "horizon_years",
        ["0.001 years is less than a day; give a horizon of at least one day (0.003 years)"],
    ),
    "NaN": (
        "referral_rate_per_100k_per_year: 2.2",
        "referral_rate_per_100k_per_year: .nan",
        ".nan",
        "pathways.adult_secure.services.low.referral_rate_per_100k_per_year",
        ["expected a number from 0 to 100,000, got nan (not a finite number)"],
    ),
    "NaN as text": (
        "referral_rate_per_100k_per_year: 2.2",
        "referral_rate_per_100k_per_year: nan",
        ": nan",
        "pathways.adult_secure.services.low.referral_rate_per_100k_per_year",
        ["got 'nan' (not a finite number)"],
    ),
    "infinity": (
        "{cost_per_bed_day_gbp: 520,",
        "{cost_per_bed_day_gbp: .inf,",
        ".inf",
        "pathways.adult_secure.services.low.out_of_area.cost_per_bed_day_gbp",
        ["expected a number from 0 to 1,000,000,000,000, got inf (not a finite number)"],
    ),
    "share above one": (
        "share: 0.1,",
        "share: 1.5,",
        "share: 1.5",
        "pathways.adult_secure.diversion.share",
        ["expected a share from 0 to 1 (0.15 means 15%), got 1.5"],
    ),
    "share as a percentage": (
        "share: 0.1,",
        "share: 15,",
        "share: 15",
        "pathways.adult_secure.diversion.share",
        ["got 15", "if you mean 15%, write 0.15"],
    ),
    "share with a percent sign": (
        "share: 0.1,",
        "share: 15%,",
        "15%",
        "pathways.adult_secure.diversion.share",
        ["got '15%'", "write a share as a decimal: 0.15 for 15%"],
    ),
    "negative share": (
        "probability: 0.6}",
        "probability: -0.1}",
        "-0.1",
        "pathways.adult_secure.services.low.step_down[0].probability",
        ["expected a share from 0 to 1", "got -0.1"],
    ),
    "priority mix not adding up to 1": (
        "urgent: 0.3, routine: 0.7",
        "urgent: 0.3, routine: 0.6",
        "routine: 0.6",
        "pathways.adult_secure.priority_mix",
        ["urgent + routine must add up to 1; they add up to 0.9"],
    ),
    "step-down routes adding up to more than 1": (
        "          - {to: Community Forensic Team, probability: 0.6}",
        "          - {to: Community Forensic Team, probability: 0.6}\n"
        "          - {to: Community Forensic Team, probability: 0.6}",
        "      low:",
        "pathways.adult_secure.services.low",
        ["step_down probabilities add up to 1.2; they must add up to at most 1"],
    ),
    "lognormal given a median without p90": (
        "{distribution: lognormal, median: 100, p90: 300}",
        "{distribution: lognormal, median: 100}",
        "median: 100}",
        "pathways.adult_secure.services.low.length_of_stay",
        ["needs both median and p90"],
    ),
    "lognormal with p90 below its median": (
        "median: 100, p90: 300",
        "median: 300, p90: 100",
        "median: 300",
        "pathways.adult_secure.services.low.length_of_stay",
        ["p90 (100.0) must be greater than median (300.0)"],
    ),
    "lognormal with p90 equal to its median": (
        "median: 100, p90: 300",
        "median: 300, p90: 300",
        "median: 300",
        "pathways.adult_secure.services.low.length_of_stay",
        ["p90 (300.0) must be greater than median (300.0)"],
    ),
    "unknown distribution": (
        "{distribution: lognormal, median: 100",
        "{distribution: log-normal, median: 100",
        "log-normal",
        "pathways.adult_secure.services.low.length_of_stay.distribution",
        [
            "unknown distribution 'log-normal'; did you mean 'lognormal'?",
            "(expected one of exponential, lognormal, gamma, weibull, fixed, empirical)",
        ],
    ),
    "distribution without its name": (
        "{distribution: lognormal, median: 100, p90: 300}",
        "{median: 100, p90: 300}",
        "{median: 100, p90: 300}",
        "pathways.adult_secure.services.low.length_of_stay",
        ["missing 'distribution': expected one of exponential, lognormal, gamma"],
    ),
    "distribution as a bare name": (
        "{distribution: lognormal, median: 100, p90: 300}",
        "lognormal",
        "length_of_stay: lognormal",
        "pathways.adult_secure.services.low.length_of_stay",
        ["expected a distribution such as {distribution: gamma, mean: 30, sd: 10}"],
    ),
    "empirical distribution with no values": (
        "length_of_stay: {distribution: fixed, value: 35}",
        "length_of_stay: {distribution: empirical, values: []}",
        "empirical",
        "pathways.camhs_t4.services.picu.length_of_stay.values",
        ["expected a list of at least 1 item, got 0"],
    ),
    "seasonality of the wrong length": (
        "    priority_mix:",
        "    seasonality: [1.1, 0.9, 1.0]\n    priority_mix:",
        "seasonality",
        "pathways.adult_secure.seasonality",
        ["expected a list of exactly 12 values, got 3"],
    ),
    "seasonality that doubles the year's referrals": (
        "    priority_mix:",
        "    seasonality: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]\n    priority_mix:",
        "seasonality",
        "pathways.adult_secure.seasonality",
        ["must average 1", "these average 2.000", "divide each by 2.000"],
    ),
    "unknown choice": (
        "replications: 2",
        "replications: 2\nbed_management: {allocation: weekly}",
        "weekly",
        "bed_management.allocation",
        ["expected one of 'continuous', 'weekly_panel', got 'weekly'", "did you mean"],
    ),
    "unit of an unknown pathway": (
        "    pathway: adult_secure\n    service: low",
        "    pathway: adult-secure\n    service: low",
        "adult-secure",
        "units[0].pathway",
        [
            "expected one of 'adult_secure', 'camhs_t4', 'adult_ed', got 'adult-secure'",
            "did you mean 'adult_secure'?",
        ],
    ),
    "scenario name with spaces": (
        "name: small",
        "name: small scenario",
        "small scenario",
        "name",
        ["expected a name of letters, digits, '_', '.' or '-' only", "got 'small scenario'"],
    ),
    "date that does not exist": (
        "start_date: 2026-04-01",
        "start_date: 2026-02-30",
        "2026-02-30",
        "start_date",
        ["'2026-02-30' is not a valid date", "expected YYYY-MM-DD"],
    ),
    "date in another format": (
        "start_date: 2026-04-01",
        "start_date: 01/04/2026",
        "01/04/2026",
        "start_date",
        ["expected a date written as YYYY-MM-DD, got '01/04/2026'"],
    ),
    "zero population": (
        "population: 650000",
        "population: 0",
        "population: 0",
        "places[0].population",
        ["expected a whole number greater than 0 and at most 100,000,000, got 0"],
    ),
    "missing required field": (
        "    cost_per_bed_day_gbp: 420\n",
        "",
        "  - name: Beacon Low Secure",
        "units[0].cost_per_bed_day_gbp",
        [
            "missing required field 'cost_per_bed_day_gbp': expected a number from 0 to "
            "1,000,000,000,000"
        ],
    ),
    "unit linked to an unknown place": (
        "    place: Eastbrook",
        "    place: Eastbrok",
        "place: Eastbrok",
        "units[0].place",
        ["unknown place 'Eastbrok'; did you mean 'Eastbrook'?", "(places: Northmoor, Eastbrook)"],
    ),
    "unit serving an unknown place": (
        "linked_places: [Northmoor, Eastbrook]",
        "linked_places: [Northmoor, Westford]",
        "Westford",
        "units[0].linked_places[1]",
        ["unknown place 'Westford'", "(places: Northmoor, Eastbrook)"],
    ),
    "unit's service not described under its pathway": (
        "    service: low",
        "    service: medium",
        "service: medium",
        "units[0].service",
        [
            "service 'medium' is not described under pathways.adult_secure.services",
            "(described: low)",
        ],
    ),
    "step-down to an unknown team": (
        "{to: Community Forensic Team, probability",
        "{to: Community Forensics, probability",
        "Forensics,",
        "pathways.adult_secure.services.low.step_down[0].to",
        [
            "unknown step-down destination 'Community Forensics'",
            "did you mean 'Community Forensic Team'?",
            "(expected a service of adult_secure or one of its community teams: low, "
            "Community Forensic Team)",
        ],
    ),
    "step-down to another pathway's team": (
        "{to: Community Forensic Team, probability",
        "{to: CAMHS Intensive Community Team, probability",
        "{to: CAMHS",
        "pathways.adult_secure.services.low.step_down[0].to",
        ["community team 'CAMHS Intensive Community Team' belongs to camhs_t4, not adult_secure"],
    ),
    "diversion to an unknown team": (
        "team: Community Forensic Team}",
        "team: Forensic Team}",
        "team: Forensic Team}",
        "pathways.adult_secure.diversion.team",
        [
            "unknown community team 'Forensic Team'",
            "(expected one of adult_secure's community teams: Community Forensic Team)",
        ],
    ),
    "diversion team of another pathway": (
        "team: Community Forensic Team}",
        "team: CAMHS Intensive Community Team}",
        "team: CAMHS",
        "pathways.adult_secure.diversion.team",
        [
            "community team 'CAMHS Intensive Community Team' belongs to camhs_t4, not adult_secure",
            "expected one of adult_secure's community teams: Community Forensic Team",
        ],
    ),
    "unknown pathway": (
        "  camhs_t4:\n    services:",
        "  camhs_t5:\n    services:",
        "camhs_t5",
        "pathways.camhs_t5",
        [
            "unknown pathway 'camhs_t5'; did you mean 'camhs_t4'?",
            "(expected one of adult_secure, camhs_t4, adult_ed)",
        ],
    ),
    "unknown service": (
        "      picu:",
        "      picu_ward:",
        "picu_ward",
        "pathways.camhs_t4.services.picu_ward",
        [
            "unknown service 'picu_ward' for camhs_t4; did you mean 'picu'?",
            "(expected one of general_adolescent, picu, eating_disorder, low_secure)",
        ],
    ),
    "duplicate unit names": (
        "community_teams:\n",
        "  - {name: Beacon Low Secure, pathway: adult_secure, service: low, place: Northmoor,"
        " beds: 5, cost_per_bed_day_gbp: 400}\ncommunity_teams:\n",
        "beds: 5",
        "units[1].name",
        ["unit name 'Beacon Low Secure' is used twice (first by units[0])"],
    ),
    "duplicate place names": (
        "  - {name: Eastbrook, population: 480000}",
        "  - {name: Eastbrook, population: 480000}\n  - {name: Northmoor, population: 1000}",
        "population: 1000",
        "places[2].name",
        ["place name 'Northmoor' is used twice (first by places[0])"],
    ),
    "unknown kind of dated change": (
        "seed: 7",
        "seed: 7\nchanges:\n  - {date: 2026-06-01, set: bedz, unit: Beacon Low Secure, to: 10}",
        "set: bedz",
        "changes[0].set",
        [
            "unknown kind of change 'bedz'; did you mean 'beds'?",
            "(expected one of beds, staffed_beds, places, length_of_stay_factor, diversion_share",
        ],
    ),
    "staffed beds above the beds funded on the date": (
        "seed: 7",
        "seed: 7\nchanges:\n  - {date: 2026-05-01, set: beds, unit: Beacon Low Secure, to: 24}"
        "\n  - {date: 2026-06-01, set: staffed_beds, unit: Beacon Low Secure, to: 30}",
        "to: 30",
        "changes[1].to",
        [
            "30 staffed beds is more than the 24 beds 'Beacon Low Secure' is funded for on "
            "2026-06-01",
            "(every one of them: null in a file, all on the web page)",
        ],
    ),
    "duplicate key": (
        "    beds: 20\n",
        "    beds: 20\n    beds: 30\n",
        "beds: 30",
        "units[0].beds",
        ["'beds' is given twice here (also on line 15); keep only one"],
    ),
    "Python object tag on a value": (
        "beds: 20",
        "beds: !!python/object/apply:os.system ['echo pwned > pwned.txt']",
        "pwned",
        "units[0].beds",
        ["YAML tag '!!python/object/apply:os.system' is not allowed"],
    ),
    "Python name tag": (
        "name: small",
        "name: !!python/name:os.system",
        "python/name",
        "name",
        ["YAML tag '!!python/name:os.system' is not allowed"],
    ),
    "binary tag": (
        "name: small",
        "name: !!binary aGVsbG8=",
        "binary",
        "name",
        ["YAML tag '!!binary' is not allowed"],
    ),
    "YAML merge key": (
        "  - name: Beacon Low Secure\n",
        "  - <<: {name: Beacon Low Secure}\n",
        "<<:",
        "units[0]",
        ["YAML merge keys ('<<') are not supported", "'extends'"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_defect_is_one_problem_at_its_line_and_field(case, tmp_path, monkeypatch):
    old, new, marker, field, fragments = CASES[case]
    monkeypatch.chdir(tmp_path)  # a Python tag that ran would leave pwned.txt here
    text = variant(old, new)
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert_problem(problem, path, line_of(text, marker), field, *fragments)
    assert not (tmp_path / "pwned.txt").exists()


def test_load_scenario_text_uses_the_given_name():
    with pytest.raises(InputError) as caught:
        load_scenario_text(variant("beds: 20", "beds: -1"), "my scenario.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "my scenario.yaml:15: units[0].beds: expected a whole number from 0 to 100,000, got -1"
    ]


def test_load_scenario_dict_reports_the_field_without_a_line():
    with pytest.raises(InputError) as caught:
        load_scenario_dict({"name": "x", "start_date": "2026-04-01", "horizon_years": 1})
    assert [(p.file, p.line, p.field) for p in caught.value.problems] == [
        ("<scenario>", None, "places"),
        ("<scenario>", None, "pathways"),
    ]
    assert str(caught.value.problems[0]).startswith("<scenario>: places: missing required field")


@pytest.mark.parametrize(
    "hidden",
    ["\u202e", "\u2066", "\u2028", "\u2029", "\u200b", "\u200f", "\ufeff", "\x85"],
)
def test_a_name_with_characters_that_reorder_or_hide_text_is_refused(hidden: str) -> None:
    # Written raw into every CSV and shown on terminals: "Unit\u202eevil" reads backwards.
    data = demo_scenario()
    data["places"][0]["name"] = f"Home{hidden}town"
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    assert any(
        p.field == "places[0].name" and p.message.startswith("a name cannot hold control")
        for p in caught.value.problems
    ), [str(p) for p in caught.value.problems]


def test_one_bad_item_of_a_list_of_set_length_is_one_problem() -> None:
    # Not also "expected a list of exactly 12 values, got 12": the length is right.
    data = demo_scenario()
    data["pathways"]["adult_ed"]["seasonality"] = [1.0] * 11 + ["x"]
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("pathways.adult_ed.seasonality[11]", "expected a number greater than 0, got 'x'")
    ]
    data["pathways"]["adult_ed"]["seasonality"] = [1.0] * 11
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    assert [p.message for p in caught.value.problems] == [
        "expected a list of exactly 12 values, got 11"
    ]


@pytest.mark.parametrize("name", ["CON", "nul", "Com1", "lpt9.plan", "aux.v2"])
def test_a_scenario_name_windows_keeps_for_a_device_is_refused(name: str) -> None:
    # The results folder is named after the scenario, and may be on a shared Windows drive.
    data = demo_scenario(name)
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    [problem] = caught.value.problems
    assert problem.field == "name" and "Windows keeps it for a device" in problem.message
    assert load_scenario_dict(demo_scenario("console")).name == "console"


def test_text_too_long_says_how_long_it_may_be() -> None:
    data = demo_scenario()
    data["description"] = "x" * 20_001
    data["units"][0]["name"] = "U" * 81
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    assert {(p.field, p.message) for p in caught.value.problems} >= {
        ("description", "expected text of at most 20,000 characters, got 20,001"),
        ("units[0].name", "expected text of at most 80 characters, got 81"),
    }


def test_names_in_any_alphabet_with_accents_and_dashes_are_fine() -> None:
    data = demo_scenario()
    name = "Ynys Môn – Gogledd Cymru (Café) Ł"
    data["places"][0]["name"] = name
    data["units"][0]["place"] = name
    data["units"][0]["linked_places"] = [name]
    assert load_scenario_dict(data).places[0].name == name


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("places", "places[0].name"),
        ("units", "units[0].name"),
        ("community_teams", "community_teams[0].name"),
    ],
)
def test_a_name_the_results_tables_give_a_total_is_refused(where, field):
    # Their rows would be read as the total's: its n counted twice, its interval too narrow.
    data = demo_scenario()
    data["community_teams"] = [
        {
            "name": "Team",
            "pathway": "adult_ed",
            "places": 5,
            "episode_length": {"distribution": "exponential", "mean": 60},
            "cost_per_place_per_year_gbp": 10000,
        }
    ]
    data[where][0]["name"] = TOTAL_NAME
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    messages = [f"{p.field}: {p.message}" for p in caught.value.problems]
    assert any(m.startswith(f"{field}: 'all' cannot be a name") for m in messages), messages
    assert TOTAL_NAME == ALL  # the word the tables use
    data[where][0]["name"] = "All"  # another name: no total is written so
    try:
        load_scenario_dict(data)
    except InputError as other:  # a place's references to its old name are broken
        assert not any("cannot be a name" in str(p) for p in other.problems)


def test_a_service_named_as_a_total_is_refused():
    data = demo_scenario()
    pathway = next(iter(data["pathways"].values()))
    service = next(iter(pathway["services"]))
    pathway["services"][TOTAL_NAME] = pathway["services"].pop(service)
    with pytest.raises(InputError) as caught:
        load_scenario_dict(data)
    assert any(
        p.field.endswith(f"services.{TOTAL_NAME}") and "cannot be a name" in p.message
        for p in caught.value.problems
    ), [str(p) for p in caught.value.problems]


def test_problems_are_raised_before_anything_else_happens_and_hold_every_problem():
    with pytest.raises(InputError) as caught:
        load_scenario_text(variant("beds: 20", "beds: -1"))
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)


# -- several problems in one file ---------------------------------------------------------


def test_several_problems_in_one_file_are_all_reported_once_each_in_file_order(tmp_path):
    text = variant("horizon_years: 0.25", "horizon_yrs: 0.25")
    text = variant("population: 480000", "population: -5", text)
    text = variant("beds: 20", "beds: -1", text)
    text = variant("share: 0.1,", "share: 2,", text)
    text = variant("{distribution: gamma, mean: 90, sd: 40}", "{distribution: gama}", text)
    path = write(tmp_path, text)
    problems = problems_in(path)
    assert [(p.line, p.field) for p in problems] == [
        (line_of(text, "horizon_yrs"), "horizon_yrs"),
        (line_of(text, "-5"), "places[1].population"),
        (line_of(text, "beds: -1"), "units[0].beds"),
        (line_of(text, "gama"), "community_teams[1].episode_length.distribution"),
        (line_of(text, "share: 2"), "pathways.adult_secure.diversion.share"),
    ]
    # the misspelt required field is one problem, not also "missing horizon_years"
    assert not any("missing" in p.message for p in problems)
    assert all(p.file == str(path) for p in problems)


def test_several_broken_references_are_all_reported(tmp_path):
    text = variant("    place: Eastbrook", "    place: Eastbrok")
    text = variant("team: Community Forensic Team}", "team: Nobody}", text)
    text = variant("{to: Community Forensic Team, probability", "{to: Nowhere, probability", text)
    path = write(tmp_path, text)
    problems = problems_in(path)
    assert [(p.line, p.field) for p in problems] == [
        (line_of(text, "Eastbrok"), "units[0].place"),
        (line_of(text, "team: Nobody"), "pathways.adult_secure.diversion.team"),
        (line_of(text, "Nowhere"), "pathways.adult_secure.services.low.step_down[0].to"),
    ]


def test_a_misspelt_pathway_is_one_problem_not_one_per_unit_and_team(tmp_path):
    text = variant("  adult_secure:\n    priority_mix", "  adult_secur:\n    priority_mix")
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert_problem(
        problem, path, line_of(text, "adult_secur:"), "pathways.adult_secur", "adult_secure"
    )


def test_every_duplicate_key_is_reported(tmp_path):
    text = variant("    beds: 20\n", "    beds: 20\n    beds: 30\n")
    text = variant("    places: 10\n", "    places: 10\n    places: 11\n", text)
    path = write(tmp_path, text)
    assert [(p.line, p.field) for p in problems_in(path)] == [
        (line_of(text, "beds: 30"), "units[0].beds"),
        (line_of(text, "places: 11"), "community_teams[0].places"),
    ]


# -- the file as a whole ----------------------------------------------------------------


def test_tab_indentation_names_every_line(tmp_path):
    text = variant("    beds: 20\n", "\tbeds: 20\n")
    text = variant("    places: 10\n", "\tplaces: 10\n", text)
    path = write(tmp_path, text)
    problem = only_problem(path)
    first, second = line_of(text, "\tbeds"), line_of(text, "\tplaces")
    assert_problem(
        problem, path, first, "", f"tab used for indentation (lines {first}, {second})", "spaces"
    )


SYNTAX_ERRORS = {
    # name: (scenario text, marker on the line to fix, fragments)
    "unclosed brace": (
        variant("  - {name: Northmoor, population: 650000}", "  - {name: Northmoor, population: 6"),
        "Eastbrook, population",
        ["YAML syntax error", "in the '{ }' that starts on line 8", "not closed with '}'"],
    ),
    "indentation": (
        variant("    beds: 20\n", "   beds: 20\n"),
        "   beds: 20",
        ["YAML syntax error: the indentation of this line does not fit the lines above it"],
    ),
    "missing colon": (
        variant("units:\n", "units\n"),
        "units",
        ["YAML syntax error: a line without ':'", "write each field as 'name: value'"],
    ),
    "colon in a value": (
        BASE + "description: Note: this\n",
        "description",
        ["YAML syntax error: a ':' where none was expected", "put a value that contains"],
    ),
}


@pytest.mark.parametrize("case", list(SYNTAX_ERRORS))
def test_yaml_syntax_errors_name_the_line_in_plain_words(tmp_path, case):
    text, marker, fragments = SYNTAX_ERRORS[case]
    path = write(tmp_path, text)
    assert_problem(only_problem(path), path, line_of(text, marker), "", *fragments)


def test_an_unclosed_quote_says_where_the_text_began(tmp_path):
    text = variant("name: small", 'name: "small')
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert problem.line == len(text.splitlines()) + 1  # where the parser ran out of file
    assert "in the quoted text that starts on line 1" in problem.message
    assert "a quote or bracket is not closed" in problem.message


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("", None, "the file is empty (or only comments); expected a scenario"),
        ("# just a comment\n\n", None, "the file is empty (or only comments)"),
        ("- name: x\n- name: y\n", 1, "expected a scenario: fields such as 'name: ...' at the"),
        ("hello\n", 1, "at the top level, got the value 'hello'"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "this is a binary file, not YAML text"),
        (BASE.encode("utf-16"), None, "the file is saved as UTF-16 text; save it as UTF-8"),
        (
            BASE.replace("Northmoor, population", "Northm\xf6or, population").encode("latin-1"),
            8,
            "the file is not UTF-8 text (byte 0xf6 on this line",
        ),
    ],
    ids=["empty", "only comments", "list", "scalar", "binary", "utf-16", "latin-1"],
)
def test_a_file_that_is_not_a_scenario_is_refused(tmp_path, content, line, fragment):
    path = write(tmp_path, content)
    assert_problem(only_problem(path), path, line, "", fragment)


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())
    assert load_scenario(path).name == "small"


def test_python_object_tag_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = "name: !!python/object/apply:os.system ['echo pwned > pwned.txt']\n"
    path = write(tmp_path, text)
    assert_problem(
        only_problem(path), path, 1, "name", "'!!python/object/apply:os.system' is not allowed"
    )
    assert not (tmp_path / "pwned.txt").exists()


def test_a_key_that_is_a_list_is_refused(tmp_path):
    path = write(tmp_path, BASE + "? [a, b]\n: 1\n")
    problem = only_problem(path)
    assert problem.line == len(BASE.splitlines()) + 1
    assert "a key must be a plain name, not a list or a mapping" in problem.message


# -- hostile files fail fast --------------------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in itertools.pairwise("abcdefghijklmnop"[:levels]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast(tmp_path):
    path = write(tmp_path, alias_bomb())
    started = time.perf_counter()
    problem = only_problem(path)
    elapsed = time.perf_counter() - started
    assert_problem(
        problem,
        path,
        9,
        "i",
        "anchors and aliases ('&name', '*name') make this expand to 435,848,050 values",
        "at most 200,000",
    )
    assert elapsed < 1.0


def test_alias_loop_fails_fast(tmp_path):
    path = write(tmp_path, "name: x\nplaces: &p [*p]\n")
    started = time.perf_counter()
    assert_problem(only_problem(path), path, 2, "", "an alias ('*name') is used inside the value")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_nesting_fails_fast_without_recursion_error(tmp_path, opener):
    closer = "]" if opener == "[" else "}"
    path = write(tmp_path, "name: x\nplaces: " + opener * 100_000 + closer * 100_000 + "\n")
    started = time.perf_counter()
    assert_problem(only_problem(path), path, 2, "", "nested more than 50 levels deep")
    assert time.perf_counter() - started < 2.0


def test_aliases_chained_deeper_than_the_limit_are_refused(tmp_path):
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 80)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert "nested more than 50 levels deep" in only_problem(path).message


def test_a_file_with_too_many_values_is_refused_quickly(tmp_path):
    path = write(tmp_path, "name: x\nplaces: [" + ", ".join(["1"] * (MAX_VALUES + 1)) + "]\n")
    started = time.perf_counter()
    problem = only_problem(path)
    assert_problem(problem, path, 2, "", "the file holds more than 200,000 values")
    assert time.perf_counter() - started < 3.0


def test_an_oversized_file_is_refused_without_parsing(tmp_path):
    path = write(tmp_path, "#" * (MAX_FILE_BYTES + 1))
    assert_problem(only_problem(path), path, None, "", "the file is larger than 5,000,000 bytes")


# -- files that cannot be read ------------------------------------------------------------


def test_a_missing_file_says_where_it_looked_and_suggests_the_near_name(tmp_path):
    write(tmp_path, BASE, "baseline.yaml")
    path = tmp_path / "baseline.yml"
    problem = only_problem(path)
    assert_problem(problem, path, None, "", f"file not found (looked for {path})")
    assert f"did you mean '{tmp_path / 'baseline.yaml'}'?" in problem.message


def test_a_missing_file_in_a_missing_folder(tmp_path):
    path = tmp_path / "no such folder" / "scenario.yaml"
    assert_problem(only_problem(path), path, None, "", "file not found")


def test_a_folder_is_not_a_scenario(tmp_path):
    assert_problem(only_problem(tmp_path), tmp_path, None, "", "is a folder; expected a YAML file")


def test_another_yaml_file_is_one_problem_that_quotes_none_of_it(tmp_path):
    # A configuration given by mistake: its keys (a password, say) are not echoed back.
    text = "host: db\nport: 5432\nuser: admin\npassword: hunter2\n"
    path = write(tmp_path, text, "settings.yaml")
    problem = only_problem(path)
    assert_problem(problem, path, None, "", "is not a scenario file")
    assert "password" not in str(problem) and "hunter2" not in str(problem)


def test_a_pipe_is_not_a_scenario_and_is_never_opened(tmp_path):
    # Opening a named pipe waits for a writer: validate would hang for ever.
    pipe = tmp_path / "scenario.yaml"
    os.mkfifo(pipe)
    started = time.perf_counter()
    assert_problem(only_problem(pipe), pipe, None, "", "is not a regular file")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("census: /dev/null", "census", "census file is not a regular file"),
        ("census: ..", "census", "census file is a folder, not a file"),
        ("extends: ..", "extends", "parent scenario '..' is a folder, not a file"),
    ],
)
def test_a_reference_to_a_folder_or_device_says_what_it_is(tmp_path, line, field, expected):
    base = write(tmp_path, BASE, "base.yaml")
    path = write(tmp_path, f"extends: {base.name}\nname: child\n{line}\n", "child.yaml")
    if field == "extends":
        path.write_text(f"{line}\nname: child\n")
    problem = only_problem(path)
    assert problem.field == field and problem.message.startswith(expected), str(problem)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path):
    path = write(tmp_path, BASE)
    path.chmod(0)
    assert_problem(only_problem(path), path, None, "", "permission denied reading the file")


def test_a_problem_in_a_parent_scenario_names_the_parent_file_and_line(tmp_path):
    parent_text = variant("beds: 20", "beds: -3")
    parent = write(tmp_path, parent_text, "parent.yaml")
    child = write(tmp_path, "extends: parent.yaml\nname: child\n", "child.yaml")
    problem = only_problem(child)
    assert problem.file == str(parent.parent / "parent.yaml")
    assert (problem.line, problem.field) == (line_of(parent_text, "beds: -3"), "units[0].beds")


def test_a_named_list_item_whose_name_is_not_text_is_a_problem_not_a_crash(tmp_path):
    write(tmp_path, BASE, "parent.yaml")
    child_text = "extends: parent.yaml\nunits:\n  - {name: [a, b], beds: 3}\n"
    child = write(tmp_path, child_text, "child.yaml")
    problems = problems_in(child)
    assert problems[0].field == "units[0].name"
    assert "got a list of 2 items" in problems[0].message


# -- whatever the edit, a problem report and never a crash ----------------------------------

NASTY_VALUES = [
    "-1",
    "0",
    "yes",
    "no",
    "null",
    "[]",
    "{}",
    ".nan",
    "-.inf",
    "''",
    "1e400",
    "9" * 40,
    "!!binary aGk=",
    "!!timestamp x",
    "!!int x",
    "!!python/none ''",
    "&a 1",
    "*a",
    "*nothing",
    "[1, [2, [3]]]",
    "{a: {b: 1}}",
    "2026-13-45",
    "lognormal",
    "{distribution: gamma}",
    "{distribution: empirical, values: [1, -1]}",
    "{set: beds}",
    "[adult_secure]",
    "£5",
    "15%",
]


@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(BASE.splitlines()) - 1),
            st.sampled_from(["value", "delete", "indent", "character"]),
            st.sampled_from(NASTY_VALUES),
            st.sampled_from(list(" :-{}[],'\"&*!#\t")),
            st.integers(min_value=0, max_value=200),
        ),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_edit_of_a_valid_scenario_loads_or_is_reported(edits):
    lines = BASE.splitlines()
    for index, kind, value, character, position in edits:
        index %= len(lines)
        line = lines[index]
        if kind == "value" and ":" in line:
            lines[index] = line.partition(":")[0] + ": " + value
        elif kind == "delete":
            del lines[index]
        elif kind == "indent":
            lines[index] = " " * (position % 7) + line.lstrip()
        elif line:
            at = position % len(line)
            lines[index] = line[:at] + character + line[at + 1 :]
        if not lines:
            break
    text = "\n".join(lines) + "\n"
    try:
        load_scenario_text(text, "edited.yaml")
    except InputError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == "edited.yaml"
            assert problem.message.strip()
            assert problem.line is None or 1 <= problem.line <= len(lines) + 1
            assert "\n" not in str(problem)


def test_staffed_beds_follow_the_beds_funded_on_their_date(tmp_path):
    # 24 staffed beds are refused before the unit is funded for 24, accepted after.
    changes = (
        "seed: 7\nchanges:\n  - {date: 2026-05-01, set: beds, unit: Beacon Low Secure, to: 24}"
        "\n  - {date: DATE, set: staffed_beds, unit: Beacon Low Secure, to: 24}"
    )
    after = variant("seed: 7", changes.replace("DATE", "2026-05-01"))
    assert load_scenario(write(tmp_path, after)).changes[1].to == 24
    before = variant("seed: 7", changes.replace("DATE", "2026-04-20"))
    problem = only_problem(write(tmp_path, before, "before.yaml"))
    assert problem.field == "changes[1].to" and "the 20 beds" in problem.message
