"""A streamed run's task, named apart from the model, so that a pool starts without it.

The process that starts a run hands its workers :func:`replicate_part` by name, and a
name can be handed over only once its module is imported. Were the task's module the
one that runs it (:mod:`simulation.store.parts`), the model, pandas and Arrow would be
imported first, a third of a second before the first worker could start; named from
here, the workers start at once and that process imports them while the workers run.
A pool's workers have imported the model already (see
:data:`~simulation.experiment.executors.WORKER_MODULES`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.scenario.schema import Scenario


def replicate_part(
    scenario: Scenario, replication: int, keep_events: bool
) -> tuple[str, int, bytes]:
    """Run one replication and encode it as a part (see :mod:`simulation.store.parts`)."""
    from simulation.store.parts import replicate_part as replicate

    return replicate(scenario, replication, keep_events)
