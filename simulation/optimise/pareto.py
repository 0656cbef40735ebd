"""Several objectives: the Pareto set of allocations, each with its effect against today.

When the objective lists several KPIs (``objective.pareto``), no single allocation is
best: one cuts out-of-area bed days more, another waits. The search runs every feasible
allocation (a Pareto set is only as good as the allocations run, so a file whose
feasible set is too large to enumerate is refused) and keeps those that no other beats
on every KPI by its search means. Those, at most ``search.finalists`` (the best on the
first KPI first), are run again with ``selection.first_stage`` fresh replications each
on common random numbers with today's plan, and every reported value, the paired
differences against today's plan for each KPI and for total spend, comes from those
replications only. The choice among them is the board's: it weighs the KPIs, which the
tool does not do for it, so no allocation is written as recommended.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.core.safetext import write_csv
from simulation.optimise.evaluate import SPEND, Evaluations
from simulation.optimise.output import (
    allocation,
    allocation_words,
    budget_info,
    problem_info,
    search_info,
    term_label,
    write_search_files,
)
from simulation.optimise.problem import ADDITIVE_KPIS, OptimisationProblem
from simulation.optimise.search import SearchResult
from simulation.optimise.selection import paired_difference, pareto_front
from simulation.optimise.space import Candidate, Space
from simulation.results.catalogue import KPI_INFO
from simulation.store import optimisation as layout
from simulation.store.manifest import code_revision, package_version


def _terms(problem: OptimisationProblem) -> list[tuple[str, str]]:
    return [(t.kpi, t.pathway) for t in problem.spec.objective.terms]


def pareto_members(
    problem: OptimisationProblem,
    space: Space,
    search: SearchResult,
    evaluations: Evaluations,
) -> list[Candidate]:
    """The search's Pareto set (by search means), best on the first KPI first, capped."""
    candidates = list(search.records)
    index = [evaluations.measures.index(t) for t in _terms(problem)]
    values = evaluations.measure(
        "search", problem.search_seed, candidates, range(problem.spec.search.replications)
    )
    means = values[..., index].mean(axis=1)
    front = [candidates[i] for i in pareto_front(means)]
    order = {c: (float(means[candidates.index(c), 0]), space.cost(c)) for c in front}
    return sorted(front, key=lambda c: order[c])[: problem.spec.search.finalists]


def _unit(kpi: str) -> str:
    unit = KPI_INFO[kpi].unit
    return f"{unit} a year" if kpi in ADDITIVE_KPIS else unit


def write_pareto(
    problem: OptimisationProblem,
    space: Space,
    folder: Path,
    search: SearchResult,
    members: list[Candidate],
    cleaned: np.ndarray,
    measures: tuple[tuple[str, str], ...],
) -> None:
    """Write the results folder's files for a Pareto set (but the comparison)."""
    write_search_files(problem, space, folder, search, members, cleaned, measures, None)
    terms = _terms(problem)
    index = [measures.index(t) for t in terms]
    spend = cleaned[..., measures.index(SPEND)]
    today = len(members)
    rows = []
    described = []
    for i, candidate in enumerate(members):
        row: dict[str, Any] = {
            "candidate": space.key(candidate),
            "role": "pareto",
            **allocation(space, candidate),
            "cost_gbp_per_year": space.cost(candidate),
            "replications": cleaned.shape[1],
        }
        effects = []
        for (kpi, pathway), j in zip(terms, index, strict=True):
            diff = paired_difference(cleaned[i, :, j], cleaned[today, :, j])
            name = f"{kpi}:{pathway}"
            row |= {
                f"{name} mean": float(cleaned[i, :, j].mean()),
                f"{name} vs_today_mean": diff.mean,
                f"{name} vs_today_low": diff.low,
                f"{name} vs_today_high": diff.high,
            }
            effects.append(
                {
                    "label": term_label(kpi, pathway),
                    "unit": _unit(kpi),
                    "mean": float(cleaned[i, :, j].mean()),
                    "versus_today": {"mean": diff.mean, "low": diff.low, "high": diff.high},
                }
            )
        money = paired_difference(spend[i], spend[today])
        row |= {
            "spend_vs_today_gbp_mean": money.mean,
            "spend_vs_today_gbp_low": money.low,
            "spend_vs_today_gbp_high": money.high,
        }
        rows.append(row)
        described.append(
            {
                "candidate": space.key(candidate),
                "allocation": allocation(space, candidate),
                "words": allocation_words(space, candidate),
                "cost_gbp_per_year": space.cost(candidate),
                "effects": effects,
                "spend_gbp": {"mean": money.mean, "low": money.low, "high": money.high},
            }
        )
    today_row: dict[str, Any] = {
        "candidate": space.key(()),
        "role": "today",
        **dict(zip(space.labels, problem.today, strict=True)),
        "cost_gbp_per_year": 0.0,
        "replications": cleaned.shape[1],
    }
    for (kpi, pathway), j in zip(terms, index, strict=True):
        today_row[f"{kpi}:{pathway} mean"] = float(cleaned[today, :, j].mean())
    rows.append(today_row)
    write_csv(pd.DataFrame(rows), folder / layout.SELECTION_TABLE)
    labels = [term_label(k, p) for k, p in terms]
    statement = (
        f"{len(members)} allocation{'s' if len(members) != 1 else ''} form the Pareto set: "
        f"for each, no other allocation run did at least as well on every one of "
        f"{', '.join(labels)} and better on one. Choosing among them means weighing these "
        "against each other, which is the board's decision."
    )
    info: dict[str, Any] = {
        **problem_info(problem),
        "objective": {
            "kind": "pareto",
            "label": "the Pareto set of " + ", ".join(labels),
            "unit": "",
            "terms": [
                {"label": t, "unit": _unit(k)} for t, (k, _) in zip(labels, terms, strict=True)
            ],
            "sense": "minimise",
        },
        "budget": budget_info(problem),
        "search": search_info(problem, search),
        "selection": {
            "procedure": "none: the Pareto set is reported whole, with paired differences "
            "against today's plan on fresh replications",
            "finalists": len(members),
            "replications": int(cleaned.shape[1]),
            "seed": problem.cleanup_seed,
        },
        "members": described,
        "today": {"allocation": dict(zip(space.labels, problem.today, strict=True))},
        "statement": statement,
        "not_considered": [
            "Values outside each variable's bounds, or between its steps.",
            "Anything the optimisation file does not list as a variable stays as in today's plan.",
            f"Only the financial years {', '.join(problem.years)} are judged.",
            "The Pareto set is judged on the search's replications; on the fresh ones a "
            "member may turn out no better than another on any KPI: see the intervals.",
        ],
        "recommended_file": None,
        "code": code_revision(),
        "version": package_version(),
    }
    (folder / layout.SELECTION).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
