"""Sources of parameters from a scenario folder's README: its parameter tables, read.

The shipped scenarios keep the source of every baseline parameter in
``scenarios/README.md``, in tables under ``## Parameters`` (a row per unit, team,
out-of-area service or pathway parameter, with a ``source`` column) and a few short
paragraphs (the places, the bed numbers per pathway). A report should quote those
sources rather than ask the author for them again. :func:`readme_sources` reads such a
README and maps each parameter's path in the scenario (``("units", 0, "beds")``,
``("pathways", "adult_secure", "services", "medium", "length_of_stay")``) to its
source text; only a README that names the scenario file is used, and only for values
written in that file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simulation.scenario.schema import PATHWAY_LABELS

Path_ = tuple[str | int, ...]

_SHORT = {"adult_secure": "adult secure", "camhs_t4": "camhs", "adult_ed": "adult ed"}
"""How the README's out-of-area table names a pathway before the service."""

_PATHWAY_FIELDS = (
    "annual_growth",
    "seasonality",
    "priority_mix",
    "assessment_delay",
    "not_accepted_share",
    "diversion",
    "max_wait_days",
    "readmission",
    "withdrawal",
)
_SERVICE_FIELDS = ("referral_rate_per_100k_per_year", "length_of_stay", "step_down", "out_of_area")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _service(words: str, services: Mapping[str, Any]) -> str | None:
    for service in services:
        if _words(service.replace("_", " ")) == words:
            return str(service)
    return None


def readme_sources(text: str, scenario: Mapping[str, Any], file_name: str) -> dict[Path_, str]:
    """Each parameter path the README's tables give a source for, and that source.

    Empty unless the README names ``file_name`` before its ``## Parameters`` section.
    """
    head, found, rest = text.partition("\n## Parameters")
    if not found or f"`{file_name}`" not in head:
        return {}
    body = rest.split("\n## ", 1)[0]
    units = list(scenario.get("units") or [])
    teams = list(scenario.get("community_teams") or [])
    pathways: Mapping[str, Any] = scenario.get("pathways") or {}
    labels = {_words(label): key for key, label in PATHWAY_LABELS.items()}
    out: dict[Path_, str] = {}
    section = ""
    pathway: str | None = None
    previous = ""
    search_table = False  # the out-of-area market's table, after the prices' table
    lines = body.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("### "):
            section, pathway, previous = _words(stripped[4:]), None, ""
            continue
        bold = re.fullmatch(r"\*\*(.+)\*\*", stripped)
        if bold:
            pathway = labels.get(_words(bold.group(1)))
            continue
        bullet = re.match(r"- \*\*(.+?)\*\*: (.+)", stripped)
        if bullet and section == "inpatient units":
            key = labels.get(_words(bullet.group(1)))
            text_ = bullet.group(2)
            for follow in lines[index + 1 :]:  # the bullet's continuation lines
                if not follow.startswith("  "):
                    break
                text_ += " " + follow.strip()
            for i, unit in enumerate(units):
                if unit.get("pathway") == key:
                    out[("units", i, "beds")] = text_
            continue
        if section == "places" and stripped and not stripped.startswith("|"):
            if index and lines[index - 1].strip():
                continue  # inside a paragraph already read
            paragraph: list[str] = []
            for follow in lines[index:]:
                if not follow.strip():
                    break
                paragraph.append(follow.strip())
            for i, _ in enumerate(scenario.get("places") or []):
                out.setdefault(("places", i, "population"), " ".join(paragraph))
            continue
        if not stripped.startswith("|") or set(stripped) <= set("|-: "):
            continue
        cells = _cells(stripped)
        if len(cells) < 3 or cells[0].lower() in ("parameter", "unit", "service", "team", "place"):
            search_table = "a search round" in (cell.lower() for cell in cells)
            continue
        source = cells[-1]
        if source.lower() in ("as above", "as above."):
            source = previous
        previous = source
        first = cells[0]
        if section == "inpatient units":
            for i, unit in enumerate(units):
                if first == unit["name"] or first.startswith(f"{unit['name']} ("):
                    out[("units", i, "cost_per_bed_day_gbp")] = source
        elif section.startswith("out of area"):
            for key, spec in pathways.items():
                short = _SHORT.get(key, _words(key))
                for service in spec.get("services") or {}:
                    if _words(first) == _words(f"{short} {service.replace('_', ' ')}"):
                        where = ("out_of_area", "search") if search_table else ("out_of_area",)
                        out[("pathways", key, "services", service, *where)] = source
        elif section == "community teams":
            for i, team in enumerate(teams):
                if first == team["name"]:
                    for field in ("places", "episode_length", "cost_per_place_per_year_gbp"):
                        out[("community_teams", i, field)] = source
        elif section == "pathways" and pathway is not None and pathway in pathways:
            services = pathways[pathway].get("services") or {}
            named = re.fullmatch(r"(.*?)\s*`(\w+)`", first)
            if named:
                before, field = named.group(1), named.group(2)
                if not before and field in _PATHWAY_FIELDS:
                    out[("pathways", pathway, str(field))] = source
                service = _service(_words(before), services) if before else None
                if service and field in _SERVICE_FIELDS:
                    out[("pathways", pathway, "services", service, str(field))] = source
            elif _words(first).startswith("referral rates"):
                for service in services:
                    path = ("pathways", pathway, "services", str(service))
                    out[(*path, "referral_rate_per_100k_per_year")] = source
        else:
            named = re.fullmatch(r"`(\w+)`", first)
            if named:
                field = named.group(1)
                parent = ("bed_management",) if section == "bed management" else ()
                out[(*parent, field)] = source
    return out
