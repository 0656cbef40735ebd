"""``pathways calibrate``: fit a scenario to an extract, write it, its census and a report.

The command-line glue only: its arguments (added to the ``pathways`` parser by
:func:`add_arguments`) and :func:`calibrate`, which reads and checks the inputs, fits,
writes the fitted scenario and census, runs the back-test and writes the report. Every
input is checked before anything is written; a problem with the extract, the base
scenario or an option is an :class:`~simulation.core.problems.InputError`, which the
``pathways`` command prints one line per problem before exiting with status 2.
Heavy modules (pandas, scipy, the model) are imported only once the inputs are read.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from simulation.cli.options import MAX_REPLICATIONS, bounded_int, whole_number
from simulation.core.problems import InputError, Problem

if TYPE_CHECKING:
    from rich.console import Console

    from simulation.scenario.schema import Scenario

FITTED_MARK = "# Fitted by `"
"""The first line of a fitted scenario: only such a file is ever overwritten."""


def _date(text: str) -> dt.date:
    from simulation.scenario.schema import FIRST_START, LAST_START

    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    if not FIRST_START <= date <= LAST_START:
        raise argparse.ArgumentTypeError(
            f"expected a date from {FIRST_START} to {LAST_START}, got {text}"
        )
    return date


_count = whole_number(0)


def _workers(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``pathways calibrate``."""
    parser.add_argument(
        "extract",
        metavar="EXTRACT",
        help="the extract: CSV or parquet, one row per referral (schema: calibration/README.md)",
    )
    parser.add_argument(
        "--base",
        metavar="FILE",
        required=True,
        help="the scenario to fit; its places, units, teams and costs are kept",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="the fitted scenario to write (YAML); its census and report are written beside it",
    )
    parser.add_argument(
        "--start",
        metavar="DATE",
        type=_date,
        help="first day of the extract's period (default: inferred from the rows)",
    )
    parser.add_argument(
        "--extract-date",
        metavar="DATE",
        type=_date,
        help="last day the extract covers (default: the latest date in it)",
    )
    parser.add_argument(
        "--drop-bad-rows",
        action="store_true",
        help="leave out rows with problems, and say how many, instead of stopping",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="folder for the calibration report (default: OUT without .yaml, plus -report)",
    )
    parser.add_argument(
        "-r",
        "--replications",
        metavar="N",
        type=bounded_int(0, MAX_REPLICATIONS),
        default=20,
        help="replications of the back-test (default: 20; 0 skips it)",
    )
    parser.add_argument(
        "-w",
        "--workers",
        metavar="N",
        type=_workers,
        help="worker processes for the back-test (default: one per core)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the files written")


def _check_out(out: Path, base: Path, report: Path) -> list[Problem]:
    """The fitted scenario and report may be written where asked, over nothing precious."""
    problems = []
    if out.suffix.lower() not in (".yaml", ".yml"):
        problems.append(Problem(str(out), None, "--out", "expected a .yaml file name"))
    if not out.parent.is_dir():
        problems.append(
            Problem(str(out), None, "--out", f"folder {out.parent} does not exist; create it first")
        )
    elif not os.access(out.parent, os.W_OK):
        problems.append(Problem(str(out), None, "--out", f"cannot write to {out.parent}"))
    if out.exists():
        if out.resolve() == base.resolve():
            problems.append(Problem(str(out), None, "--out", "is the base scenario itself"))
        elif not out.is_file() or not out.read_text(errors="replace").startswith(FITTED_MARK):
            problems.append(
                Problem(
                    str(out),
                    None,
                    "--out",
                    "exists and was not written by pathways calibrate; choose another name "
                    "(only an earlier fitted scenario is replaced)",
                )
            )
    census = out.with_name(f"{out.stem}-census.csv")
    earlier = out.is_file() and out.read_text(errors="replace").startswith(FITTED_MARK)
    if census.exists() and not (earlier and census.is_file()):
        problems.append(
            Problem(
                str(census),
                None,
                "--out",
                "the census of the fitted scenario would be written here, but the file exists "
                "and was not written by pathways calibrate beside it; choose another --out",
            )
        )
    if report.exists() and (
        not report.is_dir() or (any(report.iterdir()) and not (report / "report.html").exists())
    ):
        problems.append(
            Problem(
                str(report),
                None,
                "--report",
                "exists and is not an earlier calibration report; choose another folder",
            )
        )
    return problems


def _command(args: argparse.Namespace) -> str:
    """The command, as it could be typed again, for the fitted file and the report."""
    words = ["pathways", "calibrate", str(args.extract), "--base", args.base, "--out", args.out]
    if args.start is not None:
        words += ["--start", args.start.isoformat()]
    if args.extract_date is not None:
        words += ["--extract-date", args.extract_date.isoformat()]
    if args.drop_bad_rows:
        words.append("--drop-bad-rows")
    return shlex.join(words)


@contextlib.contextmanager
def _restored_on_failure(*paths: Path) -> Iterator[None]:
    """Put ``paths`` back as they were (or absent) if the block fails: nothing half-written."""
    before = {path: path.read_bytes() if path.is_file() else None for path in paths}
    try:
        yield
    except BaseException:
        for path, data in before.items():
            with contextlib.suppress(OSError):
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(data)
        raise


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def calibrate(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run ``pathways calibrate``; raise :class:`InputError` for bad input."""
    from simulation.scenario.loading import load_scenario

    base_path = Path(args.base)
    out_path = Path(args.out)
    report = Path(args.report) if args.report else out_path.with_name(f"{out_path.stem}-report")
    base = load_scenario(base_path)
    problems = _check_out(out_path, base_path, report)
    if problems:
        raise InputError(problems)
    from simulation.store.lock import FolderBusy, locked

    # One calibration at a time writes into a folder: a second one is told so at once.
    try:
        with locked(out_path.parent, "writing a calibration in"):
            return _calibrate(args, out, err, base, base_path, out_path, report)
    except FolderBusy as exc:
        raise InputError([Problem(str(out_path), None, "--out", str(exc))]) from None


def _calibrate(
    args: argparse.Namespace,
    out: Console,
    err: Console,
    base: Scenario,
    base_path: Path,
    out_path: Path,
    report: Path,
) -> int:
    """Calibrate once the inputs are checked and the output folder is this process's."""
    from simulation.scenario.loading import load_scenario

    quiet = args.quiet

    from calibration.census import census_from_extract, community_caseload, summary, waited_for
    from calibration.extract import read_extract
    from calibration.fitting import fit_extract
    from calibration.report import backtest_summary, write_report
    from calibration.writer import write_fitted

    extract = read_extract(
        args.extract, base, args.start, args.extract_date, drop_bad_rows=args.drop_bad_rows
    )
    if extract.dropped_rows:
        for problem in extract.dropped[:20]:
            _say(err, f"warning: {problem}")
        more = len(extract.dropped) - 20
        if more > 0:
            _say(err, f"warning: ... and {more} more problems (listed in the report)")
        total = extract.dropped_rows + len(extract.rows)
        _say(
            err,
            f"warning: {extract.dropped_rows:,} of {total:,} rows had problems and were left "
            "out (--drop-bad-rows)",
        )
    if not quiet:
        inferred = []
        if extract.start_inferred:
            inferred.append("start inferred from the rows; give --start to set it")
        if extract.extract_date_inferred:
            inferred.append("extract date: its latest date; give --extract-date to set it")
        _say(
            err,
            f"Extract {extract.file}: {len(extract.rows):,} rows, period {extract.start} to "
            f"{extract.extract_date}" + (f" ({'; '.join(inferred)})" if inferred else ""),
        )
        _say(err, "Fitting referral rates, lengths of stay and routing shares ...")
    fit = fit_extract(extract, base)
    rows = census_from_extract(extract, extract.period_days, base, base.seed)
    rows += community_caseload(extract, base, extract.period_days, base.seed, waited_for(rows))
    census_text = summary(rows)
    command = _command(args)
    with _restored_on_failure(out_path, out_path.with_name(f"{out_path.stem}-census.csv")):
        census_path = write_fitted(
            fit, base_path, out_path, rows, census_text, report / "report.html", command
        )
        load_scenario(out_path)  # what was written must load: the one door checks it
    backtest = None
    if args.replications > 0:
        from calibration.backtest import run_backtest

        if quiet:
            backtest = run_backtest(extract, out_path, report, args.replications, args.workers)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
            ) as progress:
                task = progress.add_task("Back-test", total=args.replications)
                backtest = run_backtest(
                    extract,
                    out_path,
                    report,
                    args.replications,
                    args.workers,
                    progress=lambda done, total: progress.update(task, completed=done),
                )
    page = write_report(fit, backtest, report, out_path, census_text, command)
    if quiet:
        for path in (out_path, census_path, page):
            _say(out, str(path))
        return 0
    for (pathway, service), sf in fit.services.items():
        if sf.los is not None:
            _say(
                out,
                f"  {pathway}/{service}: length of stay {sf.los.chosen}, mean "
                f"{sf.los.best.mean.text(3)} days; {sf.los.gof.statement()}",
            )
    if backtest is not None:
        _say(
            out,
            f"Back-test over the extract's period ({args.replications} replications): "
            + backtest_summary(backtest),
        )
    _say(out, f"Fitted scenario: {out_path} (extends {args.base})")
    _say(out, f"Census: {census_path} ({census_text})")
    _say(out, f"Report: {page}")
    return 0
