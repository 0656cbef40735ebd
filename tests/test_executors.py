"""Executors: the same replications give the same numbers, bit for bit, wherever they run.

Serial, a local process pool of one and of two workers, and a real Dask LocalCluster
over loopback all produce identical per-replication KPIs, monthly series and ledgers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulation.executors import (
    DaskExecutor,
    Executor,
    PoolExecutor,
    SerialExecutor,
    make_executor,
)
from simulation.experiment import ExperimentResult, run_experiment, run_replication
from simulation.loading import load_scenario
from simulation.scenario import Scenario
from tests.test_resume import scenario_file

REPLICATIONS = 4


def small(tmp_path: Path) -> Scenario:
    scenario = load_scenario(scenario_file(tmp_path))
    return scenario.model_copy(update={"horizon_years": 2.0, "replications": REPLICATIONS})


def run_on(executor: Executor, scenario: Scenario) -> ExperimentResult:
    tasks = [(scenario, r, False) for r in range(REPLICATIONS)]
    results = list(executor.map_unordered(run_replication, tasks))
    assert sorted(r.replication for r in results) == list(range(REPLICATIONS))
    return ExperimentResult(scenario, results, 0.0, executor.workers)


def assert_identical(a: ExperimentResult, b: ExperimentResult) -> None:
    for table in ("kpis", "monthly", "ledger"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)
    assert [r.events_processed for r in a.replications] == [
        r.events_processed for r in b.replications
    ]


@pytest.mark.slow
def test_kpis_are_identical_on_every_executor(tmp_path: Path) -> None:
    scenario = small(tmp_path)
    serial = run_on(SerialExecutor(), scenario)
    assert serial.kpis["value"].sum() != 0
    assert_identical(serial, run_on(PoolExecutor(1), scenario))
    assert_identical(serial, run_on(PoolExecutor(2), scenario))
    on_dask = run_experiment(scenario, workers=2, cluster="local")  # a LocalCluster on loopback
    assert on_dask.workers == 2
    assert_identical(serial, on_dask)
    pd.testing.assert_frame_equal(serial.summary, on_dask.summary, check_exact=True)


def test_the_executor_follows_workers_and_cluster() -> None:
    assert isinstance(make_executor(1, None, 10), SerialExecutor)
    assert isinstance(make_executor(4, None, 1), SerialExecutor), "no more workers than tasks"
    pool = make_executor(2, None, 10)
    assert isinstance(pool, PoolExecutor) and pool.workers == 2
    dask = make_executor(3, "tcp://127.0.0.1:8786", 10)
    assert isinstance(dask, DaskExecutor) and dask.workers == 3
