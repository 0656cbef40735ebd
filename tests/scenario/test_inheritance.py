"""Scenario inheritance: deep merge, merge by name, removal, and located errors."""

from pathlib import Path

import pytest

from simulation.core.problems import InputError
from simulation.scenario.inheritance import resolve
from simulation.scenario.loading import validate_data
from simulation.scenario.yamlsource import read_yaml_file

PARENT = """\
name: parent
start_date: 2026-04-01
horizon_years: 1
places:
  - {name: A, population: 100000}
  - {name: B, population: 200000}
units:
  - name: Ward 1
    pathway: adult_ed
    service: inpatient
    place: A
    beds: 10
    cost_per_bed_day_gbp: 500
  - name: Ward 2
    pathway: adult_ed
    service: inpatient
    place: B
    beds: 5
    cost_per_bed_day_gbp: 500
pathways:
  adult_ed:
    not_accepted_share: 0.2
    services:
      inpatient:
        referral_rate_per_100k_per_year: 4
        length_of_stay: {distribution: exponential, mean: 90}
        out_of_area: {cost_per_bed_day_gbp: 600, distance_miles: 80}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def load(path: Path):
    return validate_data(resolve(read_yaml_file(path)))


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    return write(tmp_path, "parent.yaml", PARENT)


def test_child_overrides_scalars_and_merges_nested_mappings(tmp_path, parent):
    child = write(
        tmp_path,
        "child.yaml",
        "extends: parent.yaml\nname: child\npathways:\n  adult_ed:\n    not_accepted_share: 0.1\n",
    )
    s = load(child)
    assert s.name == "child"
    assert s.pathways["adult_ed"].not_accepted_share == 0.1
    # untouched siblings survive the merge
    assert s.pathways["adult_ed"].services["inpatient"].referral_rate_per_100k_per_year == 4
    assert [u.name for u in s.units] == ["Ward 1", "Ward 2"]


def test_named_lists_merge_by_name_add_and_remove(tmp_path, parent):
    child = write(
        tmp_path,
        "child.yaml",
        """\
extends: parent.yaml
units:
  - {name: Ward 2, beds: 8}
  - {name: Ward 1, remove: true}
  - {name: Ward 3, pathway: adult_ed, service: inpatient, place: A, beds: 2,
     cost_per_bed_day_gbp: 450}
""",
    )
    s = load(child)
    assert [(u.name, u.beds) for u in s.units] == [("Ward 2", 8), ("Ward 3", 2)]
    # the merged unit keeps the parent's other fields
    assert s.units[0].place == "B"


def test_removing_something_the_parent_lacks_is_an_error_with_line(tmp_path, parent):
    child = write(
        tmp_path, "child.yaml", "extends: parent.yaml\nunits:\n  - {name: Ward 9, remove: true}\n"
    )
    with pytest.raises(InputError) as err:
        load(child)
    [problem] = err.value.problems
    assert problem.file.endswith("child.yaml")
    assert problem.line == 3
    assert "Ward 9" in problem.message and "Ward 1" in problem.message


def test_validation_error_points_at_the_file_that_set_the_value(tmp_path, parent):
    child = write(
        tmp_path,
        "child.yaml",
        "extends: parent.yaml\nunits:\n  - name: Ward 2\n    beds: -1\n",
    )
    with pytest.raises(InputError) as err:
        load(child)
    [problem] = err.value.problems
    assert problem.file.endswith("child.yaml") and problem.line == 4
    assert problem.field == "units[1].beds"


def test_error_in_an_inherited_value_points_at_the_parent(tmp_path):
    write(tmp_path, "parent.yaml", PARENT.replace("place: B", "place: Nowhere"))
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\n")
    with pytest.raises(InputError) as err:
        load(child)
    [problem] = err.value.problems
    assert problem.file.endswith("parent.yaml")
    assert problem.line == PARENT.splitlines().index("    place: B") + 1
    assert "Nowhere" in problem.message


def test_circular_extends_is_rejected(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(InputError) as err:
        load(b)
    [problem] = err.value.problems
    assert "circular extends" in problem.message
    assert "b.yaml -> a.yaml -> b.yaml" in problem.message
    assert problem.line == 1


def test_missing_parent_is_rejected_with_line(tmp_path):
    child = write(tmp_path, "child.yaml", "name: c\nextends: nowhere.yaml\n")
    with pytest.raises(InputError) as err:
        load(child)
    [problem] = err.value.problems
    assert (
        problem.line == 2 and "nowhere.yaml" in problem.message and "not found" in problem.message
    )


def test_grandparent_chain_resolves_in_order(tmp_path, parent):
    write(tmp_path, "middle.yaml", "extends: parent.yaml\nname: middle\nhorizon_years: 2\n")
    child = write(tmp_path, "child.yaml", "extends: middle.yaml\nname: child\n")
    s = load(child)
    assert (s.name, s.horizon_years) == ("child", 2.0)
