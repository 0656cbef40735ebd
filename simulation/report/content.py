"""The report's content: what a board reads, built from a results folder.

:func:`build_report` reads a results folder (a run or a comparison) and composes a
:class:`Report`: a title, a summary page in plain English generated from the results,
the figures, the tables, the method and assumptions with the sources of the key
parameters, the changes a comparison made, and the STRESS-DES reporting checklist. The
HTML and PDF renderers (:mod:`~simulation.report.html`, :mod:`~simulation.report.pdf`)
lay it out; :mod:`~simulation.report.publish` writes the report folder.

The report reads only the results folder (and, for the sources of parameters, the
scenario file the manifest names, if its SHA-256 still matches); it never runs the
model or recomputes a KPI the folder holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from simulation.report import figures, forest, moneyfigures
from simulation.report.checklist import Item, checklist
from simulation.report.narrative import (
    Statement,
    comparison_statements,
    run_statements,
)
from simulation.report.optimisation import optimisation_statements, optimisation_table
from simulation.report.provenance import Parameter, differences, parameters, source_file
from simulation.report.style import Chart
from simulation.report.tables import Table, comparison_tables, equity_table, kpi_tables
from simulation.report.wording import scenario_label, years_span
from simulation.store.optimisation import OptimisationFolder
from simulation.store.reader import ComparisonFolder, ResultsFolder, RunFolder

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
        charts += [forest.forest_chart(results, alt.name) for alt in results.alternatives]
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


def build_report(
    results: ResultsFolder,
    search: tuple[Path, ...] = (),
    optimisation: OptimisationFolder | None = None,
) -> Report:
    """Assemble a report from a results folder (nothing is written).

    For an optimisation, ``results`` is its comparison folder and the report opens with
    the optimisation's section (:mod:`simulation.report.optimisation`).
    """
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
    span = years_span(years)
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
    equity = equity_table(base)
    if equity is not None:
        tables.append(equity)
    source = source_file(base, search)
    changes = (
        [(alt.name, differences(base, alt)) for alt in results.alternatives]
        if isinstance(results, ComparisonFolder)
        else []
    )
    if optimisation is not None:
        statements = optimisation_statements(optimisation) + statements
        tables.insert(0, optimisation_table(optimisation))
        title = f"Optimisation {optimisation.selection['name']}: {title}"
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
