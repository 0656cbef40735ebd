"""A run stopped by SIGTERM or SIGHUP ends as Ctrl-C does, wherever the signal lands.

The handler raises :class:`~simulation.cli.commands.Stopped`. Landing in a patient's
process, it fails that process's event, and the engine (as SimPy) raises it again as
``type(e)(*e.args)``: the stop must survive being made again from its own arguments,
or the run ends in a traceback instead of the exit status and the resume line.
"""

from __future__ import annotations

import signal

import pytest

from simulation.cli.commands import Stopped, _exit_status
from simulation.model.engine import Environment


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_made_again_from_its_arguments_is_the_same_stop(signum: int) -> None:
    again = type(Stopped(signum))(*Stopped(signum).args)
    assert again.signum == signum and _exit_status(again) == 128 + signum


def test_a_stop_raised_inside_a_process_reaches_the_run_as_a_stop() -> None:
    env = Environment()

    def patient():
        yield env.timeout(1.0)
        raise Stopped(signal.SIGTERM)  # as the handler raises it, mid-step

    env.process(patient())
    with pytest.raises(Stopped) as caught:
        env.run(until=5.0)
    assert caught.value.signum == signal.SIGTERM
    assert _exit_status(caught.value) == 143
