"""The scenario: YAML in, a validated and frozen :class:`Scenario` out.

The schema, safe YAML reading with line numbers, ``extends`` inheritance, overrides,
the checks of references between parts, the census file and the plausibility checks.
:mod:`simulation.scenario.loading` is the one door in. Imports only from ``core``; it
never imports SimPy, so reading or validating a scenario stays fast.
"""
