"""An optimisation's results folder: its file names, and reading it back.

``pathways optimise`` writes ``<root>/optimise-<name>/<timestamp>/`` holding:

- ``optimisation.yaml``, the optimisation file as given, and ``manifest.json``;
- ``candidates.csv``, every allocation run in the search, with its cost, its search
  mean and standard error, and whether it was a finalist; ``candidates/<key>.yaml``,
  each one's scenario;
- ``trace.csv``, the search step by step; ``search_values.csv`` and
  ``cleanup_values.csv``, every replication's measures in each stage;
- ``selection.csv`` and ``selection.json``, the clean-up's statistics: each finalist's
  mean and simultaneous interval against the best of the others, the paired differences
  against today's plan and the runner-up, and the sentence that states the result;
- ``recommended.yaml``, the chosen allocation as an ordinary scenario file;
- ``comparison/``, an ordinary comparison folder of today's plan, the chosen allocation
  and the runner-up over the clean-up's replications, from which the board report is
  drawn.

This module names those files once and reads the folder into plain data for the
report; like the rest of the store's reader it imports nothing from the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.store.reader import NotAResultsFolder

PROBLEM_FILE = "optimisation.yaml"
CANDIDATES = "candidates.csv"
CANDIDATE_FOLDER = "candidates"
TRACE = "trace.csv"
SEARCH_VALUES = "search_values.csv"
CLEANUP_VALUES = "cleanup_values.csv"
SELECTION_TABLE = "selection.csv"
SELECTION = "selection.json"
RECOMMENDED = "recommended.yaml"
COMPARISON_FOLDER = "comparison"


def is_optimisation_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``pathways optimise``."""
    return (Path(path) / SELECTION).is_file()


@dataclass(frozen=True)
class OptimisationFolder:
    """An optimisation's results, read back."""

    path: Path
    selection: dict[str, Any]
    table: pd.DataFrame
    """``selection.csv``: one row per finalist and for today's plan."""
    candidates: pd.DataFrame

    @property
    def comparison(self) -> Path:
        """The comparison folder of today's plan, the choice and the runner-up."""
        return self.path / COMPARISON_FOLDER


def read_optimisation_folder(path: str | Path) -> OptimisationFolder:
    """Read an optimisation folder; :class:`NotAResultsFolder` if it is not a whole one."""
    folder = Path(path)
    if not is_optimisation_folder(folder):
        raise NotAResultsFolder(f"{folder} is not an optimisation folder (it has no {SELECTION})")
    try:
        selection = json.loads((folder / SELECTION).read_text(encoding="utf-8"))
        table = pd.read_csv(folder / SELECTION_TABLE, keep_default_na=False, na_values=[""])
        candidates = pd.read_csv(folder / CANDIDATES, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise NotAResultsFolder(
            f"{folder} is an incomplete optimisation folder ({exc.__class__.__name__}: {exc})"
        ) from exc
    if not isinstance(selection, dict):
        raise NotAResultsFolder(f"{folder / SELECTION} does not hold an optimisation's selection")
    return OptimisationFolder(folder, selection, table, candidates)
