"""Optimisation: the best split of a reinvestment budget, chosen with a stated confidence.

``problem`` reads the optimisation file; ``space`` lists its feasible allocations;
``search`` enumerates them or runs COMPASS; ``evaluate`` runs candidates on the
executors with common random numbers, saving each replication; ``selection`` chooses
among the finalists by procedure NM; ``optimiser`` ties them together and writes the
results folder; ``outcome`` is the researcher's view of it.
"""
