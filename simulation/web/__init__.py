"""``pathways serve``: a small web application over the public API, for planners.

The scenario library and its editor, runs and comparisons as jobs in a SQLite job store,
and their results as the board report shows them; all in one workspace folder of
ordinary files that the command line reads too. Above the API; only the CLI imports it.
"""
