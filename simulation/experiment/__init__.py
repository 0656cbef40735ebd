"""Experiments: replications on executors, comparisons, precision and warm-up.

Runs a scenario's replications (serially, on a process pool or on a Dask cluster) so
that a result depends only on (scenario, seed, replication); compares scenarios with
common random numbers; chooses replications for a precision and a warm-up length.
Imports from ``results`` and below.
"""
