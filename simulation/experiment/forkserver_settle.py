"""Settling the pool's fork server, so that every worker forked from it starts settled.

The fork server imports the model once (see :data:`~simulation.experiment.executors.PRELOAD`)
and forks each pool worker from itself. This module is the last thing it imports: it
sets aside for good what the imports built (:func:`~simulation.experiment.executors.settle_worker`),
once, in the server. A worker forked afterwards inherits that, instead of walking some
100,000 objects itself before its first replication. Importing it anywhere else would
freeze that process's objects too: only the fork server's preload names it.
"""

from __future__ import annotations

from simulation.experiment.executors import settle_worker

settle_worker()
