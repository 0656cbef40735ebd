"""Loading a scenario: YAML to a validated, frozen :class:`~simulation.scenario.schema.Scenario`.

This is the one door into the model. It reads the file safely, checks every field
against the schema, then checks the references between parts (a unit's place, a
step-down's destination, a diversion's team). It collects every problem rather than
stopping at the first, and reports each with the file, the YAML line and the field
path, in words a planner can act on. Defaults are filled here, once; the model never
looks up a missing key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulation.core.problems import InputError, Problem
from simulation.scenario import census, explain
from simulation.scenario import schema as sc
from simulation.scenario.inheritance import resolve
from simulation.scenario.references import reference_problems
from simulation.scenario.schema import CensusPatient
from simulation.scenario.yamlsource import LocatedData, parse_yaml, read_yaml_file


def validate_data(source: LocatedData) -> sc.Scenario:
    """Validate located data into a scenario, or raise :class:`InputError` with every problem."""
    problems = explain.bool_problems(source)
    census.resolve_census_path(source)
    try:
        scenario = sc.Scenario.model_validate(source.data)
    except ValidationError as exc:
        raise InputError(
            explain.sort_problems(problems + explain.schema_problems(exc, source))
        ) from None
    if problems:
        raise InputError(problems)
    problems = [source.problem(path, message) for path, message in reference_problems(scenario)]
    if problems:
        raise InputError(explain.sort_problems(problems))
    # The loader is the only writer of a Scenario: the files it names are read here,
    # once, and held with it.
    scenario._budget_scenario = _budget_scenario(scenario, source)
    scenario._census = _census_patients(scenario, source)
    return scenario


def _budget_scenario(scenario: sc.Scenario, source: LocatedData) -> sc.Scenario | None:
    """Load the ``money.budget_from`` scenario, relative to the file that named it."""
    name = scenario.money.budget_from
    if name is None:
        return None
    folder = Path(source.problem(("money", "budget_from"), "").file).parent
    path = folder / name
    if not path.is_file():
        raise InputError(
            [
                source.problem(
                    ("money", "budget_from"),
                    f"budget scenario {name!r} not found (looked for {path})",
                )
            ]
        )
    return load_scenario(path)


def _census_patients(scenario: sc.Scenario, source: LocatedData) -> tuple[CensusPatient, ...]:
    """The patients of the scenario's ``census`` file (an absolute path by now), if any."""
    name = scenario.census
    if name is None:
        return ()
    path = Path(name)
    if not path.is_file():
        raise InputError(
            [source.problem(("census",), f"census file not found (looked for {path})")]
        )
    return census.read_census(path, scenario)


def load_scenario(path: str | Path) -> sc.Scenario:
    """Load and validate a scenario file.

    Raises :class:`~simulation.core.problems.InputError` listing every problem, each with the
    file, line and field.

    >>> s = load_scenario("scenarios/baseline.yaml")
    >>> s.name
    'baseline'
    """
    return validate_data(resolve(read_yaml_file(path)))


def load_scenario_text(text: str, name: str = "<scenario>") -> sc.Scenario:
    """Load and validate a scenario from YAML text (``name`` is used in messages)."""
    return validate_data(resolve(parse_yaml(text, name)))


def load_scenario_dict(data: dict[str, Any], name: str = "<scenario>") -> sc.Scenario:
    """Validate a scenario given as plain Python data."""
    return validate_data(LocatedData(data, {}, name))


def scenario_to_yaml(scenario: sc.Scenario) -> str:
    """The fully resolved scenario (defaults filled) as YAML text."""
    data = scenario.model_dump(mode="json", exclude_none=False)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, for tracing results to the exact scenario text."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def problem(path: str, message: str) -> InputError:
    """Build an error for a bad command-line or other non-file input."""
    return InputError([Problem(path, None, "", message)])
