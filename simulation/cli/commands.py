"""The ``pathways`` commands: a thin layer over the Python API for planners.

``pathways validate FILE`` checks a scenario; ``pathways run FILE`` runs it with
replications, shows progress, prints headline KPIs with 95% confidence intervals and
writes a results folder. A mistake in the input is reported one line per problem, with
file, line and field, and exits with status 2 before anything is written; no user
mistake produces a traceback. The commands and options are defined in
:mod:`simulation.cli.arguments` and read by :mod:`simulation.cli.main`; the tables
printed are made in :mod:`simulation.cli.terminal`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress

from simulation.cli.options import AUTO
from simulation.cli.terminal import (
    PlainConsole,
    comparison_tables,
    headline_table,
    progress_columns,
    warmup_table,
)
from simulation.core.problems import InputError
from simulation.core.safetext import printable
from simulation.experiment.executors import ClusterUnavailable, start_pool_early
from simulation.scenario.loading import derive, load_scenario, scenario_to_yaml
from simulation.scenario.schema import Scenario

# The model, KPIs and results (pandas, scipy.stats) are imported only once a run is
# about to start, so that `pathways validate` and a mistake in the input answer at once.
if TYPE_CHECKING:
    from simulation.experiment.precision import PrecisionReport
    from simulation.store.resume import StreamedRun
    from simulation.store.writer import Assembled

EXIT_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


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


def _check_output_root(root: Path, option: str = "--out") -> str | None:
    """Why ``root`` cannot be written to (its nearest existing folder), or None."""
    existing = root
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "--out must be a folder" if option == "--out" else f"{option} must be in a folder"
        return f"{existing} is a file; {what} (it is created if missing)"
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


OPTIONS = {"replications": "--replications", "seed": "--seed"}
"""The scenario fields that command-line options set, and the options that set them."""


def _apply_overrides(scenario: Scenario, file: str, args: argparse.Namespace) -> Scenario:
    """The scenario with ``--replications`` and ``--seed``, checked as in its file."""
    update = {}
    if args.replications not in (None, AUTO):
        update["replications"] = args.replications
    if args.seed is not None:
        update["seed"] = args.seed
    return derive(scenario, update, OPTIONS, file)


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


def _percent(share: float) -> str:
    """A share as the planner wrote it for --precision: 0.05 as ``5%``."""
    return f"{share * 100:g}%"


def _auto_options_given(args: argparse.Namespace) -> str | None:
    """``--precision`` and ``--max-replications`` as given on the command line, if any."""
    given = [
        f"{option} {value}"
        for option, value in (
            ("--precision", None if args.precision is None else _percent(args.precision)),
            ("--max-replications", args.max_replications),
        )
        if value is not None
    ]
    return " and ".join(given) or None


def _misplaced_auto_options(args: argparse.Namespace, err: Console) -> bool:
    """Refuse ``--precision`` or ``--max-replications`` without ``--replications auto``."""
    given = _auto_options_given(args)
    if given is None or args.replications == AUTO:
        return False
    err.print(
        f"error: {given} {'are' if ' and ' in given else 'is'} used only with --replications "
        f"auto; add that, or leave {'them' if ' and ' in given else 'it'} out",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return True


def _cluster_missing(args: argparse.Namespace, err: Console) -> bool:
    """Refuse ``--cluster`` when Dask is not installed, before anything runs."""
    if not args.cluster or importlib.util.find_spec("distributed") is not None:
        return False
    err.print(
        "error: --cluster: running on a Dask cluster needs the optional extra: "
        "pip install 'pathways[dask]'; nothing was run",
        soft_wrap=True,
    )
    return True


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways run``."""
    if _cluster_missing(args, err):
        return EXIT_INPUT
    if args.resume:
        return _resume(args, "run", out, err)
    if args.scenario is None:
        err.print("error: give a scenario file, or --resume RESULTS_DIR", markup=False)
        return EXIT_INPUT
    if _misplaced_auto_options(args, err):
        return EXIT_INPUT
    scenario = _apply_overrides(load_scenario(args.scenario), args.scenario, args)
    root = Path(args.out)
    problem = _check_output_root(root)
    if problem:
        err.print(f"error: --out: {problem}", markup=False, highlight=False)
        return EXIT_INPUT
    return _start_streamed(args, "run", [scenario], {scenario.name: args.scenario}, out, err)


def cmd_compare(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways compare``."""
    if _cluster_missing(args, err):
        return EXIT_INPUT
    if args.resume:
        return _resume(args, "compare", out, err)
    if args.base is None or not args.alternatives:
        err.print(
            "error: give a base and at least one alternative scenario file, "
            "or --resume RESULTS_DIR",
            markup=False,
        )
        return EXIT_INPUT
    if _misplaced_auto_options(args, err):
        return EXIT_INPUT
    base = _apply_overrides(load_scenario(args.base), args.base, args)
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
    from simulation.experiment.comparison import aligned

    scenarios = aligned(base, alternatives, files=files)
    return _start_streamed(args, "compare", scenarios, files, out, err)


def _start_streamed(
    args: argparse.Namespace,
    kind: str,
    scenarios: list[Scenario],
    files: dict[str, str | None],
    out: Console,
    err: Console,
) -> int:
    """Start a run or comparison that saves each replication as it finishes."""
    # The input is checked: the pool's fork server imports the model now, on the other
    # core, while this process imports it too (a run to a precision starts with fewer
    # replications than its scenario's, but with more than one).
    start_pool_early(args.workers, args.cluster, len(scenarios) * scenarios[0].replications)
    from simulation.store.resume import StreamedRun

    root = Path(args.out)
    auto = None
    if args.replications == AUTO:
        from simulation.experiment.precision import DEFAULT_CAP, DEFAULT_INITIAL, DEFAULT_PRECISION

        auto = {
            "precision": DEFAULT_PRECISION if args.precision is None else args.precision,
            "max_replications": args.max_replications or DEFAULT_CAP,
            "initial": DEFAULT_INITIAL,
            "level": 0.95,
        }
    try:
        run = StreamedRun.create(
            root,
            scenarios,
            files,
            bool(getattr(args, "events", False)),
            list(sys.argv),
            auto,
            csv=bool(args.csv),
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
    from simulation.experiment.comparison import aligned
    from simulation.store.resume import ResumeError, StreamedRun

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
    auto_given = _auto_options_given(args)
    stored_auto = run.auto
    if auto_given is not None and (
        stored_auto is None
        or (args.precision is not None and args.precision != float(stored_auto["precision"]))
        or (
            args.max_replications is not None
            and args.max_replications != int(stored_auto["max_replications"])
        )
    ):
        if stored_auto is None:
            started = f"{run.replications} replications"
        else:
            started = (
                f"--replications auto --precision {_percent(float(stored_auto['precision']))} "
                f"--max-replications {int(stored_auto['max_replications'])}"
            )
        err.print(
            f"error: --resume: {args.resume} was started with {started}, not {auto_given}; resume "
            "it without them (it continues as it was started), or start a new run",
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
    ignored = _options_the_run_keeps(args, run, bool(any(given)))
    if ignored:
        err.print(
            f"error: --resume: {args.resume} was started with {'; '.join(ignored)}; resume "
            "it without them (it continues as it was started), or start a new run",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INPUT
    if any(given):
        stored = run.scenarios[0]
        given_count = args.replications if args.replications != AUTO else None
        update = {
            "replications": given_count or stored.replications,
            "seed": args.seed if args.seed is not None else stored.seed,
        }
        files = [path for path in given if path]
        loaded = [load_scenario(path) for path in files]
        loaded[0] = derive(loaded[0], update, OPTIONS, files[0])
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


def _options_the_run_keeps(
    args: argparse.Namespace, run: StreamedRun, with_files: bool
) -> list[str]:
    """Options given on a resume that differ from those the run was started with.

    A resumed run continues as it was started; an option that would change it is
    refused, never quietly dropped. Given with the scenario files, replications and seed
    are checked with them, as the run's scenarios.
    """
    differ = []
    if (
        not with_files
        and isinstance(args.replications, int)
        and args.replications != run.replications
    ):
        differ.append(f"{run.replications} replications, not --replications {args.replications}")
    stored_seed = run.scenarios[0].seed
    if not with_files and args.seed is not None and args.seed != stored_seed:
        differ.append(f"seed {stored_seed}, not --seed {args.seed}")
    if getattr(args, "csv", False) and not run.csv:
        differ.append("no --csv")
    if getattr(args, "events", False) and not run.info["keep_events"]:
        differ.append("no --events")
    return differ


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
    from simulation.store.resume import ResumeError

    names = [s.name for s in run.scenarios]
    auto = run.auto
    for line in run.discarded:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
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
            with Progress(*progress_columns(), console=err) as progress:
                task = progress.add_task(what, total=run.total or None)
                report = _execute(
                    run,
                    args,
                    lambda done, total: progress.update(task, completed=done, total=total),
                )
        assembled = run.assemble()
    except KeyboardInterrupt as exc:
        of = "" if auto else f" of {run.total}"
        how = "interrupted" if not isinstance(exc, Stopped) else f"stopped ({exc})"
        err.print(
            f"{how}: {len(run.done())}{of} replications are saved. "
            f"Finish the run with:\n  pathways {kind} --resume {run.final}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return _exit_status(exc)
    except ResumeError as exc:  # a saved part damaged while the run went on
        err.print(
            f"error: {exc}; finish with: pathways {kind} --resume {run.final}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_FAILURE
    except ClusterUnavailable as exc:  # no scheduler at the address, or Dask missing
        if run.discard():
            err.print(f"error: --cluster: {exc}; nothing was run", soft_wrap=True)
        else:
            err.print(
                f"error: --cluster: {exc}; the replications saved are kept: when the cluster "
                f"is there, finish with: pathways {kind} --resume {run.final}",
                soft_wrap=True,
            )
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
    # One line whatever the folder's name holds: a script reads it (with -q) as the path.
    shown = printable(str(folder), keep_newlines=False)
    message = shown if args.quiet else f"Results written to {shown}"
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


def cmd_warmup(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways warmup``: MSER-5 (and Welch's plot) on a run from the scenario's start."""
    if args.empty:
        from simulation.api import load

        scenario = load(args.scenario, {"census": None})
    else:
        scenario = load_scenario(args.scenario)
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        problem = _check_output_root(plot.parent if str(plot.parent) else Path("."), "--plot")
        if plot.suffix.lower() not in PLOT_SUFFIXES:
            problem = (
                f"expected a file name ending {', '.join(PLOT_SUFFIXES)} (the format is taken "
                f"from it), got {plot.name}"
            )
        elif plot.is_dir():
            problem = f"{plot} is a folder; give the name of the file to write"
        if problem:
            err.print(f"error: --plot: {problem}; nothing was run", soft_wrap=True)
            return EXIT_INPUT
    from simulation.experiment.warmup import analyse_warmup, default_years

    years = args.years if args.years is not None else default_years(scenario)
    if args.quiet:
        analysis = analyse_warmup(scenario, years, args.replications, args.workers)
    else:
        with Progress(*progress_columns(), console=err) as bar:
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
            plot.parent.mkdir(parents=True, exist_ok=True)  # as --out, created if missing
            welch_plot(analysis).savefig(plot, dpi=150)
        except OSError as exc:
            err.print(f"error: could not write {plot}: {exc.strerror or exc}", markup=False)
            return EXIT_FAILURE
        if not args.quiet:
            out.print(f"Welch's plot written to {plot}", markup=False, highlight=False)
    return 0


PLOT_SUFFIXES = (".png", ".pdf", ".svg")
"""The file formats of ``warmup --plot``, by the file name's ending."""


def cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways show``: the scenario as the model sees it, as YAML."""
    sys.stdout.write(scenario_to_yaml(load_scenario(args.scenario)))
    return 0


def cmd_report(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways report``: a report of a results folder (it never runs the model)."""
    from simulation.report.content import ReportError
    from simulation.report.publish import write_report
    from simulation.store.reader import NotAResultsFolder

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


def cmd_serve(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways serve``: the web page (see :mod:`simulation.web`)."""
    if args.port > 65535:
        err.print("error: --port: expected a port number from 1 to 65535", markup=False)
        return EXIT_INPUT
    workspace = Path(args.workspace)
    problem = _check_output_root(workspace)
    if problem:
        problem = problem.replace("--out", "--workspace")
        err.print(f"error: --workspace: {problem}", markup=False, highlight=False)
        return EXIT_INPUT
    try:
        from simulation.web.server import serve
        from simulation.web.workspace import Workspace, WorkspaceBusy
    except ImportError as exc:  # the optional web extra is not installed
        err.print(
            f"error: the web page needs the web extra ({exc.name} is missing): "
            "pip install 'pathways[web]'",
            markup=False,
            highlight=False,
        )
        return EXIT_INPUT
    try:
        Workspace(workspace).hold().close()
    except WorkspaceBusy as exc:
        err.print(f"error: --workspace: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT
    out.print(
        f"Serving {workspace.resolve()} on http://{args.host}:{args.port}/ (Ctrl-C stops; "
        "unfinished jobs resume at the next start)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    try:
        serve(workspace, args.host, args.port, args.workers, args.cluster, args.user_header)
    except WorkspaceBusy as exc:
        err.print(f"error: --workspace: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT
    except SystemExit as exc:  # uvicorn could not listen, and has said why
        if not exc.code:
            return 0
        err.print(
            f"error: could not serve on {args.host}:{args.port}; if another program uses the "
            "port, choose another with --port",
            markup=False,
            highlight=False,
        )
        return EXIT_FAILURE
    except OSError as exc:
        err.print(
            f"error: could not serve on {args.host}:{args.port}: {exc.strerror or exc}",
            markup=False,
            highlight=False,
        )
        return EXIT_FAILURE
    return 0


def cmd_calibrate(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways calibrate``: see :mod:`simulation.cli.calibrate`."""
    from simulation.cli.calibrate import calibrate

    return calibrate(args, out, err)


def cmd_optimise(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``pathways optimise``: see :mod:`simulation.cli.optimise`."""
    from simulation.cli.optimise import optimise

    return optimise(args, out, err)


class Stopped(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, SIGHUP): handled as Ctrl-C is."""

    def __init__(self, signum: int | str):
        # By number from the handler; by name when SimPy re-raises a process's exception
        # as ``type(e)(*e.args)``, with the name this passed up as its argument.
        stopped_by = signal.Signals[signum] if isinstance(signum, str) else signal.Signals(signum)
        super().__init__(stopped_by.name)
        self.signum = int(stopped_by)


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


def _exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 plus the signal's number, as a shell reports a process ended by it."""
    return 128 + interrupt.signum if isinstance(interrupt, Stopped) else EXIT_INTERRUPTED


def run_command(args: argparse.Namespace) -> int:
    """Run the command ``args`` names (read by :func:`simulation.cli.main.main`)."""
    width = None if sys.stdout.isatty() else 160
    out = PlainConsole(width=width)
    err = PlainConsole(stderr=True, width=None if sys.stderr.isatty() else 160)
    handlers = {
        "validate": cmd_validate,
        "warmup": cmd_warmup,
        "run": cmd_run,
        "compare": cmd_compare,
        "show": cmd_show,
        "report": cmd_report,
        "calibrate": cmd_calibrate,
        "optimise": cmd_optimise,
        "serve": cmd_serve,
    }
    try:
        with _stopped_as_interrupted():
            return handlers[args.command](args, out, err)
    except InputError as exc:
        return _report_problems(exc, err)
    except KeyboardInterrupt as exc:
        err.print("interrupted; no results were written", markup=False)
        return _exit_status(exc)


@contextlib.contextmanager
def _stopped_as_interrupted() -> Iterator[None]:
    """SIGTERM and SIGHUP end a command as Ctrl-C does, for the command's life.

    A run stopped any of these ways keeps its saved replications and prints the command
    that finishes it. The handlers a caller had (a notebook, a test) are put back after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    before = {number: signal.signal(number, _stop) for number in numbers}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
