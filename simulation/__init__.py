"""pathways: discrete-event simulation of NHS specialised mental health pathways.

The public API, for notebooks and scripts::

    from simulation import load_scenario, run_experiment

    scenario = load_scenario("scenarios/baseline.yaml")
    result = run_experiment(scenario, replications=5)
    result.summary  # tidy KPIs with 95% confidence intervals

The command line (``pathways run``) is a thin layer over the same functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulation.analysis import summarise
    from simulation.experiment import ExperimentResult, run_experiment, run_replication
    from simulation.loading import load_scenario, load_scenario_dict, load_scenario_text
    from simulation.problems import InputError, Problem
    from simulation.results import write_results
    from simulation.scenario import Scenario

# Names are imported on first use, so that a command that only reads a scenario
# (``pathways validate``, or any bad input) does not wait for pandas and scipy.stats.
_HOMES = {
    "summarise": "simulation.analysis",
    "ExperimentResult": "simulation.experiment",
    "run_experiment": "simulation.experiment",
    "run_replication": "simulation.experiment",
    "load_scenario": "simulation.loading",
    "load_scenario_dict": "simulation.loading",
    "load_scenario_text": "simulation.loading",
    "InputError": "simulation.problems",
    "Problem": "simulation.problems",
    "write_results": "simulation.results",
    "Scenario": "simulation.scenario",
}

__all__ = [
    "ExperimentResult",
    "InputError",
    "Problem",
    "Scenario",
    "load_scenario",
    "load_scenario_dict",
    "load_scenario_text",
    "run_experiment",
    "run_replication",
    "summarise",
    "write_results",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'simulation' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
