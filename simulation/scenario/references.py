"""References between a scenario's parts: every name that points elsewhere must exist.

The schema checks each field on its own; this module checks what the fields say about
each other, once the scenario has validated: a unit's place and pathway, a step-down's
destination, a diversion's team, and the units, teams, pathways and dates named by
``money``, dated ``changes`` and ``reinvestment``. Each broken reference is yielded as
(field path, message), and the loader turns it into a problem with its file and line.
The one checker of references: nothing else looks them up.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from simulation.scenario import explain
from simulation.scenario.schema import (
    PATHWAY_SERVICES,
    Scenario,
    SetBeds,
    SetDiversion,
    SetLengthOfStay,
    SetMaxWait,
    SetPlaces,
    SetStaffedBeds,
    SetStepDown,
)
from simulation.scenario.yamlsource import Path_


def reference_problems(s: Scenario) -> Iterator[tuple[Path_, str]]:
    """Every broken reference in ``s``, as (field path, message), parts first."""
    yield from _part_problems(s)
    yield from _dated_problems(s)


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


def _part_problems(s: Scenario) -> Iterator[tuple[Path_, str]]:
    """Check references between parts: names, places, units, teams, pathways, services."""
    yield from _duplicates(s.places, "place", "places")
    yield from _duplicates(s.units, "unit", "units")
    yield from _duplicates(s.community_teams, "community team", "community_teams")
    places = [p.name for p in s.places]
    teams = {t.name: t for t in s.community_teams}
    # A misspelt pathway or service is reported once, where it is misspelt, not again at
    # every unit and team that names it correctly.
    misspelt = _misspelt(s.pathways, PATHWAY_SERVICES)

    def unknown_place(name: str) -> str:
        return f"unknown place {name!r}{_suggest(name, places)} (places: {', '.join(places)})"

    for pathway, spec in s.pathways.items():
        if pathway not in PATHWAY_SERVICES:
            known = list(PATHWAY_SERVICES)
            yield (
                ("pathways", pathway),
                (
                    f"unknown pathway {pathway!r}{_suggest(pathway, known)} "
                    f"(expected one of {', '.join(known)})"
                ),
            )
            continue
        allowed = PATHWAY_SERVICES[pathway]
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
            known, PATHWAY_SERVICES[unit.pathway]
        ):
            valid = [k for k in known if k in PATHWAY_SERVICES[unit.pathway]]
            yield (
                (*base, "service"),
                (
                    f"service {unit.service!r} is not described under pathways.{unit.pathway}."
                    f"services{_suggest(unit.service, valid)} (described: {', '.join(known)})"
                ),
            )
        yield from _takes_problems(s, i)
    for i, team in enumerate(s.community_teams):
        if team.pathway not in s.pathways and team.pathway not in misspelt:
            yield ("community_teams", i, "pathway"), _not_described(team.pathway, s)
    for pathway in s.pathways:
        if pathway in PATHWAY_SERVICES:
            yield from _mix_problems(s, pathway, places)


def _takes_problems(s: Scenario, i: int) -> Iterator[tuple[Path_, str]]:
    """Whom a unit takes must be whom its pathway's patient mix draws."""
    unit = s.units[i]
    mix = s.pathways[unit.pathway].patient_mix
    base: Path_ = ("units", i)
    if unit.sex != "any" and not mix.sex:
        yield (
            (*base, "sex"),
            f"the unit takes {unit.sex} patients only, but pathways.{unit.pathway}."
            "patient_mix gives no sex shares; give them (for example {male: 0.8, female: 0.2})",
        )
    for field, named, drawn in (
        ("streams", unit.streams, mix.streams),
        ("age_bands", unit.age_bands, mix.age_bands),
    ):
        for j, name in enumerate(named):
            if name not in drawn:
                listed = ", ".join(drawn) if drawn else f"none: give patient_mix.{field}"
                yield (
                    (*base, field, j),
                    f"unknown {field[:-1].replace('_', ' ')} {name!r}{_suggest(name, drawn)} "
                    f"(pathways.{unit.pathway}.patient_mix.{field}: {listed})",
                )


def _mix_problems(s: Scenario, pathway: str, places: list[str]) -> Iterator[tuple[Path_, str]]:
    """A patient mix's places, streams and services must exist."""
    spec = s.pathways[pathway]
    mix = spec.patient_mix
    base: Path_ = ("pathways", pathway, "patient_mix")
    for place, shares in mix.places.items():
        if place not in places:
            yield (*base, "places", place), f"unknown place {place!r}{_suggest(place, places)}"
        for field in ("streams", "age_bands"):
            given, own = getattr(shares, field), getattr(mix, field)
            if given and set(given) != set(own):
                yield (
                    (*base, "places", place, field),
                    f"a place's {field} must name the pathway's ({', '.join(own) or 'none'})",
                )
    band = mix.adult_from_age_band
    if band is not None and band not in mix.age_bands:
        yield (
            (*base, "adult_from_age_band"),
            f"unknown age band {band!r}{_suggest(band, mix.age_bands)} "
            f"(patient_mix.age_bands: {', '.join(mix.age_bands) or 'none'})",
        )
    yield from _adult_pathway_problems(s, pathway)
    for field in ("length_of_stay", "step_down"):
        for stream, services in getattr(mix, field).items():
            if stream not in mix.streams:
                yield (
                    (*base, field, stream),
                    f"unknown stream {stream!r}{_suggest(stream, mix.streams)} "
                    f"(patient_mix.streams: {', '.join(mix.streams) or 'none'})",
                )
            for service in services:
                if service not in spec.services:
                    yield (
                        (*base, field, stream, service),
                        f"service {service!r} is not described for {pathway} "
                        f"(described: {', '.join(spec.services)})",
                    )
    for stream, given in mix.referrals.items():
        if stream not in mix.streams:
            yield (
                (*base, "referrals", stream),
                f"unknown stream {stream!r}{_suggest(stream, mix.streams)} "
                f"(patient_mix.streams: {', '.join(mix.streams) or 'none'})",
            )
        for service in given.referral_rate_per_100k_per_year:
            if service not in spec.services:
                yield (
                    (*base, "referrals", stream, "referral_rate_per_100k_per_year", service),
                    f"service {service!r} is not described for {pathway}"
                    f"{_suggest(service, spec.services)} (described: {', '.join(spec.services)})",
                )
    teams = [t.name for t in s.community_teams if t.pathway == pathway]
    for stream, services in mix.step_down.items():
        for service, routes in services.items():
            for j, route in enumerate(routes):
                if route.to == service or (route.to not in spec.services and route.to not in teams):
                    yield (
                        (*base, "step_down", stream, service, j, "to"),
                        f"step-down destination {route.to!r} is not another service of "
                        f"{pathway} or one of its community teams "
                        f"({', '.join([*spec.services, *teams])})",
                    )


def _adult_pathway_problems(s: Scenario, pathway: str) -> Iterator[tuple[Path_, str]]:
    """The adult pathway a young person moves to at 18 must exist, with the services named."""
    mix = s.pathways[pathway].patient_mix
    adult = mix.adult_pathway
    if adult is None:
        return
    base: Path_ = ("pathways", pathway, "patient_mix", "adult_pathway")
    if mix.adult_from_age_band is None:
        yield (
            base,
            "an adult pathway needs young people who turn 18: give patient_mix.age_bands and "
            "patient_mix.adult_from_age_band (the band that turns 18 within a year)",
        )
    others = [p for p in s.pathways if p != pathway]
    if adult.pathway not in others:
        yield (
            (*base, "pathway"),
            f"pathway {adult.pathway!r} is not another pathway of this scenario"
            f"{_suggest(adult.pathway, others)} (described: {', '.join(others) or 'none'})",
        )
        adult_services: list[str] = []
    else:
        adult_services = list(s.pathways[adult.pathway].services)
    young = list(s.pathways[pathway].services)
    for service, to in adult.services.items():
        if service not in young:
            yield (
                (*base, "services", service),
                f"service {service!r} is not described for {pathway}"
                f"{_suggest(service, young)} (described: {', '.join(young)})",
            )
        if adult.pathway in others and to not in adult_services:
            yield (
                (*base, "services", service),
                f"service {to!r} is not described for {adult.pathway}"
                f"{_suggest(to, adult_services)} (described: {', '.join(adult_services)})",
            )


def _misspelt(described: Iterable[str], known: Iterable[str]) -> set[str]:
    """Known names that some described, unknown name is probably a misspelling of."""
    known = list(known)
    return {
        match
        for name in described
        if name not in known
        for match in difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    }


def _not_described(pathway: str, s: Scenario) -> str:
    return (
        f"pathway {pathway!r} is not described under pathways (described: {', '.join(s.pathways)})"
    )


def _dated_problems(s: Scenario) -> Iterator[tuple[Path_, str]]:
    """Check references in ``money``, ``changes`` and ``reinvestment``."""
    units = {u.name for u in s.units}
    teams = {t.name: t for t in s.community_teams}
    first = s.start_date - dt.timedelta(days=s.warmup_days)
    for pathway in s.money.budget_gbp_per_year:
        if pathway not in s.pathways:
            yield ("money", "budget_gbp_per_year", pathway), _unknown_pathway(pathway)
    for i, cost in enumerate(s.money.one_off_costs):
        if cost.pathway not in s.pathways:
            yield ("money", "one_off_costs", i, "pathway"), _unknown_pathway(cost.pathway)
        if not s.start_date <= cost.date < s.end_date:
            yield ("money", "one_off_costs", i, "date"), _outside(s, cost.date, s.start_date)
    for i, change in enumerate(s.changes):
        base: Path_ = ("changes", i)
        if not first <= change.date < s.end_date:
            yield (*base, "date"), _outside(s, change.date, first)
        if isinstance(change, SetBeds | SetStaffedBeds) and change.unit not in units:
            yield (*base, "unit"), f"unknown unit {change.unit!r}"
        elif isinstance(change, SetStaffedBeds) and change.to is not None:
            funded = _funded_beds(s, change.unit, change.date)
            if change.to > funded:
                yield (
                    (*base, "to"),
                    (
                        f"{change.to} staffed beds is more than the {funded} beds "
                        f"{change.unit!r} is funded for on {change.date:%Y-%m-%d}; staffed "
                        "beds are the funded beds that can be opened (every one of them: null in "
                        "a file, all on the web page)"
                    ),
                )
        elif isinstance(change, SetPlaces) and change.team not in teams:
            yield (*base, "team"), f"unknown community team {change.team!r}"
        elif isinstance(change, SetLengthOfStay | SetDiversion | SetMaxWait | SetStepDown):
            if change.pathway not in s.pathways:
                yield (*base, "pathway"), _unknown_pathway(change.pathway)
            elif isinstance(change, SetStepDown):
                yield from _step_down_problems(s, change, base)
            elif isinstance(change, SetLengthOfStay):
                if change.service not in s.pathways[change.pathway].services:
                    known = ", ".join(s.pathways[change.pathway].services)
                    yield (
                        (*base, "service"),
                        (
                            f"service {change.service!r} is not described for {change.pathway} "
                            f"(described: {known})"
                        ),
                    )
            elif isinstance(change, SetDiversion) and s.pathways[change.pathway].diversion is None:
                yield (
                    (*base, "pathway"),
                    (
                        f"{change.pathway} has no diversion team; describe "
                        f"pathways.{change.pathway}.diversion first"
                    ),
                )
    seen: set[str] = set()
    for i, rule in enumerate(s.reinvestment):
        base = ("reinvestment", i)
        if rule.pathway not in s.pathways:
            yield (*base, "pathway"), _unknown_pathway(rule.pathway)
            continue
        if rule.pathway in seen:
            yield (*base, "pathway"), f"a second reinvestment rule for {rule.pathway}"
        seen.add(rule.pathway)
        if rule.pathway not in s.money.budget_gbp_per_year and s.money.budget_from is None:
            yield (
                (*base, "pathway"),
                f"the rule needs a budget: give money.budget_gbp_per_year.{rule.pathway}, or "
                "money.budget_from: a scenario file whose simulated spend is the budget",
            )
        for team in rule.teams:
            if team not in teams:
                yield (*base, "teams", team), f"unknown community team {team!r}"
            elif teams[team].pathway != rule.pathway:
                yield (
                    (*base, "teams", team),
                    (f"community team {team!r} belongs to {teams[team].pathway}"),
                )
            elif teams[team].cost_per_place_per_year_gbp <= 0:
                yield (
                    (*base, "teams", team),
                    ("the team's cost_per_place_per_year_gbp is 0, so savings cannot buy places"),
                )


def _funded_beds(s: Scenario, unit: str, date: dt.date) -> int:
    """A unit's funded beds on ``date``, after the bed changes dated then or before."""
    beds = next(u.beds for u in s.units if u.name == unit)
    for change in sorted(s.changes, key=lambda c: c.date):  # as the model applies them
        if isinstance(change, SetBeds) and change.unit == unit and change.date <= date:
            beds = change.to
    return beds


def _step_down_problems(
    s: Scenario, change: SetStepDown, base: Path_
) -> Iterator[tuple[Path_, str]]:
    services = s.pathways[change.pathway].services
    if change.service not in services:
        yield (
            (*base, "service"),
            (
                f"service {change.service!r} is not described for {change.pathway} "
                f"(described: {', '.join(services)})"
            ),
        )
        return
    teams = [t.name for t in s.community_teams if t.pathway == change.pathway]
    for j, route in enumerate(change.to):
        if route.to == change.service:
            yield (*base, "to", j, "to"), "a service cannot step down to itself"
        elif route.to not in services and route.to not in teams:
            yield (
                (*base, "to", j, "to"),
                (
                    f"unknown step-down destination {route.to!r} (expected a service of "
                    f"{change.pathway} or one of its community teams: "
                    f"{', '.join([*services, *teams])})"
                ),
            )


def _unknown_pathway(pathway: str) -> str:
    if pathway in PATHWAY_SERVICES:
        return f"pathway {pathway!r} is not described under pathways"
    return f"unknown pathway {pathway!r} (expected one of {', '.join(PATHWAY_SERVICES)})"


def _outside(s: Scenario, date: dt.date, first: dt.date) -> str:
    return f"date {date} is outside the run ({first} to {s.end_date - dt.timedelta(days=1)})"
