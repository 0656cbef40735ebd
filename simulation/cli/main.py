"""The ``pathways`` console command: read the arguments, then run the command.

The commands (:mod:`simulation.cli.commands`) import the scenario's schema, pandas and
the model: a third of a second before anything else can happen. A run on a pool of
workers also waits for the pool's fork server, which imports the model again in its own
process before the first worker can start. So the arguments are read first, with nothing
heavy imported, and a run or comparison that will use a local pool starts its fork
server at once: both imports then go on together, on two cores, rather than one after
the other. A scenario file that does not exist starts nothing. Any other mistake in the
input is reported as before, and the server, which has had no work, ends with this
process; a caller that reads the command's output through a pipe sees the pipe close
when the server has ended too, a few tenths of a second later.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from simulation.cli.arguments import build_parser
from simulation.experiment.executors import one_blas_thread, start_pool_early

UNKNOWN_REPLICATIONS = 2
"""Replications assumed before the scenario is read: a pool if the workers are more."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pathways`` console command."""
    args = build_parser().parse_args(argv)
    _start_pool_before_the_imports(args)
    from simulation.cli.commands import run_command

    return run_command(args)


def console() -> NoReturn:
    """The ``pathways`` console command: :func:`main`, then the end of the process.

    At its end the interpreter collects once more, walking every object the imports made
    (some 100,000), to free what the end of the process frees anyway: an eighth of a
    second after every command. Frozen first, they are left out of that walk. Nothing a
    command writes waits on it: every file is closed, and every results folder finished,
    before :func:`main` returns.

    Before anything imports numpy, OpenBLAS is asked for no threads of its own
    (:func:`~simulation.experiment.executors.one_blas_thread`): 0.2 s of CPU saved at the
    start of every command, in this process and in a pool's fork server, which starts
    while this process imports (on two cores, in a run on two workers, that CPU was
    taken from the imports the first replications wait for).
    """
    one_blas_thread()
    status = main()
    gc.freeze()
    sys.exit(status)


def _start_pool_before_the_imports(args: object) -> None:
    """Start the pool's fork server now if this run or comparison will have a local pool."""
    if getattr(args, "command", None) not in ("run", "compare"):
        return
    if getattr(args, "resume", None):  # the folder's own settings decide, once read
        return
    files = [getattr(args, "scenario", None), getattr(args, "base", None)]
    files += list(getattr(args, "alternatives", None) or [])
    named = [f for f in files if f]
    if not named or not all(Path(f).is_file() for f in named):
        return
    replications = getattr(args, "replications", None)
    if not isinstance(replications, int):  # the scenario's own, or "auto": not known yet
        replications = UNKNOWN_REPLICATIONS
    start_pool_early(getattr(args, "workers", None), getattr(args, "cluster", None), replications)


if __name__ == "__main__":  # pragma: no cover
    console()
