"""Queueing theory (Erlang B and C, Cobham's priority queue) for verifying the model.

Closed-form answers that the model must reproduce where a scenario allows them; used
by the tests and the documentation. Imports nothing from the rest of the package.
"""
