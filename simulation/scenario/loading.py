"""Loading a scenario: YAML to a validated, frozen :class:`~simulation.scenario.schema.Scenario`.

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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulation.core.problems import InputError, Problem
from simulation.model import policy as changes
from simulation.scenario import census, explain
from simulation.scenario import schema as sc
from simulation.scenario.inheritance import resolve
from simulation.scenario.yamlsource import LocatedData, Path_, parse_yaml, read_yaml_file


def _suggest(word: str, candidates: Iterable[str]) -> str:
    return explain.suggest(word, candidates)


def _duplicates(items: Iterable[Any], what: str, field: str) -> Iterator[tuple[Path_, str]]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item.name
        if name in seen:
            yield (
                (field, i, "name"),
                f"{what} name {name!r} is used twice (first by {field}[{seen[name]}]); "
                "each needs its own name",
            )
        else:
            seen[name] = i


def _reference_problems(s: sc.Scenario) -> Iterator[tuple[Path_, str]]:
    """Check references between parts; yield (path, message) for each broken one."""
    yield from _duplicates(s.places, "place", "places")
    yield from _duplicates(s.units, "unit", "units")
    yield from _duplicates(s.community_teams, "community team", "community_teams")
    places = [p.name for p in s.places]
    teams = {t.name: t for t in s.community_teams}
    # A misspelt pathway or service is reported once, where it is misspelt, not again at
    # every unit and team that names it correctly.
    misspelt = _misspelt(s.pathways, sc.PATHWAY_SERVICES)

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
            own = [t for t, other in teams.items() if other.pathway == pathway]
            expected = (
                f"expected one of {pathway}'s community teams: {', '.join(own)}"
                if own
                else f"describe a community team with pathway: {pathway} under community_teams"
            )
            if team is None:
                yield (
                    where,
                    (
                        f"unknown community team {spec.diversion.team!r}"
                        f"{_suggest(spec.diversion.team, own or teams)} ({expected})"
                    ),
                )
            elif team.pathway != pathway:
                yield (
                    where,
                    (
                        f"community team {team.name!r} belongs to {team.pathway}, "
                        f"not {pathway} ({expected})"
                    ),
                )
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
            if unit.pathway not in misspelt:
                yield (*base, "pathway"), _not_described(unit.pathway, s)
            continue
        known = list(s.pathways[unit.pathway].services)
        if unit.service not in known and unit.service not in _misspelt(
            known, sc.PATHWAY_SERVICES[unit.pathway]
        ):
            valid = [k for k in known if k in sc.PATHWAY_SERVICES[unit.pathway]]
            yield (
                (*base, "service"),
                (
                    f"service {unit.service!r} is not described under pathways.{unit.pathway}."
                    f"services{_suggest(unit.service, valid)} (described: {', '.join(known)})"
                ),
            )
    for i, team in enumerate(s.community_teams):
        if team.pathway not in s.pathways and team.pathway not in misspelt:
            yield ("community_teams", i, "pathway"), _not_described(team.pathway, s)


def _misspelt(described: Iterable[str], known: Iterable[str]) -> set[str]:
    """Known names that some described, unknown name is probably a misspelling of."""
    known = list(known)
    return {
        match
        for name in described
        if name not in known
        for match in difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    }


def _not_described(pathway: str, s: sc.Scenario) -> str:
    return (
        f"pathway {pathway!r} is not described under pathways (described: {', '.join(s.pathways)})"
    )


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
    checks = itertools.chain(_reference_problems(scenario), changes.reference_problems(scenario))
    problems = [source.problem(path, message) for path, message in checks]
    if problems:
        raise InputError(explain.sort_problems(problems))
    changes.attach_budget_scenario(scenario, source)
    census.attach_census(scenario, source)
    return scenario


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
