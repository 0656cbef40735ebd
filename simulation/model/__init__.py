"""The model: SimPy processes that follow patients along a pathway for one replication.

Patient draws from named streams, beds and community caseloads, the pathway processes
(referral, assessment, waiting, admission, stay, ready for discharge, step-down,
community episode, readmission), dated changes, spend and the finance rule, the census
start. Reads a Scenario and never writes to it. Imports from ``core`` and ``scenario``.
"""
