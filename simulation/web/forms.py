"""The scenario form: the parameters a planner changes, in planner words and units.

A form is built from a loaded scenario: one field per value a planner changes (beds per
unit and whom the unit takes, its staffed beds and occupancy ceiling; places per community
team, referral growth, longest waits, diversion share, the years simulated). Each field
carries the path of its value in the scenario (its key is the field path ``pathways
validate`` names, such as ``units[3].beds``), so a problem the loader reports lands next
to the field it is about.

A unit's fields other than its beds are tucked under the beds (``within``), so a footprint
of twenty wards shows twenty lines of beds, each with a one-line summary of the rest.

Submitted values are written into the scenario file's own data, and only where they
differ from what the scenario already holds: a scenario made from the baseline stays a
short file that ``extends`` it. Values are not checked here: text that is not a number
goes into the file as text, and the loader's message says what was expected, exactly as
``pathways validate`` would for the file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from simulation.core.problems import InputError, Problem
from simulation.scenario.schema import MAX_DESCRIPTION, PATHWAY_LABELS, Scenario
from simulation.scenario.yamlsource import format_path

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Field:
    """One form field: a scenario value in the planner's unit."""

    key: str
    """The field path as the loader names it, e.g. ``units[3].beds``."""
    group: str
    label: str
    unit: str
    value: str
    path: Path_
    """Where the value lives in the scenario's data, with names for named lists."""
    scale: float = 1.0
    """Form value = scenario value × scale (100 for a share shown as a percentage)."""
    whole: bool = False
    kind: str = "number"
    """``number`` (a text box), ``choice`` (a select of ``options``) or ``ticks`` (a
    checkbox per option: the value is the ticked option values, one a line)."""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs of a choice or of ticks."""
    within: str = ""
    """The key of the field this one is shown under (a unit's beds), if any."""
    blank: str = ""
    """What an empty value means, shown in the empty box (``all``, ``none``)."""

    @property
    def dom_id(self) -> str:
        """The field's HTML id: its key in letters, digits and dashes."""
        return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", self.key).strip("-")


def _number(value: float | None, scale: float, whole: bool) -> str:
    if value is None:
        return ""
    shown = value * scale
    return str(round(shown)) if whole else f"{shown:g}"


SEX_OPTIONS = (("male", "men"), ("female", "women"), ("any", "anyone"))
"""Whom a unit takes by sex, in the scenario's words and the planner's."""
TICKED_SEPARATOR = "\n"
"""Between the ticked values of a ``ticks`` field (names never hold a line break)."""
TICKS_MARKER = "ticks"
"""The value the page sends for a ``ticks`` field, whose boxes are sent one by one."""


def _unit_fields(scenario: Scenario, i: int) -> list[Field]:
    """A unit's beds, then whom it takes and how many beds it can open, in planner words."""
    unit = scenario.units[i]
    group = f"Beds: {PATHWAY_LABELS.get(unit.pathway, unit.pathway)}"
    key = f"units[{i}]"
    path = ("units", unit.name)
    beds = f"{key}.beds"
    fields = [
        Field(beds, group, unit.name, "beds", str(unit.beds), (*path, "beds"), whole=True),
        Field(f"{key}.sex", group, "Takes", "", unit.sex, (*path, "sex"), kind="choice",
              options=SEX_OPTIONS, within=beds),
    ]  # fmt: skip
    pathway = scenario.pathways.get(unit.pathway)
    streams = tuple(pathway.patient_mix.streams) if pathway is not None else ()
    if streams:
        fields.append(
            Field(f"{key}.streams", group, "Clinical streams (none ticked: every one)", "",
                  TICKED_SEPARATOR.join(s for s in streams if s in unit.streams),
                  (*path, "streams"), kind="ticks",
                  options=tuple((s, s.replace("_", " ")) for s in streams), within=beds)
        )  # fmt: skip
    fields += [
        Field(f"{key}.staffed_beds", group, "Beds it can staff", "beds",
              _number(unit.staffed_beds, 1, True), (*path, "staffed_beds"), whole=True,
              within=beds, blank="all"),
        Field(f"{key}.occupancy_ceiling", group, "Admits only while occupancy is below", "%",
              _number(unit.occupancy_ceiling, 100, False), (*path, "occupancy_ceiling"), 100,
              within=beds, blank="none"),
    ]  # fmt: skip
    return fields


def shown_value(field: Field, submitted: Mapping[str, str] | None) -> str:
    """The field's value as the form shows it: submitted, else the scenario's.

    The page sends the ticks of a ``ticks`` field as ``<key>.<option index>``, beside
    ``<key>`` = :data:`TICKS_MARKER`, which says the boxes were on the form (an unticked
    box sends nothing); any other ``<key>`` value is the ticked values, one a line.
    """
    if submitted is None or field.key not in submitted:
        return field.value
    if field.kind == "ticks" and submitted[field.key] == TICKS_MARKER:
        return TICKED_SEPARATOR.join(
            value for j, (value, _) in enumerate(field.options) if submitted.get(f"{field.key}.{j}")
        )
    return submitted[field.key]


def describe_unit(details: list[Field], values: Mapping[str, str]) -> str:
    """A unit's tucked-away fields in one line: "men · mental illness · 12 beds staffed"."""
    parts: list[str] = []
    for field in details:
        value = values.get(field.key, field.value).strip()
        name = field.key.rsplit(".", 1)[-1]
        if name == "sex":
            parts.append(
                {"male": "men", "female": "women", "any": "men and women"}.get(value, value)
            )
        elif name == "streams":
            labels = dict(field.options)
            ticked = [labels[v] for v in value.split(TICKED_SEPARATOR) if v in labels]
            parts.append(", ".join(ticked) if ticked else "every stream")
        elif name == "staffed_beds":
            parts.append(f"{value} beds staffed" if value else "all beds staffed")
        elif name == "occupancy_ceiling" and value:
            parts.append(f"admits below {value}% full")
    return " · ".join(parts)


def scenario_fields(scenario: Scenario) -> list[Field]:
    """The planner's fields of a scenario, in the order the form shows them."""
    fields = [
        Field("horizon_years", "Run", "Years simulated", "years",
              _number(scenario.horizon_years, 1, False), ("horizon_years",)),
        Field("replications", "Run", "Replications", "runs",
              _number(scenario.replications, 1, True), ("replications",), whole=True),
    ]  # fmt: skip
    for i in range(len(scenario.units)):
        fields += _unit_fields(scenario, i)
    for i, team in enumerate(scenario.community_teams):
        fields.append(
            Field(f"community_teams[{i}].places", "Community team places", team.name,
                  "places", str(team.places), ("community_teams", team.name, "places"),
                  whole=True)
        )  # fmt: skip
    for name, pathway in scenario.pathways.items():
        group = PATHWAY_LABELS.get(name, name)
        base = ("pathways", name)
        fields.append(
            Field(f"pathways.{name}.annual_growth", group, "Referral growth a year", "%",
                  _number(pathway.annual_growth, 100, False), (*base, "annual_growth"), 100)
        )  # fmt: skip
        for priority in ("urgent", "routine"):
            value = getattr(pathway.max_wait_days, priority)
            fields.append(
                Field(f"pathways.{name}.max_wait_days.{priority}", group,
                      f"Longest {priority} wait before placing out of area", "days",
                      _number(value, 1, False), (*base, "max_wait_days", priority),
                      blank="never")
            )  # fmt: skip
        if pathway.diversion is not None:
            fields.append(
                Field(f"pathways.{name}.diversion.share", group,
                      f"Share diverted to {pathway.diversion.team}", "%",
                      _number(pathway.diversion.share, 100, False),
                      (*base, "diversion", "share"), 100)
            )  # fmt: skip
    for i, rule in enumerate(scenario.reinvestment):
        group = f"Reinvestment: {PATHWAY_LABELS.get(rule.pathway, rule.pathway)}"
        fields.append(
            Field(f"reinvestment[{i}].share_of_savings", group,
                  "Share of each year's savings reinvested", "%",
                  _number(rule.share_of_savings, 100, False),
                  ("reinvestment", i, "share_of_savings"), 100)
        )  # fmt: skip
        fields.append(
            Field(f"reinvestment[{i}].recruitment_lag_days", group,
                  "Recruitment lag before new places open", "days",
                  _number(rule.recruitment_lag_days, 1, False),
                  ("reinvestment", i, "recruitment_lag_days"))
        )  # fmt: skip
    return fields


@dataclass(frozen=True)
class ChangeKind:
    """A kind of dated change the form offers: what it sets, on which unit, team or service."""

    value: str
    """The option's value: the kind and an index, never a name (names may hold any text)."""
    label: str
    unit: str
    scale: float
    data: dict[str, Any]
    """The change's fields other than date and ``to``."""
    whole: bool = False
    group: str = ""
    """The heading the option is listed under."""


def change_kinds(scenario: Scenario) -> list[ChangeKind]:
    """The dated changes a planner can add: beds, staffed beds, places, stays, diversion."""
    kinds = [
        ChangeKind(f"beds:{i}", f"Beds in {u.name}", "beds", 1,
                   {"set": "beds", "unit": u.name}, whole=True, group="Funded beds")
        for i, u in enumerate(scenario.units)
    ]  # fmt: skip
    kinds += [
        ChangeKind(f"staffed:{i}", f"Staffed beds in {u.name}", "beds, or all", 1,
                   {"set": "staffed_beds", "unit": u.name}, whole=True,
                   group="Staffed beds (the beds a unit can open)")
        for i, u in enumerate(scenario.units)
    ]  # fmt: skip
    kinds += [
        ChangeKind(f"places:{i}", f"Places in {t.name}", "places", 1,
                   {"set": "places", "team": t.name}, whole=True, group="Community places")
        for i, t in enumerate(scenario.community_teams)
    ]  # fmt: skip
    for p, (name, pathway) in enumerate(scenario.pathways.items()):
        label = PATHWAY_LABELS.get(name, name)
        for v, service in enumerate(pathway.services):
            kinds.append(
                ChangeKind(f"los:{p}:{v}", f"Length of stay, {label} {service}",
                           "% of today's", 100,
                           {"set": "length_of_stay_factor", "pathway": name,
                            "service": service}, group="Length of stay")
            )  # fmt: skip
        if pathway.diversion is not None:
            kinds.append(
                ChangeKind(f"diversion:{p}", f"Share diverted, {label}", "%", 100,
                           {"set": "diversion_share", "pathway": name},
                           group="Diversion")
            )  # fmt: skip
    return kinds


def describe_change(change: Any) -> str:
    """A dated change in planner words."""
    data = change.model_dump(mode="json")
    kind, to = data["set"], data["to"]
    pathway = PATHWAY_LABELS.get(data.get("pathway", ""), data.get("pathway", ""))
    what = {
        "beds": lambda: f"{data.get('unit')}: {to} beds",
        "staffed_beds": lambda: (
            f"{data.get('unit')}: "
            + ("all funded beds staffed" if to is None else f"{to} beds staffed")
        ),
        "places": lambda: f"{data.get('team')}: {to} places",
        "length_of_stay_factor": lambda: (
            f"{pathway} {data.get('service')}: stays {to * 100:g}% of today's length"
        ),
        "diversion_share": lambda: f"{pathway}: {to * 100:g}% diverted",
        "max_wait_days": lambda: f"{pathway}: longest {data.get('priority')} wait {to} days",
        "step_down": lambda: f"{pathway} {data.get('service')}: new step-down routes",
    }[kind]()
    note = f" ({data['description']})" if data.get("description") else ""
    return f"From {data['date']}: {what}{note}"


def _parsed(text: str, field: Field) -> Any:
    """The scenario value of a submitted form value; text that is no number stays text."""
    if field.kind == "choice":
        return text.strip()
    if field.kind == "ticks":
        return [value for value in text.split(TICKED_SEPARATOR) if value]
    text = text.strip().replace(",", "")
    if field.scale != 1:  # a percentage: "80%" as well as "80"
        text = text.removesuffix("%").rstrip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    value = number / field.scale
    if field.whole and value == int(value):
        return int(value)
    return value


def in_form_units(message: str, scale: float, typed: str) -> str:
    """A loader's message about a scaled value (a share), in the form's unit (a percentage).

    The loader speaks of the file's value, a share from 0 to 1, and its hints say to
    write one as a decimal; followed in a percentage box, that advice would save a value
    a hundred times too small. The range is scaled to the box's unit, the hint dropped,
    and what was typed is quoted as typed.
    """
    head = message.split(";", 1)[0]
    expected, said_got, _ = head.rpartition(", got ")
    if scale == 1 or not said_got or not expected.startswith("expected "):
        return message
    expected = re.sub(r"\s*\(0\.15 means 15%\)", "", expected)
    expected = expected.replace("a share", "a percentage").replace("a number", "a percentage")
    expected = re.sub(r"-?\d+(?:\.\d+)?", lambda m: f"{float(m.group()) * scale:g}", expected)
    return f"{expected}, got {typed.strip() or 'nothing'}"


def _set(data: dict[str, Any], path: Path_, value: Any) -> None:
    """Set ``value`` at ``path`` in a scenario's own data; named lists are found by name.

    An integer step indexes a list the file holds whole (see :data:`UNNAMED_LISTS`).

    A named item missing from the file's own list is added with only its name, so that
    ``extends`` merges it with the parent's item of that name.
    """
    here: Any = data
    for step in path[:-1]:
        if isinstance(here, list) and isinstance(step, int):
            here = here[step]
            continue
        if isinstance(here, list):
            match = next((x for x in here if isinstance(x, dict) and x.get("name") == step), None)
            if match is None:
                match = {"name": step}
                here.append(match)
            here = match
            continue
        named_list = step in ("units", "community_teams")
        if step not in here or not isinstance(here[step], list | dict):
            here[step] = [] if named_list else {}
        here = here[step]
    if isinstance(here, list):  # pragma: no cover - paths end in a field name
        raise ValueError(f"bad form path {format_path(path)}")
    here[path[-1]] = value


UNNAMED_LISTS = ("reinvestment", "changes")
"""Lists a child scenario replaces whole (their items have no names to merge by)."""


def _own_list(data: dict[str, Any], key: str, scenario: Scenario) -> list[Any]:
    """The file's own copy of an unnamed list: the scenario's, copied in on first change."""
    if not isinstance(data.get(key), list):
        data[key] = [item.model_dump(mode="json") for item in getattr(scenario, key)]
    items: list[Any] = data[key]
    return items


def apply_form(
    own: Mapping[str, Any],
    fields: list[Field],
    submitted: Mapping[str, str],
    scenario: Scenario,
) -> dict[str, Any]:
    """The file's own data with the submitted values that differ from the form's values.

    The description is written only when the planner changed it (it may be inherited).
    Dated changes ticked for removal are dropped and a new one, if given, is added: the
    file then holds the whole list, which replaces the parent's.
    """
    data = copy.deepcopy(dict(own))
    for field in fields:
        if field.key not in submitted:
            continue
        given = shown_value(field, submitted)
        if given.strip() == field.value:
            continue
        if field.path[0] in UNNAMED_LISTS:
            _own_list(data, str(field.path[0]), scenario)
        _set(data, field.path, _parsed(given, field))
    given_description = submitted.get("description", scenario.description).strip()
    if len(given_description) > MAX_DESCRIPTION:  # said so, before the file is too large
        raise InputError(
            [
                Problem(
                    "the form",
                    None,
                    "description",
                    f"the description is {len(given_description):,} characters long; "
                    f"a description is at most {MAX_DESCRIPTION:,}",
                )
            ]
        )
    if given_description != scenario.description.strip():
        data["description"] = given_description
    removed = {
        int(key.split(".", 1)[1])
        for key, value in submitted.items()
        if key.startswith("remove_change.") and key.split(".", 1)[1].isdigit() and value
    }
    new = new_change(submitted, scenario)
    if removed or new is not None:
        changes = _own_list(data, "changes", scenario)
        data["changes"] = [c for i, c in enumerate(changes) if i not in removed]
        if new is not None:
            data["changes"].append(new)
        if not data["changes"] and not scenario.changes:
            del data["changes"]
    return data


def new_change(submitted: Mapping[str, str], scenario: Scenario) -> dict[str, Any] | None:
    """The dated change the form adds, if its date, kind and value are all given.

    Half a change adds nothing here; :func:`half_change` says what is missing.
    """
    date, to = submitted.get("change.date", "").strip(), submitted.get("change.to", "")
    kind = change_kind(submitted, scenario)
    if not date or not to.strip() or kind is None:
        return None
    if kind.data["set"] == "staffed_beds" and to.strip().lower() == "all":
        return {"date": date, **kind.data, "to": None}  # back to every funded bed
    field = Field("change.to", "", "", "", "", ("to",), kind.scale, kind.whole)
    return {"date": date, **kind.data, "to": _parsed(to, field)}


def half_change(submitted: Mapping[str, str], scenario: Scenario) -> Problem | None:
    """What is missing from a dated change the form began but did not finish, if anything.

    Refused at the change, never dropped in silence (a date with no value, a value with
    no date, or a kind the scenario does not have).
    """
    date, to = submitted.get("change.date", "").strip(), submitted.get("change.to", "").strip()
    if not date and not to:
        return None
    kind = change_kind(submitted, scenario)
    missing = (
        "choose what changes" if kind is None
        else "give the date it changes from" if not date
        else f"give the new value ({kind.unit})" if not to
        else None
    )  # fmt: skip
    if missing is None:
        return None
    return Problem("the form", None, "change", f"a dated change: {missing}")


def change_kind(submitted: Mapping[str, str], scenario: Scenario) -> ChangeKind | None:
    """The kind of dated change the form's ``change.what`` names, if the scenario has it."""
    what = submitted.get("change.what")
    return next((k for k in change_kinds(scenario) if k.value == what), None)


def to_yaml(data: Mapping[str, Any]) -> str:
    """A scenario's own data as the text of its file, ``extends`` and ``name`` first."""
    first = {k: data[k] for k in ("extends", "name", "description") if k in data}
    rest = {k: v for k, v in data.items() if k not in first}
    text = yaml.safe_dump(first, sort_keys=False, allow_unicode=True, width=88)
    if rest:
        text += yaml.safe_dump(rest, sort_keys=False, allow_unicode=True, width=88)
    return text


def derived_from(base_file: str, name: str, description: str) -> str:
    """The text of a new scenario that ``extends`` another and changes nothing yet."""
    parent = base_file.rsplit("/", 1)[-1].removesuffix(".yaml")
    described = description or f"Made from {parent} on the scenario page."
    return to_yaml({"extends": base_file, "name": name, "description": described})
