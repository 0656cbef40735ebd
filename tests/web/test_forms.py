"""The planner's form: fields in planner units, written into the file only where changed,
and every problem the loader finds landing on the field it is about."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulation.api import load
from simulation.core.problems import InputError
from simulation.scenario.loading import scenario_to_yaml
from simulation.web import forms
from simulation.web.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "workspace")


def _new(workspace: Workspace, name: str = "mine") -> tuple[Path, dict[str, object]]:
    text = forms.derived_from("../examples/baseline.yaml", name, "")
    path = workspace.save(name, text)
    return path, yaml.safe_load(text)


def test_the_form_shows_the_scenario_in_planner_units(workspace: Workspace) -> None:
    baseline = workspace.load(workspace.examples / "baseline.yaml")
    fields = {f.key: f for f in forms.scenario_fields(baseline)}
    assert fields["units[0].beds"].label == baseline.units[0].name
    assert fields["units[0].beds"].value == str(baseline.units[0].beds)
    growth = fields["pathways.adult_secure.annual_growth"]
    assert (growth.unit, growth.value) == ("%", "1")  # 0.01 a year, shown as 1%
    diversion = fields["pathways.camhs_t4.diversion.share"]
    assert diversion.value == "15"
    assert "pathways.adult_secure.diversion.share" not in fields  # no diversion there


def test_only_changed_values_are_written_and_match_dotted_overrides(workspace: Workspace) -> None:
    path, own = _new(workspace)
    scenario = workspace.load(path)
    fields = forms.scenario_fields(scenario)
    submitted = {f.key: f.value for f in fields}
    submitted["units[2].beds"] = "60"
    submitted["pathways.adult_ed.annual_growth"] = "5"
    submitted["community_teams[1].places"] = "1,000"
    data = forms.apply_form(own, fields, submitted, scenario)
    assert set(data) == {"extends", "name", "description", "units", "pathways", "community_teams"}
    assert data["units"] == [{"name": scenario.units[2].name, "beds": 60}]
    saved = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    expected = load(
        workspace.examples / "baseline.yaml",
        {
            f"units.{scenario.units[2].name}.beds": 60,
            "pathways.adult_ed.annual_growth": 0.05,
            f"community_teams.{scenario.community_teams[1].name}.places": 1000,
            "name": "mine",
            "description": scenario.description,
        },
    )
    assert scenario_to_yaml(saved) == scenario_to_yaml(expected)


@pytest.mark.parametrize(
    ("key", "given", "message"),
    [
        ("units[0].beds", "-5", "expected a whole number from 0 to 100,000, got -5"),
        ("units[3].beds", "many", "expected a whole number from 0 to 100,000, got 'many'"),
        ("pathways.camhs_t4.annual_growth", "150", "greater than -1 and at most 1, got 1.5"),
        ("pathways.adult_ed.max_wait_days.urgent", "-1", "got -1"),
        ("horizon_years", "0", "got 0"),
    ],
)
def test_a_bad_value_is_reported_on_its_own_field(
    workspace: Workspace, key: str, given: str, message: str
) -> None:
    path, own = _new(workspace)
    scenario = workspace.load(path)
    fields = forms.scenario_fields(scenario)
    data = forms.apply_form(own, fields, {key: given}, scenario)
    with pytest.raises(InputError) as caught:
        workspace.check_text(forms.to_yaml(data), path)
    problems = caught.value.problems
    assert [p.field for p in problems] == [key]
    assert message in problems[0].message
    assert {f.key for f in fields} >= {p.field for p in problems}
    assert path.read_text() == forms.derived_from("../examples/baseline.yaml", "mine", "")


def test_a_saved_scenario_runs_from_the_command_line(workspace: Workspace) -> None:
    from simulation.cli.main import main

    path, _ = _new(workspace)
    assert main(["validate", str(path)]) == 0


def test_names_that_are_not_plain_words_never_become_files(workspace: Workspace) -> None:
    for name in ("../escape", "a/b", "Upper", ".hidden", "x" * 61, "", "con.yaml"):
        with pytest.raises(InputError):
            workspace.save(name, forms.derived_from("../examples/baseline.yaml", name, ""))
    assert list(workspace.scenarios.iterdir()) == []


def _from(workspace: Workspace, parent: str) -> tuple[Path, dict[str, object]]:
    text = forms.derived_from(f"../examples/{parent}.yaml", "mine", "")
    return workspace.save("mine", text), yaml.safe_load(text)


def test_a_dated_change_is_added_after_the_parents_and_one_can_be_removed(
    workspace: Workspace,
) -> None:
    path, own = _from(workspace, "close_beds_reinvest")
    scenario = workspace.load(path)
    assert scenario.changes, "the example has dated changes of its own"
    kinds = {k.label: k for k in forms.change_kinds(scenario)}
    los = kinds["Length of stay, Adult eating disorders inpatient"]
    submitted = {"change.date": "2027-10-01", "change.what": los.value, "change.to": "80"}
    data = forms.apply_form(own, forms.scenario_fields(scenario), submitted, scenario)
    saved = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    assert saved.changes[:-1] == scenario.changes
    added = saved.changes[-1]
    assert (added.set, added.to, str(added.date)) == ("length_of_stay_factor", 0.8, "2027-10-01")
    assert forms.describe_change(added) == (
        "From 2027-10-01: Adult eating disorders inpatient: stays 80% of today's length"
    )
    own = yaml.safe_load(path.read_text())
    data = forms.apply_form(own, forms.scenario_fields(saved), {"remove_change.0": "yes"}, saved)
    again = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    assert again.changes == saved.changes[1:]


def test_a_dated_change_outside_the_run_is_the_loaders_problem_of_that_change(
    workspace: Workspace,
) -> None:
    path, own = _from(workspace, "baseline")
    scenario = workspace.load(path)
    beds = forms.change_kinds(scenario)[0]
    submitted = {"change.date": "2040-01-01", "change.what": beds.value, "change.to": "50"}
    data = forms.apply_form(own, forms.scenario_fields(scenario), submitted, scenario)
    with pytest.raises(InputError) as caught:
        workspace.check_text(forms.to_yaml(data), path)
    assert [p.field for p in caught.value.problems] == [f"changes[{len(scenario.changes)}].date"]


def test_reinvestment_share_is_shown_and_changed_in_percent(workspace: Workspace) -> None:
    path, own = _from(workspace, "adult_secure_community_reinvestment")
    scenario = workspace.load(path)
    fields = {f.key: f for f in forms.scenario_fields(scenario)}
    share = fields["reinvestment[0].share_of_savings"]
    assert share.value == f"{scenario.reinvestment[0].share_of_savings * 100:g}"
    data = forms.apply_form(own, list(fields.values()), {share.key: "25"}, scenario)
    saved = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    assert saved.reinvestment[0].share_of_savings == 0.25
    assert saved.reinvestment[0].teams == scenario.reinvestment[0].teams
