"""The report: what a board reads, as HTML, PDF, PNG figures and CSV tables.

Reads a results folder through :mod:`simulation.store.reader` and the KPI vocabulary;
never imports the model or the experiment layer, so a report can be written from a
folder made elsewhere.
"""
