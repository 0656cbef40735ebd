"""``pathways optimise``: the best split of a reinvestment budget, with a stated confidence.

The command-line glue only: its arguments (added to the ``pathways`` parser by
:func:`add_arguments`) and :func:`optimise`, which checks the optimisation file (a bad
or infeasible file is an :class:`~simulation.core.problems.InputError`, printed one line
per problem with exit status 2 before anything is written), runs the search and the
clean-up with a progress bar, prints the result and where it was written. Ctrl-C keeps
every finished evaluation and prints the command that finishes the optimisation.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from simulation.cli import options

if TYPE_CHECKING:
    from rich.console import Console

    from simulation.optimise.optimiser import Pending

EXIT_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``pathways optimise``."""
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="optimisation YAML file (optional with --resume)"
    )
    parser.add_argument(
        "--out",
        default="results",
        help="folder under which optimise-<name>/<timestamp>/ is written (default: results)",
    )
    parser.add_argument(
        "-w",
        "--workers",
        type=options.positive_int,
        help="worker processes (default: one per core; 1 runs in this process)",
    )
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the replications on Dask: tcp://HOST:PORT of a running scheduler, or 'local'",
    )
    parser.add_argument(
        "--resume",
        metavar="RESULTS_DIR",
        help="finish an interrupted optimisation: the folder it named; saved evaluations "
        "are not run again",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the file and count its feasible allocations; run nothing",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the results folder")


def _money(value: float) -> str:
    return f"{'-' if value < 0 else '+'}£{abs(value):,.0f}"


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def optimise(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run ``pathways optimise``; return the exit status."""
    from rich.progress import Progress

    from simulation.cli.terminal import progress_columns
    from simulation.optimise.optimiser import OptimisationError, check, reopen, start

    if args.resume is None and args.file is None:
        _say(err, "error: give an optimisation FILE, or --resume RESULTS_DIR")
        return EXIT_INPUT
    if args.resume is not None and args.file is not None:
        _say(err, "error: give an optimisation FILE or --resume RESULTS_DIR, not both")
        return EXIT_INPUT
    if args.check:
        if args.file is None:
            _say(err, "error: --check needs an optimisation FILE")
            return EXIT_INPUT
        problem, space = check(args.file)
        _say(
            out,
            f"{args.file}: valid optimisation '{problem.spec.name}' over "
            f"{len(problem.spec.variables)} variables: {len(space.feasible):,} feasible "
            f"allocations (judged on {', '.join(problem.years)})",
        )
        return 0
    try:
        if args.resume is not None:
            pending: Pending = reopen(args.resume)
        else:
            pending = start(args.file, args.out, ["pathways", *sys.argv[1:]])
    except OptimisationError as exc:
        _say(err, f"error: {exc}")
        return EXIT_INPUT
    except OSError as exc:
        _say(err, f"error: could not create a folder under {args.out}: {exc.strerror or exc}")
        return EXIT_FAILURE
    try:
        if args.quiet:
            result = pending.run(args.workers, args.cluster)
        else:
            size = len(pending.space.feasible)
            _say(err, f"{pending.problem.spec.name}: {size:,} feasible allocations")
            with Progress(*progress_columns(), console=err) as progress:
                tasks: dict[str, object] = {}

                def update(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = progress.add_task(f"Optimising: {stage}", total=total)
                    progress.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

                result = pending.run(args.workers, args.cluster, update)
    except KeyboardInterrupt:
        _say(
            err,
            "interrupted: every finished replication is saved. Finish the optimisation with:\n"
            f"  pathways optimise --resume {pending.final}",
        )
        return EXIT_INTERRUPTED
    except RuntimeError as exc:  # Dask asked for but not installed
        _say(err, f"error: --cluster: {exc}")
        return EXIT_INPUT
    except OSError as exc:
        _say(
            err,
            f"error: could not write in {pending.final}: {exc.strerror or exc}; finished "
            f"replications are kept: pathways optimise --resume {pending.final}",
        )
        return EXIT_FAILURE
    if args.quiet:
        _say(out, str(result.folder))
        return 0
    info = result.selection
    _say(out, info["statement"])
    for member in info.get("members", []):
        effects = "; ".join(
            f"{e['label']} {e['versus_today']['mean']:+,.1f} {e['unit']} (95% CI "
            f"{e['versus_today']['low']:+,.1f} to {e['versus_today']['high']:+,.1f})"
            for e in member["effects"]
        )
        _say(out, f"  {member['candidate']} ({member['words']}): against today's plan {effects}")
    if info.get("recommended_file") is None:
        _say(out, f"Results written to {result.folder}")
        return 0
    selection = info["selection"]
    if selection.get("capped"):
        _say(
            out,
            f"  (the procedure asked for {selection['required']:,} replications of each finalist "
            f"to separate them by the delta given; max_replications stopped it at "
            f"{selection['replications']:,}, so the margin stated is wider)",
        )
    for key, label in (("versus_today", "today's plan"), ("versus_runner_up", "the runner-up")):
        diff = info[key]["objective"]
        spend = info[key]["spend_gbp"]
        unit = info["objective"]["unit"]
        # As the report says it: an interval across zero is no clear difference.
        clear = diff["low"] > 0 or diff["high"] < 0
        _say(
            out,
            f"  against {label}: {diff['mean']:+,.1f} {unit} (95% CI {diff['low']:+,.1f} to "
            f"{diff['high']:+,.1f}{'' if clear else ': no clear difference'}); total spend "
            f"{_money(spend['mean'])} a year ({_money(spend['low'])} to {_money(spend['high'])})",
        )
    _say(out, f"Recommended scenario: {result.folder / info['recommended_file']}")
    _say(out, f"Results written to {result.folder}")
    return 0
