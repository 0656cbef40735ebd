"""Publishing the report: how numbers leave the tool, readable and traceable to a run.

``pathways report RESULTS_DIR`` turns a results folder (a run, a comparison or an
optimisation, whose report opens with the recommended allocation) into a
folder ``report/`` beside the results (or wherever ``--out`` says) holding:

- ``report.html``, self-contained (every image embedded), in a plain NHS style: a
  summary page in plain English generated from the results, the figures, the tables,
  the method and assumptions with the sources of the key parameters, and the STRESS-DES
  reporting checklist;
- ``figures/*.png``, every figure, with ``figures/*.csv`` the numbers it plots;
- ``tables/*.csv``, every table, with readable column names and unrounded numbers;
- ``summary.csv``, each summary sentence with every number it quotes and where that
  number came from;
- ``report.pdf`` with ``--pdf`` (composed in Python: no browser needed);
- ``report.json``, the report's own manifest: its figures, tables and PDF pages.

The report reads only the results folder (and, for the sources of parameters, the
scenario file the manifest names, if its SHA-256 still matches); it never runs the
model or recomputes a KPI the folder holds. It is written under a hidden staging name
and renamed into place when complete, so a reader never sees half a report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulation.core.safetext import write_csv
from simulation.report.content import REPORT_FOLDER, Report, ReportError, build_report
from simulation.report.html import render_html
from simulation.report.narrative import statements_frame
from simulation.report.pdf import render_pdf
from simulation.report.wording import scenario_label
from simulation.store.lock import FolderBusy, locked
from simulation.store.optimisation import is_optimisation_folder, read_optimisation_folder
from simulation.store.reader import read_results_folder
from simulation.store.staging import replace_folder


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written."""

    folder: Path
    html: Path
    pdf: Path | None


def _table_frames(report: Report) -> dict[str, pd.DataFrame]:
    """The CSV tables: each distinct table's data, under a stable name."""
    frames: dict[str, pd.DataFrame] = {}
    kpis = [t.data for t in report.tables if t.key.startswith("kpis_")]
    if kpis:
        seen: list[pd.DataFrame] = []
        for frame in kpis:
            if not any(frame is s for s in seen):
                seen.append(frame)
        frames["kpi_summary"] = pd.concat(seen, ignore_index=True).drop_duplicates()
    equity = [t.data for t in report.tables if t.key == "equity"]
    if equity:
        frames["equity"] = pd.concat(equity, ignore_index=True)
    comparisons = [t.data for t in report.tables if t.key.startswith("comparison_")]
    if comparisons:
        frames["comparison"] = pd.concat(comparisons, ignore_index=True)
    frames["parameters"] = pd.DataFrame(
        {
            "Section": [p.section for p in report.parameters],
            "Parameter": [p.name for p in report.parameters],
            "Value": [p.value for p in report.parameters],
            "Source": [p.source for p in report.parameters],
            "Where": [p.where for p in report.parameters],
        }
    )
    if report.changes:
        frames["scenario_differences"] = pd.DataFrame(
            [
                {"Alternative": scenario_label(name), "Field": f, "Base": a, "Alternative value": b}
                for name, rows in report.changes
                for f, a, b in rows
            ]
        )
    frames["stress_des_checklist"] = pd.DataFrame(
        {
            "Item": [i.number for i in report.checklist],
            "Topic": [i.topic for i in report.checklist],
            "What it asks": [i.asks for i in report.checklist],
            "Answer": [i.answer for i in report.checklist],
            "Status": [i.status for i in report.checklist],
        }
    )
    frames["provenance"] = pd.DataFrame(report.provenance, columns=["Item", "Value"])
    return frames


def write_report_files(report: Report, folder: Path, pdf: bool) -> dict[str, object]:
    """Write a report's files into an existing empty folder; return its own manifest."""
    (folder / "figures").mkdir()
    (folder / "tables").mkdir()
    for chart in report.charts:
        (folder / "figures" / f"{chart.key}.png").write_bytes(chart.png)
        write_csv(chart.data, folder / "figures" / f"{chart.key}.csv")
    frames = _table_frames(report)
    for name, frame in frames.items():
        write_csv(frame.drop(columns=["Key"], errors="ignore"), folder / "tables" / f"{name}.csv")
    write_csv(statements_frame(report.statements), folder / "summary.csv")
    (folder / "report.html").write_text(render_html(report), encoding="utf-8")
    info: dict[str, object] = {
        "title": report.title,
        "generated": report.generated,
        "figures": [
            {"file": f"figures/{c.key}.png", "title": c.title, "data": f"figures/{c.key}.csv"}
            for c in report.charts
        ],
        "tables": [f"tables/{name}.csv" for name in frames],
        "summary": "summary.csv",
        "html": "report.html",
    }
    if pdf:
        pages = render_pdf(report, folder / "report.pdf")
        info["pdf"] = {"file": "report.pdf", "pages": pages.total, "sections": pages.sections}
    (folder / "report.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def write_report(
    results_dir: str | Path,
    out: str | Path | None = None,
    pdf: bool = False,
    search: tuple[Path, ...] = (),
) -> ReportFiles:
    """Read a results folder and write its report; return where the files are.

    Raises :class:`~simulation.store.reader.NotAResultsFolder` for a folder that is not
    a results folder and ``OSError`` if the report cannot be written (nothing is left
    half-written either way).
    """
    optimisation = (
        read_optimisation_folder(results_dir) if is_optimisation_folder(results_dir) else None
    )
    results = read_results_folder(optimisation.comparison if optimisation else results_dir)
    home = optimisation.path if optimisation else results.path
    target = Path(out) if out is not None else home / REPORT_FOLDER
    _check_target(target)
    report = build_report(results, search=search, optimisation=optimisation)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One report at a time is written beside another: a second process is told so.
    try:
        with locked(target.parent, "writing a report in"):
            _check_target(target)  # as it is now that no one else is writing
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
            try:
                write_report_files(report, staging, pdf)
                os.chmod(staging, 0o755)
                replace_folder(staging, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    shutil.rmtree(staging)
                raise
    except FolderBusy as exc:
        raise ReportError(str(exc)) from None
    return ReportFiles(target, target / "report.html", target / "report.pdf" if pdf else None)


REPORT_ENTRIES = frozenset(
    {"report.html", "report.json", "report.pdf", "summary.csv", "figures", "tables"}
)
"""Everything a report folder holds: only a folder of these is replaced by a new report."""


def _check_target(target: Path) -> None:
    """Refuse to write a report over anything but nothing or an earlier report."""
    if target.exists() and not target.is_dir():
        raise ReportError(f"--out {target} is a file; give a folder for the report")
    if not target.is_dir() or not any(target.iterdir()):
        return
    others = sorted(p.name for p in target.iterdir() if p.name not in REPORT_ENTRIES)
    try:
        info = json.loads((target / "report.json").read_text(encoding="utf-8"))
        earlier = isinstance(info, dict) and info.get("html") == "report.html"
    except (OSError, ValueError):
        earlier = False
    if others or not earlier:
        held = f" (it holds {', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
        raise ReportError(
            f"{target} already exists and is not a report folder"
            f"{held if others else ''}; a report replaces only an earlier report: "
            "give a new folder with --out"
        )
