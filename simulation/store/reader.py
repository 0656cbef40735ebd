"""Reading a results folder back: the one reader of what ``pathways run`` and ``compare`` write.

``pathways run`` (and :meth:`simulation.api.Results.save`) writes a *run* folder
(``summary.csv``, ``kpis``, ``monthly``, ``ledger``, the resolved ``scenario.yaml``,
``manifest.json`` and, when asked, ``events``); ``pathways compare`` writes a
*comparison* folder holding one run folder per scenario beside ``comparison.csv``,
``comparison_notes.txt`` and its own manifest. This module is the only place that knows
those file names, how a table is read (parquet if present, else CSV, with place and unit
names kept as text) and what makes a folder a results folder. It reads either kind into
plain frozen data for the report, the API and the copy of a folder, and says in one
sentence, as :class:`NotAResultsFolder`, what is wrong with a folder that is not one.
It reads; it never runs the model and never recomputes a KPI the folder holds, so it
imports nothing from the rest of the package but the calendar (to say which financial
years the period covers only in part) and core's safe text. A manifest or scenario
whose fields are not of the kind written (edited by hand, or damaged) is refused in
one sentence naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simulation.core.calendar import financial_year_days
from simulation.core.safetext import excerpt
from simulation.store.layout import (
    COMPARISON,
    EVENTS,
    KPIS,
    LEDGER,
    LEDGER_SUMMARY,
    MANIFEST,
    MONTHLY,
    REQUIRED_COLUMNS,
    RUN_TABLES,
    SCENARIO,
    SUMMARY,
    TEXT_COLUMNS,
)


class NotAResultsFolder(Exception):
    """The folder given is missing, not a results folder, or incomplete (one sentence)."""


def _table_files(folder: Path, stem: str) -> tuple[Path, Path]:
    return folder / f"{stem}.parquet", folder / f"{stem}.csv"


def has_table(folder: Path, stem: str) -> bool:
    """Whether ``folder`` holds the table ``stem``, as parquet or as CSV."""
    return any(path.is_file() for path in _table_files(folder, stem))


def read_table(
    folder: Path, stem: str, filters: list[tuple[str, str, Any]] | None = None
) -> pd.DataFrame | None:
    """The table ``stem`` of a folder (``None`` if it has neither file).

    ``<stem>.parquet`` is read if present, else ``<stem>.csv`` with names kept as text
    (``keep_default_na=False``: only an empty field is missing). The table must have
    the columns :data:`REQUIRED_COLUMNS` names for it. ``filters`` (parquet only, as
    pyarrow takes them) read only the rows they select.
    """
    parquet, csv = _table_files(folder, stem)
    path = parquet if parquet.is_file() else csv
    if not path.is_file():
        return None
    try:
        if path is parquet:
            frame = pd.read_parquet(path, filters=filters)
        else:
            frame = pd.read_csv(
                path,
                keep_default_na=False,
                na_values=[""],
                dtype={c: str for c in TEXT_COLUMNS},
            )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise NotAResultsFolder(f"cannot read {path}: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS.get(stem, ()) if c not in frame.columns]
    if missing:
        raise NotAResultsFolder(
            f"{path} is not a results table: it lacks the column(s) {', '.join(missing)}"
        )
    for column in NUMBER_COLUMNS.intersection(frame.columns):
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values[numbers.isna() & values.notna()]
        if len(bad):
            raise NotAResultsFolder(
                f"{path} has been edited or damaged: its column {column} holds "
                f"'{excerpt(bad.iloc[0], 40)}', expected a number"
            )
        frame[column] = numbers
    return frame


NUMBER_COLUMNS = frozenset(
    {
        "replication",
        "value",
        "mean",
        "sd",
        "n",
        "ci_low",
        "ci_high",
        "half_width",
        "diff_mean",
        "diff_sd",
        "diff_low",
        "diff_high",
    }
)
"""Columns of results tables that hold numbers, checked as such when read back."""


def _required_table(folder: Path, stem: str) -> pd.DataFrame:
    frame = read_table(folder, stem)
    if frame is None:
        raise NotAResultsFolder(_incomplete(folder, f"{stem}.csv or {stem}.parquet"))
    return frame


def _incomplete(folder: Path, missing: str) -> str:
    return f"{folder} is an incomplete results folder: it has no {missing}"


@dataclass(frozen=True)
class RunFolder:
    """One scenario's results: a ``pathways run`` folder or a comparison's sub-folder.

    The per-replication tables that can be large (:attr:`kpis`, :attr:`events`) are
    read when first asked for; the rest when the folder is read.
    """

    path: Path
    manifest: dict[str, Any]
    scenario_yaml: str
    """The resolved scenario as written to ``scenario.yaml``."""
    scenario: dict[str, Any]
    """The same scenario as plain data."""
    summary: pd.DataFrame
    monthly: pd.DataFrame
    ledger: pd.DataFrame | None
    ledger_summary: pd.DataFrame | None

    @cached_property
    def kpis(self) -> pd.DataFrame:
        """One row per replication and KPI (``kpis.parquet``, else ``kpis.csv``)."""
        return _required_table(self.path, KPIS)

    def kpis_of(self, names: tuple[str, ...], period: str) -> pd.DataFrame:
        """The rows of :attr:`kpis` of these KPIs in one period, in the table's order.

        Read alone from ``kpis.parquet`` (a few of its rows: a thousand replications'
        table is millions) unless the whole table has been read already; kept for the
        next call.
        """
        key = ("kpis", names, period)
        if key not in self._selections:
            rows: pd.DataFrame | None
            if "kpis" in self.__dict__ or not _table_files(self.path, KPIS)[0].is_file():
                frame = self.kpis
                rows = frame[frame["kpi"].isin(names) & (frame["period"] == period)]
            else:
                wanted = [("kpi", "in", list(names)), ("period", "==", period)]
                rows = read_table(self.path, KPIS, wanted)
                assert rows is not None
            self._selections[key] = rows.reset_index(drop=True)
        result: pd.DataFrame = self._selections[key]
        return result

    def monthly_of(self, measure: str) -> pd.DataFrame:
        """The rows of :attr:`monthly` of one measure, kept for the next call.

        A report draws each measure for every bed type: one pass over a long run's
        monthly table a measure, not one a bed type.
        """
        key = ("monthly", measure)
        if key not in self._selections:
            self._selections[key] = self.monthly[self.monthly["measure"] == measure]
        result: pd.DataFrame = self._selections[key]
        return result

    def months_in(self, year: str) -> list[Any]:
        """The months of :attr:`monthly` in a financial year, kept for the next call."""
        key = ("months", year)
        if key not in self._selections:
            m = self.monthly
            self._selections[key] = list(m.loc[m["financial_year"] == year, "month"].unique())
        result: list[Any] = self._selections[key]
        return result

    @cached_property
    def _selections(self) -> dict[tuple[Any, ...], Any]:
        """What :meth:`kpis_of`, :meth:`monthly_of` and :meth:`months_in` have read."""
        return {}

    @cached_property
    def events(self) -> pd.DataFrame | None:
        """The patient-level event log, if the run kept it."""
        return read_table(self.path, EVENTS)

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
    def horizon_days(self) -> int:
        """Length of the reported period in whole days, as the model counted it."""
        return round(self.horizon_years * 365.25)

    @property
    def end_date(self) -> dt.date:
        """First day after the reported period."""
        return self.start_date + dt.timedelta(days=self.horizon_days)

    @property
    def partial_years(self) -> dict[str, tuple[int, int]]:
        """Financial years only partly in the reported period: (days in it, days in the year)."""
        days = financial_year_days(self.start_date, self.horizon_days)
        return {year: (n, full) for year, (n, full) in days.items() if n < full}

    def year_label(self, year: str) -> str:
        """A financial year as shown anywhere, a part year flagged.

        ``2027/28 (a part year: 365 of its 366 days)``; a whole year as it is.
        """
        partial = self.partial_years.get(year)
        if partial is None:
            return year
        return f"{year} (a part year: {partial[0]} of its {partial[1]} days)"

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


def identical(differences: pd.DataFrame) -> bool:
    """Whether paired differences are all exactly zero: the same in every replication.

    ``differences`` holds rows of a comparison table (``diff_mean`` and ``diff_sd``); no
    rows is not "identical".
    """
    values = differences[["diff_mean", "diff_sd"]].to_numpy(dtype=float)
    return bool(len(values)) and bool(np.all(np.nan_to_num(values) == 0.0))


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
        return identical(t[(t["alternative"] == alternative) & (t["pathway"] == pathway)])


ResultsFolder = RunFolder | ComparisonFolder


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAResultsFolder(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise NotAResultsFolder(f"{path} is not a results manifest (expected a JSON object)")
    _check_fields(path, data, _MANIFEST_FIELDS)
    return data


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _date(value: Any) -> bool:
    try:
        return dt.date(1900, 1, 1) <= dt.date.fromisoformat(str(value)) <= dt.date(2299, 12, 31)
    except ValueError:
        return False


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


_MANIFEST_FIELDS: dict[str, tuple[Any, str]] = {
    "replications": (_whole, "a whole number"),
    "seed": (_whole, "a whole number"),
    "start_date": (_date, "a date written YYYY-MM-DD"),
    "horizon_years": (lambda v: _number(v) and 0 < v <= 50, "a number of years up to 50"),
    "warmup_days": (_number, "a number of days"),
    "wall_seconds": (_number, "a number of seconds"),
    "workers": (_whole, "a whole number"),
    "events_processed": (_whole, "a whole number"),
    "resumed_replications": (_whole, "a whole number"),
    "code": (lambda v: v is None or isinstance(v, dict), "a mapping"),
    "dependencies": (lambda v: v is None or isinstance(v, dict), "a mapping"),
    "notes": (lambda v: v is None or isinstance(v, dict), "a mapping"),
    "command": (
        lambda v: v is None or (isinstance(v, list) and all(isinstance(w, str) for w in v)),
        "a list of words",
    ),
    "base": (lambda v: isinstance(v, str), "a scenario name"),
    "alternatives": (
        lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
        "a list of scenario names",
    ),
    **{
        key: (_text, "text")
        for key in (
            "version",
            "python",
            "platform",
            "created_utc",
            "scenario",
            "scenario_file",
            "scenario_sha256",
        )
    },
}
"""The manifest fields read back, and what each must be: a hand-edited or damaged
manifest is refused in one sentence rather than failing somewhere in a report."""

_SCENARIO_FIELDS: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str), "text"),
    "pathways": (lambda v: isinstance(v, dict), "a mapping"),
    "places": (
        lambda v: isinstance(v, list) and all(isinstance(p, dict) for p in v),
        "a list of places",
    ),
    "start_date": (_date, "a date written YYYY-MM-DD"),
    "horizon_years": (lambda v: _number(v) and 0 < v <= 50, "a number of years up to 50"),
}


def _check_fields(
    path: Path, data: dict[str, Any], fields: dict[str, tuple[Any, str]], required: bool = False
) -> None:
    """Refuse data whose fields (where present) are not of the kind this package wrote.

    ``required``: every field must be present, as this package always writes it.
    """
    for key, (ok, expected) in fields.items():
        if required and key not in data:
            raise NotAResultsFolder(
                f"{path} has been edited or damaged: it has no {key}, expected {expected}"
            )
        if key in data and not ok(data[key]):
            raise NotAResultsFolder(
                f"{path} has been edited or damaged: its {key} is "
                f"{excerpt(json.dumps(data[key], default=str), 40)}, expected {expected}"
            )


def _require(folder: Path, *names: str) -> None:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise NotAResultsFolder(_incomplete(folder, ", ".join(missing)))


def read_run(folder: Path) -> RunFolder:
    """Read a run folder (``summary.csv`` and its companions)."""
    _require(folder, MANIFEST, SCENARIO)
    absent = [f"{stem}.csv or {stem}.parquet" for stem in RUN_TABLES if not has_table(folder, stem)]
    if absent:
        raise NotAResultsFolder(_incomplete(folder, ", ".join(absent)))
    path = folder / SCENARIO
    try:
        text = path.read_text(encoding="utf-8")
        scenario = yaml.safe_load(text)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise NotAResultsFolder(f"cannot read {path}: {exc}") from None
    if not isinstance(scenario, dict):
        raise NotAResultsFolder(f"{path} does not hold a scenario")
    _check_fields(path, scenario, _SCENARIO_FIELDS, required=True)
    summary = _required_table(folder, SUMMARY)
    if summary.empty:
        raise NotAResultsFolder(
            f"{folder} has been edited or damaged: its {SUMMARY} table holds no rows"
        )
    manifest = _read_json(folder / MANIFEST)
    named = manifest.get("scenario")
    if isinstance(named, str) and named != scenario["name"]:
        raise NotAResultsFolder(
            f"{folder} has been edited or damaged: its {SCENARIO} is of "
            f"{excerpt(scenario['name'], 40)!r}, its {MANIFEST} of {excerpt(named, 40)!r}"
        )
    return RunFolder(
        path=folder,
        manifest=manifest,
        scenario_yaml=text,
        scenario=scenario,
        summary=summary,
        monthly=_required_table(folder, MONTHLY),
        ledger=read_table(folder, LEDGER),
        ledger_summary=read_table(folder, LEDGER_SUMMARY),
    )


def read_comparison(folder: Path) -> ComparisonFolder:
    """Read a comparison folder (``comparison.csv`` and one run folder per scenario)."""
    _require(folder, MANIFEST)
    manifest = _read_json(folder / MANIFEST)
    base_name = manifest.get("base")
    alternatives = manifest.get("alternatives")
    if not isinstance(base_name, str) or not isinstance(alternatives, list):
        raise NotAResultsFolder(
            f"{folder / MANIFEST} does not name the base and alternatives of a comparison"
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
        table=_required_table(folder, COMPARISON),
        notes=notes,
    )


def _is_results(folder: Path) -> bool:
    return has_table(folder, SUMMARY) or has_table(folder, COMPARISON)


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
    if has_table(folder, COMPARISON):
        return read_comparison(folder)
    if has_table(folder, SUMMARY):
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
