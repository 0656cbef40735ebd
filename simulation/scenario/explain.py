"""Schema errors explained in a planner's words.

pydantic reports a bad field as, say, ``('units', 0, 'beds'): Input should be greater
than or equal to 0``. This module turns each such error into one
:class:`~simulation.core.problems.Problem` that names the field as written in the YAML
(``units[0].beds``), says what was expected (a whole number of at least 0, a share from
0 to 1, one of the listed names) and what was found, and suggests the nearest name for
a typo. It does so by looking the field up in the schema classes themselves, so the
expectation stated is always the one enforced. It reads the schema and the located
data; it builds nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from simulation.core.problems import Problem
from simulation.scenario.schema import Scenario
from simulation.scenario.yamlsource import LocatedData, Path_

Loc = tuple[str | int, ...]

BOOL_HINT = (
    "YAML reads yes, no, on, off, true and false as true/false; put text in quotes, "
    "and write numbers as digits"
)

_EXAMPLES = {
    "distribution": "{distribution: gamma, mean: 30, sd: 10}",
    "set": "{date: 2027-04-01, set: beds, unit: ..., to: 20}",
}
_TAG_NOUNS = {"distribution": "distribution", "set": "kind of change"}


@dataclass
class Slot:
    """What the schema expects at one place: a type and the constraints on it."""

    tp: Any
    bounds: dict[str, float] = field(default_factory=dict)
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    discriminator: str | None = None

    def constrain(self, meta: Any) -> None:
        """Take in one piece of ``Annotated`` metadata (a bound, a length, a pattern)."""
        if isinstance(meta, FieldInfo):
            for inner in meta.metadata:
                self.constrain(inner)
            if isinstance(meta.discriminator, str):
                self.discriminator = meta.discriminator
            return
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(meta, name, None)
            if isinstance(value, int | float):
                self.bounds[name] = value
        if isinstance(getattr(meta, "min_length", None), int):
            self.min_length = meta.min_length
        if isinstance(getattr(meta, "max_length", None), int):
            self.max_length = meta.max_length
        if isinstance(getattr(meta, "pattern", None), str):
            self.pattern = meta.pattern

    def unwrap(self) -> None:
        """Strip ``Annotated`` (keeping its constraints) and ``| None`` from the type."""
        while True:
            origin = get_origin(self.tp)
            if origin is Annotated:
                base, *meta = get_args(self.tp)
                for item in meta:
                    self.constrain(item)
                self.tp = base
            elif origin in (Union, types.UnionType):
                members = [a for a in get_args(self.tp) if a is not type(None)]
                if len(members) != 1:
                    return
                self.tp = members[0]
            else:
                return

    def tags(self) -> dict[str, type[BaseModel]]:
        """For a union of models chosen by a discriminator field: tag -> model."""
        if get_origin(self.tp) not in (Union, types.UnionType):
            return {}
        members = get_args(self.tp)
        if not all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return {}
        if self.discriminator is None:
            return {}
        out: dict[str, type[BaseModel]] = {}
        for member in members:
            info = member.model_fields.get(self.discriminator)
            for tag in get_args(info.annotation) if info is not None else ():
                out[str(tag)] = member
        return out


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_slot(info: FieldInfo) -> Slot:
    slot = Slot(info.annotation)
    for meta in info.metadata:
        slot.constrain(meta)
    if isinstance(info.discriminator, str):
        slot.discriminator = info.discriminator
    return slot


def slot_at(loc: Loc, data: Any, root: type[BaseModel] = Scenario) -> Slot | None:
    """What the schema expects at ``loc`` (a pydantic location or a data path).

    A union of models is resolved by a tag in ``loc`` (as pydantic reports it) or else by
    the discriminator's value in ``data``. Returns None where the schema has no such place.
    """
    slot = Slot(root)
    node = data
    i = 0
    while True:
        slot.unwrap()
        tags = slot.tags()
        if tags:
            assert slot.discriminator is not None
            if i < len(loc) and loc[i] in tags:
                tag: Any = loc[i]
                i += 1
            else:
                tag = node.get(slot.discriminator) if isinstance(node, Mapping) else None
            if tag not in tags:
                return slot
            slot = Slot(tags[tag])
            continue
        if i == len(loc):
            return slot
        part = loc[i]
        i += 1
        origin, args = get_origin(slot.tp), get_args(slot.tp)
        if _is_model(slot.tp):
            info = slot.tp.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None
            slot = _field_slot(info)
        elif origin is tuple and args:
            slot = Slot(args[0])
        elif origin is dict and len(args) == 2:
            slot = Slot(args[0] if part == "[key]" else args[1])
        else:
            return None
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    return f"{value:g}"


def _range(bounds: dict[str, float]) -> str:
    low = {"ge": "of at least", "gt": "greater than"}
    high = {"le": "at most", "lt": "below"}
    lows = [f"{words} {_number(bounds[k])}" for k, words in low.items() if k in bounds]
    highs = [f"{words} {_number(bounds[k])}" for k, words in high.items() if k in bounds]
    if "ge" in bounds and "le" in bounds:
        return f" from {_number(bounds['ge'])} to {_number(bounds['le'])}"
    if lows and highs:
        return f" {lows[0]} and {highs[0]}"
    if lows:
        return f" {lows[0]}"
    if highs:
        return f" of {highs[0]}" if "le" in bounds else f" {highs[0]}"
    return ""


def _is_share(slot: Slot) -> bool:
    return slot.tp is float and slot.bounds.get("ge") == 0 and slot.bounds.get("le") == 1


def expected(slot: Slot) -> str:
    """What the schema expects at a slot, in words."""
    tp = slot.tp
    tags = slot.tags()
    if tags:
        disc = slot.discriminator or ""
        example = _EXAMPLES.get(disc)
        if example:
            return f"a {_TAG_NOUNS.get(disc, disc)} such as {example}"
        return f"a mapping with '{disc}:' one of {', '.join(tags)}"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number" + _range(slot.bounds)
    if tp is float:
        if _is_share(slot):
            return "a share from 0 to 1 (0.15 means 15%)"
        return "a number" + _range(slot.bounds)
    if tp is str:
        if slot.pattern == r"^[A-Za-z0-9_.-]+$":
            return (
                "a name of letters, digits, '_', '.' or '-' only "
                "(no spaces: it names the results folder)"
            )
        if slot.min_length:
            longest = f", at most {slot.max_length} characters" if slot.max_length else ""
            return f"a name (text{longest})"
        return "text"
    if tp is dt.date:
        return "a date written as YYYY-MM-DD"
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(tp))
    if origin is tuple:
        if slot.min_length is not None and slot.min_length == slot.max_length:
            return f"a list of exactly {slot.min_length} values"
        if slot.min_length:
            return f"a list of at least {slot.min_length} item{'s' if slot.min_length > 1 else ''}"
        return "a list (one item per line, each starting with '- ')"
    if origin is dict:
        return "a mapping of names to values" + (" (at least one)" if slot.min_length else "")
    if _is_model(tp):
        return "a mapping of fields (" + ", ".join(tp.model_fields) + ")"
    return "a different value"


def given(value: Any) -> str:
    """A value found in the file, as a planner would recognise it."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(word: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the nearest candidate, or nothing."""
    match = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _hint(slot: Slot | None, value: Any) -> str:
    if isinstance(value, bool) and (slot is None or slot.tp is not bool):
        return "; " + BOOL_HINT
    if isinstance(value, str) and slot is not None and slot.tp in (int, float):
        stripped = value.strip()
        if stripped.endswith("%"):
            return "; write a share as a decimal: 0.15 for 15%"
        if "," in stripped and stripped.replace(",", "").replace(".", "").isdigit():
            return "; write numbers without commas: 650000, not 650,000"
        if stripped[:1] in "£$":
            return "; write amounts without a currency sign"
    return ""


_COMPARED = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "multiple_of",
}


def _message(error: ErrorDetails, slot: Slot | None, missing_field: str | None) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        what = f": expected {expected(slot)}" if slot is not None else ""
        return f"missing required field {missing_field!r}{what}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if slot is None:
        msg = error["msg"]
        return (msg[:1].lower() + msg[1:]) + f", got {given(value)}"
    if kind == "literal_error":
        choices = [str(v) for v in get_args(slot.tp)]
        return f"expected {expected(slot)}, got {given(value)}{suggest(str(value), choices)}"
    if kind in ("too_short", "too_long") and isinstance(value, list | tuple | Mapping):
        return f"expected {expected(slot)}, got {len(value)}"
    if kind == "string_too_short":
        return f"expected {expected(slot)}, got empty text"
    if kind == "string_too_long" and isinstance(value, str):
        limit = int(ctx.get("max_length", 0))
        return f"expected text of at most {limit:,} characters, got {len(value):,}"
    if kind == "finite_number":
        return f"expected {expected(slot)}, got {given(value)} (not a finite number)"
    message = f"expected {expected(slot)}, got {given(value)}"
    if (
        kind in _COMPARED
        and _is_share(slot)
        and isinstance(value, int | float)
        and 1 < value <= 100
    ):
        message += f"; if you mean {value:g}%, write {value / 100:g}"
    return message + _hint(slot, value)


def _data_path(data: Any, loc: Loc, keep_last: bool) -> Path_:
    """The parts of a pydantic location that exist in the data (union tags dropped)."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            out.append(part)
            node = node[part]
        elif keep_last and i == len(loc) - 1:
            out.append(part)
    return tuple(out)


def _unknown_field(key: str, parent: Slot | None) -> tuple[str, str | None]:
    """The message for an unknown key and the field it was probably meant to be."""
    if key.isdigit():
        # YAML reads {population: 650,000} as population 650 and a field named '000'
        return (
            f"unknown field {key!r}; is it part of a number written with a comma? "
            "Write numbers without commas: 650000, not 650,000",
            None,
        )
    if parent is None or not _is_model(parent.tp):
        return f"unknown field {key!r}", None
    fields = list(parent.tp.model_fields)
    match = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if match:
        return f"unknown field {key!r}; did you mean {match[0]!r}?", match[0]
    return f"unknown field {key!r} (fields here: {', '.join(fields)})", None


def schema_problems(
    exc: ValidationError, source: LocatedData, root: type[BaseModel] = Scenario
) -> list[Problem]:
    """One problem per schema error, sorted by line; a misspelt field is one problem.

    ``root`` is the schema the data was validated against (a scenario by default).
    """
    data = source.data
    errors = exc.errors()
    meant: set[Loc] = set()
    problems: list[tuple[Loc, Problem]] = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] != "extra_forbidden":
            continue
        message, match = _unknown_field(str(loc[-1]), slot_at(loc[:-1], data, root))
        if match is not None:
            meant.add((*loc[:-1], match))
        problems.append((loc, source.problem(_data_path(data, loc, True), message)))
    for error in errors:
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden" or (kind == "missing" and loc in meant):
            continue
        if _length_is_fine(error):
            continue
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            problems.append((loc, _tag_problem(error, loc, source, root)))
            continue
        slot = slot_at(loc, data, root)
        path = _data_path(data, loc, kind == "missing")
        missing = str(loc[-1]) if kind == "missing" else None
        problems.append((loc, source.problem(path, _message(error, slot, missing))))
    return _unique(problems)


def _length_is_fine(error: ErrorDetails) -> bool:
    """A list's length error that only its bad items caused (their problems say so).

    Pydantic counts a list's length without the items that failed, so one bad value of
    twelve monthly factors also reads "expected exactly 12 values, got 12".
    """
    if error["type"] not in ("too_short", "too_long"):
        return False
    given = error.get("input")
    if not isinstance(given, list | tuple | Mapping):
        return False
    ctx = error.get("ctx") or {}
    if error["type"] == "too_short":
        return len(given) >= int(ctx.get("min_length", 0))
    return len(given) <= int(ctx.get("max_length", len(given)))


def _tag_problem(
    error: ErrorDetails, loc: Loc, source: LocatedData, root: type[BaseModel]
) -> Problem:
    slot = slot_at(loc, source.data, root)
    tags = list(slot.tags()) if slot is not None else []
    disc = str((error.get("ctx") or {}).get("discriminator", "")).strip("'\"") or "type"
    noun = _TAG_NOUNS.get(disc, disc)
    path = _data_path(source.data, loc, False)
    if error["type"] == "union_tag_not_found":
        return source.problem(path, f"missing {disc!r}: expected one of {', '.join(tags)}")
    tag = str((error.get("ctx") or {}).get("tag", error.get("input")))
    return source.problem(
        (*path, disc),
        f"unknown {noun} {tag!r}{suggest(tag, tags)} (expected one of {', '.join(tags)})",
    )


def _unique(problems: list[tuple[Loc, Problem]]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for _, problem in problems:
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return sort_problems(out)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order (those without a line first), keeping ties as found."""
    return sorted(problems, key=lambda p: (p.file, p.line or 0))


def bool_problems(source: LocatedData, root: type[BaseModel] = Scenario) -> list[Problem]:
    """Numbers written as yes/no/true/false, which the schema would quietly read as 1 or 0."""
    problems: list[Problem] = []

    def walk(node: Any, path: Path_) -> None:
        if isinstance(node, bool):
            slot = slot_at(path, source.data, root)
            if slot is not None and slot.tp in (int, float):
                message = f"expected {expected(slot)}, got {given(node)}; {BOOL_HINT}"
                problems.append(source.problem(path, message))
        elif isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    walk(source.data, ())
    return problems
