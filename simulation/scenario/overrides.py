"""Dotted overrides: change a scenario's values by path, then validate as if in the file.

A researcher varying one parameter should not have to copy a YAML file. An override
names a value by its path, the way a planner reads a field in an error message, and
gives its new value::

    {"pathways.adult_secure.services.medium.length_of_stay.median": 500,
     "units.Beacon Low Secure.beds": 60,
     "warmup_days": 365}

A path's parts are mapping keys; in a list of named things (``places``, ``units``,
``community_teams``) a part may be an item's name, and in any list its position
(``units.0.beds``). Missing mappings on the way are created, so a section the scenario
does not have can be given whole or field by field. The changed data is then validated
by the same loader as a file (:func:`simulation.scenario.loading.validate_data`): a wrong value is
reported with the field path and where the value came from (``(from overrides)``, or
``(from --seed)`` for a copy derived with a command-line option), never silently
accepted, and a misspelt key is an unknown field with a suggestion. This module only
rewrites plain data before validation; it never touches a validated scenario.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from simulation.core.problems import InputError, Problem
from simulation.scenario.yamlsource import LocatedData, Path_, format_path

OVERRIDES = "overrides"
"""Where overridden values come from, unless the caller names their origin."""

Origin = str | Mapping[str, str]
"""Where overridden values came from, said after a problem as ``(from ...)``: one
origin for every override (``"overrides"``), or one per key (``{"seed": "--seed"}``)."""


def origin_of(origin: Origin, key: str) -> str:
    """The origin of the override ``key``: its own, or the one given for all."""
    if isinstance(origin, str):
        return origin
    return origin.get(key, OVERRIDES)


class OverriddenData(LocatedData):
    """Located data with some values replaced by overrides.

    A problem at (or below) an overridden path is reported against the override and its
    origin, since no line of the file holds that value; any other problem keeps its file
    and line.
    """

    def __init__(self, data: Any, base: LocatedData, overridden: list[Path_], origins: list[str]):
        super().__init__(data, base.lines, base.file)
        self.base = base
        self.overridden = overridden
        self.origins = origins

    @property
    def fields(self) -> set[str]:
        """The top-level fields that an override changed (wholly or in part)."""
        return {str(path[0]) for path in self.overridden if path}

    def problem(self, path: Path_, message: str) -> Problem:
        """Build a problem located at ``path``: in the file, or in the overrides."""
        for changed, origin in zip(self.overridden, self.origins, strict=True):
            if tuple(path[: len(changed)]) == changed:
                return Problem(self.file, None, format_path(path), f"{message} (from {origin})")
        return self.base.problem(path, message)


def plain(value: Any) -> Any:
    """A value as plain scenario data: models dumped, tuples as lists, dates kept.

    >>> from simulation.core.distributions import Fixed
    >>> plain({"los": Fixed(distribution="fixed", value=3), "xs": (1, 2)})
    {'los': {'distribution': 'fixed', 'value': 3.0}, 'xs': [1, 2]}
    """
    if isinstance(value, BaseModel):
        return plain(value.model_dump(mode="python", exclude_none=True))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _named_index(items: list[Any], part: str) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("name") == part:
            return i
    if part.isdigit() and int(part) < len(items):
        return int(part)
    return None


def _list_hint(items: list[Any]) -> str:
    names = [str(item["name"]) for item in items if isinstance(item, Mapping) and "name" in item]
    if names:
        return (
            f"expected one of the names {', '.join(names)} or a position from 0 to {len(items) - 1}"
        )
    return f"expected a position from 0 to {len(items) - 1}"


def _set(data: dict[str, Any], key: str, value: Any) -> Path_:
    """Set ``value`` at the dotted ``key`` of ``data`` in place; return its field path."""
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ValueError("expected a dotted path such as warmup_days or units.Ashwood.beds")
    node: Any = data
    path: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            index = _named_index(node, part)
            if index is None:
                where = format_path(tuple(path))
                raise ValueError(f"{where} has no item {part!r}: {_list_hint(node)}")
            path.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            path.append(part)
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            where = format_path(tuple(path))
            raise ValueError(
                f"{where} is a single value ({node!r}), so it has no field {part!r}; "
                f"set {where} itself"
            )
    return tuple(path)


def apply_overrides(
    source: LocatedData, overrides: Mapping[str, Any], origin: Origin = OVERRIDES
) -> LocatedData:
    """The source's data with each dotted override applied, ready for validation.

    Overrides are applied in order; the source is not changed. A path that cannot be
    followed (a unit that does not exist, a field below a number) is an
    :class:`~simulation.core.problems.InputError` naming the override. ``origin`` says
    where the values came from, in problems found with them.

    >>> from simulation.scenario.yamlsource import LocatedData
    >>> src = LocatedData({"units": [{"name": "A", "beds": 4}]}, {}, "demo.yaml")
    >>> apply_overrides(src, {"units.A.beds": 6, "warmup_days": 0}).data
    {'units': [{'name': 'A', 'beds': 6}], 'warmup_days': 0}
    >>> apply_overrides(src, {"units.B.beds": 6})
    Traceback (most recent call last):
    ...
    simulation.core.problems.InputError: demo.yaml: units.B.beds: units has no item 'B': \
expected one of the names A or a position from 0 to 0 (from overrides)
    """
    if not overrides:
        return source
    data = copy.deepcopy(source.data)
    if not isinstance(data, dict):
        return source  # validation reports that the scenario is not a mapping
    problems: list[Problem] = []
    changed: list[Path_] = []
    origins: list[str] = []
    for key, value in overrides.items():
        where = origin_of(origin, str(key))
        try:
            changed.append(_set(data, str(key), plain(value)))
            origins.append(where)
        except ValueError as exc:
            problems.append(Problem(source.file, None, str(key), f"{exc} (from {where})"))
    if problems:
        raise InputError(problems)
    return OverriddenData(data, source, changed, origins)
