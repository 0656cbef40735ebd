"""Results of a replication: the KPI vocabulary, KPI rows and their summaries.

:mod:`~simulation.results.catalogue` names every KPI with its label and unit and
imports nothing; :mod:`~simulation.results.kpis` reduces a model's records to tidy KPI
rows and monthly series; :mod:`~simulation.results.analysis` turns rows from many
replications into means with confidence intervals. Imports from the layers below.
"""
