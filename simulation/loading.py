"""Loading a scenario: YAML to a validated, frozen :class:`~simulation.scenario.Scenario`.

This is the one door into the model. It reads the file safely, checks every field
against the schema, then checks the references between parts (a unit's place, a
step-down's destination, a diversion's team). It collects every problem rather than
stopping at the first, and reports each with the file, the YAML line and the field
path, in words a planner can act on. Defaults are filled here, once; the model never
looks up a missing key.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from simulation import changes
from simulation import distributions as dist_mod
from simulation import scenario as sc
from simulation.inheritance import resolve
from simulation.problems import InputError, Problem
from simulation.yamlsource import LocatedData, Path_, parse_yaml, read_yaml_file


def _field_vocabulary() -> set[str]:
    names: set[str] = set()
    for module in (sc, dist_mod):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                names.update(value.model_fields)
    return names


_VOCABULARY = _field_vocabulary()


def _suggest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _data_path(data: Any, loc: tuple[str | int, ...]) -> Path_:
    """Keep the parts of a pydantic location that exist in the data (drop union tags)."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            out.append(part)
            node = node[part]
        elif last and part != "[key]" and isinstance(node, Mapping):
            out.append(part)
    return tuple(out)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(error: ErrorDetails, data: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    given = error.get("input")
    ctx = error.get("ctx", {}) or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown field {key!r}{_suggest(key, _VOCABULARY)}"
    if kind == "missing":
        return f"missing required field {str(loc[-1])!r}"
    if kind == "union_tag_invalid":
        tag = ctx.get("tag", given)
        return (
            f"unknown distribution {tag!r}{_suggest(str(tag), dist_mod.DISTRIBUTION_NAMES)} "
            f"(expected one of {', '.join(dist_mod.DISTRIBUTION_NAMES)})"
        )
    if kind == "union_tag_not_found":
        return "missing 'distribution': name one of " + ", ".join(dist_mod.DISTRIBUTION_NAMES)
    if kind == "literal_error" and loc and loc[-1] == "[key]":
        expected = ctx.get("expected", "")
        return f"unknown pathway {_describe(loc[-2])} (expected {expected})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in ("finite_number",):
        return f"expected a finite number, got {_describe(given)}"
    msg = error["msg"]
    msg = msg[0].lower() + msg[1:] if msg else msg
    if (
        kind.endswith("_type")
        or kind.endswith("_parsing")
        or kind
        in (
            "greater_than",
            "greater_than_equal",
            "less_than",
            "less_than_equal",
            "literal_error",
            "string_pattern_mismatch",
            "too_short",
            "too_long",
        )
    ):
        msg += f", got {_describe(given)}"
    return msg


def _schema_problems(exc: ValidationError, source: LocatedData) -> list[Problem]:
    problems = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = _data_path(source.data, loc)
        problem = source.problem(path, _message(error, source.data))
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    return problems


def _duplicates(items: Iterable[Any], what: str, field: str) -> Iterator[tuple[Path_, str]]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item.name
        if name in seen:
            yield (field, i, "name"), f"{what} {name!r} is named twice (also item {seen[name]})"
        else:
            seen[name] = i


def _reference_problems(s: sc.Scenario) -> Iterator[tuple[Path_, str]]:
    """Check references between parts; yield (path, message) for each broken one."""
    yield from _duplicates(s.places, "place", "places")
    yield from _duplicates(s.units, "unit", "units")
    yield from _duplicates(s.community_teams, "community team", "community_teams")
    places = [p.name for p in s.places]
    teams = {t.name: t for t in s.community_teams}

    def unknown_place(name: str) -> str:
        return f"unknown place {name!r}{_suggest(name, places)} (places: {', '.join(places)})"

    for pathway, spec in s.pathways.items():
        if pathway not in sc.PATHWAY_SERVICES:
            known = list(sc.PATHWAY_SERVICES)
            yield (
                ("pathways", pathway),
                (
                    f"unknown pathway {pathway!r}{_suggest(pathway, known)} "
                    f"(expected one of {', '.join(known)})"
                ),
            )
            continue
        allowed = sc.PATHWAY_SERVICES[pathway]
        for service, svc in spec.services.items():
            base: Path_ = ("pathways", pathway, "services", service)
            if service not in allowed:
                yield (
                    base,
                    (
                        f"unknown service {service!r} for {pathway}"
                        f"{_suggest(service, allowed)} (expected one of {', '.join(allowed)})"
                    ),
                )
            for i, route in enumerate(svc.step_down):
                where = (*base, "step_down", i, "to")
                if route.to == service:
                    yield where, "a service cannot step down to itself"
                elif route.to in spec.services:
                    continue
                elif route.to in teams:
                    if teams[route.to].pathway != pathway:
                        yield (
                            where,
                            (
                                f"community team {route.to!r} belongs to "
                                f"{teams[route.to].pathway}, not {pathway}"
                            ),
                        )
                else:
                    targets = list(spec.services) + [
                        t for t, team in teams.items() if team.pathway == pathway
                    ]
                    yield (
                        where,
                        (
                            f"unknown step-down destination {route.to!r}"
                            f"{_suggest(route.to, targets)}"
                            f" (expected a service of {pathway} or one of its community teams:"
                            f" {', '.join(targets)})"
                        ),
                    )
        if spec.diversion is not None:
            where = ("pathways", pathway, "diversion", "team")
            team = teams.get(spec.diversion.team)
            if team is None:
                yield (
                    where,
                    (
                        f"unknown community team {spec.diversion.team!r}"
                        f"{_suggest(spec.diversion.team, teams)}"
                    ),
                )
            elif team.pathway != pathway:
                yield where, f"community team {team.name!r} belongs to {team.pathway}"
    for i, unit in enumerate(s.units):
        base = ("units", i)
        if unit.place not in places:
            yield (*base, "place"), unknown_place(unit.place)
        for j, linked in enumerate(unit.linked_places):
            if linked not in places:
                yield (*base, "linked_places", j), unknown_place(linked)
        for place in unit.distance_miles:
            if place not in places:
                yield (*base, "distance_miles", place), unknown_place(place)
        if unit.pathway not in s.pathways:
            yield (*base, "pathway"), f"pathway {unit.pathway!r} is not described under pathways"
        elif unit.service not in s.pathways[unit.pathway].services:
            known = list(s.pathways[unit.pathway].services)
            yield (
                (*base, "service"),
                (
                    f"service {unit.service!r} is not described under pathways.{unit.pathway}."
                    f"services{_suggest(unit.service, known)} (described: {', '.join(known)})"
                ),
            )
    for i, team in enumerate(s.community_teams):
        if team.pathway not in s.pathways:
            yield (
                ("community_teams", i, "pathway"),
                (f"pathway {team.pathway!r} is not described under pathways"),
            )


def validate_data(source: LocatedData) -> sc.Scenario:
    """Validate located data into a scenario, or raise :class:`InputError` with every problem."""
    try:
        scenario = sc.Scenario.model_validate(source.data)
    except ValidationError as exc:
        raise InputError(_schema_problems(exc, source)) from None
    checks = itertools.chain(_reference_problems(scenario), changes.reference_problems(scenario))
    problems = [source.problem(path, message) for path, message in checks]
    if problems:
        raise InputError(problems)
    return scenario


def load_scenario(path: str | Path) -> sc.Scenario:
    """Load and validate a scenario file.

    Raises :class:`~simulation.problems.InputError` listing every problem, each with the
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
