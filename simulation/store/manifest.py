"""Results folders: every number traceable to its scenario, seed and code version.

A run writes ``<root>/<scenario>/<timestamp>/`` holding the resolved scenario, a
``manifest.json`` (versions of the package, Python and dependencies, seed, replications,
code revision, wall time, the scenario file's SHA-256), per-replication KPIs (CSV and
parquet), the summary with confidence intervals, and the monthly series. The folder is
written under a hidden temporary name and renamed into place only when complete, so a
reader never sees half a result; an existing folder is never overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.experiment.comparison import ComparisonResult
from simulation.experiment.experiment import ExperimentResult
from simulation.scenario.inheritance import source_files
from simulation.scenario.loading import file_sha256
from simulation.scenario.schema import Scenario

DEPENDENCIES = ("simpy", "numpy", "scipy", "pandas", "pydantic", "pyyaml", "pyarrow", "matplotlib")


def package_version() -> str:
    """Installed version of this package."""
    try:
        return metadata.version("pathways")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def code_revision() -> dict[str, Any]:
    """Git revision of the code that ran, and whether the work tree had changes."""
    here = Path(__file__).resolve().parent
    try:
        revision = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "modified": None}
    return {"revision": revision, "modified": bool(dirty)}


def _sources(scenario_file: str | Path | None) -> list[dict[str, str | None]]:
    """Absolute path and SHA-256 of every file the scenario was built from."""
    if not scenario_file:
        return []
    out: list[dict[str, str | None]] = []
    for path in source_files(scenario_file):
        digest = file_sha256(path) if path.is_file() else None
        out.append({"path": str(path), "sha256": digest})
    return out


@dataclass(frozen=True)
class RunTally:
    """What a run's manifest counts: replications, model events, wall time and workers."""

    replications: int
    events_processed: int
    wall_seconds: float
    workers: int


def run_manifest(
    scenario: Scenario,
    tally: RunTally,
    scenario_file: str | Path | None,
    command: list[str] | None,
) -> dict[str, Any]:
    """Everything needed to reproduce a run and trace its numbers."""
    versions: dict[str, str | None] = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "package": "pathways",
        "version": package_version(),
        "code": code_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": versions,
        "scenario": scenario.name,
        "scenario_file": str(scenario_file) if scenario_file else None,
        "scenario_sha256": file_sha256(scenario_file) if scenario_file else None,
        "scenario_sources": _sources(scenario_file),
        "seed": scenario.seed,
        "replications": tally.replications,
        "start_date": scenario.start_date.isoformat(),
        "horizon_years": scenario.horizon_years,
        "warmup_days": scenario.warmup_days,
        "workers": tally.workers,
        "wall_seconds": round(tally.wall_seconds, 3),
        "events_processed": tally.events_processed,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
    }


def new_run_folder(root: Path, scenario_name: str) -> Path:
    """Reserve a fresh, empty folder name ``<root>/<scenario>/<timestamp>``.

    The timestamp is local time to the second; a second run in the same second gets a
    ``-2`` suffix (and so on). ``mkdir`` is atomic, so two runs never share a folder.
    """
    parent = root / scenario_name
    parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    for attempt in range(1, 1000):
        name = stamp if attempt == 1 else f"{stamp}-{attempt}"
        candidate = parent / name
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"could not find a free results folder name under {parent}")


def write_run_files(
    result: ExperimentResult,
    folder: Path,
    scenario_file: str | Path | None,
    command: list[str] | None,
) -> None:
    """Write one scenario's files into an existing folder.

    The replications held in memory go through the same writer as a streamed run's
    saved replications (:mod:`simulation.store.writer`), so both folders are alike.
    """
    from simulation.store.writer import write_streamed_run  # it builds on this module

    write_streamed_run(
        result.replications,
        folder,
        result.scenario,
        keep_events=any(r.events is not None for r in result.replications),
        scenario_file=scenario_file,
        command=command,
        wall_seconds=result.wall_seconds,
        workers=result.workers,
    )


class StagedFolder:
    """A hidden staging folder that becomes ``root/name/<timestamp>`` only on success.

    Use as ``with StagedFolder(root, name) as staging: ...``; afterwards ``.final`` is
    the folder's path. On any failure the staging folder is removed and nothing appears
    under the final name; earlier results are never touched.
    """

    def __init__(self, root: Path, name: str):
        self.final = new_run_folder(root, name)
        try:
            staging = tempfile.mkdtemp(prefix=f".{self.final.name}.", dir=self.final.parent)
        except BaseException:  # a full disk, say: leave no empty folder that looks like a run
            with contextlib.suppress(OSError):
                self.final.rmdir()
            raise
        self.staging = Path(staging)

    def __enter__(self) -> Path:
        return self.staging

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            # Renaming onto the reserved, empty folder replaces it in one step, so the name
            # is never free for a run starting in the same second to take in between.
            try:
                os.replace(self.staging, self.final)
            except OSError:  # a system that cannot rename onto a folder
                self.final.rmdir()
                os.replace(self.staging, self.final)
            return
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.final.rmdir()


def write_results(
    result: ExperimentResult,
    root: str | Path = "results",
    scenario_file: str | Path | None = None,
    command: list[str] | None = None,
) -> Path:
    """Write a run's results folder and return its path."""
    staged = StagedFolder(Path(root), result.scenario.name)
    with staged as folder:
        write_run_files(result, folder, scenario_file, command)
    return staged.final


def read_summary(folder: str | Path) -> pd.DataFrame:
    """Read a results folder's summary table."""
    return pd.read_csv(Path(folder) / "summary.csv", keep_default_na=False, na_values=[""])


def write_comparison(
    result: ComparisonResult,
    root: str | Path = "results",
    scenario_files: dict[str, str | Path] | None = None,
    command: list[str] | None = None,
) -> Path:
    """Write a comparison: one sub-folder per scenario, the comparison table and notes."""
    staged = StagedFolder(Path(root), f"compare-{result.base.scenario.name}")
    with staged as folder:
        write_comparison_files(result, folder, scenario_files, command)
    return staged.final


def write_comparison_files(
    result: ComparisonResult,
    folder: Path,
    scenario_files: Mapping[str, str | Path | None] | None = None,
    command: list[str] | None = None,
) -> None:
    """Write a comparison's files into an existing folder, as a streamed comparison does."""
    from simulation.store.writer import write_streamed_comparison  # it builds on this module

    runs = [result.base, *result.alternatives]
    write_streamed_comparison(
        zip(*(run.replications for run in runs), strict=True),
        folder,
        [run.scenario for run in runs],
        keep_events=any(r.events is not None for run in runs for r in run.replications),
        scenario_files=scenario_files,
        command=command,
        wall_seconds=result.base.wall_seconds,
        workers=result.base.workers,
    )


def write_comparison_table(folder: Path, table: pd.DataFrame, notes: Mapping[str, str]) -> None:
    """Write ``comparison.csv`` and ``comparison_notes.txt``."""
    table.to_csv(folder / "comparison.csv", index=False)
    text = "".join(f"{name}: {note}\n" for name, note in notes.items())
    (folder / "comparison_notes.txt").write_text(text)


def comparison_manifest(
    base: Scenario,
    alternatives: list[str],
    replications: int,
    notes: Mapping[str, str],
    command: list[str] | None,
) -> dict[str, Any]:
    """The manifest of a comparison folder (each scenario's own is in its sub-folder)."""
    return {
        "base": base.name,
        "alternatives": alternatives,
        "seed": base.seed,
        "replications": replications,
        "notes": dict(notes),
        "version": package_version(),
        "code": code_revision(),
        "command": command,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


# -- reading a folder back ------------------------------------------------------------

_TEXT = {c: str for c in ("pathway", "service", "unit", "place", "period", "kpi", "resource")}


@dataclass(frozen=True)
class SavedRun:
    """One scenario's tables as a run folder holds them (see :func:`read_saved`)."""

    name: str
    path: Path
    manifest: dict[str, Any]
    scenario_yaml: str
    kpis: pd.DataFrame
    summary: pd.DataFrame
    monthly: pd.DataFrame
    ledger: pd.DataFrame | None
    ledger_summary: pd.DataFrame | None
    events: pd.DataFrame | None


@dataclass(frozen=True)
class SavedResults:
    """A run folder, or a comparison folder with one run per scenario (base first)."""

    path: Path
    manifest: dict[str, Any]
    runs: list[SavedRun]
    comparison: pd.DataFrame | None
    notes: dict[str, str]


def _table(folder: Path, stem: str, required: bool = True) -> pd.DataFrame | None:
    """Read ``stem.parquet`` if present, else ``stem.csv`` (names stay text: no "NA")."""
    parquet, csv = folder / f"{stem}.parquet", folder / f"{stem}.csv"
    if parquet.is_file():
        return pd.read_parquet(parquet)
    if csv.is_file():
        return pd.read_csv(csv, keep_default_na=False, na_values=[""], dtype=_TEXT)
    if required:
        raise FileNotFoundError(f"{folder} is not a complete results folder: it has no {stem}.csv")
    return None


def read_saved_run(folder: str | Path) -> SavedRun:
    """Read the tables of a run folder that :func:`write_results` (or ``pathways run``) wrote."""
    folder = Path(folder)
    manifest_file = folder / "manifest.json"
    if not manifest_file.is_file():
        raise FileNotFoundError(f"{folder} is not a results folder: it has no manifest.json")
    info = json.loads(manifest_file.read_text(encoding="utf-8"))
    kpis, summary, monthly = (_table(folder, stem) for stem in ("kpis", "summary", "monthly"))
    assert kpis is not None and summary is not None and monthly is not None
    scenario_file = folder / "scenario.yaml"
    return SavedRun(
        name=str(info.get("scenario") or folder.name),
        path=folder,
        manifest=info,
        scenario_yaml=scenario_file.read_text(encoding="utf-8") if scenario_file.is_file() else "",
        kpis=kpis,
        summary=summary,
        monthly=monthly,
        ledger=_table(folder, "ledger", required=False),
        ledger_summary=_table(folder, "ledger_summary", required=False),
        events=_table(folder, "events", required=False),
    )


def read_saved(folder: str | Path) -> SavedResults:
    """Read a folder written by ``pathways run`` or ``pathways compare`` (or ``.save()``).

    Raises :class:`FileNotFoundError` with one sentence if the folder is neither.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give a results folder")
    comparison = folder / "comparison.csv"
    if not comparison.is_file():
        run = read_saved_run(folder)
        return SavedResults(folder, run.manifest, [run], None, {})
    info = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    names = [str(info["base"]), *(str(a) for a in info.get("alternatives", []))]
    notes = {str(k): str(v) for k, v in (info.get("notes") or {}).items()}
    table = pd.read_csv(comparison, keep_default_na=False, na_values=[""], dtype=_TEXT)
    runs = [read_saved_run(folder / name) for name in names]
    return SavedResults(folder, info, runs, table, notes)


def copy_saved(saved: SavedResults, root: str | Path = "results") -> Path:
    """Copy a results folder that was read back to a new ``<root>/<name>/<timestamp>/``."""
    names = [run.name for run in saved.runs]
    name = names[0] if saved.comparison is None else f"compare-{names[0]}"
    staged = StagedFolder(Path(root), name)
    with staged as folder:
        shutil.copytree(saved.path, folder, dirs_exist_ok=True)
    return staged.final
