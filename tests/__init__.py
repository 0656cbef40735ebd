"""Tests of the pathways package (a package, so that ``tests.builders`` is never shadowed)."""
