"""The optimisation file: how a reinvestment budget may be split, and what counts as best.

An optimisation file names a base scenario ("today's plan"), a budget (pounds a year or
community places), the decision variables (places of a community team, beds of a unit,
a pathway's diversion share; each with bounds, a step and a cost per unit), linear
constraints between them, the objective (one KPI, a weighted sum of KPIs in pounds, or
several KPIs for a Pareto set), the horizon and the financial years it is judged on,
and how hard to search and select. It is read and checked like a scenario: safe YAML
with the line of every value, a schema whose errors are explained in a planner's words
(:mod:`simulation.scenario.explain`), then checks against the base scenario (the team,
unit or pathway a variable names must exist in it). Every problem names the file, the
line and the field; nothing runs until the file is right.

It reads files and builds checked data; it never runs the model.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulation.core.calendar import financial_year
from simulation.core.problems import InputError, Problem
from simulation.results.catalogue import ALL, KPI_INFO
from simulation.scenario import explain
from simulation.scenario.loading import derive, load_scenario
from simulation.scenario.schema import Scenario
from simulation.scenario.yamlsource import LocatedData, Path_, read_yaml_file

ADDITIVE_KPIS = frozenset(
    kpi
    for kpi, info in KPI_INFO.items()
    if info.unit in ("count", "£") or kpi in ("bed_days", "ooa_bed_days", "delayed_discharge_days")
)
"""KPIs that add up over pathways and years (counts, bed days and pounds), so that
``pathway: all`` and a per-year figure over several years mean something."""

Number = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=80)]


class Strict(BaseModel):
    """Base of every part of the file: unknown fields refused, instances frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(Strict):
    """What may be spent: pounds a year, or community places, above today's plan."""

    gbp_per_year: NonNegative | None = None
    places: Annotated[int, Field(ge=0, le=100_000)] | None = None
    spend: Literal["at_most", "all"] = "at_most"
    """``at_most``: spend up to the budget; ``all``: spend it to within ``tolerance``."""
    tolerance: NonNegative = 0.0
    """With ``spend: all``, how far below the budget an allocation may stay (pounds a
    year, or places)."""

    @model_validator(mode="after")
    def _one_kind(self) -> Budget:
        if (self.gbp_per_year is None) == (self.places is None):
            raise ValueError("give the budget as gbp_per_year or as places (exactly one)")
        return self

    @property
    def amount(self) -> float:
        """The budget in its own unit."""
        return float(self.gbp_per_year if self.gbp_per_year is not None else self.places or 0)

    @property
    def unit(self) -> str:
        """``gbp`` or ``places``."""
        return "gbp" if self.gbp_per_year is not None else "places"


class Variable(Strict):
    """One decision: a team's places, a unit's beds or a pathway's diversion share.

    Values run from ``min`` to ``max`` in steps of ``step``. ``cost_per_unit_gbp_per_year``
    is the yearly cost of one more place, bed or unit of share above today's value; it
    defaults to the team's cost per place-year, or the unit's cost per bed day times
    365.25 (a bed paid for every day of the year), or nothing for a diversion share.
    """

    team: Name | None = None
    unit: Name | None = None
    diversion: Name | None = None
    """The pathway whose share of referrals offered its community team is decided."""
    name: Name | None = None
    """How the variable is called in constraints and in the report (default: the team,
    the unit, or ``<pathway> diversion``)."""
    min: NonNegative
    max: NonNegative
    step: Positive
    cost_per_unit_gbp_per_year: Number | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Variable:
        targets = [t for t in (self.team, self.unit, self.diversion) if t is not None]
        if len(targets) != 1:
            raise ValueError(
                "name exactly one of team (places), unit (beds) or diversion (a pathway's "
                "diversion share)"
            )
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) is below min ({self.min:g})")
        if self.team is not None or self.unit is not None:
            for label, value in (("min", self.min), ("max", self.max), ("step", self.step)):
                if not float(value).is_integer():
                    raise ValueError(
                        f"{label} must be a whole number of places or beds, got {value:g}"
                    )
        if self.diversion is not None and self.max > 1:
            raise ValueError(f"a diversion share is at most 1, got max {self.max:g}")
        return self

    @property
    def kind(self) -> Literal["places", "beds", "diversion_share"]:
        """What the variable sets."""
        if self.team is not None:
            return "places"
        return "beds" if self.unit is not None else "diversion_share"

    @property
    def target(self) -> str:
        """The team, unit or pathway it acts on."""
        return str(self.team or self.unit or self.diversion)

    @property
    def label(self) -> str:
        """Its name in constraints and reports."""
        return self.name or (self.target if self.diversion is None else f"{self.target} diversion")

    def values(self) -> list[float]:
        """Every value from ``min`` to ``max`` in steps of ``step``."""
        count = math.floor((self.max - self.min) / self.step + 1e-9) + 1
        return [round(self.min + i * self.step, 10) for i in range(count)]


class Constraint(Strict):
    """A linear constraint on the variables' values: sum of coefficient x value."""

    terms: Annotated[dict[Name, Number], Field(min_length=1)]
    at_most: Number | None = None
    at_least: Number | None = None
    equals: Number | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        given = [b for b in (self.at_most, self.at_least, self.equals) if b is not None]
        if not given:
            raise ValueError("give a bound: at_most, at_least or equals")
        if self.equals is not None and len(given) > 1:
            raise ValueError("equals cannot be given with at_most or at_least")
        return self


class Term(Strict):
    """One KPI in the objective, per year over the judged years."""

    kpi: Name
    pathway: Name = ALL
    """A pathway, or ``all`` (the sum over pathways, for KPIs that add up)."""
    gbp_per_unit: Number | None = None
    """Pounds per unit of the KPI, for a weighted sum in pounds."""


class Objective(Strict):
    """What is best: the smallest (or largest) value of one KPI or of a weighted sum.

    ``minimise`` or ``maximise`` a list of terms: one term is that KPI in its own units;
    several are a weighted sum in pounds a year (each term with ``gbp_per_unit``).
    ``pareto`` lists two or more KPIs, all to be made small, for the set of allocations
    that no other beats on every one.
    """

    minimise: Annotated[tuple[Term, ...], Field(min_length=1)] | None = None
    maximise: Annotated[tuple[Term, ...], Field(min_length=1)] | None = None
    pareto: Annotated[tuple[Term, ...], Field(min_length=2, max_length=4)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Objective:
        given = [k for k in (self.minimise, self.maximise, self.pareto) if k is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minimise, maximise or pareto")
        terms = self.minimise or self.maximise or ()
        if len(terms) > 1 and any(t.gbp_per_unit is None for t in terms):
            raise ValueError(
                "a weighted sum of several KPIs needs gbp_per_unit on every term, so that "
                "they add up in pounds"
            )
        return self

    @property
    def terms(self) -> tuple[Term, ...]:
        """The KPIs named, in order."""
        return self.minimise or self.maximise or self.pareto or ()

    @property
    def kind(self) -> Literal["kpi", "weighted_gbp", "pareto"]:
        """One KPI, a weighted sum in pounds, or a Pareto set."""
        if self.pareto is not None:
            return "pareto"
        return "weighted_gbp" if len(self.terms) > 1 or self.terms[0].gbp_per_unit else "kpi"

    @property
    def sign(self) -> float:
        """+1 to minimise, -1 to maximise (values are negated so that smaller is better)."""
        return -1.0 if self.maximise is not None else 1.0


class Search(Strict):
    """How candidates are found and evaluated before the clean-up."""

    replications: Annotated[int, Field(ge=2, le=1000)] = 5
    """Replications of every candidate evaluated (common random numbers)."""
    enumerate_up_to: Annotated[int, Field(ge=1, le=5000)] = 60
    """Evaluate every feasible allocation when there are at most this many."""
    budget_replications: Annotated[int, Field(ge=10, le=1_000_000)] = 1500
    """Most replications the search may spend when the feasible set is larger."""
    samples_per_iteration: Annotated[int, Field(ge=1, le=100)] = 6
    finalists: Annotated[int, Field(ge=2, le=20)] = 5
    """How many of the best-looking candidates go to the clean-up."""
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None
    """Seed of the search's replications and sampling (default: the base scenario's)."""


class Selection(Strict):
    """The clean-up: fresh replications of the finalists and a selection procedure."""

    delta: Positive | None = None
    """The smallest difference worth knowing about, in the objective's units (pounds a
    year for a weighted sum): allocations closer than this count as equally good."""
    confidence: Annotated[float, Field(ge=0.5, le=0.999)] = 0.95
    first_stage: Annotated[int, Field(ge=5, le=1000)] = 10
    max_replications: Annotated[int, Field(ge=5, le=100_000)] = 200
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None
    """Seed of the clean-up replications (default: one derived from the search's seed,
    so that they are fresh random numbers)."""


class OptimisationFile(Strict):
    """A whole optimisation file."""

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    base: Annotated[str, Field(min_length=1, max_length=1000)]
    """The base scenario (today's plan), a path relative to this file."""
    horizon_years: Annotated[float, Field(gt=0, le=50, allow_inf_nan=False)] | None = None
    judged_years: Annotated[tuple[str, ...], Field(min_length=1)] | None = None
    """Financial years (``2028/29``) the objective is judged on (default: all)."""
    takes_effect: dt.date | None = None
    """When the allocation starts (default: the start date); earlier years then show
    today's plan, as recruitment would."""
    budget: Budget
    variables: Annotated[tuple[Variable, ...], Field(min_length=1, max_length=8)]
    constraints: tuple[Constraint, ...] = ()
    objective: Objective
    search: Search = Search()
    selection: Selection = Selection()


@dataclass(frozen=True)
class OptimisationProblem:
    """A checked optimisation: the file's values, the base scenario and where it came from."""

    spec: OptimisationFile
    base: Scenario
    """Today's plan over the optimisation's horizon."""
    base_as_given: Scenario
    """Today's plan as its own file gives it (its own horizon), for the recommended file."""
    file: str
    base_file: str
    years: tuple[str, ...]
    """The financial years judged."""
    today: tuple[float, ...]
    """Each variable's value in today's plan."""
    costs: tuple[float, ...]
    """Each variable's cost per unit, pounds a year."""
    search_seed: int
    cleanup_seed: int


def _fresh_seed(seed: int) -> int:
    """A seed for the clean-up, independent of ``seed`` (different random numbers)."""
    import numpy as np

    state = np.random.SeedSequence([seed, 0x5E1EC7]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) % (2**63)


def _today_and_cost(
    variable: Variable, scenario: Scenario, source: LocatedData, path: Path_
) -> tuple[float, float] | Problem:
    """A variable's value in today's plan and its default cost per unit, or a problem."""
    given = variable.cost_per_unit_gbp_per_year
    if variable.team is not None:
        teams = {t.name: t for t in scenario.community_teams}
        team = teams.get(variable.team)
        if team is None:
            return source.problem(
                (*path, "team"),
                f"no community team {variable.team!r} in the base scenario"
                f"{explain.suggest(variable.team, teams)} (teams: {', '.join(teams) or 'none'})",
            )
        cost = team.cost_per_place_per_year_gbp if given is None else given
        return float(team.places), float(cost)
    if variable.unit is not None:
        units = {u.name: u for u in scenario.units}
        unit = units.get(variable.unit)
        if unit is None:
            return source.problem(
                (*path, "unit"),
                f"no unit {variable.unit!r} in the base scenario"
                f"{explain.suggest(variable.unit, units)}",
            )
        cost = unit.cost_per_bed_day_gbp * 365.25 if given is None else given
        return float(unit.beds), float(cost)
    pathway_name = str(variable.diversion)
    pathway = scenario.pathways.get(pathway_name)
    if pathway is None:
        return source.problem(
            (*path, "diversion"),
            f"no pathway {pathway_name!r} in the base scenario"
            f"{explain.suggest(pathway_name, scenario.pathways)}",
        )
    if pathway.diversion is None:
        return source.problem(
            (*path, "diversion"),
            f"pathway {pathway_name} has no diversion in the base scenario: give it "
            "diversion: {share: 0, team: ...} there first, naming the team that takes them",
        )
    return float(pathway.diversion.share), float(given or 0.0)


def _check_terms(spec: OptimisationFile, scenario: Scenario, source: LocatedData) -> list[Problem]:
    problems = []
    kinds = {"minimise": spec.objective.minimise, "maximise": spec.objective.maximise}
    kinds["pareto"] = spec.objective.pareto
    for key, terms in kinds.items():
        for i, term in enumerate(terms or ()):
            path: Path_ = ("objective", key, i)
            if term.kpi not in KPI_INFO:
                problems.append(
                    source.problem(
                        (*path, "kpi"),
                        f"unknown KPI {term.kpi!r}{explain.suggest(term.kpi, KPI_INFO)}",
                    )
                )
                continue
            if term.pathway == ALL and term.kpi not in ADDITIVE_KPIS:
                problems.append(
                    source.problem(
                        (*path, "pathway"),
                        f"{term.kpi} does not add up over pathways: name one pathway "
                        f"({', '.join(scenario.pathways)})",
                    )
                )
            elif term.pathway != ALL and term.pathway not in scenario.pathways:
                problems.append(
                    source.problem(
                        (*path, "pathway"),
                        f"no pathway {term.pathway!r} in the base scenario"
                        f"{explain.suggest(term.pathway, scenario.pathways)}",
                    )
                )
    return problems


def _check_constraints(spec: OptimisationFile, source: LocatedData) -> list[Problem]:
    labels = [v.label for v in spec.variables]
    problems = []
    seen: set[str] = set()
    for i, variable in enumerate(spec.variables):
        if variable.label in seen:
            problems.append(
                source.problem(
                    ("variables", i), f"two variables are called {variable.label!r}; name one"
                )
            )
        seen.add(variable.label)
    for i, constraint in enumerate(spec.constraints):
        for name in constraint.terms:
            if name not in labels:
                problems.append(
                    source.problem(
                        ("constraints", i, "terms", name),
                        f"no variable called {name!r}{explain.suggest(name, labels)} "
                        f"(variables: {', '.join(labels)})",
                    )
                )
    if spec.budget.places is not None and not any(v.kind == "places" for v in spec.variables):
        problems.append(
            source.problem(
                ("budget", "places"),
                "a budget in places needs at least one variable of a team's places",
            )
        )
    return problems


def _years(spec: OptimisationFile, scenario: Scenario, source: LocatedData) -> tuple[str, ...]:
    horizon: list[str] = []
    day = scenario.start_date
    while day < scenario.end_date:
        year = financial_year(day)
        if year not in horizon:
            horizon.append(year)
        day += dt.timedelta(days=28)
    if spec.judged_years is None:
        return tuple(horizon)
    problems = [
        source.problem(
            ("judged_years", i),
            f"{year!r} is not a financial year of the horizon (expected one of "
            f"{', '.join(horizon)})",
        )
        for i, year in enumerate(spec.judged_years)
        if year not in horizon
    ]
    if problems:
        raise InputError(problems)
    return tuple(y for y in horizon if y in spec.judged_years)


def read_optimisation(path: str | Path) -> OptimisationProblem:
    """Read and check an optimisation file and its base scenario.

    Raises :class:`~simulation.core.problems.InputError` with every problem found, each
    naming the file, the line and the field. Whether any allocation is feasible is
    checked when the decision space is built (:func:`simulation.optimise.space.build_space`).
    """
    source = read_yaml_file(path)
    problems = explain.bool_problems(source, OptimisationFile)
    try:
        spec = OptimisationFile.model_validate(source.data)
    except ValidationError as exc:
        raise InputError(
            explain.sort_problems(problems + explain.schema_problems(exc, source, OptimisationFile))
        ) from None
    if problems:
        raise InputError(problems)
    base_file = Path(source.file).parent / spec.base
    if not base_file.is_file():
        raise InputError(
            [source.problem(("base",), f"base scenario not found (looked for {base_file})")]
        )
    as_given = load_scenario(base_file)
    changes: dict[str, object] = {}
    if spec.horizon_years is not None:
        changes["horizon_years"] = spec.horizon_years
    base = derive(as_given, changes, f"the optimisation file {source.file}", str(base_file))
    problems = _check_terms(spec, base, source)
    today: list[float] = []
    costs: list[float] = []
    for i, variable in enumerate(spec.variables):
        found = _today_and_cost(variable, base, source, ("variables", i))
        if isinstance(found, Problem):
            problems.append(found)
        else:
            today.append(found[0])
            costs.append(found[1])
    if len(today) == len(spec.variables):
        # A misspelt team would make every constraint naming it a second problem.
        problems += _check_constraints(spec, source)
    if spec.objective.kind != "pareto" and spec.selection.delta is None:
        problems.append(
            source.problem(
                ("selection",),
                "missing 'delta': the smallest difference in the objective worth knowing "
                "about (in its own units), such as delta: 100",
            )
        )
    if spec.takes_effect is not None and not (base.start_date <= spec.takes_effect < base.end_date):
        problems.append(
            source.problem(
                ("takes_effect",),
                f"{spec.takes_effect} is outside the horizon ({base.start_date} to "
                f"{base.end_date - dt.timedelta(days=1)})",
            )
        )
    if problems:
        raise InputError(explain.sort_problems(problems))
    years = _years(spec, base, source)
    seed = spec.search.seed if spec.search.seed is not None else base.seed
    cleanup = spec.selection.seed if spec.selection.seed is not None else _fresh_seed(seed)
    return OptimisationProblem(
        spec=spec,
        base=base,
        base_as_given=as_given,
        file=str(path),
        base_file=str(base_file),
        years=years,
        today=tuple(today),
        costs=tuple(costs),
        search_seed=seed,
        cleanup_seed=cleanup,
    )


def located(path: str | Path) -> LocatedData:
    """The optimisation file's located data (for problems found after reading it)."""
    return read_yaml_file(path)
