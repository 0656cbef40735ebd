"""Calibration: fitting scenario parameters from a collaborative's patient-level extract.

This package holds the fitting of referral rates, lengths of stay and routing shares
from an extract, and the back-test of a fitted scenario against what was observed.
It reads scenarios only through :mod:`simulation`'s public loading functions.
"""
