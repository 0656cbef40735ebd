"""The ``pathways`` command: a thin layer over the Python API for planners.

``pathways validate FILE`` checks a scenario; ``pathways run FILE`` runs it with
replications, shows progress, prints headline KPIs with 95% confidence intervals and
writes a results folder. A mistake in the input is reported one line per problem, with
file, line and field, and exits with status 2 before anything is written; no user
mistake produces a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from simulation.loading import load_scenario, scenario_to_yaml
from simulation.problems import InputError
from simulation.scenario import PATHWAY_LABELS, Scenario

# The model, KPIs and results (pandas, scipy.stats) are imported only once a run is
# about to start, so that `pathways validate` and a mistake in the input answer at once.
if TYPE_CHECKING:
    import pandas as pd

    from simulation.assembly import Assembled
    from simulation.precision import PrecisionReport
    from simulation.resume import StreamedRun
    from simulation.warmup import WarmupAnalysis

EXIT_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


AUTO = "auto"


def _replications(text: str) -> int | str:
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least 1 or 'auto', got {text!r}"
        ) from None
    return _positive_int(text)


def _share(text: str) -> float:
    """A share above 0 and below 1, written 0.05 or 5%."""
    body = text.strip()
    try:
        value = float(body[:-1]) / 100 if body.endswith("%") else float(body)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share such as 0.05 or 5%, got {text!r}"
        ) from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a share above 0 and below 1 (0.05 or 5%), got {text!r}"
        )
    return value


def _years(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of years, got {text!r}") from None
    if not 0 < value <= 50:
        raise argparse.ArgumentTypeError(f"expected years above 0 and at most 50, got {text!r}")
    return value


def _add_auto_options(parser: argparse.ArgumentParser) -> None:
    """``--precision`` and ``--max-replications``, for ``--replications auto``."""
    parser.add_argument(
        "--precision",
        type=_share,
        default=0.05,
        help="with --replications auto: target 95%% CI half-width of every headline KPI, as a "
        "share of its mean (default 0.05, i.e. ±5%%)",
    )
    parser.add_argument(
        "--max-replications",
        type=_positive_int,
        default=100,
        metavar="N",
        help="with --replications auto: stop at N replications if the target is not reached "
        "(default 100)",
    )


def _add_executor_options(parser: argparse.ArgumentParser) -> None:
    """``--cluster`` and ``--resume``, shared by ``run`` and ``compare``."""
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the replications on Dask: tcp://HOST:PORT of a running scheduler, or 'local' "
        "to start a LocalCluster of --workers processes (needs pip install 'pathways[dask]')",
    )
    parser.add_argument(
        "--resume",
        metavar="RESULTS_DIR",
        help="finish an interrupted run: the results folder it named; only the replications "
        "it had not saved are run",
    )


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {2**63 - 1}, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="pathways",
        description="Simulate NHS specialised mental health pathways for a provider collaborative.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a scenario file and report problems")
    validate.add_argument("scenario", help="scenario YAML file")

    run = commands.add_parser("run", help="run a scenario and write a results folder")
    run.add_argument("scenario", nargs="?", help="scenario YAML file (optional with --resume)")
    run.add_argument(
        "-r",
        "--replications",
        type=_replications,
        help="number of replications (default: the scenario's), or 'auto': run batches until "
        "every headline KPI's 95%% CI is within --precision of its mean, or --max-replications",
    )
    _add_auto_options(run)
    run.add_argument("--seed", type=_seed, help="master seed (default: the scenario's)")
    run.add_argument(
        "--out",
        default="results",
        help="folder under which results/<scenario>/<timestamp>/ is written (default: results)",
    )
    run.add_argument(
        "-w",
        "--workers",
        type=_positive_int,
        help="worker processes (default: one per core; 1 runs in this process)",
    )
    _add_executor_options(run)
    run.add_argument(
        "--events",
        action="store_true",
        help="also write the patient-level event log (events.parquet)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="print only the results folder")

    compare = commands.add_parser(
        "compare",
        help="run a base scenario and alternatives with common random numbers and compare",
    )
    compare.add_argument("base", nargs="?", help="base scenario YAML file")
    compare.add_argument(
        "alternatives",
        nargs="*",
        metavar="alternative",
        help="alternative scenario YAML files (base and alternatives optional with --resume)",
    )
    compare.add_argument(
        "-r",
        "--replications",
        type=_replications,
        help="number of replications (default: the base scenario's), or 'auto' (see run)",
    )
    _add_auto_options(compare)
    compare.add_argument("--seed", type=_seed, help="master seed (default: the base's)")
    compare.add_argument(
        "--out",
        default="results",
        help="folder under which compare-<base>/<timestamp>/ is written (default: results)",
    )
    compare.add_argument(
        "-w", "--workers", type=_positive_int, help="worker processes (default: one per core)"
    )
    _add_executor_options(compare)
    compare.add_argument("-q", "--quiet", action="store_true", help="print only the results folder")

    warmup = commands.add_parser(
        "warmup",
        help="recommend a warm-up: MSER-5 on the monthly series of a run from an empty start",
    )
    warmup.add_argument("scenario", help="scenario YAML file")
    warmup.add_argument(
        "-r",
        "--replications",
        type=_positive_int,
        default=5,
        help="replications whose mean series is analysed (default 5)",
    )
    warmup.add_argument(
        "--years",
        type=_years,
        help="length of the run from empty (default: four times the scenario's warm-up, "
        "10 to 50 years)",
    )
    warmup.add_argument(
        "-w", "--workers", type=_positive_int, help="worker processes (default: one per core)"
    )
    warmup.add_argument(
        "--empty",
        action="store_true",
        help="start from empty even if the scenario starts from a census",
    )
    warmup.add_argument("--plot", metavar="PNG", help="also write Welch's plot to this file")
    warmup.add_argument("-q", "--quiet", action="store_true", help="print only the recommendation")

    show = commands.add_parser(
        "show", help="print a scenario fully resolved (extends merged, defaults filled)"
    )
    show.add_argument("scenario", help="scenario YAML file")

    report = commands.add_parser(
        "report",
        help="write a report from a results folder: HTML, figures as PNG, tables as CSV",
    )
    report.add_argument(
        "results",
        metavar="RESULTS_DIR",
        help="a folder written by `pathways run` or `pathways compare`",
    )
    report.add_argument("--out", help="folder to write the report to (default: RESULTS_DIR/report)")
    report.add_argument("--pdf", action="store_true", help="also write the report as a PDF")
    report.add_argument("-q", "--quiet", action="store_true", help="print only the report's path")

    from calibration import cli as calibration_cli  # light: its heavy imports wait for a run

    calibration_cli.add_arguments(
        commands.add_parser(
            "calibrate",
            help="fit a scenario to an extract of referrals and spells; write it, its census "
            "and a calibration report",
        )
    )
    return parser


def _report_problems(err: InputError, console: Console) -> int:
    # One line per problem, never wrapped, so that a log or grep sees each one whole.
    for problem in err.problems:
        console.print(f"error: {problem}", markup=False, highlight=False, soft_wrap=True)
    count = len(err.problems)
    console.print(
        f"{count} problem{'s' if count != 1 else ''} found; nothing was run.",
        markup=False,
        highlight=False,
    )
    return EXIT_INPUT


def _check_output_root(root: Path) -> str | None:
    existing = root
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file; --out must be a folder (it is created if missing)"
    # Try it: permissions, read-only disks and special folders all show up here, and the
    # empty probe folder is removed at once.
    try:
        probe = tempfile.mkdtemp(prefix=".pathways-check-", dir=existing)
    except OSError as exc:
        return (
            f"cannot create a folder under {existing} ({exc.strerror or exc}); "
            "choose a folder you can write to"
        )
    os.rmdir(probe)
    return None


def format_value(kpi: str, value: float, signed: bool = False) -> str:
    """A KPI value as a planner reads it: £ with separators, % and days rounded."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    negative = "−" if value < 0 else ""
    sign = ("+" if value > 0 else negative) if signed else negative
    size = abs(value)
    if kpi.endswith("_gbp"):
        text = f"£{size / 1e6:,.2f}m" if size >= 1e6 else f"£{size:,.0f}"
    elif kpi.endswith("_pct"):
        text = f"{size:.1f} pts" if signed else f"{size:.1f}%"
    elif size >= 100:
        text = f"{size:,.0f}"
    else:
        text = f"{size:.1f}"
    return sign + text


def headline_table(scenario: Scenario, summary: pd.DataFrame, n: int) -> Table:
    """Headline KPIs per pathway over the horizon: mean and 95% interval of n replications."""
    from simulation.kpis import ALL, HEADLINE_KPIS, HORIZON, KPI_INFO

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
    table = Table(
        title=f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, "
        f"{years:g} years from {scenario.start_date:%d %b %Y}; mean (95% CI)",
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
            mean = format_value(kpi, mean_value)
            if math.isnan(low_value):
                cells.append(mean)
            else:
                low = format_value(kpi, low_value)
                high = format_value(kpi, high_value)
                cells.append(f"{mean} ({low} to {high})")
        table.add_row(label, *cells)
    return table


def comparison_tables(table: pd.DataFrame, base: Scenario, alternatives: list[str]) -> list[Table]:
    """One table per alternative and pathway: base, alternative, paired difference."""
    from simulation.kpis import ALL, HEADLINE_KPIS, HORIZON, KPI_INFO

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
                diff = format_value(kpi, float(row["diff_mean"]) * factor, signed=True)
                low = float(row["diff_ci_low"]) * factor
                high = float(row["diff_ci_high"]) * factor
                if not math.isnan(low):
                    diff += (
                        f" ({format_value(kpi, low, signed=True)} to "
                        f"{format_value(kpi, high, signed=True)})"
                    )
                pct = float(row["pct_change"])
                if not bool(row["clear"]):
                    change = "no clear difference"
                elif math.isnan(pct):
                    change = "clear"
                else:
                    change = ("+" if pct > 0 else "−") + f"{abs(pct):.1f}%"
                out.add_row(
                    label,
                    format_value(kpi, float(row["base_mean"]) * factor),
                    format_value(kpi, float(row["alt_mean"]) * factor),
                    diff,
                    change,
                )
            tables.append(out)
    return tables


def _progress_columns() -> tuple[ProgressColumn, ...]:
    return (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("replications"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )


def _apply_overrides(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    update = {}
    if args.replications not in (None, AUTO):
        update["replications"] = args.replications
    if args.seed is not None:
        update["seed"] = args.seed
    return scenario.model_copy(update=update) if update else scenario


def cmd_validate(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways validate``."""
    scenario = load_scenario(args.scenario)
    out.print(
        f"{args.scenario}: valid scenario '{scenario.name}' with {len(scenario.places)} places, "
        f"{len(scenario.units)} units, {len(scenario.community_teams)} community teams and "
        f"pathways {', '.join(scenario.pathways)}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways run``."""
    if args.resume:
        return _resume(args, "run", out, err)
    if args.scenario is None:
        err.print("error: give a scenario file, or --resume RESULTS_DIR", markup=False)
        return EXIT_INPUT
    scenario = _apply_overrides(load_scenario(args.scenario), args)
    root = Path(args.out)
    problem = _check_output_root(root)
    if problem:
        err.print(f"error: --out: {problem}", markup=False, highlight=False)
        return EXIT_INPUT
    return _start_streamed(args, "run", [scenario], {scenario.name: args.scenario}, out, err)


def cmd_compare(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways compare``."""
    if args.resume:
        return _resume(args, "compare", out, err)
    if args.base is None or not args.alternatives:
        err.print(
            "error: give a base and at least one alternative scenario file, "
            "or --resume RESULTS_DIR",
            markup=False,
        )
        return EXIT_INPUT
    base = _apply_overrides(load_scenario(args.base), args)
    alternatives = [load_scenario(path) for path in args.alternatives]
    names = [base.name, *(a.name for a in alternatives)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        err.print(
            "error: scenarios compared must have different names; "
            f"{', '.join(repeated)} is used more than once",
            markup=False,
            highlight=False,
        )
        return EXIT_INPUT
    root = Path(args.out)
    problem = _check_output_root(root)
    if problem:
        err.print(f"error: --out: {problem}", markup=False, highlight=False)
        return EXIT_INPUT
    files: dict[str, str | None] = {base.name: args.base}
    files.update({a.name: f for a, f in zip(alternatives, args.alternatives, strict=True)})
    from simulation.comparison import aligned

    return _start_streamed(args, "compare", aligned(base, alternatives), files, out, err)


def _start_streamed(
    args: argparse.Namespace,
    kind: str,
    scenarios: list[Scenario],
    files: dict[str, str | None],
    out: Console,
    err: Console,
) -> int:
    """Start a run or comparison that saves each replication as it finishes."""
    from simulation.resume import StreamedRun

    root = Path(args.out)
    auto = None
    if args.replications == AUTO:
        from simulation.precision import DEFAULT_INITIAL

        auto = {
            "precision": args.precision,
            "max_replications": args.max_replications,
            "initial": DEFAULT_INITIAL,
            "level": 0.95,
        }
    try:
        run = StreamedRun.create(
            root, scenarios, files, bool(getattr(args, "events", False)), list(sys.argv), auto
        )
    except OSError as exc:
        err.print(
            f"error: could not write results under {root}: {exc.strerror or exc}",
            markup=False,
            highlight=False,
        )
        return EXIT_FAILURE
    return _run_streamed(args, kind, run, out, err)


def _resume(args: argparse.Namespace, kind: str, out: Console, err: Console) -> int:
    """``run --resume`` or ``compare --resume``: finish an interrupted run."""
    from simulation.comparison import aligned
    from simulation.resume import ResumeError, StreamedRun

    try:
        run = StreamedRun.open(args.resume)
    except ResumeError as exc:
        err.print(f"error: --resume: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT
    if args.replications is not None and (args.replications == AUTO) != bool(run.auto):
        started = "--replications auto" if run.auto else f"{run.replications} replications"
        err.print(
            f"error: --resume: {args.resume} was started with {started}; resume it without "
            "--replications (it continues as it was started)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INPUT
    if run.info["kind"] != kind:
        other = run.info["kind"]
        err.print(
            f"error: --resume: {args.resume} is an interrupted `pathways {other}`; "
            f"resume it with pathways {other} --resume {args.resume}",
            markup=False,
            highlight=False,
        )
        return EXIT_INPUT
    given = [args.scenario] if kind == "run" else [args.base, *args.alternatives]
    if any(given):
        stored = run.scenarios[0]
        given_count = args.replications if args.replications != AUTO else None
        update = {
            "replications": given_count or stored.replications,
            "seed": args.seed if args.seed is not None else stored.seed,
        }
        loaded = [load_scenario(path) for path in given if path]
        loaded[0] = loaded[0].model_copy(update=update)
        if not run.matches(aligned(loaded[0], loaded[1:])):
            err.print(
                f"error: --resume: {args.resume} was started from different scenarios or "
                "options than those given; resume it without them, or start a new run",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return EXIT_INPUT
    return _run_streamed(args, kind, run, out, err)


def _print_assembled(assembled: Assembled, out: Console) -> None:
    """The headline table of a run, or a comparison's notes and paired differences."""
    scenarios = assembled.scenarios
    if assembled.table is None:
        out.print(headline_table(scenarios[0], assembled.summaries[0], assembled.replications))
        return
    names = [s.name for s in scenarios[1:]]
    for name in names:
        out.print((assembled.notes or {})[name], markup=False, highlight=False)
    for table in comparison_tables(assembled.table, scenarios[0], names):
        out.print(table)


def _run_streamed(
    args: argparse.Namespace, kind: str, run: StreamedRun, out: Console, err: Console
) -> int:
    """Run a streamed run's missing replications, then print and write its results.

    A run to a precision runs batches until its target or cap, and says which.
    """
    names = [s.name for s in run.scenarios]
    auto = run.auto
    if run.resumed:
        of = "" if auto else f" of {run.total}"
        err.print(
            f"Resuming {run.final}: {run.resumed}{of} replications already done",
            markup=False,
            highlight=False,
        )
    report: PrecisionReport | None = None
    try:
        if args.quiet:
            report = _execute(run, args, None)
        else:
            what = f"Running {names[0]}" if kind == "run" else f"Comparing {len(names)} scenarios"
            if auto:
                target = f"±{float(auto['precision']) * 100:g}%"
                what += f" until every headline KPI is within {target}"
            with Progress(*_progress_columns(), console=err) as progress:
                task = progress.add_task(what, total=run.total or None)
                report = _execute(
                    run,
                    args,
                    lambda done, total: progress.update(task, completed=done, total=total),
                )
        assembled = run.assemble()
    except KeyboardInterrupt:
        of = "" if auto else f" of {run.total}"
        err.print(
            f"interrupted: {len(run.done())}{of} replications are saved. "
            f"Finish the run with:\n  pathways {kind} --resume {run.final}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INTERRUPTED
    except RuntimeError as exc:  # Dask asked for but not installed
        err.print(f"error: --cluster: {exc}", markup=False, highlight=False)
        return EXIT_INPUT
    except OSError as exc:  # a full disk while saving a replication or writing the files
        of = "" if auto else f" of {run.total}"
        err.print(
            f"error: could not write results in {run.final}: {exc.strerror or exc}; "
            f"{len(run.done())}{of} replications are saved, and earlier results are "
            f"untouched. When there is room, finish with: pathways {kind} --resume {run.final}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_FAILURE
    if not args.quiet:
        _print_assembled(assembled, out)
    if report is not None:
        (err if args.quiet else out).print(
            report.message(), markup=False, highlight=False, soft_wrap=True
        )
    try:
        folder = run.finish()
    except OSError as exc:
        err.print(
            f"error: could not write results in {run.final}: {exc.strerror or exc}; "
            f"the replications are kept: pathways {kind} --resume {run.final}",
            markup=False,
            highlight=False,
        )
        return EXIT_FAILURE
    message = str(folder) if args.quiet else f"Results written to {folder}"
    out.print(message, markup=False, highlight=False)
    return 0


def _execute(
    run: StreamedRun, args: argparse.Namespace, progress: Callable[[int, int], None] | None
) -> PrecisionReport | None:
    """Run what is missing: a fixed number of replications, or batches to a precision."""
    if run.auto:
        return run.execute_to_precision(args.workers, args.cluster, progress)
    run.execute(args.workers, args.cluster, progress)
    return None


def warmup_table(analysis: WarmupAnalysis) -> Table:
    """MSER-5's warm-up for each pathway's monthly series."""
    from simulation.warmup import MEASURE_LABELS

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


def cmd_warmup(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways warmup``: MSER-5 (and Welch's plot) on a run from the scenario's start."""
    if args.empty:
        from simulation.api import load

        scenario = load(args.scenario, {"census": None})
    else:
        scenario = load_scenario(args.scenario)
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        problem = _check_output_root(plot.parent if str(plot.parent) else Path("."))
        if problem:
            err.print(f"error: --plot: {problem}", markup=False, highlight=False)
            return EXIT_INPUT
    from simulation.warmup import analyse_warmup, default_years

    years = args.years if args.years is not None else default_years(scenario)
    if args.quiet:
        analysis = analyse_warmup(scenario, years, args.replications, args.workers)
    else:
        with Progress(*_progress_columns(), console=err) as bar:
            task = bar.add_task(
                f"Running {scenario.name} from {'its census' if scenario.census else 'empty'} "
                f"for {years:g} years",
                total=args.replications,
            )
            analysis = analyse_warmup(
                scenario,
                years,
                args.replications,
                args.workers,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        out.print(warmup_table(analysis))
    out.print(analysis.message(), markup=False, highlight=False, soft_wrap=True)
    if plot is not None:
        from simulation.plots import welch_plot

        try:
            welch_plot(analysis).savefig(plot, dpi=150)
        except OSError as exc:
            err.print(f"error: could not write {plot}: {exc.strerror or exc}", markup=False)
            return EXIT_FAILURE
        if not args.quiet:
            out.print(f"Welch's plot written to {plot}", markup=False, highlight=False)
    return 0


def cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways show``: the scenario as the model sees it, as YAML."""
    sys.stdout.write(scenario_to_yaml(load_scenario(args.scenario)))
    return 0


def cmd_report(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways report``: a report of a results folder (it never runs the model)."""
    from simulation.report import ReportError, write_report
    from simulation.resultsfolder import NotAResultsFolder

    try:
        files = write_report(args.results, args.out, pdf=args.pdf)
    except (NotAResultsFolder, ReportError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT
    except OSError as exc:
        where = args.out or args.results
        err.print(
            f"error: could not write the report under {where}: {exc.strerror or exc}; "
            "nothing was written (use --out to choose another folder)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_FAILURE
    if args.quiet:
        out.print(str(files.html), markup=False, highlight=False, soft_wrap=True)
        return 0
    out.print(f"Report written to {files.folder}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"  {files.html}", markup=False, highlight=False, soft_wrap=True)
    if files.pdf is not None:
        out.print(f"  {files.pdf}", markup=False, highlight=False, soft_wrap=True)
    return 0


def cmd_calibrate(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways calibrate``: see :mod:`calibration.cli`."""
    from calibration.cli import calibrate

    return calibrate(args, out, err)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pathways`` console command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    width = None if sys.stdout.isatty() else 160
    out = Console(highlight=False, width=width)
    err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)
    handlers = {
        "validate": cmd_validate,
        "warmup": cmd_warmup,
        "run": cmd_run,
        "compare": cmd_compare,
        "show": cmd_show,
        "report": cmd_report,
        "calibrate": cmd_calibrate,
    }
    try:
        return handlers[args.command](args, out, err)
    except InputError as exc:
        return _report_problems(exc, err)
    except KeyboardInterrupt:
        err.print("interrupted; no results were written", markup=False)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
