"""The scenario form: the parameters a planner changes, in planner words and units.

A form is built from a loaded scenario: one field per value a planner changes (beds per
unit, places per community team, referral growth, longest waits, diversion share, the
years simulated). Each field carries the path of its value in the scenario (its key is
the field path ``pathways validate`` names, such as ``units[3].beds``), so a problem the
loader reports lands next to the field it is about.

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

from simulation.scenario.schema import PATHWAY_LABELS, Scenario
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

    @property
    def dom_id(self) -> str:
        """The field's HTML id: its key in letters, digits and dashes."""
        return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", self.key).strip("-")


def _number(value: float | None, scale: float, whole: bool) -> str:
    if value is None:
        return ""
    shown = value * scale
    return str(round(shown)) if whole else f"{shown:g}"


def scenario_fields(scenario: Scenario) -> list[Field]:
    """The planner's fields of a scenario, in the order the form shows them."""
    fields = [
        Field("horizon_years", "Run", "Years simulated", "years",
              _number(scenario.horizon_years, 1, False), ("horizon_years",)),
        Field("replications", "Run", "Replications", "runs",
              _number(scenario.replications, 1, True), ("replications",), whole=True),
    ]  # fmt: skip
    for i, unit in enumerate(scenario.units):
        group = f"Beds: {PATHWAY_LABELS.get(unit.pathway, unit.pathway)}"
        fields.append(
            Field(f"units[{i}].beds", group, unit.name, "beds", str(unit.beds),
                  ("units", unit.name, "beds"), whole=True)
        )  # fmt: skip
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
                      _number(value, 1, False), (*base, "max_wait_days", priority))
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


def change_kinds(scenario: Scenario) -> list[ChangeKind]:
    """The dated changes a planner can add: beds, team places, length of stay, diversion."""
    kinds = [
        ChangeKind(f"beds:{i}", f"Beds in {u.name}", "beds", 1,
                   {"set": "beds", "unit": u.name}, whole=True)
        for i, u in enumerate(scenario.units)
    ]  # fmt: skip
    kinds += [
        ChangeKind(f"places:{i}", f"Places in {t.name}", "places", 1,
                   {"set": "places", "team": t.name}, whole=True)
        for i, t in enumerate(scenario.community_teams)
    ]  # fmt: skip
    for p, (name, pathway) in enumerate(scenario.pathways.items()):
        label = PATHWAY_LABELS.get(name, name)
        for v, service in enumerate(pathway.services):
            kinds.append(
                ChangeKind(f"los:{p}:{v}", f"Length of stay, {label} {service}",
                           "% of today's", 100,
                           {"set": "length_of_stay_factor", "pathway": name,
                            "service": service})
            )  # fmt: skip
        if pathway.diversion is not None:
            kinds.append(
                ChangeKind(f"diversion:{p}", f"Share diverted, {label}", "%", 100,
                           {"set": "diversion_share", "pathway": name})
            )  # fmt: skip
    return kinds


def describe_change(change: Any) -> str:
    """A dated change in planner words."""
    data = change.model_dump(mode="json")
    kind, to = data["set"], data["to"]
    pathway = PATHWAY_LABELS.get(data.get("pathway", ""), data.get("pathway", ""))
    what = {
        "beds": lambda: f"{data.get('unit')}: {to} beds",
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
    text = text.strip().replace(",", "")
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
        given = submitted[field.key]
        if given.strip() == field.value:
            continue
        if field.path[0] in UNNAMED_LISTS:
            _own_list(data, str(field.path[0]), scenario)
        _set(data, field.path, _parsed(given, field))
    given_description = submitted.get("description", scenario.description).strip()
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
    """The dated change the form adds, if its date and value are given."""
    date, to = submitted.get("change.date", "").strip(), submitted.get("change.to", "")
    kind = next(
        (k for k in change_kinds(scenario) if k.value == submitted.get("change.what")), None
    )
    if not date or not to.strip() or kind is None:
        return None
    field = Field("change.to", "", "", "", "", ("to",), kind.scale, kind.whole)
    return {"date": date, **kind.data, "to": _parsed(to, field)}


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
