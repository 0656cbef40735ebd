"""The ground floor: problems, the calendar, named random streams and distributions.

Plain building blocks that know nothing of pathways, scenarios or SimPy: a reported
problem with its file, line and field; days from a start date and NHS financial years;
one generator per named purpose spawned from a seed; distributions sampled by inverse
CDF. Imports nothing from the rest of the package.
"""
