"""The ``pathways`` command line: its commands, options and what each option accepts.

Every option's value is checked here, as argparse reads it, so that a mistake such as
``-r 0`` or ``--precision 150%`` gets one sentence saying what was expected.
"""

from __future__ import annotations

import argparse

from simulation.cli import calibrate, optimise, options


def _add_auto_options(parser: argparse.ArgumentParser) -> None:
    """``--precision`` and ``--max-replications``, for ``--replications auto``."""
    parser.add_argument(
        "--precision",
        type=options.share,
        help="with --replications auto: target 95%% CI half-width of every headline KPI, as a "
        "share of its mean (default 0.05, i.e. ±5%%)",
    )
    parser.add_argument(
        "--max-replications",
        type=options.bounded_int(2, options.MAX_REPLICATIONS),
        metavar="N",
        help="with --replications auto: stop at N replications if the target is not reached "
        "(default 100; at least 2, as an interval needs two)",
    )


def _add_executor_options(parser: argparse.ArgumentParser) -> None:
    """``--cluster``, ``--resume`` and ``--csv``, shared by ``run`` and ``compare``."""
    parser.add_argument(
        "--csv",
        action="store_true",
        help="also write the per-replication tables as CSV (kpis.csv, monthly.csv) beside "
        "their parquet files",
    )
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        type=options.cluster,
        help="run the replications on Dask: tcp://HOST:PORT of a running scheduler, or 'local' "
        "to start a LocalCluster of --workers processes (needs pip install 'pathways[dask]')",
    )
    parser.add_argument(
        "--resume",
        metavar="RESULTS_DIR",
        help="finish an interrupted run: the results folder it named; only the replications "
        "it had not saved are run",
    )


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
        type=options.replications,
        help="number of replications (default: the scenario's), or 'auto': run batches until "
        "every headline KPI's 95%% CI is within --precision of its mean, or --max-replications",
    )
    _add_auto_options(run)
    run.add_argument("--seed", type=options.seed, help="master seed (default: the scenario's)")
    run.add_argument(
        "--out",
        default="results",
        help="folder under which <scenario>/<timestamp>/ is written (default: results)",
    )
    run.add_argument(
        "-w",
        "--workers",
        type=options.positive_int,
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
        type=options.replications,
        help="number of replications (default: the base scenario's), or 'auto' (see run)",
    )
    _add_auto_options(compare)
    compare.add_argument("--seed", type=options.seed, help="master seed (default: the base's)")
    compare.add_argument(
        "--out",
        default="results",
        help="folder under which compare-<base>/<timestamp>/ is written (default: results)",
    )
    compare.add_argument(
        "-w",
        "--workers",
        type=options.positive_int,
        help="worker processes (default: one per core)",
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
        type=options.bounded_int(1, options.MAX_REPLICATIONS),
        default=5,
        help="replications whose mean series is analysed (default 5)",
    )
    warmup.add_argument(
        "--years",
        type=options.years,
        help="length of the run from empty (default: four times the scenario's warm-up, "
        "10 to 50 years)",
    )
    warmup.add_argument(
        "-w",
        "--workers",
        type=options.positive_int,
        help="worker processes (default: one per core)",
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
        help="a folder written by `pathways run`, `pathways compare` or `pathways optimise`",
    )
    report.add_argument("--out", help="folder to write the report to (default: RESULTS_DIR/report)")
    report.add_argument("--pdf", action="store_true", help="also write the report as a PDF")
    report.add_argument("-q", "--quiet", action="store_true", help="print only the report's path")

    optimise.add_arguments(
        commands.add_parser(
            "optimise",
            help="search for the best split of a reinvestment budget and choose it with a "
            "stated confidence; write the results and the recommended scenario",
        )
    )

    serve = commands.add_parser(
        "serve",
        help="start the web page: scenario library and editor, runs as jobs, results and reports",
    )
    serve.add_argument(
        "--workspace",
        default="workspace",
        help="folder of the page's scenarios, results and job store; created with the shipped "
        "examples if missing (default: workspace)",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 exposes the "
        "page to the network, so put it behind a proxy that signs users in)",
    )
    serve.add_argument(
        "--port", type=options.whole_number(1), default=8000, help="port (default 8000)"
    )
    serve.add_argument(
        "-w",
        "--workers",
        type=options.positive_int,
        help="worker processes per job (default: one per core)",
    )
    serve.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run jobs' replications on Dask: tcp://HOST:PORT of a scheduler, or 'local'",
    )
    serve.add_argument(
        "--user-header",
        metavar="HEADER",
        help="trust this request header, set by a reverse proxy that signs users in, as the "
        "user's name; requests without it are refused",
    )

    calibrate.add_arguments(
        commands.add_parser(
            "calibrate",
            help="fit a scenario to an extract of referrals and spells; write it, its census "
            "and a calibration report",
        )
    )
    return parser
