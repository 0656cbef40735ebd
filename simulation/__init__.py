"""pathways: discrete-event simulation of NHS specialised mental health pathways.

The public API, for notebooks and scripts::

    from simulation import load_scenario, run_experiment

    scenario = load_scenario("scenarios/baseline.yaml")
    result = run_experiment(scenario, replications=5)
    result.summary  # tidy KPIs with 95% confidence intervals

The command line (``pathways run``) is a thin layer over the same functions.
"""

from simulation.analysis import summarise
from simulation.experiment import ExperimentResult, run_experiment, run_replication
from simulation.loading import load_scenario, load_scenario_dict, load_scenario_text
from simulation.problems import InputError, Problem
from simulation.results import write_results
from simulation.scenario import Scenario

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
