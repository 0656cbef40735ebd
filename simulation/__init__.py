"""pathways: discrete-event simulation of NHS specialised mental health pathways.

The public API, for notebooks and scripts (see :mod:`simulation.api`)::

    import simulation as sim
    from simulation import plots

    base = sim.load("scenarios/baseline.yaml", {"horizon_years": 2})
    more = sim.load(
        "scenarios/baseline.yaml",
        {"name": "more_beds", "horizon_years": 2, "units.Beacon Low Secure.beds": 60},
    )
    results = sim.run(base, replications=5)       # or replications="auto"
    results.summary                              # tidy KPIs with 95% confidence intervals
    plots.monthly_plot(results)                  # a matplotlib Figure
    sim.compare(base, more).differences()        # paired differences (common random numbers)
    sim.analyse_warmup(base).message()           # MSER-5 warm-up
    sim.optimise_budget("scenarios/optimise/reinvestment_split.yaml").statement  # best split

The command line (``pathways run``, ``compare``, ``warmup``) is a thin layer over the
same functions; :func:`load_scenario` and :func:`run_experiment` are the layer below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulation.api import Results, compare, demo_scenario, load, open_results, run
    from simulation.core.problems import InputError, Problem
    from simulation.experiment.experiment import ExperimentResult, run_experiment, run_replication
    from simulation.experiment.precision import cumulative_intervals, replications_needed
    from simulation.experiment.warmup import analyse_warmup, mser5, welch_average
    from simulation.optimise.outcome import open_optimisation, optimise_budget
    from simulation.results.analysis import summarise
    from simulation.scenario.loading import load_scenario, load_scenario_dict, load_scenario_text
    from simulation.scenario.schema import Scenario
    from simulation.store.writer import write_results

# Names are imported on first use, so that a command that only reads a scenario
# (``pathways validate``, or any bad input) does not wait for pandas and scipy.stats.
_HOMES = {
    "Results": "simulation.api",
    "compare": "simulation.api",
    "demo_scenario": "simulation.api",
    "load": "simulation.api",
    "open_results": "simulation.api",
    "run": "simulation.api",
    "optimise_budget": "simulation.optimise.outcome",
    "open_optimisation": "simulation.optimise.outcome",
    "cumulative_intervals": "simulation.experiment.precision",
    "replications_needed": "simulation.experiment.precision",
    "analyse_warmup": "simulation.experiment.warmup",
    "mser5": "simulation.experiment.warmup",
    "welch_average": "simulation.experiment.warmup",
    "summarise": "simulation.results.analysis",
    "ExperimentResult": "simulation.experiment.experiment",
    "run_experiment": "simulation.experiment.experiment",
    "run_replication": "simulation.experiment.experiment",
    "load_scenario": "simulation.scenario.loading",
    "load_scenario_dict": "simulation.scenario.loading",
    "load_scenario_text": "simulation.scenario.loading",
    "InputError": "simulation.core.problems",
    "Problem": "simulation.core.problems",
    "write_results": "simulation.store.writer",
    "Scenario": "simulation.scenario.schema",
}

__all__ = [
    "ExperimentResult",
    "InputError",
    "Problem",
    "Results",
    "Scenario",
    "analyse_warmup",
    "compare",
    "cumulative_intervals",
    "demo_scenario",
    "load",
    "load_scenario",
    "load_scenario_dict",
    "load_scenario_text",
    "mser5",
    "open_optimisation",
    "open_results",
    "optimise_budget",
    "replications_needed",
    "run",
    "run_experiment",
    "run_replication",
    "summarise",
    "welch_average",
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
