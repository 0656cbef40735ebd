"""The layout of a results folder: the names of its files and the columns of its tables.

One owner of the on-disk format: the writer, the reader and resuming all name files
and tables through these constants, so a folder written by one is read by the others.
A table ``<stem>`` is stored as ``<stem>.parquet``, ``<stem>.csv`` or both.
"""

from __future__ import annotations

MANIFEST = "manifest.json"
SCENARIO = "scenario.yaml"
SUMMARY = "summary"
KPIS = "kpis"
MONTHLY = "monthly"
LEDGER = "ledger"
LEDGER_SUMMARY = "ledger_summary"
EVENTS = "events"
COMPARISON = "comparison"
COMPARISON_NOTES = "comparison_notes.txt"
RUN_TABLES = (SUMMARY, KPIS, MONTHLY)
"""Tables every run folder holds; ``ledger``, ``ledger_summary`` and ``events`` may be absent."""

KEY_COLUMNS = ("pathway", "service", "unit", "place", "period", "kpi")
"""The columns that name what a KPI row is about."""
SUMMARY_COLUMNS = (*KEY_COLUMNS, "mean", "ci_low")
KPI_COLUMNS = ("replication", *KEY_COLUMNS, "value")
MONTHLY_COLUMNS = ("replication", "month", "pathway", "service", "resource", "measure", "value")
LEDGER_COLUMNS = ("pathway", "financial_year", "item", "value")
LEDGER_SUMMARY_COLUMNS = ("pathway", "financial_year", "item", "mean")
COMPARISON_COLUMNS = ("alternative", "pathway", "kpi", "period", "diff_mean", "clear")
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    SUMMARY: SUMMARY_COLUMNS,
    KPIS: KPI_COLUMNS,
    MONTHLY: MONTHLY_COLUMNS,
    LEDGER: LEDGER_COLUMNS,
    LEDGER_SUMMARY: LEDGER_SUMMARY_COLUMNS,
    COMPARISON: COMPARISON_COLUMNS,
}
"""The columns without which a table is not the results table of its name."""

TEXT_COLUMNS = (*KEY_COLUMNS, "resource", "alternative", "base")
"""Names read as text from CSV: a place called "NA" or "None" must not become missing."""
