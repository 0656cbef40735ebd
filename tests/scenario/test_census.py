"""Starting a run from a census: arithmetic with fixed durations, conditional residual
draws, queue order, readmissions still to come, and row-level messages for bad files.

Most checks run a tiny scenario whose stays and episodes are fixed, so each patient's
discharge, admission or readmission day follows by arithmetic from the census dates,
and compare the whole log with the expected list.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from simulation import load_scenario
from simulation.core.distributions import Empirical, Exponential, Fixed, Gamma, LogNormal, Weibull
from simulation.core.problems import InputError
from simulation.model.model import Model

START = "2026-04-01"
HEADER = (
    "patient_id,pathway,service,home_place,status,priority,unit,team,since_date,ready_date,"
    "discharge_to"
)


def scenario_file(
    folder: Path,
    census: list[str] | None,
    *,
    beds: int = 3,
    stay: dict[str, Any] | None = None,
    max_wait: float | None = 25,
    referrals: float = 0.0,
    team_places: int = 5,
    readmission: float = 0.0,
    assessment: float = 0.0,
    warmup_days: float = 0,
    horizon_years: float = 1,
) -> Path:
    """One unit of ``beds`` beds, fixed stays, a day service as step-down; a census."""
    data: dict[str, Any] = {
        "name": "census-test",
        "start_date": START,
        "horizon_years": horizon_years,
        "warmup_days": warmup_days,
        "seed": 7,
        "places": [{"name": "Home", "population": 100000}],
        "units": [
            {
                "name": "Unit",
                "pathway": "adult_ed",
                "service": "inpatient",
                "place": "Home",
                "beds": beds,
                "cost_per_bed_day_gbp": 500,
                "linked_places": ["Home"],
            }
        ],
        "community_teams": [
            {
                "name": "Day",
                "pathway": "adult_ed",
                "places": team_places,
                "episode_length": {"distribution": "fixed", "value": 100},
                "cost_per_place_per_year_gbp": 1000,
            }
        ],
        "pathways": {
            "adult_ed": {
                "assessment_delay": {"distribution": "fixed", "value": assessment},
                "max_wait_days": {"urgent": max_wait, "routine": max_wait},
                "readmission": {"probability": readmission, "window_days": 100},
                "services": {
                    "inpatient": {
                        "referral_rate_per_100k_per_year": referrals,
                        "length_of_stay": stay or {"distribution": "fixed", "value": 100},
                        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 100},
                    }
                },
            }
        },
    }
    if census is not None:
        data["census"] = "census.csv"
        (folder / "census.csv").write_text("\n".join([HEADER, *census]) + "\n")
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def row(pid: str, status: str, since: str, **cells: str) -> str:
    """A census line for adult_ed inpatient at Home."""
    values = {
        "patient_id": pid,
        "pathway": "adult_ed",
        "service": "inpatient",
        "home_place": "Home",
        "status": status,
        "since_date": since,
        **cells,
    }
    return ",".join(values.get(c, "") for c in HEADER.split(","))


def run(path: Path) -> list[Any]:
    return Model(load_scenario(path), 0).run().episodes


# -- the conditional residual -------------------------------------------------------------
DISTRIBUTIONS = [
    Exponential(distribution="exponential", mean=30),
    LogNormal(distribution="lognormal", median=580, p90=2000),
    Gamma(distribution="gamma", mean=120, sd=60),
    Weibull(distribution="weibull", shape=1.5, scale=100),
]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.distribution)
@pytest.mark.parametrize("quantile", [0.0, 0.5, 0.9])
def test_residual_has_the_conditional_mean(dist: Any, quantile: float) -> None:
    """Mean of ``residual_days(e, u)`` over a fine grid of u = E[T - e | T > e]."""
    elapsed = float(dist.ppf(np.array([quantile]))[0])
    u = (np.arange(20000) + 0.5) / 20000
    residuals = dist.residual_days(np.full(len(u), elapsed), u)
    survival = lambda t: 1.0 - float(dist.cdf(np.array([t]))[0])  # noqa: E731
    tail, _ = integrate.quad(survival, elapsed, np.inf, limit=200)
    expected = tail / survival(elapsed)
    assert residuals.min() >= 0
    assert residuals.mean() == pytest.approx(expected, rel=0.01)


@given(u=st.floats(min_value=1e-6, max_value=1 - 1e-6))
@settings(max_examples=60, deadline=None)
def test_cdf_inverts_the_quantile_function(u: float) -> None:
    for dist in DISTRIBUTIONS:
        x = dist.ppf(np.array([u]))
        assert dist.cdf(x)[0] == pytest.approx(u, rel=1e-6, abs=1e-9)


def test_fixed_and_empirical_residuals_by_arithmetic() -> None:
    fixed = Fixed(distribution="fixed", value=100)
    u = np.array([0.1, 0.5, 0.9])
    assert list(fixed.residual_days(np.array([10.0, 99.0, 150.0]), u)) == [90.0, 1.0, 0.0]
    empirical = Empirical(distribution="empirical", values=(50, 10, 30, 200))
    # After 40 days only 50 and 200 remain, equally likely: residual 10 or 160.
    got = empirical.residual_days(np.full(4, 40.0), np.array([0.0, 0.49, 0.5, 0.99]))
    assert list(got) == [10.0, 10.0, 160.0, 160.0]
    assert list(empirical.residual_days(np.array([500.0]), np.array([0.3]))) == [0.0]


# -- census starts by arithmetic ------------------------------------------------------------
def test_fixed_stays_end_exactly_when_arithmetic_says(tmp_path: Path) -> None:
    """Stays of 100 days: admitted 10, 40 and 99 days before the start, each is ready
    and leaves after the rest of its 100 days; one past 100 days and one already ready
    leave at once."""
    census = [
        row("a", "in_bed", "2026-03-22", unit="Unit"),  # 10 days: 90 to go
        row("b", "in_bed", "2026-02-20", unit="Unit"),  # 40 days: 60 to go
        row("c", "out_of_area", "2025-12-23"),  # 99 days: 1 to go
        row("d", "out_of_area", "2025-11-02"),  # 150 days: overdue, leaves at 0
        row("e", "in_bed", "2025-12-01", unit="Unit", ready_date="2026-03-30"),
    ]
    log = sorted(
        (e.admitted_to, e.admission_day, e.ready_day, e.exit_day, e.exit_to)
        for e in run(scenario_file(tmp_path, census, beds=3))
    )
    assert log == sorted(
        [
            ("Unit", -10.0, 90.0, 90.0, "home"),
            ("Unit", -40.0, 60.0, 60.0, "home"),
            ("out_of_area", -99.0, 1.0, 1.0, "home"),
            ("out_of_area", -150.0, 0.0, 0.0, "home"),
            ("Unit", -121.0, 0.0, 0.0, "home"),
        ]
    )


def test_waiting_list_keeps_its_order_and_its_time_waited(tmp_path: Path) -> None:
    """Two full beds free at days 3 and 12. The longest waiter (20 days) gets the first,
    the next (10 days) the second; one already past the 25-day maximum wait goes out
    of area at once, and a patient ready to go home frees a bed at time 0 for it."""
    census = [
        row("bed1", "in_bed", "2025-12-25", unit="Unit"),  # 97 days: leaves at 3
        row("bed2", "in_bed", "2026-01-03", unit="Unit"),  # 88 days: leaves at 12
        row("ten", "waiting", "2026-03-22"),
        row("twenty", "waiting", "2026-03-12"),
        row("thirty", "waiting", "2026-03-02"),
    ]
    episodes = run(scenario_file(tmp_path, census, beds=2))
    admitted = {round(-e.decision_day): (e.admission_day, e.admitted_to) for e in episodes}
    assert admitted[30] == (0.0, "out_of_area")
    assert admitted[20] == (3.0, "Unit")
    assert admitted[10] == (12.0, "Unit")
    # The out-of-area patient is never repatriated ahead of the waiting list.
    assert all(e.repatriation_day is None for e in episodes)


def test_patient_ready_to_go_home_frees_the_bed_for_the_waiting_list(tmp_path: Path) -> None:
    census = [
        row("ready", "in_bed", "2025-12-01", unit="Unit", ready_date="2026-03-30"),
        row("late", "waiting", "2026-02-01"),  # 59 days, past the 25-day maximum
    ]
    episodes = run(scenario_file(tmp_path, census, beds=1))
    late = next(e for e in episodes if e.admission_day == 0.0 and e.decision_day == -59.0)
    assert late.admitted_to == "Unit"


def test_delayed_discharge_waits_for_its_team_place(tmp_path: Path) -> None:
    """A full day service (1 place, 30 days into a 100-day episode) frees at day 70; the
    patient ready in a bed and waiting for it leaves then."""
    census = [
        row("d", "in_bed", "2026-01-01", unit="Unit", ready_date="2026-03-01", discharge_to="Day"),
        row("c", "community", "2026-03-02", team="Day"),
    ]
    episodes = run(scenario_file(tmp_path, census, team_places=1))
    leaving = next(e for e in episodes if e.admitted_to == "Unit")
    assert (leaving.exit_day, leaving.exit_to, leaving.step_down_to) == (70.0, "community", "Day")
    assert leaving.community_end_day == 170.0
    on_team = next(e for e in episodes if e.exit_to == "community" and e.admission_day == -30)
    assert on_team.community_end_day == 70.0


def test_assessment_continues_for_the_rest_of_its_delay(tmp_path: Path) -> None:
    census = [row("x", "assessment", "2026-03-28")]  # 4 days into a 10-day assessment
    (episode,) = run(scenario_file(tmp_path, census, assessment=10))
    assert (episode.referral_day, episode.decision_day) == (-4.0, 6.0)
    assert (episode.admission_day, episode.exit_day) == (6.0, 106.0)


def test_readmission_still_to_come(tmp_path: Path) -> None:
    """With certain readmission over a 100-day window: discharged 40 days ago, the
    patient is referred again within the 60 days left; 120 days ago, never."""
    census = [
        row("soon", "discharged", "2026-02-20"),
        row("never", "discharged", "2025-12-02"),
    ]
    episodes = run(scenario_file(tmp_path, census, readmission=1.0))
    first = [e for e in episodes if e.source == "readmission"]
    assert len({e.patient_id for e in first}) == 1
    assert 0 < min(e.referral_day for e in first) < 60


# -- what the census must not change --------------------------------------------------------
def test_census_does_not_change_the_new_referrals(tmp_path: Path) -> None:
    """Common random numbers: census patients draw from their own streams."""
    census = [row(f"p{i}", "in_bed", "2026-03-01", unit="Unit") for i in range(3)]
    stay = {"distribution": "lognormal", "median": 40, "p90": 120}
    with_census = run(scenario_file(tmp_path, census, referrals=30, stay=stay, beds=5))
    empty = run(scenario_file(tmp_path, [], referrals=30, stay=stay, beds=5))

    def new(episodes: list[Any]) -> list[float]:
        return [e.referral_day for e in episodes if e.source == "new" and e.referral_day >= 0]

    assert new(with_census) == new(empty)
    assert len(new(empty)) > 10


def test_same_seed_same_census_run(tmp_path: Path) -> None:
    census = [row(f"p{i}", "in_bed", "2026-01-01", unit="Unit") for i in range(3)]
    path = scenario_file(tmp_path, census, stay={"distribution": "gamma", "mean": 120, "sd": 60})
    first = [(e.exit_day, e.exit_to) for e in run(path)]
    assert first == [(e.exit_day, e.exit_to) for e in run(path)]
    assert len({d for d, _ in first}) == 3  # three different residual stays


# -- bad census files ---------------------------------------------------------------------------
def problems_of(path: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_bad_rows_are_reported_by_line_and_column(tmp_path: Path) -> None:
    census = [
        row("ok", "in_bed", "2026-03-01", unit="Unit"),
        row("x", "in_bedd", "2026-03-01"),  # line 3
        row("y", "in_bed", "2026-13-01", unit="Unit"),  # line 4
        row("z", "waiting", "2026-04-02"),  # line 5: after the start
        row("w", "waiting", "2026-03-01", unit="Unit"),  # line 6
        row("v", "in_bed", "2026-03-01", unit="Unitt"),  # line 7
        row("u", "in_bed", "2026-03-01", unit="Unit", ready_date="2026-02-01"),  # line 8
        row("t", "community", "2026-03-01"),  # line 9: no team
    ]
    found = problems_of(scenario_file(tmp_path, census))
    where = {(line, field) for line, field, _ in found}
    assert where == {
        (3, "status"),
        (4, "since_date"),
        (5, "since_date"),
        (6, "unit"),
        (7, "unit"),
        (8, "ready_date"),
        (9, "team"),
    }
    messages = {(line, field): m for line, field, m in found}
    assert "did you mean 'in_bed'" in messages[(3, "status")]
    assert "YYYY-MM-DD" in messages[(4, "since_date")]
    assert "not before the start date 2026-04-01" in messages[(5, "since_date")]
    assert "did you mean 'Unit'" in messages[(7, "unit")]


def test_fewer_beds_than_the_census_is_a_closure_on_the_start_date(tmp_path: Path) -> None:
    # Three patients in a unit cut to two beds: nobody is moved, the third bed stays open
    # (and paid for) until the first of them leaves, then closes.
    census = [
        row("p0", "in_bed", "2026-03-01", unit="Unit"),  # 31 days in: 69 left
        row("p1", "in_bed", "2026-03-21", unit="Unit"),  # 89 left
        row("p2", "in_bed", "2026-03-26", unit="Unit"),  # 94 left
    ]
    model = Model(load_scenario(scenario_file(tmp_path, census, beds=2)), 0)
    output = model.run()
    stays = sorted(e.exit_day for e in output.episodes if e.admitted_to == "Unit")
    assert stays == pytest.approx([69.0, 89.0, 94.0])
    open_bed_days = output.unit_bed_days["Unit"].sum()
    assert open_bed_days == pytest.approx(3 * 69 + 2 * (365 - 69))
    assert np.all(output.unit_occupancy["Unit"] <= output.unit_bed_days["Unit"] + 1e-9)


def test_more_patients_than_team_places_wait_for_no_place(tmp_path: Path) -> None:
    census = [row(f"c{i}", "community", "2026-03-01", team="Day") for i in range(3)]
    episodes = run(scenario_file(tmp_path, census, team_places=2))
    ends = sorted(e.community_end_day for e in episodes if e.step_down_to == "Day")
    assert ends == pytest.approx([69.0, 69.0, 69.0])  # all three on the caseload at once


def test_a_census_naming_a_removed_unit_says_what_to_do(tmp_path: Path) -> None:
    census = [row(f"p{i}", "in_bed", "2026-03-01", unit="Old Ward") for i in range(4)]
    found = problems_of(scenario_file(tmp_path, census))
    assert len(found) == 2, "one problem for the unit, one saying what to do"
    assert "'Old Ward' is not a unit of this scenario, and 4 rows name it" in found[0][2]
    assert "census: null" in found[1][2] and "calibration.warmstart" in found[1][2]


def test_a_census_for_another_start_date_is_one_problem_not_one_a_row(tmp_path: Path) -> None:
    census = [row(f"p{i}", "in_bed", f"2026-04-{i + 2:02d}", unit="Unit") for i in range(8)]
    found = problems_of(scenario_file(tmp_path, census))
    assert found == [
        (
            2,
            "since_date",
            "8 rows have a date on or after the start date 2026-04-01 (lines 2, 3, 4, 5, 6, "
            "...); the census is the state at the start, so every date in it is earlier",
        )
    ]


def test_a_census_naming_a_place_the_scenario_renamed_is_one_problem(tmp_path: Path) -> None:
    census = [row(f"p{i}", "waiting", "2026-03-01", home_place="Oldtown") for i in range(6)]
    census.append(row("long", "waiting", "2026-03-01", home_place="N" * 5000))
    found = problems_of(scenario_file(tmp_path, census))
    where = [(line, field) for line, field, _ in found]
    assert where == [(2, "home_place"), (8, "home_place"), (None, "")]
    assert "'Oldtown' is not a place of this scenario, and 6 rows name it" in found[0][2]
    assert len(found[1][2]) < 200, "a long value is quoted as an excerpt"
    assert "census: null" in found[2][2]  # what to do


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, [])
    (tmp_path / "census.csv").write_text("pathway,servce,home_place,status,since_date\n")
    found = problems_of(path)
    assert (1, "servce", "unknown column; did you mean 'service'?") in [
        (line, field, m.split(" (")[0]) for line, field, m in found
    ]
    assert (1, "service") in [(line, field) for line, field, _ in found]


def test_with_a_warm_up_the_census_starts_the_warm_up(tmp_path: Path) -> None:
    """Allowed, and documented: the census is placed at the start of a 30-day warm-up,
    so a 100-day stay 10 days old ends 90 days later, on day 60."""
    census = [row("a", "in_bed", "2026-03-22", unit="Unit")]
    (episode,) = run(scenario_file(tmp_path, census, warmup_days=30))
    assert (episode.admission_day, episode.exit_day) == (-40.0, 60.0)


def test_missing_census_file_names_the_line(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, [])
    (tmp_path / "census.csv").unlink()
    ((line, field, message),) = problems_of(path)
    assert field == "census" and "not found" in message and line is not None


def test_distribution_mean_used_by_residuals_is_finite() -> None:
    """A lognormal long past its 99.99th percentile still gets a finite residual."""
    dist = LogNormal(distribution="lognormal", median=30, p90=60)
    far = float(dist.ppf(np.array([1 - 1e-12]))[0]) * 3
    value = dist.residual_days(np.array([far]), np.array([0.999999]))[0]
    assert math.isfinite(value) and value >= 0


def test_a_census_scenario_written_out_reads_back_anywhere(tmp_path: Path) -> None:
    """The loader makes the census path absolute, so a scenario dumped (a results folder,
    a resumed run) loads again from any folder with the same patients."""
    from simulation.scenario.loading import load_scenario_dict, load_scenario_text, scenario_to_yaml

    path = scenario_file(tmp_path, [row("a", "in_bed", "2026-03-22", unit="Unit")])
    scenario = load_scenario(path)
    assert Path(str(scenario.census)).is_absolute()
    again = load_scenario_text(scenario_to_yaml(scenario), "elsewhere/scenario.yaml")
    assert again.census_patients == scenario.census_patients
    assert load_scenario_dict(scenario.model_dump(mode="json")).census_patients


# -- the patient mix in a census -----------------------------------------------------------
def women_only(folder: Path, lines: list[str]) -> Path:
    """The census scenario with a 70/30 sex mix, its unit taking women only, and a census
    with the mix columns."""
    path = scenario_file(folder, None, beds=6)
    data = yaml.safe_load(path.read_text())
    data["pathways"]["adult_ed"]["patient_mix"] = {"sex": {"male": 0.7, "female": 0.3}}
    data["units"][0]["sex"] = "female"
    data["census"] = "census.csv"
    (folder / "census.csv").write_text("\n".join([f"{HEADER},sex,stream", *lines]) + "\n")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_census_patients_in_a_unit_are_of_a_kind_it_takes(tmp_path: Path) -> None:
    # Sex unknown for five of six: drawn from the mix, which is mostly men, but the
    # unit takes women only, so every one of them is a woman.
    lines = [row(f"p{i}", "in_bed", "2026-01-01", unit="Unit") + ",," for i in range(5)]
    lines.append(row("p5", "in_bed", "2026-01-01", unit="Unit") + ",female,")
    episodes = run(women_only(tmp_path, lines))
    in_unit = [e for e in episodes if e.admitted_to == "Unit" and e.admission_day < 0]
    assert len(in_unit) == 6 and {e.sex for e in in_unit} == {"female"}


def test_census_refuses_a_patient_the_unit_would_not_take(tmp_path: Path) -> None:
    lines = [
        row("p0", "in_bed", "2026-01-01", unit="Unit") + ",male,",
        row("p1", "waiting", "2026-01-01") + ",unknown,",
        row("p2", "waiting", "2026-01-01") + ",,mi",
    ]
    with pytest.raises(InputError) as caught:
        load_scenario(women_only(tmp_path, lines))
    problems = {(p.line, p.field): p.message for p in caught.value.problems}
    assert "Unit does not take sex 'male' (it takes female)" in problems[(2, "sex")]
    assert "unknown 'unknown'" in problems[(3, "sex")]
    assert "patient_mix has no streams" in problems[(4, "stream")]
