"""The report: how numbers leave the tool, readable by a board and traceable to a run.

``pathways report RESULTS_DIR`` turns a results folder (a run or a comparison) into a
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
import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from simulation.report import figures, moneyfigures
from simulation.report.checklist import Item, checklist
from simulation.report.narrative import (
    Statement,
    comparison_statements,
    run_statements,
    statements_frame,
)
from simulation.report.provenance import Parameter, differences, parameters, source_file
from simulation.report.style import Chart
from simulation.report.tables import Table, comparison_tables, kpi_tables
from simulation.report.wording import scenario_label
from simulation.store.reader import ComparisonFolder, ResultsFolder, RunFolder, read_results_folder

REPORT_FOLDER = "report"


class ReportError(Exception):
    """The report cannot be written where asked (one sentence, for the command line)."""


@dataclass(frozen=True)
class Report:
    """Everything a report shows, built from a results folder, ready to render."""

    title: str
    subtitle: str
    statements: list[Statement]
    charts: list[Chart]
    tables: list[Table]
    parameters: list[Parameter]
    sources: str
    """Where the parameters' sources come from, or why they are not shown."""
    changes: list[tuple[str, list[tuple[str, str, str]]]]
    """Per alternative: the fields that differ from the base (field, base, alternative)."""
    checklist: list[Item]
    provenance: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    generated: str = ""


def _runs(results: ResultsFolder) -> tuple[RunFolder, ...]:
    return results.runs if isinstance(results, ComparisonFolder) else (results,)


def build_charts(results: ResultsFolder) -> tuple[list[Chart], list[str]]:
    """Every figure of the report, and notes on figures left out (and why)."""
    runs = _runs(results)
    notes: list[str] = []
    charts = [
        figures.occupancy_chart(runs),
        figures.waiting_list_chart(runs),
        figures.out_of_area_chart(runs),
    ]
    caseload = figures.caseload_chart(runs)
    if caseload is None:
        notes.append("No community team is modelled, so there is no caseload figure.")
    else:
        charts.append(caseload)
    charts.append(moneyfigures.spend_chart(runs))
    ledger = moneyfigures.ledger_chart(runs)
    if ledger is None:
        notes.append(
            "No scenario here has a reinvestment rule or a budget of its own, so there is no "
            "reinvestment ledger."
        )
    else:
        charts.append(ledger)
    if isinstance(results, ComparisonFolder):
        charts += [moneyfigures.forest_chart(results, alt.name) for alt in results.alternatives]
    charts.append(figures.equity_chart(runs))
    return charts, notes


def _provenance(results: ResultsFolder) -> list[tuple[str, str]]:
    runs = _runs(results)
    base = runs[0]
    manifest = base.manifest
    code = manifest.get("code") or {}
    revision = str(code.get("revision") or "not recorded")
    if code.get("modified"):
        revision += " (with uncommitted changes)"
    rows = [
        ("Results folder", str(results.path.resolve())),
        ("Kind", "comparison" if isinstance(results, ComparisonFolder) else "single run"),
        ("Created", str(results.manifest.get("created_utc", manifest.get("created_utc", "")))),
        ("Replications", str(base.replications)),
        ("Seed", str(manifest.get("seed", ""))),
        ("Warm-up", f"{float(manifest.get('warmup_days') or 0):,.0f} days"),
        ("pathways version", str(manifest.get("version", "unknown"))),
        ("Code revision", revision),
        ("Python", str(manifest.get("python", "unknown"))),
    ]
    deps = manifest.get("dependencies") or {}
    rows.append(("Libraries", ", ".join(f"{k} {v}" for k, v in deps.items() if v)))
    for run in runs:
        m = run.manifest
        rows.append(
            (
                f"Scenario {scenario_label(run.name)}",
                f"{m.get('scenario_file') or 'no file recorded'} "
                f"(SHA-256 {str(m.get('scenario_sha256') or 'not recorded')[:16]}…)",
            )
        )
    command = results.manifest.get("command")
    if command:
        rows.append(("Command", " ".join(str(c) for c in command)))
    return rows


def build_report(results: ResultsFolder, search: tuple[Path, ...] = ()) -> Report:
    """Assemble a report from a results folder (nothing is written)."""
    runs = _runs(results)
    base = runs[0]
    comparison = isinstance(results, ComparisonFolder)
    if isinstance(results, ComparisonFolder):
        statements = comparison_statements(results)
        labels = [scenario_label(r.name) for r in results.alternatives]
        names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        title = f"{scenario_label(base.name)} compared with {names}"
    else:
        statements = run_statements(base)
        title = scenario_label(base.name)
    years = base.financial_years
    span = f"{years[0]} to {years[-1]}" if len(years) > 1 else (years[0] if years else "")
    subtitle = (
        f"Simulated {span}, {base.replications} replications"
        + (f" of each of {len(runs)} scenarios" if comparison else "")
        + ". Means with 95% confidence intervals."
    )
    charts, notes = build_charts(results)
    tables: list[Table] = []
    if isinstance(results, ComparisonFolder):
        tables += comparison_tables(results)
    for run in runs:
        tables += kpi_tables(run, several=comparison)
    source = source_file(base, search)
    changes = (
        [(alt.name, differences(base, alt)) for alt in results.alternatives]
        if isinstance(results, ComparisonFolder)
        else []
    )
    return Report(
        title=title,
        subtitle=subtitle,
        statements=statements,
        charts=charts,
        tables=tables,
        parameters=parameters(base, source),
        sources=source.status,
        changes=changes,
        checklist=checklist(results),
        provenance=_provenance(results),
        notes=notes,
        generated=dt.datetime.now(dt.UTC).strftime("%-d %B %Y %H:%M UTC"),
    )


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
    from simulation.report.html import render_html

    (folder / "figures").mkdir()
    (folder / "tables").mkdir()
    for chart in report.charts:
        (folder / "figures" / f"{chart.key}.png").write_bytes(chart.png)
        chart.data.to_csv(folder / "figures" / f"{chart.key}.csv", index=False)
    frames = _table_frames(report)
    for name, frame in frames.items():
        frame.drop(columns=["Key"], errors="ignore").to_csv(
            folder / "tables" / f"{name}.csv", index=False
        )
    statements_frame(report.statements).to_csv(folder / "summary.csv", index=False)
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
        from simulation.report.pdf import render_pdf

        pages = render_pdf(report, folder / "report.pdf")
        info["pdf"] = {"file": "report.pdf", "pages": pages.total, "sections": pages.sections}
    (folder / "report.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def _replace_folder(staging: Path, target: Path) -> None:
    """Put a finished staging folder in place of ``target`` (whole, or not at all)."""
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    old.rmdir()
    os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


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
    results = read_results_folder(results_dir)
    target = Path(out) if out is not None else results.path / REPORT_FOLDER
    if target.exists() and not target.is_dir():
        raise ReportError(f"--out {target} is a file; give a folder for the report")
    if target.is_dir() and any(target.iterdir()) and not (target / "report.json").is_file():
        # Replacing a folder is only safe when it is an earlier report.
        raise ReportError(
            f"{target} already exists and is not a report folder; give a new folder with --out"
        )
    report = build_report(results, search=search)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
    try:
        write_report_files(report, staging, pdf)
        os.chmod(staging, 0o755)
        _replace_folder(staging, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
    return ReportFiles(target, target / "report.html", target / "report.pdf" if pdf else None)
