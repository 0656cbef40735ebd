"""The decision space: every allocation the bounds and steps allow, and those that are feasible.

A candidate allocation is a point of the grid: one index per variable into its list of
values (``min``, ``min + step``, ..., ``max``). Its cost is the sum, over variables, of
the change from today's value times the cost per unit, in pounds a year; the budget and
the linear constraints decide which points are feasible. The feasible points are listed
once, as an array, so that the search can enumerate them or sample among them exactly.
A file whose feasible set is empty is refused here, with the cheapest allocation and
what it breaks, before anything runs.

A candidate becomes a scenario by :func:`candidate_scenario`: the base scenario with the
values set (from the start, or as dated changes from ``takes_effect``), made by
:func:`~simulation.scenario.loading.derive` and so checked as a file is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.core.problems import InputError
from simulation.optimise.problem import OptimisationProblem, located
from simulation.scenario.loading import derive
from simulation.scenario.schema import Scenario

MAX_GRID = 2_000_000
"""Most grid points listed; a finer grid needs coarser steps or narrower bounds."""
TOLERANCE = 1e-9

Candidate = tuple[int, ...]
"""Indices into each variable's values; ``()`` is today's plan, unchanged."""
TODAY = "today"


@dataclass(frozen=True)
class Space:
    """The grid of allocations and its feasible points."""

    problem: OptimisationProblem
    values: tuple[tuple[float, ...], ...]
    """Each variable's values."""
    feasible: np.ndarray
    """Feasible points, one row of indices per allocation, in grid order."""

    @property
    def labels(self) -> tuple[str, ...]:
        """The variables' names."""
        return tuple(v.label for v in self.problem.spec.variables)

    def allocation(self, candidate: Candidate) -> tuple[float, ...]:
        """The variables' values at a candidate."""
        return tuple(self.values[i][k] for i, k in enumerate(candidate))

    def cost(self, candidate: Candidate) -> float:
        """Yearly cost above today's plan, pounds."""
        return float(
            sum(
                (x - t) * c
                for x, t, c in zip(
                    self.allocation(candidate), self.problem.today, self.problem.costs, strict=True
                )
            )
        )

    def places(self, candidate: Candidate) -> float:
        """Community places added above today's plan."""
        return float(
            sum(
                x - t
                for x, t, v in zip(
                    self.allocation(candidate),
                    self.problem.today,
                    self.problem.spec.variables,
                    strict=True,
                )
                if v.kind == "places"
            )
        )

    def key(self, candidate: Candidate) -> str:
        """A file-safe key of a candidate (its indices), used for its folder and files.

        The empty candidate ``()`` is today's plan, keyed ``today``.
        """
        return "c" + "-".join(str(k) for k in candidate) if candidate else TODAY

    def today_candidate(self) -> Candidate | None:
        """Today's plan as a grid point, if it is one."""
        found = []
        for values, today in zip(self.values, self.problem.today, strict=True):
            matches = [i for i, v in enumerate(values) if abs(v - today) < 1e-9]
            if not matches:
                return None
            found.append(matches[0])
        return tuple(found)

    def is_feasible(self, candidate: Candidate) -> bool:
        """Whether a candidate is one of the feasible points."""
        return bool((self.feasible == np.asarray(candidate)).all(axis=1).any())


def _grid(values: tuple[tuple[float, ...], ...]) -> np.ndarray:
    sizes = [len(v) for v in values]
    return np.indices(sizes).reshape(len(sizes), -1).T


def _constraint_matrix(problem: OptimisationProblem) -> tuple[np.ndarray, list[tuple[str, Any]]]:
    """Rows of coefficients on the variables' values, with each row's bound and origin."""
    labels = [v.label for v in problem.spec.variables]
    rows: list[np.ndarray] = []
    bounds: list[tuple[str, Any]] = []
    for i, constraint in enumerate(problem.spec.constraints):
        row = np.zeros(len(labels))
        for name, coefficient in constraint.terms.items():
            row[labels.index(name)] += coefficient
        for kind in ("at_most", "at_least", "equals"):
            bound = getattr(constraint, kind)
            if bound is not None:
                rows.append(row)
                bounds.append((kind, (bound, ("constraints", i, kind))))
    return np.array(rows).reshape(len(rows), len(labels)), bounds


def build_space(problem: OptimisationProblem) -> Space:
    """List the grid and its feasible points; refuse a file with none (or too many).

    Raises :class:`~simulation.core.problems.InputError` naming the budget or the
    constraint that rules every allocation out.
    """
    spec = problem.spec
    source = located(problem.file)
    values = tuple(tuple(v.values()) for v in spec.variables)
    size = int(np.prod([len(v) for v in values], dtype=float))
    if size > MAX_GRID:
        raise InputError(
            [
                source.problem(
                    ("variables",),
                    f"the bounds and steps give {size:,} allocations (at most {MAX_GRID:,}): "
                    "give coarser steps or narrower bounds",
                )
            ]
        )
    grid = _grid(values)
    x = np.column_stack([np.asarray(v)[grid[:, i]] for i, v in enumerate(values)])
    today = np.asarray(problem.today)
    change = x - today
    cost = change @ np.asarray(problem.costs)
    budget = spec.budget
    if budget.unit == "gbp":
        used = cost
        unit = "£{:,.0f} a year"
    else:
        places = np.array([v.kind == "places" for v in spec.variables], dtype=float)
        used = change @ places
        unit = "{:,.0f} places"
    ok = used <= budget.amount + TOLERANCE * max(1.0, budget.amount)
    budget_ok = ok.copy()
    if budget.spend == "all":
        ok &= used >= budget.amount - budget.tolerance - TOLERANCE * max(1.0, budget.amount)
    matrix, bounds = _constraint_matrix(problem)
    broken: list[tuple[int, Any]] = []
    for row, (kind, (bound, where)) in zip(matrix, bounds, strict=True):
        total = x @ row
        scale = TOLERANCE * max(1.0, abs(bound))
        if kind == "at_most":
            passes = total <= bound + scale
        elif kind == "at_least":
            passes = total >= bound - scale
        else:
            passes = np.abs(total - bound) <= scale
        if not (ok & passes).any():
            broken.append((int((ok & passes).sum()), where))
        ok &= passes
    if not ok.any():
        cheapest = float(used.min())
        if not budget_ok.any():
            message = (
                f"no allocation within the bounds and steps fits the budget: the cheapest "
                f"costs {unit.format(cheapest)} above today's plan, against a budget of "
                f"{unit.format(budget.amount)}"
            )
            raise InputError([source.problem(("budget",), message)])
        if (
            budget.spend == "all"
            and not (budget_ok & (used >= budget.amount - budget.tolerance - 1e-9)).any()
        ):
            message = (
                f"no allocation spends the budget of {unit.format(budget.amount)} to within "
                f"its tolerance of {unit.format(budget.tolerance)}: the nearest spends "
                f"{unit.format(float(used[budget_ok].max()))}; give a tolerance or other steps"
            )
            raise InputError([source.problem(("budget", "spend"), message)])
        where = broken[0][1] if broken else ("constraints",)
        raise InputError(
            [
                source.problem(
                    where,
                    "no allocation within the bounds, steps and budget meets this constraint "
                    "together with those before it",
                )
            ]
        )
    count = int(ok.sum())
    if spec.objective.kind == "pareto" and count > spec.search.enumerate_up_to:
        message = (
            f"a Pareto set is found by running every feasible allocation, and this file has "
            f"{count:,} (search.enumerate_up_to is {spec.search.enumerate_up_to:,}): narrow "
            "the bounds, coarsen the steps, or raise enumerate_up_to"
        )
        raise InputError([source.problem(("objective", "pareto"), message)])
    return Space(problem=problem, values=values, feasible=grid[ok])


def candidate_changes(space: Space, candidate: Candidate) -> dict[str, Any]:
    """The overrides that turn the base scenario into a candidate's."""
    problem = space.problem
    base = problem.base
    effect = problem.spec.takes_effect
    changes: dict[str, Any] = {}
    if not candidate:
        return changes
    dated: list[dict[str, Any]] = []
    for variable, value in zip(problem.spec.variables, space.allocation(candidate), strict=True):
        if effect is None or effect <= base.start_date:
            if variable.kind == "places":
                changes[f"community_teams.{variable.target}.places"] = int(value)
            elif variable.kind == "beds":
                changes[f"units.{variable.target}.beds"] = int(value)
            else:
                changes[f"pathways.{variable.target}.diversion.share"] = float(value)
            continue
        entry: dict[str, Any] = {"date": effect.isoformat(), "description": "optimised allocation"}
        if variable.kind == "places":
            entry.update({"set": "places", "team": variable.target, "to": int(value)})
        elif variable.kind == "beds":
            entry.update({"set": "beds", "unit": variable.target, "to": int(value)})
        else:
            entry.update({"set": "diversion_share", "pathway": variable.target, "to": value})
        dated.append(entry)
    if dated:
        existing = [c.model_dump(mode="json") for c in base.changes]
        changes["changes"] = existing + dated
    return changes


def candidate_scenario(
    space: Space,
    candidate: Candidate,
    name: str,
    of: Scenario | None = None,
    seed: int | None = None,
) -> Scenario:
    """The scenario of a candidate: the base (or ``of``) with its values, called ``name``."""
    scenario = of if of is not None else space.problem.base
    changes: dict[str, Any] = {"name": name, **candidate_changes(space, candidate)}
    if seed is not None:
        changes["seed"] = seed
    return derive(scenario, changes, "the optimised allocation", space.problem.file)
