"""An optimisation from file to results folder: search, clean-up, and what is written.

:func:`optimise` reads and checks an optimisation file, lists its feasible allocations,
searches them (:mod:`simulation.optimise.search`) with common random numbers, re-runs
the best-looking finalists with fresh common random numbers and chooses among them by
procedure NM (:mod:`simulation.optimise.selection`), then writes the results folder
(:mod:`simulation.store.optimisation`): every candidate's scenario and measures, the
search trace, the selection statistics, the recommended allocation as an ordinary
scenario file, and a comparison folder of today's plan, the choice and the runner-up
over the clean-up's replications for the board report. Reported values come from the
clean-up replications only; the search's are kept for the trace.

The work is done in the hidden ``.<timestamp>.partial/`` folder beside the final one,
every evaluation saved as it finishes; :func:`resume` finishes an interrupted
optimisation from its saved evaluations and reaches the same selection, because every
decision depends only on results fixed by (scenario, seed, replication).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.core.problems import InputError
from simulation.experiment.comparison import run_comparison
from simulation.optimise.evaluate import SPEND, Evaluations, measures_of
from simulation.optimise.problem import ADDITIVE_KPIS, OptimisationProblem, read_optimisation
from simulation.optimise.search import SearchResult, compass, enumerate_all
from simulation.optimise.selection import (
    PairedDifference,
    SelectionResult,
    nelson_matejcik,
    paired_difference,
)
from simulation.optimise.space import Candidate, Space, build_space, candidate_scenario
from simulation.results.catalogue import ALL, KPI_INFO
from simulation.scenario.loading import derive, scenario_to_yaml
from simulation.scenario.schema import PATHWAY_LABELS
from simulation.store import optimisation as layout
from simulation.store.manifest import code_fingerprint, code_revision, package_version
from simulation.store.staging import atomic_write, new_run_folder
from simulation.store.writer import write_comparison_files

STATE = "optimise.json"
SUFFIX = ".partial"
FORMAT = 1
PROCEDURE = (
    "procedure NM of Nelson and Matejcik (1995), Management Science 41(12):1935-1945, "
    "with multiple comparisons with the best"
)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` as evaluations finish."""


class OptimisationError(Exception):
    """An optimisation that cannot be resumed (one sentence, for the command line)."""


@dataclass(frozen=True)
class OptimisationResult:
    """Where an optimisation was written and what it chose."""

    folder: Path
    selection: dict[str, Any]
    evaluations_run: int
    evaluations_reused: int


# -- the objective ------------------------------------------------------------------


def _objective(
    problem: OptimisationProblem, measures: tuple[tuple[str, str], ...]
) -> Callable[[np.ndarray], np.ndarray]:
    """The function from measures (..., measure) to the objective, smaller is better."""
    objective = problem.spec.objective
    index = [measures.index((t.kpi, t.pathway)) for t in objective.terms]
    weights = np.array(
        [1.0 if objective.kind == "kpi" else float(t.gbp_per_unit or 0) for t in objective.terms]
    )

    def value(m: np.ndarray) -> np.ndarray:
        return np.asarray(objective.sign * (m[..., index] @ weights))

    return value


def _term_label(kpi: str, pathway: str) -> str:
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
        return f"{verb} {_term_label(term.kpi, term.pathway)}{per_year}", f"{unit}{per_year}"
    parts = ", ".join(
        f"{_term_label(t.kpi, t.pathway)} at £{float(t.gbp_per_unit or 0):,.0f}" for t in terms
    )
    return f"{verb} weighted sum in pounds a year of {parts}", "£ a year"


# -- folders --------------------------------------------------------------------------


def _state(problem: OptimisationProblem, command: list[str] | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "code": code_fingerprint(),
        "version": package_version(),
        "file": str(Path(problem.file).resolve()),
        "text": Path(problem.file).read_text(encoding="utf-8"),
        "base": scenario_to_yaml(problem.base),
        "command": command,
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


@dataclass(frozen=True)
class Pending:
    """An optimisation whose partial folder exists, ready to run (or to finish)."""

    problem: OptimisationProblem
    space: Space
    staging: Path
    final: Path

    def run(
        self,
        workers: int | None = None,
        cluster: str | None = None,
        progress: Progress | None = None,
    ) -> OptimisationResult:
        """Run what is not saved yet, write the results folder and return it."""
        return _execute(
            self.problem, self.space, self.staging, self.final, workers, cluster, progress
        )


def start(
    path: str | Path, root: str | Path = "results", command: list[str] | None = None
) -> Pending:
    """Check an optimisation file and reserve its folder; nothing runs yet.

    Raises :class:`~simulation.core.problems.InputError` for a bad or infeasible file
    before anything is written.
    """
    problem = read_optimisation(path)
    space = build_space(problem)
    final = new_run_folder(Path(root), f"optimise-{problem.spec.name}")
    staging = final.parent / f".{final.name}{SUFFIX}"
    staging.mkdir()
    atomic_write(staging / STATE, json.dumps(_state(problem, command), indent=1).encode())
    return Pending(problem, space, staging, final)


def optimise(
    path: str | Path,
    root: str | Path = "results",
    workers: int | None = None,
    cluster: str | None = None,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> OptimisationResult:
    """Run the optimisation a file describes and write its results folder.

    The folder is ``<root>/optimise-<name>/<timestamp>/``; until it is complete the work
    is in the hidden ``.<timestamp>.partial/`` beside it, which :func:`resume` finishes.
    Raises :class:`~simulation.core.problems.InputError` for a bad or infeasible file
    before anything is written.
    """
    return start(path, root, command).run(workers, cluster, progress)


def partial_folder(results_dir: str | Path) -> tuple[Path, Path]:
    """The partial and final folders of an interrupted optimisation named either way."""
    given = Path(results_dir)
    if given.name.startswith(".") and given.name.endswith(SUFFIX):
        return given, given.parent / given.name[1 : -len(SUFFIX)]
    return given.parent / f".{given.name}{SUFFIX}", given


def reopen(results_dir: str | Path) -> Pending:
    """An interrupted optimisation, checked for resuming.

    Raises :class:`OptimisationError` when the folder is not an interrupted optimisation,
    was started by other code, or its file or base scenario has changed since.
    """
    staging, final = partial_folder(results_dir)
    if not (staging / STATE).is_file():
        if layout.is_optimisation_folder(final):
            raise OptimisationError(f"{final} is a finished optimisation: nothing to resume")
        raise OptimisationError(
            f"{results_dir} is not an interrupted optimisation: there is no {staging.name} "
            "beside it (give the folder the interrupted optimisation named)"
        )
    try:
        state = json.loads((staging / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OptimisationError(f"{results_dir} cannot be resumed: {STATE} is unreadable") from exc
    if state.get("format") != FORMAT or state.get("code") != code_fingerprint():
        raise OptimisationError(
            f"{results_dir} was started by a different version of the code: its evaluations "
            "would not match new ones; start a new optimisation"
        )
    file = Path(state["file"])
    if not file.is_file() or file.read_text(encoding="utf-8") != state["text"]:
        raise OptimisationError(
            f"{results_dir} was started from {file}, which has changed or gone since; "
            "start a new optimisation"
        )
    problem = read_optimisation(file)
    if scenario_to_yaml(problem.base) != state["base"]:
        raise OptimisationError(
            f"the base scenario of {file} has changed since {results_dir} was started; "
            "start a new optimisation"
        )
    for leftover in staging.glob("evals/*/*/.tmp-*"):
        leftover.unlink()
    return Pending(problem, build_space(problem), staging, final)


def resume(
    results_dir: str | Path,
    workers: int | None = None,
    cluster: str | None = None,
    progress: Progress | None = None,
) -> OptimisationResult:
    """Finish an interrupted optimisation; the evaluations it saved are not run again."""
    return reopen(results_dir).run(workers, cluster, progress)


# -- the work -------------------------------------------------------------------------


def _execute(
    problem: OptimisationProblem,
    space: Space,
    staging: Path,
    final: Path,
    workers: int | None,
    cluster: str | None,
    progress: Progress | None,
) -> OptimisationResult:
    started = time.perf_counter()
    spec = problem.spec
    measures = measures_of(problem)
    objective = _objective(problem, measures)
    stage_progress: list[str] = ["search"]

    def report(done: int, total: int) -> None:
        if progress:
            progress(stage_progress[0], done, total)

    evaluations = Evaluations(staging, space, measures, workers, cluster, report)

    def search_values(candidates: list[Candidate] | Any, replications: range) -> np.ndarray:
        m = evaluations.measure("search", problem.search_seed, list(candidates), replications)
        return np.asarray(objective(m))

    feasible = space.feasible
    if len(feasible) <= spec.search.enumerate_up_to:
        search = enumerate_all(feasible, search_values, spec.search.replications)
    else:
        today = space.today_candidate()
        start = [today] if today is not None and space.is_feasible(today) else []
        search = compass(
            feasible,
            search_values,
            spec.search.replications,
            spec.search.budget_replications,
            spec.search.samples_per_iteration,
            problem.search_seed,
            start,
        )
    # Ties (allocations whose extra places are never used give identical results under
    # common random numbers) go to the cheaper allocation.
    ranked = sorted(search.records, key=lambda c: (search.records[c].mean, space.cost(c)))
    finalists = ranked[: spec.search.finalists]
    stage_progress[0] = "clean-up"
    cleanup_cache: dict[range, np.ndarray] = {}

    def cleanup(indices: Any, replications: range) -> np.ndarray:
        chosen = [finalists[i] for i in indices]
        m = evaluations.measure("cleanup", problem.cleanup_seed, [*chosen, ()], replications)
        cleanup_cache[replications] = m
        return np.asarray(objective(m[:-1]))

    if len(finalists) >= 2:
        selection = nelson_matejcik(
            cleanup,
            len(finalists),
            spec.selection.delta,
            spec.selection.confidence,
            spec.selection.first_stage,
            spec.selection.max_replications,
        )
    else:
        selection = _single(cleanup, spec.selection.first_stage, spec.selection.delta)
    cleaned = np.concatenate(
        [cleanup_cache[r] for r in sorted(cleanup_cache, key=lambda r: r.start)], axis=1
    )
    stage_progress[0] = "comparison"
    _write(problem, space, staging, search, finalists, selection, cleaned, measures, objective)
    comparison_names = _write_comparison(
        problem, space, staging, finalists, selection, workers, cluster, report
    )
    info = json.loads((staging / layout.SELECTION).read_text(encoding="utf-8"))
    info["comparison_scenarios"] = comparison_names
    info["wall_seconds"] = round(time.perf_counter() - started, 1)
    info["evaluations"] = {"run": evaluations.run, "reused": evaluations.reused}
    (staging / layout.SELECTION).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(staging / "evals", ignore_errors=True)
    (staging / STATE).unlink()
    final.rmdir()
    staging.rename(final)
    return OptimisationResult(final, info, evaluations.run, evaluations.reused)


def _single(cleanup: Any, n: int, delta: float) -> SelectionResult:
    """The one feasible allocation: nothing to select, its clean-up values for the record."""
    values = np.asarray(cleanup([0], range(n)), dtype=float)
    mean = float(values.mean())
    return SelectionResult(
        finalists=(0,),
        means=(mean,),
        chosen=0,
        runner_up=0,
        first_stage=n,
        replications=n,
        required=n,
        constant=float("nan"),
        variance=float("nan"),
        delta=delta,
        delta_achieved=delta,
        confidence=1.0,
        mcb_low=(0.0,),
        mcb_high=(0.0,),
        values=values,
    )


def _allocation(space: Space, candidate: Candidate) -> dict[str, float]:
    return dict(zip(space.labels, space.allocation(candidate), strict=True))


def _diff(d: PairedDifference) -> dict[str, float]:
    return {"mean": d.mean, "low": d.low, "high": d.high, "replications": d.replications}


def _write(
    problem: OptimisationProblem,
    space: Space,
    folder: Path,
    search: SearchResult,
    finalists: list[Candidate],
    selection: SelectionResult,
    cleaned: np.ndarray,
    measures: tuple[tuple[str, str], ...],
    objective: Any,
) -> None:
    """Write every file of the results folder but the comparison."""
    spec = problem.spec
    sign = spec.objective.sign
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
                **_allocation(space, candidate),
                "cost_gbp_per_year": space.cost(candidate),
                "places_added": space.places(candidate),
                "search_replications": record.n,
                "search_mean": sign * record.mean,
                "search_se": record.se,
                "finalist": candidate in finalists,
            }
        )
    pd.DataFrame(rows).to_csv(folder / layout.CANDIDATES, index=False)
    pd.DataFrame(
        [{**t, "candidate": space.key(t["candidate"])} for t in search.trace]  # type: ignore[arg-type]
    ).to_csv(folder / layout.TRACE, index=False)
    names = [f"{kpi}:{pathway}" for kpi, pathway in measures]
    search_rows = []
    for candidate, record in search.records.items():
        for r, value in enumerate(record.values):
            search_rows.append({"candidate": space.key(candidate), "replication": r,
                                "objective": sign * value})  # fmt: skip
    pd.DataFrame(search_rows).to_csv(folder / layout.SEARCH_VALUES, index=False)
    keys = [*[space.key(c) for c in finalists], space.key(())]
    clean_rows = []
    objective_values = np.asarray(objective(cleaned)) * sign
    for i, key in enumerate(keys):
        for r in range(cleaned.shape[1]):
            clean_rows.append(
                {"candidate": key, "replication": r, "objective": objective_values[i, r]}
                | dict(zip(names, cleaned[i, r], strict=True))
            )
    pd.DataFrame(clean_rows).to_csv(folder / layout.CLEANUP_VALUES, index=False)

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
                **_allocation(space, candidate),
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
    pd.DataFrame(table).to_csv(folder / layout.SELECTION_TABLE, index=False)

    label, unit = objective_label(problem)
    c, ru = finalists[chosen], finalists[runner]
    vs_today = paired_difference(obj[chosen], obj[today_index], confidence)
    vs_runner = paired_difference(obj[chosen], obj[runner], confidence)
    spend_today = paired_difference(spend[chosen], spend[today_index], confidence)
    spend_runner = paired_difference(spend[chosen], spend[runner], confidence)
    words = _allocation_words(space, c)
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
        "name": spec.name,
        "description": spec.description,
        "file": str(Path(problem.file).resolve()),
        "base_file": str(Path(problem.base_file).resolve()),
        "base_scenario": problem.base.name,
        "horizon_years": problem.base.horizon_years,
        "judged_years": list(problem.years),
        "takes_effect": (spec.takes_effect or problem.base.start_date).isoformat(),
        "objective": {
            "kind": spec.objective.kind,
            "label": label,
            "unit": unit,
            "sense": "maximise" if sign < 0 else "minimise",
        },
        "budget": {
            "unit": spec.budget.unit,
            "amount": spec.budget.amount,
            "spend": spec.budget.spend,
            "tolerance": spec.budget.tolerance,
        },
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
        "search": {
            "method": search.method,
            "feasible": search.feasible,
            "evaluated": len(search.records),
            "replications": search.replications,
            "replications_each": spec.search.replications,
            "stopped": search.stopped,
            "seed": problem.search_seed,
        },
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
            "allocation": _allocation(space, c),
            "words": words,
            "cost_gbp_per_year": space.cost(c),
            "mean": float(obj[chosen].mean()),
        },
        "runner_up": {
            "candidate": space.key(ru),
            "allocation": _allocation(space, ru),
            "words": _allocation_words(space, ru),
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


def _allocation_words(space: Space, candidate: Candidate) -> str:
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
    words = _allocation_words(space, candidate)
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


def _write_comparison(
    problem: OptimisationProblem,
    space: Space,
    folder: Path,
    finalists: list[Candidate],
    selection: SelectionResult,
    workers: int | None,
    cluster: str | None,
    progress: Callable[[int, int], None],
) -> list[str]:
    """Run today's plan, the choice and the runner-up over the clean-up replications.

    Replication ``r`` of each is the clean-up's replication ``r`` (the same scenario,
    seed and replication number), so the board report shows the clean-up's numbers.
    """
    seed = problem.cleanup_seed
    n = selection.replications
    base = derive(
        problem.base,
        {
            "name": "today",
            "description": f"Today's plan ({problem.base.name}), as the optimisation ran it.",
            "seed": seed,
            "replications": n,
        },
        "the clean-up",
    )
    others = []
    for name, index in (("recommended", selection.chosen), ("runner_up", selection.runner_up)):
        if name == "runner_up" and index == selection.chosen:
            continue
        candidate = finalists[index]
        scenario = candidate_scenario(space, candidate, name, seed=seed)
        words = f"The {name.replace('_', '-')} allocation: {_allocation_words(space, candidate)}."
        others.append(derive(scenario, {"description": words}, "the clean-up"))
    result = run_comparison(base, others, n, workers, progress, cluster)
    (folder / layout.COMPARISON_FOLDER).mkdir()
    write_comparison_files(
        result, folder / layout.COMPARISON_FOLDER, {base.name: problem.base_file}
    )
    return [base.name, *(s.name for s in others)]


def check(path: str | Path) -> tuple[OptimisationProblem, Space]:
    """Read an optimisation file and list its feasible allocations, or raise InputError."""
    problem = read_optimisation(path)
    return problem, build_space(problem)


__all__ = [
    "InputError",
    "OptimisationError",
    "OptimisationResult",
    "Pending",
    "check",
    "optimise",
    "reopen",
    "resume",
    "start",
]
