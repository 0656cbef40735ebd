"""The manifest: every number in a results folder traceable to what produced it.

A run folder's ``manifest.json`` holds the versions of the package, Python and the
dependencies, the code revision, the seed, replications, wall time and the SHA-256 of
every input file: the scenario files of the ``extends``/``budget_from`` chain and
the census files (:func:`input_files`). :func:`code_fingerprint`
hashes the package's own modules, so that an interrupted run is finished only by the
same model code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

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


def dependency_versions() -> dict[str, str | None]:
    """The installed version of each dependency that shapes the numbers (None if absent)."""
    versions: dict[str, str | None] = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


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


def input_files(
    scenario: Scenario, scenario_file: str | Path | None
) -> list[dict[str, str | None]]:
    """Every file a run reads, with its role and SHA-256 (None if it cannot be read).

    The scenario file and its ``extends`` and ``money.budget_from`` chain (``scenario``),
    and the census files of the scenario and of its budget scenario (``census``): the
    inputs whose change would make a run's replications differ. Absolute paths, each once.
    """
    found: list[tuple[str, Path]] = []
    if scenario_file:
        found += [("scenario", path) for path in source_files(scenario_file)]
    for holder in (scenario, scenario.budget_scenario):
        if holder is not None and holder.census:
            found.append(("census", Path(holder.census)))
    out: list[dict[str, str | None]] = []
    seen: set[str] = set()
    for role, path in found:
        name = os.path.abspath(path)
        if name in seen:
            continue
        seen.add(name)
        out.append({"role": role, "path": name, "sha256": _digest(path)})
    return out


def _digest(path: Path) -> str | None:
    try:
        return file_sha256(path) if path.is_file() else None
    except OSError:
        return None


def changed_input(inputs: list[dict[str, str | None]]) -> str | None:
    """The first recorded input whose file is now different, in words; None if none is.

    A scenario file that has gone is not a change (its resolved text is stored beside the
    run); a census that has gone is, as the run cannot be rebuilt without it.
    """
    for entry in inputs:
        path, recorded = Path(str(entry.get("path"))), entry.get("sha256")
        now = _digest(path)
        if now is None and recorded is not None:
            if entry.get("role") == "scenario":
                continue
            return f"its {entry.get('role')} {path} is gone"
        if now != recorded:
            return (
                f"it was started from a different {entry.get('role')}: {path} has changed "
                "since the run started"
            )
    return None


@dataclass(frozen=True)
class RunTally:
    """What a run's manifest counts: replications, model events, wall time and workers."""

    replications: int
    events_processed: int
    wall_seconds: float
    workers: int


def run_facts(scenario: Scenario, scenario_file: str | Path | None) -> dict[str, Any]:
    """What a run's manifest says of its code, platform, scenario and inputs.

    All of it is known when the run starts, and is taken then: the inputs are hashed as
    they were read, not as they may be by the end; and the work (hashing, asking git
    and the installed packages) is done while the replications run, not after them.
    """
    return {
        "package": "pathways",
        "version": package_version(),
        "code": code_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": dependency_versions(),
        "scenario": scenario.name,
        "scenario_file": str(scenario_file) if scenario_file else None,
        "scenario_sha256": file_sha256(scenario_file) if scenario_file else None,
        "scenario_sources": _sources(scenario_file),
        "inputs": input_files(scenario, scenario_file),
        "seed": scenario.seed,
        "start_date": scenario.start_date.isoformat(),
        "horizon_years": scenario.horizon_years,
        "warmup_days": scenario.warmup_days,
    }


_AFTER_REPLICATIONS = ("start_date", "horizon_years", "warmup_days")
"""The entries of :func:`run_facts` that a manifest lists after ``replications``."""


def run_manifest(
    facts: Mapping[str, Any], tally: RunTally, command: list[str] | None
) -> dict[str, Any]:
    """Everything needed to reproduce a run and trace its numbers.

    ``facts`` are the run's :func:`run_facts`, taken as it started; the rest is what it did.
    """
    return {
        **{key: value for key, value in facts.items() if key not in _AFTER_REPLICATIONS},
        "replications": tally.replications,
        **{key: facts[key] for key in _AFTER_REPLICATIONS},
        "workers": tally.workers,
        "wall_seconds": round(tally.wall_seconds, 3),
        "events_processed": tally.events_processed,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
    }


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


def code_fingerprint(package: Path | None = None) -> str:
    """SHA-256 of the package version and every module in the simulation package's tree.

    Two processes agree on it only if they run the same model code, whatever git says:
    every sub-package's modules count, each under its path within the package.
    ``package`` is the package's folder (this installation's by default).
    """
    digest = hashlib.sha256(package_version().encode())
    package = package or Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
