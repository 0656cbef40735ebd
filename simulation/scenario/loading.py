"""Loading a scenario: YAML to a validated, frozen :class:`~simulation.scenario.schema.Scenario`.

This is the one door into the model. It reads the file safely, checks every field
against the schema, then checks the references between parts (a unit's place, a
step-down's destination, a diversion's team). It collects every problem rather than
stopping at the first, and reports each with the file, the YAML line and the field
path, in words a planner can act on. Defaults are filled here, once; the model never
looks up a missing key.

It is also the only way to change a scenario: :func:`derive` makes a copy with other
values (a seed, a number of replications, a horizon) by the same checks, so a bad value
given to a function or on the command line is the same kind of problem as one in a
file, naming where it came from. The loader alone sets what a scenario holds from other
files: its ``money.budget_from`` scenario and its census patients.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulation.core.problems import InputError, Problem
from simulation.scenario import census, explain
from simulation.scenario import schema as sc
from simulation.scenario.inheritance import resolve
from simulation.scenario.overrides import OVERRIDES, Origin, OverriddenData, apply_overrides
from simulation.scenario.references import reference_problems
from simulation.scenario.schema import CensusPatient
from simulation.scenario.workload import workload_problems
from simulation.scenario.yamlsource import LocatedData, not_a_file, parse_yaml, read_yaml_file

TIMING = ("start_date", "horizon_years", "warmup_days")
"""Run-timing fields: one set by an override or in a derived copy is set in the
``money.budget_from`` scenario too, so that budgets and spend cover the same years after
the same warm-up."""


MAX_BUDGET_DEPTH = 20
"""The longest chain of ``money.budget_from`` scenarios followed."""

_BUDGET_CHAIN: ContextVar[tuple[Path, ...]] = ContextVar("budget_chain", default=())
"""The scenario files whose budget scenarios are being loaded, outermost first."""


SCENARIO_KEYS = frozenset(sc.Scenario.model_fields) | {"extends"}
"""The top-level keys of a scenario file: a file with none of them is some other file."""


def _checked(source: LocatedData) -> sc.Scenario:
    """The scenario of located data, checked against the schema and between its parts.

    Raises :class:`InputError` with every problem. Reads no other file.
    """
    data = source.data
    if isinstance(data, dict) and data and not {str(k) for k in data} & SCENARIO_KEYS:
        # Another YAML file (a configuration, say): one line, quoting none of it.
        raise InputError(
            [
                Problem(
                    source.file,
                    None,
                    "",
                    f"is not a scenario file: none of its {len(data)} top-level keys is a "
                    "scenario's field (a scenario has name, start_date, horizon_years, "
                    "places, units and pathways)",
                )
            ]
        )
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
    problems = [source.problem(path, message) for path, message in workload_problems(scenario)]
    if problems:
        raise InputError(problems)
    return scenario


def _holding(
    scenario: sc.Scenario,
    source: LocatedData,
    budget: sc.Scenario | None,
    patients: tuple[CensusPatient, ...],
) -> sc.Scenario:
    """The checked scenario holding what the files it names said.

    The loader is the only writer of a Scenario: this is the one place where the budget
    scenario and the census patients are set, on a scenario no one else holds yet. The
    budget scenario is given this scenario's seed, start date and horizon, and its
    timing where an override set it (:data:`TIMING`).
    """
    if budget is not None:
        shared = [*sc.SHARED_WITH_BUDGET, *(f for f in TIMING if f in _overridden(source))]
        values = {f: getattr(scenario, f) for f in shared}
        changes = {f: v for f, v in values.items() if getattr(budget, f) != v}
        budget = derive(budget, changes, f"the scenario {scenario.name} that names it")
    scenario._budget_scenario = budget
    scenario._census = patients
    return scenario


def _overridden(source: LocatedData) -> set[str]:
    return source.fields if isinstance(source, OverriddenData) else set()


def validate_data(source: LocatedData) -> sc.Scenario:
    """Validate located data into a scenario, or raise :class:`InputError` with every problem."""
    scenario = _checked(source)
    budget = _budget_scenario(scenario, source)
    return _holding(scenario, source, budget, _census_patients(scenario, source))


def derive(
    scenario: sc.Scenario,
    changes: Mapping[str, Any],
    origin: Origin = OVERRIDES,
    where: str | None = None,
) -> sc.Scenario:
    """A copy of ``scenario`` with ``changes``, checked as the loader checks a file.

    ``changes`` are overrides (:mod:`simulation.scenario.overrides`): top-level fields
    such as ``{"seed": 5}``, or dotted paths such as ``{"units.Ward.beds": 8}``. The
    changed data goes through the loader's checks, so a bad value is an
    :class:`InputError` naming the field, what was expected and where the value came
    from: ``origin``, one for every change (``"the argument seed"``) or one per key
    (``{"seed": "--seed"}``); ``where`` names the scenario in problems (its file, if
    known; files named in the changes are relative to its folder). The copy keeps the
    budget scenario (loaded again if ``money.budget_from`` changed), with the copy's
    seed, start date and horizon and any timing changed here; and the census patients,
    read and checked again if the census or anything it is checked against
    (:data:`~simulation.scenario.census.CHECKED_AGAINST`) changed.
    Without changes the scenario itself is returned.

    >>> s = load_scenario("scenarios/baseline.yaml")
    >>> derive(s, {"seed": 5}).seed
    5
    >>> try:
    ...     derive(s, {"seed": -5}, "the argument seed")
    ... except InputError as error:
    ...     print(error.problems[0].field, "|", error.problems[0].message[-24:])
    seed | (from the argument seed)
    """
    if not changes:
        return scenario
    plain = LocatedData(scenario.model_dump(mode="json"), {}, where or f"scenario {scenario.name}")
    source = apply_overrides(plain, changes, origin)
    copy = _checked(source)
    budget = scenario.budget_scenario
    if copy.money.budget_from != scenario.money.budget_from:
        budget = _budget_scenario(copy, source)
    patients = scenario.census_patients
    if any(getattr(copy, f) != getattr(scenario, f) for f in ("census", *census.CHECKED_AGAINST)):
        patients = _census_patients(copy, source)
    return _holding(copy, source, budget, patients)


def _budget_scenario(scenario: sc.Scenario, source: LocatedData) -> sc.Scenario | None:
    """Load the ``money.budget_from`` scenario, relative to the file that named it."""
    name = scenario.money.budget_from
    if name is None:
        return None
    folder = Path(source.problem(("money", "budget_from"), "").file).parent
    path = folder / name
    try:
        here = Path(os.path.realpath(source.file))
        target = Path(os.path.realpath(path))
    except (OSError, ValueError):  # a name the system cannot follow
        here, target = Path(source.file), path
    chain = _BUDGET_CHAIN.get()
    if target in (*chain, here):
        cycle = " -> ".join(p.name for p in (*chain, here, target))
        raise InputError(
            [source.problem(("money", "budget_from"), f"circular budget_from: {cycle}")]
        )
    if len(chain) >= MAX_BUDGET_DEPTH:
        raise InputError(
            [
                source.problem(
                    ("money", "budget_from"),
                    f"budget_from is nested more than {MAX_BUDGET_DEPTH} deep",
                )
            ]
        )
    if not path.is_file():
        raise InputError(
            [
                source.problem(
                    ("money", "budget_from"),
                    f"budget scenario {name!r} {not_a_file(path)}",
                )
            ]
        )
    token = _BUDGET_CHAIN.set((*chain, here))
    try:
        return load_scenario(path)
    finally:
        _BUDGET_CHAIN.reset(token)


def _census_patients(scenario: sc.Scenario, source: LocatedData) -> tuple[CensusPatient, ...]:
    """The patients of the scenario's ``census`` file (an absolute path by now), if any."""
    name = scenario.census
    if name is None:
        return ()
    path = Path(name)
    if not path.is_file():
        raise InputError([source.problem(("census",), f"census file {not_a_file(path)}")])
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
