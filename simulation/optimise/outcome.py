"""The researcher's view of an optimisation: run one, or open one, and read its tables.

::

    import simulation as sim
    result = sim.optimise_budget("scenarios/optimise/reinvestment_split.yaml")
    print(result.statement)
    result.finalists                       # the clean-up's statistics, one row a finalist
    sim.open_results(result.comparison)    # today's plan, the choice and the runner-up

Everything comes from the results folder (:mod:`simulation.store.optimisation`), so a
folder written by ``pathways optimise`` opens the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.optimise.optimiser import Progress, optimise
from simulation.scenario.loading import load_scenario
from simulation.scenario.schema import Scenario
from simulation.store import optimisation as layout


@dataclass(frozen=True)
class OptimisationOutcome:
    """An optimisation's results folder, read as tables."""

    folder: Path
    selection: dict[str, Any]
    """Everything ``selection.json`` holds: the choice, the procedure, the intervals."""
    finalists: pd.DataFrame
    """``selection.csv``: each finalist (and today's plan) with its clean-up mean, its
    simultaneous interval against the best of the others and its paired differences."""
    candidates: pd.DataFrame
    """``candidates.csv``: every allocation the search ran."""
    trace: pd.DataFrame
    """``trace.csv``: the search step by step."""

    @property
    def statement(self) -> str:
        """The result in one sentence."""
        return str(self.selection["statement"])

    @property
    def comparison(self) -> Path:
        """The comparison folder: today's plan, the choice and the runner-up.

        Open it with :func:`simulation.open_results`.
        """
        return self.folder / layout.COMPARISON_FOLDER

    def recommended(self) -> Scenario:
        """The recommended allocation as a scenario (its file is ``recommended.yaml``)."""
        return load_scenario(self.folder / layout.RECOMMENDED)


def open_optimisation(folder: str | Path) -> OptimisationOutcome:
    """Open a folder written by ``pathways optimise`` or :func:`optimise_budget`."""
    read = layout.read_optimisation_folder(folder)
    trace = pd.read_csv(read.path / layout.TRACE)
    return OptimisationOutcome(read.path, read.selection, read.table, read.candidates, trace)


def optimise_budget(
    file: str | Path,
    root: str | Path = "results",
    workers: int | None = None,
    cluster: str | None = None,
    progress: Progress | None = None,
) -> OptimisationOutcome:
    """Run an optimisation file (as ``pathways optimise FILE``) and open its folder.

    ``workers`` and ``cluster`` are as for :func:`simulation.run`; the result does not
    depend on them. Raises :class:`~simulation.core.problems.InputError` for a bad or
    infeasible file, before anything runs.
    """
    result = optimise(file, root, workers, cluster, progress)
    return open_optimisation(result.folder)
