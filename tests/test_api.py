"""The researcher's API: load with overrides, run, compare, save and reopen, plot; the CLI on it.

Overrides must be validated exactly like the file (a bad value is one problem naming the
field and the overrides, never a silent default), reach named items of lists and leave
the file alone. Results must be the same numbers as the layer below (nothing computed
twice), survive a save and reopen, read a folder the CLI wrote, and compare scenarios
with common random numbers. ``pathways warmup`` and ``--replications auto`` are checked
end to end. The docstring examples of the API modules run here as doctests.
"""

from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure

import simulation as sim
from simulation import plots
from simulation.experiment.comparison import compare_kpis, mark_comparison_part_years
from simulation.experiment.experiment import run_experiment
from simulation.results.analysis import summarise
from simulation.scenario.loading import derive, load_scenario, load_scenario_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

TINY_FILE = """\
name: tiny
start_date: 2026-04-01
horizon_years: 0.5
warmup_days: 60
replications: 2
seed: 11
places:
  - {name: Home, population: 400000}
units:
  - name: Unit
    pathway: adult_ed
    service: inpatient
    place: Home
    beds: 6
    cost_per_bed_day_gbp: 600
    linked_places: [Home]
pathways:
  adult_ed:
    services:
      inpatient:
        referral_rate_per_100k_per_year: 12
        length_of_stay: {distribution: gamma, mean: 40, sd: 20}
        out_of_area: {cost_per_bed_day_gbp: 700, distance_miles: 80}
"""


@pytest.mark.parametrize(
    "module",
    ["simulation.api", "simulation.scenario.overrides", "simulation.experiment.precision",
     "simulation.experiment.warmup", "simulation.plots", "simulation.optimise.selection",
     "simulation.core.calendar", "simulation.results.kpis", "simulation.report.wording"],
)  # fmt: skip
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# -- load with overrides ----------------------------------------------------------------


def test_overrides_change_only_what_they_name_and_leave_the_file_alone() -> None:
    before = BASELINE.read_bytes()
    plain = load_scenario(BASELINE)
    changed = sim.load(
        BASELINE,
        {
            "units.Beacon Low Secure.beds": 60,
            "pathways.adult_secure.services.medium.length_of_stay.median": 500,
            "community_teams.2.places": 15,
            "warmup_days": 365,
        },
    )
    units = {u.name: u for u in changed.units}
    assert units["Beacon Low Secure"].beds == 60
    assert changed.pathways["adult_secure"].services["medium"].length_of_stay.median == 500
    assert changed.community_teams[2].places == 15
    assert changed.warmup_days == 365
    # Everything else is as the file says.
    assert [u.beds for u in changed.units if u.name != "Beacon Low Secure"] == [
        u.beds for u in plain.units if u.name != "Beacon Low Secure"
    ]
    assert changed.pathways["camhs_t4"] == plain.pathways["camhs_t4"]
    assert BASELINE.read_bytes() == before


def test_a_bad_override_is_one_problem_naming_the_field_and_the_overrides() -> None:
    with pytest.raises(sim.InputError) as caught:
        sim.load(BASELINE, {"units.Beacon Low Secure.beds": "many", "horizon_years": 2})
    [problem] = caught.value.problems
    assert problem.field == "units[4].beds"  # Beacon is the baseline's fifth unit
    assert problem.line is None
    assert problem.message.endswith("(from overrides)")
    assert str(BASELINE) in str(problem)


def test_a_misspelt_override_is_an_unknown_field_with_a_suggestion() -> None:
    with pytest.raises(sim.InputError) as caught:
        sim.load(BASELINE, {"pathways.adult_ed.anual_growth": 0.1})
    text = str(caught.value)
    assert "anual_growth" in text and "annual_growth" in text and "(from overrides)" in text


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("units.Nowhere Unit.beds", "units has no item 'Nowhere Unit'"),
        ("units.99.beds", "units has no item '99'"),
        ("horizon_years.days", "is a single value"),
        ("pathways..annual_growth", "expected a dotted path"),
    ],
)
def test_an_override_path_that_cannot_be_followed_is_refused(key: str, fragment: str) -> None:
    with pytest.raises(sim.InputError) as caught:
        sim.load(BASELINE, {key: 1})
    [problem] = caught.value.problems
    assert problem.field == key
    assert fragment in problem.message


def test_problems_elsewhere_keep_their_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TINY_FILE.replace("beds: 6", "beds: -6"))
    with pytest.raises(sim.InputError) as caught:
        sim.load(path, {"warmup_days": 30})
    [problem] = caught.value.problems
    assert problem.field == "units[0].beds" and problem.line == 14
    assert "overrides" not in problem.message


def test_load_from_a_dict_does_not_change_the_dict() -> None:
    data = sim.demo_scenario()
    before = json.dumps(data, sort_keys=True)
    scenario = sim.load(data, {"units.Unit.beds": 3, "pathways.adult_ed.annual_growth": 0.1})
    assert scenario.units[0].beds == 3
    assert json.dumps(data, sort_keys=True) == before


def test_overriding_timing_also_times_the_budget_comparator() -> None:
    path = ROOT / "scenarios" / "adult_secure_community_reinvestment.yaml"
    scenario = sim.load(path, {"horizon_years": 2, "warmup_days": 400})
    budget = scenario.budget_scenario
    assert budget is not None and budget.name == "baseline"
    assert (budget.horizon_years, budget.warmup_days) == (2, 400)
    untimed = sim.load(path)
    assert untimed.budget_scenario is not None
    assert untimed.budget_scenario.horizon_years == load_scenario(BASELINE).horizon_years


# -- run, save, reopen ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> sim.Scenario:
    return load_scenario_dict(sim.demo_scenario("tiny"))


def test_run_gives_the_numbers_of_the_layer_below(tiny: sim.Scenario) -> None:
    results = sim.run(tiny, replications=3, workers=1)
    below = run_experiment(tiny, replications=3, workers=1)
    pd.testing.assert_frame_equal(results.kpis.drop(columns="scenario"), below.kpis)
    pd.testing.assert_frame_equal(results.summary.drop(columns="scenario"), below.summary)
    pd.testing.assert_frame_equal(results.monthly.drop(columns="scenario"), below.monthly)
    assert results.events is None and results.comparison is None
    assert (results.names, results.replications) == (["tiny"], 3)
    # The summary is the analysis module's, over the tidy per-replication rows.
    again = summarise(results.kpis)
    pd.testing.assert_series_equal(again["mean"], results.summary["mean"], check_names=False)


def test_results_survive_save_and_reopen(tiny: sim.Scenario, tmp_path: Path) -> None:
    results = sim.run(tiny, replications=2, workers=1, events=True)
    folder = results.save(tmp_path)
    assert folder.parent == tmp_path / "tiny" and results.path == folder
    again = sim.open_results(folder)
    assert again.names == ["tiny"] and again.replications == 2
    for part in ("kpis", "monthly"):
        pd.testing.assert_frame_equal(getattr(again, part), getattr(results, part))
    pd.testing.assert_frame_equal(
        again.summary[["scenario", "kpi", "period"]], results.summary[["scenario", "kpi", "period"]]
    )
    pd.testing.assert_series_equal(again.summary["mean"], results.summary["mean"])
    assert again.events is not None and len(again.events) == len(results.events)  # type: ignore[arg-type]
    assert again.scenario_yaml["tiny"] == results.scenario_yaml["tiny"]
    # Saving what was reopened copies it to a new folder; the original stays.
    copy = again.save(tmp_path / "copies")
    assert copy != folder and sorted(p.name for p in copy.iterdir()) == sorted(
        p.name for p in folder.iterdir()
    )


def test_reopening_a_folder_that_is_not_results_is_file_not_found(
    tiny: sim.Scenario, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sim.open_results(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="is not a results folder"):
        sim.open_results(tmp_path)
    folder = sim.run(tiny, replications=2, workers=1).save(tmp_path / "results")
    (folder / "kpis.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"incomplete results folder.*kpis\.csv"):
        sim.open_results(folder)


def test_results_reopen_a_folder_the_cli_wrote(tmp_path: Path) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(TINY_FILE)
    done = subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", "run", str(scenario_file), "-q", "-w", "1",
         "--out", str(tmp_path / "results")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    results = sim.open_results(folder)
    direct = run_experiment(load_scenario(scenario_file), workers=1)
    assert results.names == ["tiny"] and results.replications == 2
    pd.testing.assert_series_equal(
        results.kpis["value"], direct.kpis["value"], check_names=False, check_dtype=False
    )
    table = results.table()
    assert list(table.columns) == ["Adult eating disorders", "All pathways"]


def test_compare_pairs_scenarios_on_common_random_numbers(tiny: sim.Scenario) -> None:
    more = sim.load(sim.demo_scenario("more"), {"units.Unit.beds": 14, "seed": 999})
    results = sim.compare(tiny, more, replications=4, workers=1)
    assert results.names == ["tiny", "more"]
    assert results.comparison is not None
    # Run with the base's seed: the same table as comparing the layer below's runs.
    aligned = derive(more, {"seed": tiny.seed})
    expected = compare_kpis(
        "tiny",
        run_experiment(tiny, replications=4, workers=1).kpis,
        {"more": run_experiment(aligned, replications=4, workers=1).kpis},
    )
    expected = mark_comparison_part_years(expected, tiny, [aligned])
    pd.testing.assert_frame_equal(results.comparison, expected)
    # Same referrals in every replication, so the paired difference in referrals is 0.
    d = results.differences().set_index(["pathway", "kpi"])
    assert d.loc[("adult_ed", "referrals"), "diff_mean"] == 0
    assert d.loc[("adult_ed", "ooa_admissions"), "diff_mean"] <= 0
    assert "same referrals" in results.notes["more"]


def test_a_comparison_survives_save_and_reopen(tiny: sim.Scenario, tmp_path: Path) -> None:
    more = sim.load(sim.demo_scenario("more"), {"units.Unit.beds": 14})
    results = sim.compare(tiny, [more], replications=2, workers=1)
    folder = results.save(tmp_path)
    assert folder.name.startswith("20") and folder.parent.name == "compare-tiny"
    again = sim.open_results(folder)
    assert again.names == ["tiny", "more"]
    assert again.comparison is not None and results.comparison is not None
    pd.testing.assert_series_equal(again.comparison["diff_mean"], results.comparison["diff_mean"])
    assert again.notes == results.notes


def test_a_name_or_period_the_results_lack_is_refused_not_an_empty_table(
    tiny: sim.Scenario,
) -> None:
    more = sim.load(sim.demo_scenario("more"), {"units.Unit.beds": 14})
    results = sim.compare(tiny, more, replications=2, workers=1)
    for call in (results.table, results.equity, results.equity_gaps):
        with pytest.raises(ValueError, match=r"no scenario 'tinny' in these results.*'tiny'\?"):
            call("tinny")
        call("more")
    assert not results.table("more").empty and not results.equity("more").empty
    with pytest.raises(ValueError, match="no scenario 'tinny'"):
        results.horizon_years("tinny")
    with pytest.raises(ValueError, match=r"no period '2026-27'.*did you mean '2026/27'\?"):
        results.headline("2026-27")
    assert not results.headline("2026/27").empty
    with pytest.raises(ValueError, match="no period 'bogus'"):
        results.differences(period="bogus")
    with pytest.raises(ValueError, match=r"no KPI 'admisions'.*did you mean 'admissions'\?"):
        results.differences(kpis="admisions")
    # One KPI's name is that KPI, not a list of its letters.
    one = results.differences(kpis="admissions")
    assert set(one["kpi"]) == {"admissions"} and len(one) == len(set(one["pathway"]))


def test_scenarios_run_together_need_different_names(tiny: sim.Scenario) -> None:
    with pytest.raises(sim.InputError, match="different names"):
        sim.run([tiny, tiny], replications=2, workers=1)


@pytest.mark.parametrize(
    ("arguments", "field", "expected"),
    [
        ({"seed": -5}, "seed", "expected a whole number of at least 0 and below"),
        ({"replications": 0}, "replications", "expected a whole number from 1 to 100,000, got 0"),
        ({"replications": 200_000}, "replications", "expected a whole number from 1 to 100,000"),
    ],
)
def test_a_bad_argument_is_one_problem_naming_the_argument(
    tiny: sim.Scenario, arguments: dict[str, Any], field: str, expected: str
) -> None:
    """Not numpy's error from deep in a replication: the argument, and what it must be."""
    more = sim.load(sim.demo_scenario("more"))
    for call in (sim.run, lambda s, **kw: sim.compare(s, more, **kw)):
        with pytest.raises(sim.InputError) as caught:
            call(tiny, workers=1, **arguments)
        [problem] = caught.value.problems
        assert (problem.file, problem.line, problem.field) == ("scenario tiny", None, field)
        assert expected in problem.message
        assert problem.message.endswith(f"(from the argument {field})")
        assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_workers_that_are_no_count_of_processes_are_refused(
    tiny: sim.Scenario, workers: Any
) -> None:
    # Before: 0 and -1 ran in this process, "2" and 1.5 failed deep in multiprocessing.
    with pytest.raises(ValueError, match=r"^workers must be a whole number of at least 1"):
        sim.run(tiny, replications=2, workers=workers)


@pytest.mark.parametrize("cap", [0, 1, "5", 100_001])
def test_a_cap_that_allows_no_interval_is_refused(tiny: sim.Scenario, cap: Any) -> None:
    # Before: a cap of 0 or 1 quietly ran 2 and reported "the cap of 2 replications".
    with pytest.raises(ValueError, match=r"^max_replications must be a whole number from 2"):
        sim.run(tiny, replications="auto", max_replications=cap, workers=1)


def test_the_experiment_layer_refuses_what_would_fail_deep_in_a_replication(
    tiny: sim.Scenario,
) -> None:
    with pytest.raises(sim.InputError) as caught:
        run_experiment(tiny, replications=0, workers=1)
    assert str(caught.value) == (
        "scenario tiny: replications: expected a whole number from 1 to 100,000, got 0 "
        "(from the argument replications)"
    )
    for wrong in ("scenarios/baseline.yaml", sim.demo_scenario()):
        with pytest.raises(TypeError, match=r"^expected a loaded scenario, got a (str|dict)"):
            run_experiment(wrong, replications=2, workers=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="first must be"):
        run_experiment(tiny, replications=2, workers=1, first=-1)


def test_a_bad_seed_for_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_FILE)
    with pytest.raises(sim.InputError) as caught:
        sim.run(path, seed=-5, workers=1)
    assert str(caught.value).startswith(f"{path}: seed: expected a whole number")


def test_alternatives_run_with_the_base_seed_and_replications(tiny: sim.Scenario) -> None:
    more = sim.load(sim.demo_scenario("more"), {"seed": 999, "replications": 9})
    results = sim.compare(tiny, more, replications=2, workers=1)
    assert results.replications == 2
    assert [s.seed for s in results.scenarios.values()] == [tiny.seed, tiny.seed]


def test_auto_replications_agree_with_a_fixed_run(tiny: sim.Scenario) -> None:
    auto = sim.run(tiny, replications="auto", precision=1e-9, max_replications=5, workers=1)
    assert auto.precision is not None and not auto.precision.reached
    assert auto.replications == 5
    fixed = sim.run(tiny, replications=5, workers=1)
    pd.testing.assert_frame_equal(auto.kpis, fixed.kpis)
    assert "stopped at the cap" in repr(auto)


def test_plots_return_figures(tiny: sim.Scenario) -> None:
    more = sim.load(sim.demo_scenario("more"), {"units.Unit.beds": 14})
    results = sim.compare(tiny, more, replications=3, workers=1)
    figures = [
        plots.monthly_plot(results),
        plots.monthly_plot(results, "waiting_list"),
        plots.waits_plot(results),
        plots.forest_plot(results),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(ValueError, match="no monthly series"):
        plots.monthly_plot(results, "occupied_chairs")


# -- the command line -------------------------------------------------------------------


def _pathways(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_cli_replications_auto_says_which_limit_stopped_it(tmp_path: Path) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(TINY_FILE)
    done = _pathways(
        "run", str(scenario_file), "-r", "auto", "--precision", "0.1%", "--max-replications",
        "4", "-w", "1", "--out", str(tmp_path / "results"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Cap reached: stopped at the cap of 4 replications" in done.stdout
    folder = Path(done.stdout.strip().splitlines()[-1].removeprefix("Results written to "))
    assert json.loads((folder / "manifest.json").read_text())["replications"] == 4

    loose = _pathways(
        "run", str(scenario_file), "-r", "auto", "--precision", "0.9", "-q", "-w", "1",
        "--out", str(tmp_path / "results"), cwd=tmp_path,
    )  # fmt: skip
    assert loose.returncode == 0, loose.stderr
    assert "Target reached" in loose.stderr
    assert (
        json.loads((Path(loose.stdout.strip()) / "manifest.json").read_text())["replications"] == 10
    )


def test_cli_compare_with_auto_replications(tmp_path: Path) -> None:
    base = tmp_path / "tiny.yaml"
    base.write_text(TINY_FILE)
    alternative = tmp_path / "more.yaml"
    alternative.write_text("extends: tiny.yaml\nname: more\nunits:\n  - {name: Unit, beds: 9}\n")
    done = _pathways(
        "compare", str(base), str(alternative), "-r", "auto", "--max-replications", "3",
        "--precision", "0.01", "-w", "1", "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Cap reached: stopped at the cap of 3 replications" in done.stdout
    assert "more vs tiny" in done.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-r", "some"], "expected a whole number of at least 1 or 'auto'"),
        (["-r", "auto", "--precision", "2"], "expected a share above 0 and below 1"),
        (["-r", "auto", "--precision", "five"], "expected a share such as 0.05 or 5%"),
    ],
)
def test_cli_refuses_bad_replication_options(
    args: list[str], fragment: str, tmp_path: Path
) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(TINY_FILE)
    done = _pathways("run", str(scenario_file), *args, "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


def test_cli_warmup_recommends_and_draws_welch(tmp_path: Path) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(TINY_FILE)
    plot = tmp_path / "welch.png"
    done = _pathways(
        "warmup", str(scenario_file), "-r", "2", "--years", "4", "-w", "1", "--plot",
        str(plot), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "MSER-5 recommends a warm-up of" in done.stdout
    assert "Occupied beds" in done.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_warmup_plot_goes_into_a_new_folder_and_not_under_a_file(tmp_path: Path) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(TINY_FILE)
    (tmp_path / "afile").write_text("")
    refused = _pathways(
        "warmup", str(scenario_file), "-r", "2", "--years", "2", "-w", "1", "--plot",
        "afile/welch.png", cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""  # nothing was run
    assert "--plot: afile is a file; --plot must be in a folder" in refused.stderr
    done = _pathways(
        "warmup", str(scenario_file), "-r", "2", "--years", "2", "-w", "1", "--plot",
        "new/deeper/welch.png", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new" / "deeper" / "welch.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_warmup_from_empty_ignores_the_census(tmp_path: Path) -> None:
    baseline = load_scenario(BASELINE)
    if not baseline.census_patients:
        pytest.skip("the baseline starts empty")
    done = _pathways(
        "warmup", str(BASELINE), "--empty", "-r", "1", "--years", "3", "-w", "1", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "from an empty start" in done.stdout and "MSER-5 recommends" in done.stdout


def test_cli_warmup_refuses_a_run_shorter_than_a_day(tmp_path: Path) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(TINY_FILE)
    done = _pathways("warmup", str(scenario_file), "--years", "0.001", "-q", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: scenario tiny: horizon_years: 0.001 years is less than a day; give a horizon "
        "of at least one day (0.003 years) (from the years of the warm-up analysis)",
        "1 problem found; nothing was run.",
    ]


def test_cli_warmup_reports_a_bad_scenario_without_running(tmp_path: Path) -> None:
    scenario_file = tmp_path / "bad.yaml"
    scenario_file.write_text(TINY_FILE.replace("beds: 6", "beds: lots"))
    done = _pathways("warmup", str(scenario_file), cwd=tmp_path)
    assert done.returncode == 2
    assert "units[0].beds" in done.stderr and "Traceback" not in done.stderr
