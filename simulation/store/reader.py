"""Reading a results folder back: the only input of a report.

``pathways run`` writes a *run* folder (``summary.csv``, ``monthly``, ``ledger``, the
resolved ``scenario.yaml`` and ``manifest.json``); ``pathways compare`` writes a
*comparison* folder holding one run folder per scenario beside ``comparison.csv``,
``comparison_notes.txt`` and its own manifest. This module reads either into plain
frozen data, checking that what a report needs is there, and says in one sentence what
is wrong with a folder that is not a results folder. It reads; it never runs the model
and never recomputes a KPI the folder holds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

SUMMARY_COLUMNS = ("pathway", "service", "unit", "place", "period", "kpi", "mean", "ci_low")
MONTHLY_COLUMNS = ("replication", "month", "pathway", "service", "resource", "measure", "value")
COMPARISON_COLUMNS = ("alternative", "pathway", "kpi", "period", "diff_mean", "clear")
_TEXT_COLUMNS = ("pathway", "service", "unit", "place", "period", "kpi", "alternative", "base")


class NotAResultsFolder(Exception):
    """The folder given is missing, not a results folder, or incomplete (one sentence)."""


@dataclass(frozen=True)
class RunFolder:
    """One scenario's results: a ``pathways run`` folder or a comparison's sub-folder."""

    path: Path
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    """The resolved scenario as plain data (as written to ``scenario.yaml``)."""
    summary: pd.DataFrame
    monthly: pd.DataFrame
    ledger: pd.DataFrame | None
    ledger_summary: pd.DataFrame | None

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.scenario.get("name") or self.manifest.get("scenario") or self.path.name)

    @property
    def replications(self) -> int:
        """Number of replications run."""
        return int(self.manifest.get("replications") or 0)

    @property
    def financial_years(self) -> list[str]:
        """The reported financial years, in order."""
        periods = self.summary["period"].drop_duplicates()
        return sorted(str(p) for p in periods if p != "horizon")

    @property
    def horizon_years(self) -> float:
        """Length of the reported period in years."""
        value = self.manifest.get("horizon_years", self.scenario.get("horizon_years"))
        return float(value) if value else float(len(self.financial_years) or 1)

    @property
    def start_date(self) -> dt.date:
        """First day of the reported period."""
        text = self.manifest.get("start_date") or self.scenario.get("start_date")
        if text:
            return dt.date.fromisoformat(str(text))
        first = str(self.monthly["month"].min())
        return dt.date(int(first[:4]), int(first[5:7]), 1)

    @property
    def end_date(self) -> dt.date:
        """First day after the reported period."""
        return self.start_date + dt.timedelta(days=round(self.horizon_years * 365.25))

    @property
    def pathways(self) -> list[str]:
        """The scenario's pathways, in the scenario's order."""
        described = list((self.scenario.get("pathways") or {}).keys())
        present = set(self.summary["pathway"]) - {"all"}
        return [p for p in described if p in present] or sorted(present)

    def services(self, pathway: str) -> list[str]:
        """A pathway's services (bed types), in the scenario's order."""
        spec = (self.scenario.get("pathways") or {}).get(pathway) or {}
        return list((spec.get("services") or {}).keys())

    def place_quintiles(self) -> dict[str, int | None]:
        """Each home place and its deprivation quintile (None when not given)."""
        return {
            str(p.get("name")): p.get("deprivation_quintile")
            for p in self.scenario.get("places") or []
        }


@dataclass(frozen=True)
class ComparisonFolder:
    """A ``pathways compare`` folder: the base, the alternatives and paired differences."""

    path: Path
    manifest: dict[str, Any]
    base: RunFolder
    alternatives: tuple[RunFolder, ...]
    table: pd.DataFrame
    """``comparison.csv``: per alternative and KPI, the paired difference with its CI."""
    notes: dict[str, str]

    @property
    def runs(self) -> tuple[RunFolder, ...]:
        """The base and then each alternative."""
        return (self.base, *self.alternatives)

    def unchanged(self, alternative: str, pathway: str) -> bool:
        """Whether every KPI of a pathway is identical in every replication of both."""
        t = self.table
        rows = t[(t["alternative"] == alternative) & (t["pathway"] == pathway)]
        diffs = rows[["diff_mean", "diff_sd"]].to_numpy(dtype=float)
        return bool(len(rows)) and bool(np.all(np.nan_to_num(diffs) == 0.0))


ResultsFolder = RunFolder | ComparisonFolder


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    # Place and unit names are text: "NA" or "None" must not turn into missing values.
    try:
        frame = pd.read_csv(
            path,
            keep_default_na=False,
            na_values=[""],
            dtype={c: str for c in _TEXT_COLUMNS},
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise NotAResultsFolder(f"cannot read {path}: {exc}") from None
    _check_columns(frame, required, path)
    return frame


def _check_columns(frame: pd.DataFrame, required: tuple[str, ...], path: Path) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise NotAResultsFolder(
            f"{path} is not a results table: it lacks the column(s) {', '.join(missing)}"
        )


def _read_monthly(folder: Path) -> pd.DataFrame:
    parquet = folder / "monthly.parquet"
    if parquet.is_file():
        try:
            frame = pd.read_parquet(parquet)
        except (OSError, ValueError) as exc:
            raise NotAResultsFolder(f"cannot read {parquet}: {exc}") from None
        _check_columns(frame, MONTHLY_COLUMNS, parquet)
        return frame
    csv = folder / "monthly.csv"
    if not csv.is_file():
        raise NotAResultsFolder(
            f"{folder} is an incomplete results folder: it has no monthly.csv or monthly.parquet"
        )
    return _read_csv(csv, MONTHLY_COLUMNS)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAResultsFolder(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise NotAResultsFolder(f"{path} is not a results manifest (expected a JSON object)")
    return data


def _require(folder: Path, *names: str) -> None:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise NotAResultsFolder(
            f"{folder} is an incomplete results folder: it has no {', '.join(missing)}"
        )


def read_run(folder: Path) -> RunFolder:
    """Read a run folder (``summary.csv`` and its companions)."""
    _require(folder, "summary.csv", "manifest.json", "scenario.yaml")
    try:
        scenario = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise NotAResultsFolder(f"cannot read {folder / 'scenario.yaml'}: {exc}") from None
    if not isinstance(scenario, dict):
        raise NotAResultsFolder(f"{folder / 'scenario.yaml'} does not hold a scenario")
    ledger = folder / "ledger.csv"
    ledger_summary = folder / "ledger_summary.csv"
    return RunFolder(
        path=folder,
        manifest=_read_json(folder / "manifest.json"),
        scenario=scenario,
        summary=_read_csv(folder / "summary.csv", SUMMARY_COLUMNS),
        monthly=_read_monthly(folder),
        ledger=_read_csv(ledger, ("pathway", "financial_year", "item", "value"))
        if ledger.is_file()
        else None,
        ledger_summary=_read_csv(ledger_summary, ("pathway", "financial_year", "item", "mean"))
        if ledger_summary.is_file()
        else None,
    )


def read_comparison(folder: Path) -> ComparisonFolder:
    """Read a comparison folder (``comparison.csv`` and one run folder per scenario)."""
    _require(folder, "comparison.csv", "manifest.json")
    manifest = _read_json(folder / "manifest.json")
    base_name = manifest.get("base")
    alternatives = manifest.get("alternatives")
    if not isinstance(base_name, str) or not isinstance(alternatives, list):
        raise NotAResultsFolder(
            f"{folder / 'manifest.json'} does not name the base and alternatives of a comparison"
        )
    runs = []
    for name in (base_name, *alternatives):
        sub = folder / str(name)
        if not sub.is_dir():
            raise NotAResultsFolder(
                f"{folder} is an incomplete comparison: it has no folder for scenario {name!r}"
            )
        runs.append(read_run(sub))
    notes: dict[str, str] = {}
    raw_notes = manifest.get("notes")
    if isinstance(raw_notes, dict):
        notes = {str(k): str(v) for k, v in raw_notes.items()}
    return ComparisonFolder(
        path=folder,
        manifest=manifest,
        base=runs[0],
        alternatives=tuple(runs[1:]),
        table=_read_csv(folder / "comparison.csv", COMPARISON_COLUMNS),
        notes=notes,
    )


def _results_below(folder: Path) -> Iterator[Path]:
    """Results folders one or two levels below ``folder`` (for a helpful hint)."""
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if _is_results(child):
            yield child
            continue
        for grandchild in sorted(child.iterdir()):
            if grandchild.is_dir() and _is_results(grandchild):
                yield grandchild


def _is_results(folder: Path) -> bool:
    return (folder / "summary.csv").is_file() or (folder / "comparison.csv").is_file()


def read_results_folder(path: str | Path) -> ResultsFolder:
    """Read a run or comparison folder; raise :class:`NotAResultsFolder` if it is neither."""
    folder = Path(path)
    if not folder.exists():
        raise NotAResultsFolder(f"{folder} does not exist")
    if not folder.is_dir():
        raise NotAResultsFolder(
            f"{folder} is a file; give the results folder that `pathways run` or "
            "`pathways compare` wrote"
        )
    if (folder / "comparison.csv").is_file():
        return read_comparison(folder)
    if (folder / "summary.csv").is_file():
        return read_run(folder)
    try:
        below = list(_results_below(folder))
    except OSError:
        below = []
    if below:
        newest = max(below, key=lambda p: p.name)
        return_hint = f"; it holds {len(below)} of them, for example {newest}"
    else:
        return_hint = ""
    raise NotAResultsFolder(
        f"{folder} is not a results folder (it has no summary.csv or comparison.csv): give a "
        f"folder written by `pathways run` or `pathways compare`{return_hint}"
    )


def read_summary(folder: str | Path) -> pd.DataFrame:
    """Read a results folder's summary table."""
    return pd.read_csv(Path(folder) / "summary.csv", keep_default_na=False, na_values=[""])


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
