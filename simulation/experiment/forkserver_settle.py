"""Readying the pool's fork server, so that every worker forked from it starts ready.

The fork server imports this module alone (see
:data:`~simulation.experiment.executors.PRELOAD`): it imports what a worker's
replications need and sets it aside for good
(:func:`~simulation.experiment.executors.settle_server`), once, in the server. A worker
forked afterwards inherits that, instead of importing the model and walking some
150,000 objects itself before its first replication. When the server ends, it ends at
once (:func:`~simulation.experiment.executors.end_server_at_once`). Importing this
module anywhere else would freeze that process's objects, and cut its end short, too:
only the fork server's preload names it.
"""

from __future__ import annotations

from simulation.experiment.executors import WORKER_MODULES, end_server_at_once, settle_server

settle_server(WORKER_MODULES)
end_server_at_once()
