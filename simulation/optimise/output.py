"""What an optimisation writes: its tables, its selection in words, the recommended file.

:func:`write_outputs` writes every file of an optimisation's results folder but the
comparison (:mod:`simulation.store.optimisation` names them): every candidate's
scenario and search statistics, the search trace, each stage's values, the selection
statistics and sentence, and the recommended allocation as an ordinary scenario file.
Values are written in the objective's own sense (a maximised KPI as itself, not
negated). Allocations are described as a planner says them: each variable's value and
its change from today's plan.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.core.safetext import write_csv
from simulation.optimise.evaluate import SPEND
from simulation.optimise.problem import ADDITIVE_KPIS, OptimisationProblem
from simulation.optimise.search import SearchResult
from simulation.optimise.selection import PairedDifference, SelectionResult, paired_difference
from simulation.optimise.space import Candidate, Space, candidate_scenario
from simulation.results.catalogue import ALL, KPI_INFO
from simulation.scenario.loading import derive, scenario_to_yaml
from simulation.scenario.schema import PATHWAY_LABELS
from simulation.store import optimisation as layout
from simulation.store.manifest import code_revision, package_version

PROCEDURE = (
    "procedure NM of Nelson and Matejcik (1995), Management Science 41(12):1935-1945, "
    "with multiple comparisons with the best"
)


def term_label(kpi: str, pathway: str) -> str:
    """A KPI of the objective in words: ``out-of-area bed days (all pathways)``."""
    info = KPI_INFO[kpi]
    where = "all pathways" if pathway == ALL else PATHWAY_LABELS.get(pathway, pathway)
    return f"{info.label.lower()} ({where})"


def objective_label(problem: OptimisationProblem) -> tuple[str, str]:
    """The objective in words and its unit, as the report and the terminal print them."""
    objective = problem.spec.objective
    terms = objective.terms
    verb = "largest" if objective.sign < 0 else "smallest"
    if objective.kind == "kpi":
        term = terms[0]
        unit = KPI_INFO[term.kpi].unit
        unit = "£" if unit == "£" else unit
        per_year = " a year" if term.kpi in ADDITIVE_KPIS else ""
        return f"{verb} {term_label(term.kpi, term.pathway)}{per_year}", f"{unit}{per_year}"
    parts = ", ".join(
        f"{term_label(t.kpi, t.pathway)} at £{float(t.gbp_per_unit or 0):,.0f}" for t in terms
    )
    return f"{verb} weighted sum in pounds a year of {parts}", "£ a year"


def allocation(space: Space, candidate: Candidate) -> dict[str, float]:
    """Each variable's value at a candidate, by the variable's name."""
    return dict(zip(space.labels, space.allocation(candidate), strict=True))


def _diff(d: PairedDifference) -> dict[str, float]:
    return {"mean": d.mean, "low": d.low, "high": d.high, "replications": d.replications}


def write_search_files(
    problem: OptimisationProblem,
    space: Space,
    folder: Path,
    search: SearchResult,
    finalists: list[Candidate],
    cleaned: np.ndarray,
    measures: tuple[tuple[str, str], ...],
    objective: Callable[[np.ndarray], np.ndarray] | None,
) -> None:
    """Write the optimisation file's copy, the candidates, the trace and both stages' values.

    ``cleaned`` holds the clean-up's measures of the finalists and then today's plan
    (finalist, replication, measure); ``objective`` adds their objective (none for a
    Pareto set).
    """
    sign = problem.spec.objective.sign
    shutil.copyfile(problem.file, folder / layout.PROBLEM_FILE)
    (folder / layout.CANDIDATE_FOLDER).mkdir()
    rows = []
    for candidate in sorted(search.records, key=lambda c: (search.records[c].mean, space.cost(c))):
        record = search.records[candidate]
        key = space.key(candidate)
        scenario = candidate_scenario(space, candidate, key, seed=problem.search_seed)
        (folder / layout.CANDIDATE_FOLDER / f"{key}.yaml").write_text(
            scenario_to_yaml(scenario), encoding="utf-8"
        )
        rows.append(
            {
                "candidate": key,
                **allocation(space, candidate),
                "cost_gbp_per_year": space.cost(candidate),
                "places_added": space.places(candidate),
                "search_replications": record.n,
                "search_mean": sign * record.mean,
                "search_se": record.se,
                "finalist": candidate in finalists,
            }
        )
    write_csv(pd.DataFrame(rows), folder / layout.CANDIDATES)
    write_csv(
        pd.DataFrame(
            [{**t, "candidate": space.key(t["candidate"])} for t in search.trace]  # type: ignore[arg-type]
        ),
        folder / layout.TRACE,
    )
    names = [f"{kpi}:{pathway}" for kpi, pathway in measures]
    search_rows = []
    for candidate, record in search.records.items():
        for r, value in enumerate(record.values):
            search_rows.append({"candidate": space.key(candidate), "replication": r,
                                "objective": sign * value})  # fmt: skip
    write_csv(pd.DataFrame(search_rows), folder / layout.SEARCH_VALUES)
    keys = [*[space.key(c) for c in finalists], space.key(())]
    clean_rows = []
    objective_values = None if objective is None else np.asarray(objective(cleaned)) * sign
    for i, key in enumerate(keys):
        for r in range(cleaned.shape[1]):
            row: dict[str, Any] = {"candidate": key, "replication": r}
            if objective_values is not None:
                row["objective"] = objective_values[i, r]
            clean_rows.append(row | dict(zip(names, cleaned[i, r], strict=True)))
    write_csv(pd.DataFrame(clean_rows), folder / layout.CLEANUP_VALUES)


def write_outputs(
    problem: OptimisationProblem,
    space: Space,
    folder: Path,
    search: SearchResult,
    finalists: list[Candidate],
    selection: SelectionResult,
    cleaned: np.ndarray,
    measures: tuple[tuple[str, str], ...],
    objective: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Write every file of the results folder but the comparison (one objective)."""
    spec = problem.spec
    sign = spec.objective.sign
    write_search_files(problem, space, folder, search, finalists, cleaned, measures, objective)
    objective_values = np.asarray(objective(cleaned)) * sign
    spend = cleaned[..., measures.index(SPEND)]
    obj = objective_values  # natural units
    chosen, runner = selection.chosen, selection.runner_up
    today_index = len(finalists)
    confidence = 0.95
    table = []
    for i, candidate in enumerate(finalists):
        low, high = selection.mcb_low[i], selection.mcb_high[i]
        if sign < 0:
            low, high = -high, -low
        versus_today = paired_difference(obj[i], obj[today_index], confidence)
        spend_today = paired_difference(spend[i], spend[today_index], confidence)
        table.append(
            {
                "candidate": space.key(candidate),
                "role": "chosen" if i == chosen else ("runner_up" if i == runner else "finalist"),
                **allocation(space, candidate),
                "cost_gbp_per_year": space.cost(candidate),
                "mean": float(obj[i].mean()),
                "mcb_low": low,
                "mcb_high": high,
                "vs_today_mean": versus_today.mean,
                "vs_today_low": versus_today.low,
                "vs_today_high": versus_today.high,
                "spend_vs_today_gbp_mean": spend_today.mean,
                "spend_vs_today_gbp_low": spend_today.low,
                "spend_vs_today_gbp_high": spend_today.high,
                "replications": obj.shape[1],
            }
        )
    table.append(
        {
            "candidate": space.key(()),
            "role": "today",
            **dict(zip(space.labels, problem.today, strict=True)),
            "cost_gbp_per_year": 0.0,
            "mean": float(obj[today_index].mean()),
            "replications": obj.shape[1],
        }
    )
    order = {"chosen": 0, "runner_up": 1, "finalist": 2, "today": 3}
    table.sort(key=lambda row: (order[str(row["role"])], sign * float(row["mean"])))
    write_csv(pd.DataFrame(table), folder / layout.SELECTION_TABLE)

    label, unit = objective_label(problem)
    c, ru = finalists[chosen], finalists[runner]
    vs_today = paired_difference(obj[chosen], obj[today_index], confidence)
    vs_runner = paired_difference(obj[chosen], obj[runner], confidence)
    spend_today = paired_difference(spend[chosen], spend[today_index], confidence)
    spend_runner = paired_difference(spend[chosen], spend[runner], confidence)
    words = allocation_words(space, c)
    k = len(finalists)
    if k >= 2:
        statement = (
            f"Allocation {space.key(c)} ({words}) was chosen from {k} finalists; with "
            f"probability at least {selection.confidence:.0%} it is within "
            f"{_amount(selection.delta_achieved, unit)} of the best of them."
        )
    else:
        statement = f"Allocation {space.key(c)} ({words}) is the only feasible allocation."
    recommended = _recommended(problem, space, c, folder)
    info: dict[str, Any] = {
        **problem_info(problem),
        "objective": {
            "kind": spec.objective.kind,
            "label": label,
            "quantity": label.removeprefix("smallest ").removeprefix("largest "),
            "unit": unit,
            "sense": "maximise" if sign < 0 else "minimise",
        },
        "budget": budget_info(problem),
        "variables": [
            {
                "label": v.label,
                "kind": v.kind,
                "target": v.target,
                "today": t,
                "min": v.min,
                "max": v.max,
                "step": v.step,
                "cost_per_unit_gbp_per_year": cost,
            }
            for v, t, cost in zip(spec.variables, problem.today, problem.costs, strict=True)
        ],
        "constraints": [c_.model_dump(mode="json") for c_ in spec.constraints],
        "search": search_info(problem, search),
        "selection": {
            "procedure": PROCEDURE,
            "finalists": k,
            "confidence": selection.confidence,
            "delta": selection.delta,
            "delta_achieved": selection.delta_achieved,
            "first_stage": selection.first_stage,
            "replications": selection.replications,
            "required": selection.required,
            "capped": selection.capped,
            "constant": selection.constant,
            "variance": selection.variance,
            "seed": problem.cleanup_seed,
        },
        "chosen": {
            "candidate": space.key(c),
            "allocation": allocation(space, c),
            "words": words,
            "cost_gbp_per_year": space.cost(c),
            "mean": float(obj[chosen].mean()),
        },
        "runner_up": {
            "candidate": space.key(ru),
            "allocation": allocation(space, ru),
            "words": allocation_words(space, ru),
            "cost_gbp_per_year": space.cost(ru),
            "mean": float(obj[runner].mean()),
        },
        "today": {
            "allocation": dict(zip(space.labels, problem.today, strict=True)),
            "mean": float(obj[today_index].mean()),
        },
        "versus_today": {"objective": _diff(vs_today), "spend_gbp": _diff(spend_today)},
        "versus_runner_up": {"objective": _diff(vs_runner), "spend_gbp": _diff(spend_runner)},
        "statement": statement,
        "not_considered": _not_considered(problem, search),
        "recommended_file": recommended,
        "code": code_revision(),
        "version": package_version(),
    }
    (folder / layout.SELECTION).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


def _amount(value: float, unit: str) -> str:
    if unit.startswith("£"):
        return f"£{value:,.0f}{unit[1:]}"
    return f"{value:,.3g} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"


def _value_words(kind: str, value: float) -> str:
    if kind == "places":
        return f"{value:,.0f} places"
    if kind == "beds":
        return f"{value:,.0f} beds"
    return f"{value:.0%} of referrals diverted"


def allocation_words(space: Space, candidate: Candidate) -> str:
    """An allocation as a planner says it: each variable's value and change from today."""
    parts = []
    for variable, value, today in zip(
        space.problem.spec.variables, space.allocation(candidate), space.problem.today, strict=True
    ):
        change = value - today
        if variable.kind == "diversion_share":
            delta = f"{change * 100:+.0f} points" if change else "as today"
        else:
            delta = f"{change:+,.0f}" if change else "as today"
        parts.append(f"{variable.label} {_value_words(variable.kind, value)} ({delta})")
    return "; ".join(parts)


def _not_considered(problem: OptimisationProblem, search: SearchResult) -> list[str]:
    spec = problem.spec
    notes = [
        "Values outside each variable's bounds, or between its steps: "
        + "; ".join(
            f"{v.label} {v.min:g} to {v.max:g} in steps of {v.step:g}" for v in spec.variables
        )
        + ".",
        "Anything the optimisation file does not list as a variable (other teams, units, "
        "lengths of stay, step-down routes) stays as in today's plan.",
        f"Only the financial years {', '.join(problem.years)} are judged; later years, and "
        "effects beyond the horizon, are not.",
        "The selection guarantee is among the finalists: an allocation the search did not "
        "run, or ranked below them, may be better.",
    ]
    if search.method == "compass":
        notes.append(
            f"The search ran {len(search.records):,} of {search.feasible:,} feasible "
            f"allocations ({search.stopped})."
        )
    return notes


def _recommended(
    problem: OptimisationProblem, space: Space, candidate: Candidate, folder: Path
) -> str:
    """Write the chosen allocation as an ordinary scenario file; return its name."""
    base = problem.base_as_given
    scenario = candidate_scenario(space, candidate, f"{problem.spec.name}_recommended", of=base)
    words = allocation_words(space, candidate)
    scenario = derive(
        scenario,
        {"description": f"{base.description} Optimised allocation: {words}.".strip()},
        "the optimised allocation",
    )
    budget = scenario.money.budget_from
    if budget is not None and not Path(budget).is_absolute():
        absolute = str((Path(problem.base_file).parent / budget).resolve())
        scenario = derive(scenario, {"money.budget_from": absolute}, "the optimised allocation")
    header = (
        f"# The allocation chosen by `pathways optimise` from {Path(problem.file).name}:\n"
        f"#   {words}\n"
        f"# Today's plan is {Path(problem.base_file).name}; run this file with `pathways run`,\n"
        "# or compare it with today's plan with `pathways compare`.\n"
    )
    (folder / layout.RECOMMENDED).write_text(header + scenario_to_yaml(scenario), encoding="utf-8")
    return layout.RECOMMENDED


def problem_info(problem: OptimisationProblem) -> dict[str, Any]:
    """What an optimisation folder's manifest says of the file it ran: names, files, years."""
    spec = problem.spec
    return {
        "name": spec.name,
        "description": spec.description,
        "file": str(Path(problem.file).resolve()),
        "base_file": str(Path(problem.base_file).resolve()),
        "base_scenario": problem.base.name,
        "horizon_years": problem.base.horizon_years,
        "judged_years": list(problem.years),
        "takes_effect": (spec.takes_effect or problem.base.start_date).isoformat(),
    }


def budget_info(problem: OptimisationProblem) -> dict[str, Any]:
    """The budget as the manifest records it."""
    budget = problem.spec.budget
    return {
        "unit": budget.unit,
        "amount": budget.amount,
        "spend": budget.spend,
        "tolerance": budget.tolerance,
    }


def search_info(problem: OptimisationProblem, search: SearchResult) -> dict[str, Any]:
    """The search as the manifest records it: method, reach, replications and seed."""
    return {
        "method": search.method,
        "feasible": search.feasible,
        "evaluated": len(search.records),
        "replications": search.replications,
        "replications_each": problem.spec.search.replications,
        "stopped": search.stopped,
        "seed": problem.search_seed,
    }
