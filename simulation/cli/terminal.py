"""What ``pathways`` prints in the terminal: headline, comparison and warm-up tables.

Values are formatted as planners read them (£ with separators, percentages, days), per
year where a KPI is a count or a sum over the horizon. Every message goes through a
:class:`PlainConsole`: text is printed as given, never read as rich markup or emoji
codes, with control characters shown as escapes
(:func:`~simulation.core.safetext.printable`), so a name or a path from the input
cannot restyle or repaint the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from simulation.core.safetext import printable
from simulation.report.wording import (
    change_word,
    estimate,
    feasible,
    identical_difference,
    quantity,
)
from simulation.scenario.schema import PATHWAY_LABELS, Scenario

if TYPE_CHECKING:
    import pandas as pd

    from simulation.experiment.warmup import WarmupAnalysis


class PlainConsole(Console):
    """A console whose text is plain: no markup, no emoji codes, control characters escaped.

    Tables and other rich objects print as usual; their cells are made by this package.
    """

    def __init__(self, **options: Any):
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def print(self, *objects: Any, **options: Any) -> None:
        """Print, showing control characters in text as escapes."""
        options.update(markup=False, emoji=False, highlight=False)
        safe = [printable(o) if isinstance(o, str) else o for o in objects]
        super().print(*safe, **options)


_PER_YEAR = {
    "referrals",
    "admissions",
    "diversions",
    "ooa_admissions",
    "ooa_bed_days",
    "delayed_discharge_days",
    "cost_total_gbp",
    "not_accepted",
    "withdrawn",
    "bed_days",
}


def format_value(kpi: str, value: float, signed: bool = False, ref: float | None = None) -> str:
    """A KPI value as a planner reads it, by the report's one rule for figures."""
    return quantity(kpi, value, signed, ref)


def format_estimate(kpi: str, value: float, low: float, high: float, column: str = "mean") -> str:
    """``8.0 (6.1 to 9.8)``: a mean or a difference with its interval.

    The interval is cut where the quantity ends, by the same rules as the report.
    """
    signed = column != "mean"
    low, high = feasible(kpi, column, low, high)
    text = estimate(kpi, value, low, high, signed=signed, unit="pts" if kpi == "points" else "")
    return text.replace("95% CI ", "").replace(" (no 95% CI: too few replications)", "")


def headline_table(scenario: Scenario, summary: pd.DataFrame, n: int) -> Table:
    """Headline KPIs per pathway over the horizon: mean and 95% interval of n replications."""
    from simulation.results.catalogue import ALL, HEADLINE_KPIS, HORIZON, KPI_INFO

    selected = summary[
        (summary["service"] == ALL)
        & (summary["unit"] == ALL)
        & (summary["place"] == ALL)
        & (summary["period"] == HORIZON)
    ]
    rows: dict[tuple[str, str], tuple[float, float, float]] = {
        (str(p), str(k)): (float(m), float(lo), float(hi))
        for p, k, m, lo, hi in selected[["pathway", "kpi", "mean", "ci_low", "ci_high"]].itertuples(
            index=False, name=None
        )
    }
    years = scenario.horizon_years
    # One replication has no spread to make an interval from: the table says so.
    shown = "mean (95% CI)" if n > 1 else "one replication: values, no interval (run two or more)"
    table = Table(
        title=f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, "
        f"{years:g} years from {scenario.start_date:%d %b %Y}; {shown}",
        title_justify="left",
    )
    table.add_column("KPI")
    pathways = list(scenario.pathways)
    for pathway in pathways:
        table.add_column(PATHWAY_LABELS[pathway], justify="right")
    for kpi in HEADLINE_KPIS:
        info = KPI_INFO[kpi]
        per_year = kpi in _PER_YEAR
        unit = f"{info.unit} a year" if per_year else info.unit
        label = f"{info.label} ({unit})" if info.unit not in ("£", "%") else info.label
        if per_year and info.unit in ("£",):
            label = f"{info.label} a year"
        cells = []
        for pathway in pathways:
            if (pathway, kpi) not in rows:
                cells.append("–")
                continue
            factor = 1 / years if per_year else 1.0
            mean_value, low_value, high_value = (v * factor for v in rows[(pathway, kpi)])
            cells.append(format_estimate(kpi, mean_value, low_value, high_value))
        table.add_row(label, *cells)
    return table


def comparison_tables(table: pd.DataFrame, base: Scenario, alternatives: list[str]) -> list[Table]:
    """One table per alternative and pathway: base, alternative, paired difference."""
    from simulation.results.catalogue import ALL, HEADLINE_KPIS, HORIZON, KPI_INFO

    selected = table[
        (table["service"] == ALL)
        & (table["unit"] == ALL)
        & (table["place"] == ALL)
        & (table["period"] == HORIZON)
    ]
    years = base.horizon_years
    tables = []
    for name in alternatives:
        rows = {
            (str(r["pathway"]), str(r["kpi"])): r
            for r in selected[selected["alternative"] == name].to_dict("records")
        }
        for pathway in base.pathways:
            out = Table(
                title=f"{name} vs {base.name}: {PATHWAY_LABELS.get(pathway, pathway)} "
                "(paired difference with 95% CI)",
                title_justify="left",
            )
            for column in ("KPI", base.name, name, "difference (95% CI)", "change"):
                out.add_column(column, justify="left" if column == "KPI" else "right")
            for kpi in HEADLINE_KPIS:
                row = rows.get((pathway, kpi))
                if row is None:
                    continue
                per_year = kpi in _PER_YEAR
                factor = 1 / years if per_year else 1.0
                label = KPI_INFO[kpi].label + (" a year" if per_year else "")
                shown = "points" if kpi.endswith("_pct") else kpi
                diff = format_estimate(
                    shown,
                    float(row["diff_mean"]) * factor,
                    float(row["diff_ci_low"]) * factor,
                    float(row["diff_ci_high"]) * factor,
                    column="diff_mean",
                )
                same = identical_difference(float(row["diff_mean"]), float(row["diff_sd"]))
                if same:
                    diff = format_value(kpi, 0.0)
                change = change_word(bool(row["clear"]), same, float(row["pct_change"]))
                base_mean = float(row["base_mean"]) * factor
                alt_mean = float(row["alt_mean"]) * factor
                ref = max(abs(base_mean), abs(alt_mean))
                out.add_row(
                    label,
                    format_value(kpi, base_mean, ref=ref),
                    format_value(kpi, alt_mean, ref=ref),
                    diff,
                    change,
                )
            tables.append(out)
    return tables


def progress_columns() -> tuple[ProgressColumn, ...]:
    """The progress bar's columns: replications done of all, time taken and time left."""
    return (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("replications"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )


def warmup_table(analysis: WarmupAnalysis) -> Table:
    """MSER-5's warm-up for each pathway's monthly series."""
    from simulation.experiment.warmup import MEASURE_LABELS

    table = Table(
        title=f"{analysis.scenario}: MSER-5 warm-up per series ({analysis.replications} "
        f"replications of {analysis.years:g} years from "
        f"{'its census' if analysis.from_census else 'an empty start'}, demand growth held "
        "at zero, no dated changes or reinvestment)",
        title_justify="left",
    )
    for column in ("Pathway", "Series", "Warm-up", "Settled"):
        table.add_column(column, justify="right" if column == "Warm-up" else "left")
    for row in analysis.table.to_dict("records"):
        days = float(row["truncation_days"])
        table.add_row(
            PATHWAY_LABELS.get(str(row["pathway"]), str(row["pathway"])),
            MEASURE_LABELS.get(str(row["measure"]), str(row["measure"])),
            f"{days:,.0f} days ({days / 365.25:.1f} years)",
            "yes" if row["settled"] else "no: run longer",
        )
    return table
