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
    data = forms.apply_form(own, fields, submitted, scenario.description)
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
    data = forms.apply_form(own, fields, {key: given}, scenario.description)
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
