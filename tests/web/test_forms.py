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
        # Beacon Low Secure, the baseline's fifth unit, has 40 funded beds.
        ("units[4].staffed_beds", "41", "staffed_beds (41) is more than beds (40)"),
        ("units[4].staffed_beds", "-1", "expected a whole number from 0 to 100,000, got -1"),
        ("units[4].staffed_beds", "12.5", "expected a whole number from 0 to 100,000, got 12.5"),
        ("units[4].occupancy_ceiling", "150", "at most 1, got 1.5"),
        ("units[4].sex", "women", "expected one of 'any', 'male', 'female', got 'women'"),
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


def test_a_ward_converted_to_women_matches_the_same_overrides(workspace: Workspace) -> None:
    # Without a census: the baseline's census has men in every men's ward on the start date.
    text = forms.derived_from("../examples/baseline.yaml", "mine", "") + "census: null\n"
    path = workspace.save("mine", text)
    scenario = workspace.load(path)
    fields = forms.scenario_fields(scenario)
    i = [u.name for u in scenario.units].index("Beacon Low Secure")
    assert scenario.units[i].sex == "male" and scenario.units[i].streams == ("mental_illness",)
    # As the page sends it: women chosen, no stream ticked (every one), 12 beds staffed,
    # admitting below 90% occupancy.
    submitted = {
        f"units[{i}].sex": "female",
        f"units[{i}].streams": forms.TICKS_MARKER,
        f"units[{i}].staffed_beds": "12",
        f"units[{i}].occupancy_ceiling": "90",
    }
    data = forms.apply_form(yaml.safe_load(text), fields, submitted, scenario)
    assert data["units"] == [
        {
            "name": "Beacon Low Secure",
            "sex": "female",
            "streams": [],
            "staffed_beds": 12,
            "occupancy_ceiling": 0.9,
        }
    ]
    saved = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    expected = load(
        workspace.examples / "baseline.yaml",
        {
            "census": None,
            "units.Beacon Low Secure.sex": "female",
            "units.Beacon Low Secure.streams": [],
            "units.Beacon Low Secure.staffed_beds": 12,
            "units.Beacon Low Secure.occupancy_ceiling": 0.9,
            "name": "mine",
            "description": scenario.description,
        },
    )
    assert scenario_to_yaml(saved) == scenario_to_yaml(expected)
    # Shown again, the form holds what was saved, and says it in one line.
    again = {f.key: f for f in forms.scenario_fields(saved)}
    assert again[f"units[{i}].occupancy_ceiling"].value == "90"
    tucked = [f for f in again.values() if f.within == f"units[{i}].beds"]
    values = {f.key: f.value for f in tucked}
    assert forms.describe_unit(tucked, values) == (
        "women · every stream · 12 beds staffed · admits below 90% full"
    )
    # Blank staffed beds means every funded bed again.
    data = forms.apply_form(
        yaml.safe_load(path.read_text()), list(again.values()),
        {f"units[{i}].staffed_beds": ""}, saved,
    )  # fmt: skip
    assert workspace.load(workspace.save("mine", forms.to_yaml(data))).units[i].staffed_beds is None


def test_stream_boxes_only_for_a_pathway_whose_mix_has_streams(workspace: Workspace) -> None:
    baseline = workspace.load(workspace.examples / "baseline.yaml")
    fields = {f.key: f for f in forms.scenario_fields(baseline)}
    for i, unit in enumerate(baseline.units):
        mix = baseline.pathways[unit.pathway].patient_mix.streams
        assert (f"units[{i}].streams" in fields) == bool(mix), unit.name
        assert f"units[{i}].sex" in fields and f"units[{i}].staffed_beds" in fields
    streams = fields["units[0].streams"]
    assert [label for _, label in streams.options] == [
        "mental illness", "personality disorder", "ld autism"
    ]  # fmt: skip
    assert streams.value == "mental_illness"
    assert {u.pathway for u in baseline.units} > {"adult_secure"}, "some units have no streams"


def test_a_staffed_beds_change_is_added_and_described(workspace: Workspace) -> None:
    path, own = _from(workspace, "baseline")
    scenario = workspace.load(path)
    kinds = {k.label: k for k in forms.change_kinds(scenario)}
    staffed = kinds["Staffed beds in Beacon Low Secure"]
    submitted = {"change.date": "2027-01-01", "change.what": staffed.value, "change.to": "12"}
    data = forms.apply_form(own, forms.scenario_fields(scenario), submitted, scenario)
    assert data["changes"] == [
        {"date": "2027-01-01", "set": "staffed_beds", "unit": "Beacon Low Secure", "to": 12}
    ]
    saved = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    assert forms.describe_change(saved.changes[-1]) == (
        "From 2027-01-01: Beacon Low Secure: 12 beds staffed"
    )
    # 'all' staffs every funded bed again.
    own = yaml.safe_load(path.read_text())
    submitted = {"change.date": "2027-07-01", "change.what": staffed.value, "change.to": "All"}
    data = forms.apply_form(own, forms.scenario_fields(saved), submitted, saved)
    again = workspace.load(workspace.save("mine", forms.to_yaml(data)))
    assert forms.describe_change(again.changes[-1]) == (
        "From 2027-07-01: Beacon Low Secure: all funded beds staffed"
    )
