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
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.core.problems import InputError
from simulation.experiment.comparison import run_comparison
from simulation.optimise.evaluate import EVALS, Evaluations, measures_of
from simulation.optimise.output import allocation_words, write_outputs
from simulation.optimise.pareto import pareto_members, write_pareto
from simulation.optimise.problem import OptimisationProblem, read_optimisation
from simulation.optimise.search import compass, enumerate_all
from simulation.optimise.selection import (
    SelectionResult,
    nelson_matejcik,
)
from simulation.optimise.space import Candidate, Space, build_space, candidate_scenario
from simulation.scenario.loading import derive, file_sha256, scenario_to_yaml
from simulation.store import optimisation as layout
from simulation.store.layout import MANIFEST
from simulation.store.lock import FolderBusy, FolderLock
from simulation.store.manifest import (
    code_fingerprint,
    code_revision,
    dependency_versions,
    package_version,
)
from simulation.store.staging import atomic_write, new_run_folder
from simulation.store.writer import write_comparison_files

STATE = "optimise.json"
SUFFIX = ".partial"
FORMAT = 1

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
    if objective.kind == "kpi":
        weights = np.ones(len(index))
    elif objective.kind == "pareto":  # the search's trace ranks by the first KPI
        weights = np.array([1.0] + [0.0] * (len(index) - 1))
    else:
        weights = np.array([float(t.gbp_per_unit or 0) for t in objective.terms])

    def value(m: np.ndarray) -> np.ndarray:
        return np.asarray(objective.sign * (m[..., index] @ weights))

    return value


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
    lock: FolderLock = field(compare=False)
    """The partial folder's lock, held from reserving (or reopening) it to the end of
    :meth:`run`: a second process resuming the same optimisation is refused."""

    def run(
        self,
        workers: int | None = None,
        cluster: str | None = None,
        progress: Progress | None = None,
    ) -> OptimisationResult:
        """Run what is not saved yet, write the results folder and return it."""
        try:
            return _execute(
                self.problem, self.space, self.staging, self.final, workers, cluster, progress
            )
        finally:
            self.lock.release()


def _lock(staging: Path) -> FolderLock:
    lock = FolderLock(staging)
    try:
        lock.acquire("optimising")
    except FolderBusy as exc:
        raise OptimisationError(str(exc)) from None
    return lock


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
    lock = _lock(staging)
    atomic_write(staging / STATE, json.dumps(_state(problem, command), indent=1).encode())
    return Pending(problem, space, staging, final, lock)


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
    lock = _lock(staging)
    try:
        return _reopen(results_dir, staging, final, lock)
    except BaseException:
        lock.release()
        raise


def _reopen(results_dir: str | Path, staging: Path, final: Path, lock: FolderLock) -> Pending:
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
    # Files of the results folder written before the interruption are written again.
    for written in staging.iterdir():
        if written.name not in (STATE, EVALS):
            if written.is_dir():
                shutil.rmtree(written)
            else:
                written.unlink()
    return Pending(problem, build_space(problem), staging, final, lock)


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
    stage_progress[0] = "clean-up"
    if spec.objective.kind == "pareto":
        members = pareto_members(problem, space, search, evaluations)
        reps = range(spec.selection.first_stage)
        cleaned = evaluations.measure("cleanup", problem.cleanup_seed, [*members, ()], reps)
        stage_progress[0] = "comparison"
        write_pareto(problem, space, staging, search, members, cleaned, measures)
        shown = [(f"pareto_{i}", c, "member") for i, c in enumerate(members[:3], start=1)]
        replications = len(reps)
    else:
        # Ties (allocations whose extra places are never used give identical results
        # under common random numbers) go to the cheaper allocation.
        ranked = sorted(search.records, key=lambda c: (search.records[c].mean, space.cost(c)))
        finalists = ranked[: spec.search.finalists]
        cleanup_cache: dict[range, np.ndarray] = {}

        def cleanup(indices: Any, replications: range) -> np.ndarray:
            chosen = [finalists[i] for i in indices]
            m = evaluations.measure("cleanup", problem.cleanup_seed, [*chosen, ()], replications)
            cleanup_cache[replications] = m
            return np.asarray(objective(m[:-1]))

        delta = float(spec.selection.delta or 0.0)
        if len(finalists) >= 2:
            selection = nelson_matejcik(
                cleanup,
                len(finalists),
                delta,
                spec.selection.confidence,
                spec.selection.first_stage,
                spec.selection.max_replications,
            )
        else:
            selection = _single(cleanup, spec.selection.first_stage, delta)
        cleaned = np.concatenate(
            [cleanup_cache[r] for r in sorted(cleanup_cache, key=lambda r: r.start)], axis=1
        )
        stage_progress[0] = "comparison"
        write_outputs(
            problem, space, staging, search, finalists, selection, cleaned, measures, objective
        )
        shown = [("recommended", finalists[selection.chosen], "recommended")]
        if selection.runner_up != selection.chosen:
            shown.append(("runner_up", finalists[selection.runner_up], "runner-up"))
        replications = selection.replications
    comparison_names = _write_comparison(
        problem, space, staging, shown, replications, workers, cluster, report
    )
    info = json.loads((staging / layout.SELECTION).read_text(encoding="utf-8"))
    info["comparison_scenarios"] = comparison_names
    info["wall_seconds"] = round(time.perf_counter() - started, 1)
    info["evaluations"] = {"run": evaluations.run, "reused": evaluations.reused}
    (staging / layout.SELECTION).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    state = json.loads((staging / STATE).read_text(encoding="utf-8"))
    manifest = _manifest(problem, state, info, workers, cluster)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(staging / EVALS, ignore_errors=True)
    (staging / STATE).unlink()
    final.rmdir()
    staging.rename(final)
    return OptimisationResult(final, info, evaluations.run, evaluations.reused)


def _manifest(
    problem: OptimisationProblem,
    state: dict[str, Any],
    info: dict[str, Any],
    workers: int | None,
    cluster: str | None,
) -> dict[str, Any]:
    """Everything needed to reproduce the optimisation and trace its numbers."""
    versions = dependency_versions()
    return {
        "package": "pathways",
        "kind": "optimisation",
        "version": package_version(),
        "code": code_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": versions,
        "optimisation_file": str(Path(problem.file).resolve()),
        "optimisation_sha256": file_sha256(problem.file),
        "base_file": str(Path(problem.base_file).resolve()),
        "base_sha256": file_sha256(problem.base_file),
        "search_seed": problem.search_seed,
        "cleanup_seed": problem.cleanup_seed,
        "workers": workers,
        "cluster": cluster,
        "wall_seconds": info["wall_seconds"],
        "evaluations": info["evaluations"],
        "started_utc": state.get("started_utc"),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": state.get("command"),
    }


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


def _write_comparison(
    problem: OptimisationProblem,
    space: Space,
    folder: Path,
    shown: list[tuple[str, Candidate, str]],
    replications: int,
    workers: int | None,
    cluster: str | None,
    progress: Callable[[int, int], None],
) -> list[str]:
    """Run today's plan and the allocations shown over the clean-up replications.

    ``shown`` lists (scenario name, candidate, what it is). Replication ``r`` of each is
    the clean-up's replication ``r`` (the same scenario, seed and replication number),
    so the board report shows the clean-up's numbers.
    """
    seed = problem.cleanup_seed
    base = derive(
        problem.base,
        {
            "name": "today",
            "description": f"Today's plan ({problem.base.name}), as the optimisation ran it.",
            "seed": seed,
            "replications": replications,
        },
        "the clean-up",
    )
    others = []
    for name, candidate, what in shown:
        scenario = candidate_scenario(space, candidate, name, seed=seed)
        words = f"The {what} allocation: {allocation_words(space, candidate)}."
        others.append(derive(scenario, {"description": words}, "the clean-up"))
    result = run_comparison(base, others, replications, workers, progress, cluster)
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
