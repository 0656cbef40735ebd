"""Provenance of a run's inputs: the key parameters, their values and their sources.

A number a board quotes must be traceable to what produced it. The results folder
holds the resolved scenario; the scenario *file* (named in the manifest, with its
SHA-256) holds the planner's notes on where each value came from, as YAML comments
beside or above the value (``cost_per_bed_day_gbp: 452  # £165k a year / 365.25``).
This module lists the parameters a reader needs to judge a run (capacity, demand,
stays, costs, policies, changes and reinvestment), with each value in words and the
comment that gives its source, found through the same ``extends`` resolution the
loader uses, so that an inherited value cites the parent file's line. When the file
is gone or has changed since the run (its SHA-256 no longer matches), the sources are
not shown and the table says why: the author completes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.core.problems import InputError
from simulation.report.readmesources import readme_sources
from simulation.report.wording import in_sentence, money, pathway_label, service_label
from simulation.store.reader import RunFolder

AUTHOR = "Not stated in the scenario file: author to complete"
UNCHECKED = "Scenario file not available (see above): author to complete"


@dataclass(frozen=True)
class Parameter:
    """One input: what it is, its value in words, its source and where it is written."""

    section: str
    name: str
    value: str
    source: str
    where: str
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class SourceFile:
    """The scenario file's comments, by value path, when the file is the one that ran."""

    status: str
    """Why sources are or are not shown, in one sentence."""
    locations: dict[tuple[str | int, ...], tuple[str, int]]
    lines: dict[str, list[str]]
    readme: dict[str, dict[tuple[str | int, ...], str]] = field(default_factory=dict)
    """Per scenario file: the sources its folder's README gives, by value path."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_file(run: RunFolder, search: tuple[Path, ...] = ()) -> SourceFile:
    """Find and check the scenario file the run was made from."""
    name = run.manifest.get("scenario_file")
    expected = run.manifest.get("scenario_sha256")
    if not name:
        return SourceFile(
            "The run did not record a scenario file, so no sources are shown.", {}, {}
        )
    candidates = [Path(name)] + [base / name for base in search]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return SourceFile(
            f"The scenario file {name} was not found from here, so its sources are not shown.",
            {},
            {},
        )
    if expected and _sha256(found) != expected:
        return SourceFile(
            f"The scenario file {name} has changed since the run (its SHA-256 differs), so "
            "its sources are not shown.",
            {},
            {},
        )
    from simulation.scenario.inheritance import MergedData, resolve
    from simulation.scenario.yamlsource import read_yaml_file

    try:
        merged = resolve(read_yaml_file(found))
    except InputError:
        return SourceFile(f"The scenario file {name} could not be read again.", {}, {})
    if isinstance(merged, MergedData):
        locations = dict(merged.locations)
    else:
        locations = {path: (merged.file, line) for path, line in merged.lines.items()}
    lines: dict[str, list[str]] = {}
    for file, _ in set(locations.values()):
        try:
            lines[file] = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError:
            lines[file] = []
    readme: dict[str, dict[tuple[str | int, ...], str]] = {}
    for file in lines:
        guide = Path(file).parent / "README.md"
        try:
            text = guide.read_text(encoding="utf-8") if guide.is_file() else ""
        except OSError:
            text = ""
        found_sources = readme_sources(text, run.scenario, Path(file).name) if text else {}
        if found_sources:
            readme[file] = found_sources
    status = (
        f"Sources are the comments in {name} (SHA-256 matches the run) and the files it "
        "extends, at the line given"
        + (", else the parameter tables of the README beside the file." if readme else ".")
    )
    return SourceFile(status, locations, lines, readme)


def _comment(text: str) -> str:
    """The comment part of a YAML line (a ``#`` after a space, outside quotes)."""
    quote = ""
    for i, char in enumerate(text):
        if char in "'\"" and not quote:
            quote = char
        elif char == quote:
            quote = ""
        elif char == "#" and not quote and (i == 0 or text[i - 1] in " \t"):
            return text[i + 1 :].strip()
    return ""


def comment_at(source: SourceFile, path: tuple[str | int, ...]) -> tuple[str, str]:
    """The source note of a value and where it is written (``file, line``)."""
    if not source.locations:
        return UNCHECKED, ""
    where = source.locations.get(path)
    if where is None:
        return AUTHOR, ""
    file, line = where
    lines = source.lines.get(file, [])
    label = f"{Path(file).name}, line {line}"
    if not 1 <= line <= len(lines):
        return AUTHOR, label
    own = _comment(lines[line - 1])
    if own.lower().startswith("source:"):
        own = own[len("source:") :].strip()
    if own:
        return own, label
    # A block of whole-line comments straight above the value, for values below the
    # top level (the file's opening comment describes the file, not its first key).
    block: list[str] = []
    index = line - 2
    while len(path) > 1 and index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip().lstrip("#").strip())
        index -= 1
    if block:
        return " ".join(block), label
    guide = source.readme.get(file, {})
    for n in range(len(path), 0, -1):  # a step-down route's source is its service's
        if path[:n] in guide:
            return guide[path[:n]], f"{Path(file).parent.name}/README.md"
    return AUTHOR, label


def _distribution(spec: Any) -> str:
    if not isinstance(spec, dict):
        return str(spec)
    kind = str(spec.get("distribution", ""))
    parts = []
    names = {
        "mean": "mean",
        "sd": "sd",
        "median": "median",
        "p90": "90th percentile",
        "value": "",
        "shape": "shape",
        "scale": "scale",
    }
    for key, label in names.items():
        value = spec.get(key)
        if value is None:
            continue
        number = f"{float(value):,.4g}"
        unit = "" if key == "shape" else " days"
        parts.append(f"{label} {number}{unit}".strip())
    if kind == "empirical":
        values = spec.get("values") or []
        parts.append(f"{len(values)} observed values")
    return f"{kind}, " + ", ".join(parts) if parts else kind


def _share(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.0f}%"


def _days(value: Any) -> str:
    return "never (waits for a local bed)" if value is None else f"{float(value):,.0f} days"


def parameters(run: RunFolder, source: SourceFile) -> list[Parameter]:
    """The key parameters of a run, in the order a planner reads a scenario."""
    s = run.scenario
    out: list[Parameter] = []

    def add(section: str, name: str, value: str, *path: str | int) -> None:
        note, where = comment_at(source, tuple(path))
        out.append(Parameter(section, name, value, note, where, tuple(path)))

    for i, place in enumerate(s.get("places") or []):
        quintile = place.get("deprivation_quintile")
        extra = f" (deprivation quintile {quintile})" if quintile else ""
        add(
            "Places",
            str(place["name"]),
            f"{int(place['population']):,} people{extra}",
            "places",
            i,
            "population",
        )
    for i, unit in enumerate(s.get("units") or []):
        label = f"{unit['name']} ({pathway_label(unit['pathway'])}: "
        label += f"{in_sentence(service_label(unit['pathway'], unit['service']))})"
        add("Beds", label, f"{int(unit['beds'])} beds", "units", i, "beds")
        funding = "block contract" if unit.get("funding") == "block" else "per bed day used"
        add(
            "Costs",
            f"{unit['name']}: cost per bed day",
            f"{money(float(unit['cost_per_bed_day_gbp']))} ({funding})",
            "units",
            i,
            "cost_per_bed_day_gbp",
        )
    for i, team in enumerate(s.get("community_teams") or []):
        add(
            "Community teams",
            f"{team['name']}: places",
            f"{int(team['places'])} places",
            "community_teams",
            i,
            "places",
        )
        add(
            "Community teams",
            f"{team['name']}: episode length",
            _distribution(team.get("episode_length")),
            "community_teams",
            i,
            "episode_length",
        )
        add(
            "Costs",
            f"{team['name']}: cost per place a year",
            money(float(team["cost_per_place_per_year_gbp"])),
            "community_teams",
            i,
            "cost_per_place_per_year_gbp",
        )
    for pathway, spec in (s.get("pathways") or {}).items():
        section = pathway_label(pathway)
        add(
            section,
            "Annual growth in referrals",
            _share(spec.get("annual_growth")),
            "pathways",
            pathway,
            "annual_growth",
        )
        mix = spec.get("priority_mix") or {}
        add(
            section,
            "Urgent share of referrals",
            _share(mix.get("urgent")),
            "pathways",
            pathway,
            "priority_mix",
        )
        add(
            section,
            "Not accepted at assessment",
            _share(spec.get("not_accepted_share")),
            "pathways",
            pathway,
            "not_accepted_share",
        )
        diversion = spec.get("diversion")
        if diversion:
            add(
                section,
                "Diverted to a community team",
                f"{_share(diversion.get('share'))} to {diversion.get('team')} when it has room",
                "pathways",
                pathway,
                "diversion",
            )
        waits = spec.get("max_wait_days") or {}
        add(
            section,
            "Maximum wait before out of area",
            f"urgent {_days(waits.get('urgent'))}; routine {_days(waits.get('routine'))}",
            "pathways",
            pathway,
            "max_wait_days",
        )
        readmission = spec.get("readmission") or {}
        if readmission.get("probability"):
            add(
                section,
                "Readmission",
                f"{_share(readmission.get('probability'))} within "
                f"{float(readmission.get('window_days', 0)):,.0f} days",
                "pathways",
                pathway,
                "readmission",
            )
        for service, svc in (spec.get("services") or {}).items():
            name = service_label(pathway, service)
            add(
                section,
                f"{name}: referrals per 100,000 people a year",
                f"{float(svc['referral_rate_per_100k_per_year']):g}",
                "pathways",
                pathway,
                "services",
                service,
                "referral_rate_per_100k_per_year",
            )
            add(
                section,
                f"{name}: length of stay",
                _distribution(svc.get("length_of_stay")),
                "pathways",
                pathway,
                "services",
                service,
                "length_of_stay",
            )
            ooa = svc.get("out_of_area") or {}
            add(
                section,
                f"{name}: out-of-area bed day",
                f"{money(float(ooa.get('cost_per_bed_day_gbp', 0)))}, "
                f"{float(ooa.get('distance_miles', 0)):,.0f} miles from home",
                "pathways",
                pathway,
                "services",
                service,
                "out_of_area",
            )
            for j, route in enumerate(svc.get("step_down") or []):
                add(
                    section,
                    f"{name}: step-down",
                    f"{_share(route.get('probability'))} to {route.get('to')}",
                    "pathways",
                    pathway,
                    "services",
                    service,
                    "step_down",
                    j,
                )
    bed = s.get("bed_management") or {}
    allocation = bed.get("allocation", "continuous")
    if allocation == "weekly_panel":
        allocation = f"weekly panel on {str(bed.get('panel_weekday', '')).title()}"
    add(
        "Bed management",
        "Allocation",
        str(allocation).replace("_", " "),
        "bed_management",
        "allocation",
    )
    add(
        "Bed management",
        "Repatriation when a local bed frees",
        "yes" if bed.get("repatriation", True) else "no",
        "bed_management",
        "repatriation",
    )
    money_spec = s.get("money") or {}
    for pathway, amount in (money_spec.get("budget_gbp_per_year") or {}).items():
        add(
            "Money",
            f"Budget a year: {pathway_label(pathway)}",
            money(float(amount)),
            "money",
            "budget_gbp_per_year",
            pathway,
        )
    if money_spec.get("budget_from"):
        add(
            "Money",
            "Budget",
            f"the simulated spend of {money_spec['budget_from']}",
            "money",
            "budget_from",
        )
    for i, cost in enumerate(money_spec.get("one_off_costs") or []):
        add(
            "Money",
            f"One-off cost on {cost.get('date')}",
            f"{money(float(cost.get('amount_gbp', 0)))}: {cost.get('description', '')}".strip(": "),
            "money",
            "one_off_costs",
            i,
        )
    for i, change in enumerate(s.get("changes") or []):
        what = change.get("set")
        target = change.get("unit") or change.get("team") or change.get("pathway") or ""
        add(
            "Changes",
            f"From {change.get('date')}: {str(what).replace('_', ' ')} of {target}",
            f"{change.get('to')}"
            + (f" ({change['description']})" if change.get("description") else ""),
            "changes",
            i,
        )
    for i, rule in enumerate(s.get("reinvestment") or []):
        teams = ", ".join(f"{t} {_share(v)}" for t, v in (rule.get("teams") or {}).items())
        add(
            "Reinvestment",
            f"Rule for {pathway_label(str(rule.get('pathway')))}",
            f"{_share(rule.get('share_of_savings'))} of each year's savings into places ({teams}); "
            f"recruited after {float(rule.get('recruitment_lag_days', 0)):,.0f} days",
            "reinvestment",
            i,
        )
    return out


def differences(base: RunFolder, alternative: RunFolder) -> list[tuple[str, str, str]]:
    """What an alternative changes from the base: ``(field, base value, alternative value)``."""
    flat_base = dict(_flatten(base.scenario))
    flat_alt = dict(_flatten(alternative.scenario))
    out = []
    for key in sorted(set(flat_base) | set(flat_alt)):
        if key in ("name", "description", "replications", "seed"):
            continue
        a, b = flat_base.get(key, "–"), flat_alt.get(key, "–")
        if a != b:
            out.append((key, a, b))
    return out


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, dict):
        items: list[tuple[str, str]] = []
        for key, value in data.items():
            items += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return items
    if isinstance(data, list):
        if all(isinstance(v, dict) and "name" in v for v in data) and data:
            items = []
            for value in data:
                items += _flatten(value, f"{prefix}[{value['name']}]")
            return items
        if any(isinstance(v, dict | list) for v in data):
            items = []
            for i, value in enumerate(data):
                items += _flatten(value, f"{prefix}[{i}]")
            return items
    if data is None and prefix:
        return []
    return [(prefix, str(data))]
