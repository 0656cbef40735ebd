"""A patient's journey run on SimPy events, without a process event of its own.

``env.process`` makes every process an event as well: it schedules an initialising
event that takes the first step and, when the generator returns, an ending event for
anyone waiting on the process. Nothing waits for a patient's journey to end, and the
first step would run before any other event of this instant in any case, so for each
of the thousands of referrals in a replication both events are work that changes
nothing. :func:`journey` takes the first step at once and ends silently; in between,
the generator is resumed exactly as SimPy resumes a process (the same callbacks on the
same events), so every patient's path, and every other event's order, is unchanged.

Use ``env.process`` for anything another process waits on.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

__all__ = ["journey"]


class _Journey:
    """Resumes a generator each time the event it waits on is processed."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Generator[simpy.Event, Any, Any]):
        self._generator = generator

    def _step(self, event: simpy.Event | None) -> None:
        # As simpy.events.Process._resume: send the event's value in (or throw its
        # exception), and go on at once past any event already processed.
        generator = self._generator
        while True:
            try:
                if event is None:
                    event = next(generator)
                elif event._ok:
                    event = generator.send(event._value)
                else:
                    event._defused = True
                    event = generator.throw(event._value)
            except StopIteration:
                return
            callbacks = event.callbacks
            if callbacks is not None:
                # A bound method made now, not kept on self: a journey that refers to
                # itself would outlive its patient until the garbage collector found it.
                callbacks.append(self._step)
                return


def journey(generator: Generator[simpy.Event, Any, Any]) -> None:
    """Run ``generator`` as a patient's journey, starting now (see the module's text)."""
    _Journey(generator)._step(None)
