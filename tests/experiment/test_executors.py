"""Executors: the same replications give the same numbers, bit for bit, wherever they run.

Serial, a local process pool of one and of two workers, and a real Dask LocalCluster
over loopback all produce identical per-replication KPIs, monthly series and ledgers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simulation.experiment.executors import (
    DaskExecutor,
    Executor,
    PoolExecutor,
    SerialExecutor,
    _stop,
    make_executor,
)
from simulation.experiment.experiment import ExperimentResult, run_experiment, run_replication
from simulation.scenario.loading import derive, load_scenario
from simulation.scenario.schema import Scenario
from tests.imports import imported_by
from tests.store.test_resume import scenario_file

REPLICATIONS = 4


def small(tmp_path: Path) -> Scenario:
    scenario = load_scenario(scenario_file(tmp_path))
    return derive(scenario, {"horizon_years": 2.0, "replications": REPLICATIONS})


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


@pytest.mark.slow
def test_a_comparison_on_a_local_cluster_is_the_serial_comparison(tmp_path: Path) -> None:
    import simulation as sim
    from simulation.experiment.comparison import run_comparison

    base = small(tmp_path)
    more = derive(base, {"name": "more", "units.0.beds": 8})
    serial = run_comparison(base, [more], workers=1)
    assert (serial.table["diff_mean"] != 0).any(), "the alternative must differ"
    on_dask = run_comparison(base, [more], workers=2, cluster="local")
    assert [r.workers for r in (on_dask.base, *on_dask.alternatives)] == [2, 2]
    pd.testing.assert_frame_equal(serial.table, on_dask.table, check_exact=True)
    for ours, theirs in zip(
        (serial.base, *serial.alternatives), (on_dask.base, *on_dask.alternatives), strict=True
    ):
        assert_identical(ours, theirs)

    through_api = sim.compare(base, more, workers=2, cluster="local")
    assert through_api._runs[0].workers == 2  # the Dask workers, not this process
    pd.testing.assert_frame_equal(
        through_api.differences(),
        sim.compare(base, more, workers=1).differences(),
        check_exact=True,
    )


def test_several_scenarios_share_one_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_experiments: one pool for every scenario's replications, the same numbers."""
    import simulation.experiment.experiment as experiment

    first = small(tmp_path)
    second = derive(first, {"name": "second", "seed": 99})
    made: list[int] = []
    original = experiment.make_executor

    def counting(workers: int | None, cluster: str | None, tasks: int) -> Executor:
        made.append(tasks)
        return original(workers, cluster, tasks)

    monkeypatch.setattr(experiment, "make_executor", counting)
    seen: list[tuple[int, int]] = []
    together = experiment.run_experiments(
        [first, second], workers=2, progress=lambda done, total: seen.append((done, total))
    )
    assert made == [2 * REPLICATIONS], "one executor for all eight replications"
    assert seen == [(i, 2 * REPLICATIONS) for i in range(1, 2 * REPLICATIONS + 1)]
    assert [r.scenario.name for r in together] == ["small", "second"]
    for scenario, result in zip([first, second], together, strict=True):
        assert [r.replication for r in result.replications] == list(range(REPLICATIONS))
        assert_identical(result, run_on(SerialExecutor(), scenario))


def test_stopping_a_pool_never_waits_for_half_a_result() -> None:
    # A worker that ends while sending its result leaves half a message in the pipe; this
    # happened when Ctrl-C came as a replication finished, and the run never exited.
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
    pool.submit(time.sleep, 60)
    header = struct.pack("!i", 1_000)  # a message of 1,000 bytes, of which 10 arrive
    os.write(pool._result_queue._writer.fileno(), header + b"x" * 10)  # type: ignore[attr-defined]
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    time.sleep(0.5)  # the manager thread has begun to read the message
    _stop(pool)
    manager.join(timeout=20)
    assert not manager.is_alive()


def frozen_objects() -> int:
    """Objects the garbage collector of this process has set aside for good."""
    return gc.get_freeze_count()


def test_pool_workers_freeze_their_start_up_and_this_process_does_not() -> None:
    before = gc.get_freeze_count()
    (count,) = PoolExecutor(1).map_unordered(frozen_objects, [()])
    assert count > 10_000, "the worker's imports are set aside once it starts"
    (serial,) = SerialExecutor().map_unordered(frozen_objects, [()])
    assert serial == before, "in this process (a notebook, say) nothing is frozen"


UNPICKLED = [0]
"""How many times this process has unpickled a :class:`Counted`."""


class Counted:
    """An argument that counts, in the process that receives it, how often it is unpickled."""

    def __init__(self) -> None:
        self.payload = list(range(1_000))

    def __setstate__(self, state: dict[str, object]) -> None:
        UNPICKLED[0] += 1
        self.__dict__.update(state)


def unpickled_so_far(value: Counted, replication: int) -> tuple[int, int]:
    return replication, UNPICKLED[0]


def test_a_pool_worker_unpickles_a_shared_argument_once() -> None:
    shared = Counted()
    tasks = [(shared, r) for r in range(4)]
    seen = sorted(PoolExecutor(1).map_unordered(unpickled_so_far, tasks))
    assert seen == [(0, 1), (1, 1), (2, 1), (3, 1)], "once, at the worker's first task"


def test_a_shared_argument_goes_to_each_worker_once_not_with_every_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    real = ProcessPoolExecutor.submit

    def submit(self: ProcessPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        sent.append(len(pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)))
        return real(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    shared = Counted()  # some 3 KB pickled
    tasks = [(shared, r) for r in range(6)]
    seen = sorted(PoolExecutor(2).map_unordered(unpickled_so_far, tasks))
    assert [r for r, _ in seen] == list(range(6))
    assert all(count == 1 for _, count in seen), "each worker unpickles it once"
    assert len(sent) == 6 and max(sent) < 1_000, sent


def test_the_fork_server_starts_early_only_for_a_local_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import multiprocessing.forkserver

    from simulation.experiment import executors

    started: list[bool] = []
    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running", lambda: started.append(True))
    executors.start_pool_early(1, None, 10)
    executors.start_pool_early(2, None, 1)
    executors.start_pool_early(2, "tcp://127.0.0.1:8786", 10)
    assert started == [], "no local pool: no fork server"
    executors.start_pool_early(2, None, 10)
    assert started == [True]


def test_the_fork_server_settles_once_for_every_worker() -> None:
    from simulation.experiment.executors import PRELOAD

    assert PRELOAD == ["simulation.experiment.forkserver_settle"], "it imports the rest"
    assert "simulation.experiment.forkserver_settle" not in sys.modules, (
        "never imported in this process: it would freeze this process's objects"
    )


TEARDOWN_PROBE = """
import sys
class Noisy:
    def __del__(self):
        print("taken apart", flush=True)
kept = Noisy()  # dropped only when the interpreter takes the module apart
print("ending", end="")  # not flushed by the print itself
{preload}
"""


@pytest.mark.parametrize(
    "preload, torn_down",
    [
        ("", True),
        ("import simulation.experiment.forkserver_settle", False),
    ],
)
def test_the_fork_server_ends_without_taking_its_interpreter_apart(
    preload: str, torn_down: bool
) -> None:
    # The fork server's preload makes its end immediate (its output flushed, status 0), so
    # that a run's output, read through a pipe, is over when the run's process ends.
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-c", TEARDOWN_PROBE.format(preload=preload)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=buffered,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ending")
    assert ("taken apart" in done.stdout) is torn_down


SERVER_THREADS_PROBE = """
import os
from simulation.experiment.executors import settle_server
settle_server(["numpy", "scipy.special"])
def named(thread):
    return open(f"/proc/self/task/{thread}/comm").read().strip()
threads = [named(t) for t in os.listdir("/proc/self/task")]
print(threads.count(named(os.getpid())), os.environ.get("OPENBLAS_NUM_THREADS"))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads listed by Linux")
@pytest.mark.parametrize("given", [None, "2"])
def test_the_fork_server_starts_no_blas_threads_unless_the_user_asks(given: str | None) -> None:
    # The server, and every worker forked from it, need no thread of OpenBLAS's: numpy and
    # scipy would each start one for the other core, spinning while the server imports.
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        environment["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run(
        [sys.executable, "-c", SERVER_THREADS_PROBE],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    threads, asked = done.stdout.split()
    if given is None:
        assert (threads, asked) == ("1", "1"), "the main thread alone"
    else:
        assert asked == given, "the user's own setting stays"


def test_a_pool_worker_starts_with_the_model_frozen_and_its_collector_on() -> None:
    """Each worker inherits the server's imports, frozen, and collects what its tasks leave."""
    probe = "import gc, simulation.store.parts; print(len(gc.get_objects()))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    built = int(done.stdout.strip())  # what importing a worker's modules leaves alive
    pool = PoolExecutor(2)
    assert list(pool.map_unordered(gc.isenabled, [(), (), ()])) == [True, True, True]
    frozen = list(pool.map_unordered(gc.get_freeze_count, [(), ()]))
    assert min(frozen) >= 0.9 * built, (frozen, built)


def test_a_streamed_runs_task_is_among_what_the_fork_server_imports() -> None:
    """A worker runs its first replication at once: it imports nothing for it."""
    from simulation.experiment.executors import WORKER_MODULES
    from simulation.store.task import replicate_part

    assert replicate_part.__module__ in WORKER_MODULES
    assert "simulation.store.parts" in WORKER_MODULES, "what the task runs"


def test_a_run_starts_its_pool_before_it_imports_the_model() -> None:
    """Naming a streamed run's task, and everything up to starting its workers, is light."""
    code = "from simulation.store.resume import StreamedRun\nimport simulation.store.task"
    heavy = ["pandas", "pyarrow", "simulation.model.", "simulation.store.parts"]
    assert imported_by(code, heavy) == []


def test_a_worker_imports_no_statistics_library_and_no_results_writer() -> None:
    """What a replication needs is all a pool's fork server imports: not scipy.stats, and
    not the parent's parquet and CSV writing."""
    from simulation.experiment.executors import WORKER_MODULES

    code = "\n".join(f"import {name}" for name in WORKER_MODULES)
    heavy = ["scipy.stats", "pyarrow.parquet", "simulation.store.writer", "simulation.store.resume"]
    assert imported_by(code, heavy) == []
    assert imported_by(code, ["scipy.special"]) == ["scipy.special"], "a replication draws"


def test_a_pool_is_at_work_before_its_first_result_is_asked_for(tmp_path: Path) -> None:
    """The caller sets up its files while the workers run the first tasks."""
    marks = [tmp_path / f"task{i}" for i in range(2)]
    results = PoolExecutor(2).map_unordered(Path.touch, [(mark,) for mark in marks])
    try:
        deadline = time.monotonic() + 20
        while not all(mark.exists() for mark in marks) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(mark.exists() for mark in marks), "no task ran before iterating"
    finally:
        results.close()


def test_the_caller_goes_on_while_the_first_workers_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Starting a worker waits for the fork server's imports; the caller sets up meanwhile."""
    release = threading.Event()
    real = ProcessPoolExecutor.submit

    def submit(self: ProcessPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        assert release.wait(20), "the test never let the workers start"
        return real(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    started = time.monotonic()
    results = PoolExecutor(2).map_unordered(abs, [(-r,) for r in range(6)])
    try:
        assert time.monotonic() - started < 10, "it waited for the workers to start"
        release.set()
        assert sorted(results) == list(range(6))
    finally:
        release.set()
        results.close()


def test_a_pool_that_cannot_start_says_so_as_its_first_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def submit(self: ProcessPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        raise OSError("no room for another process")

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    raised: list[BaseException] = []

    def first_result() -> None:
        try:
            next(PoolExecutor(2).map_unordered(abs, [(-r,) for r in range(6)]))
        except BaseException as exc:
            raised.append(exc)

    asking = threading.Thread(target=first_result, daemon=True)
    asking.start()
    asking.join(20)
    assert not asking.is_alive(), "it waits for a result that can never come"
    assert len(raised) == 1 and isinstance(raised[0], OSError), raised
    assert "no room" in str(raised[0])


def test_closing_a_pool_never_iterated_stops_its_workers(tmp_path: Path) -> None:
    results = PoolExecutor(2).map_unordered(time.sleep, [(30,)] * 4)
    started = time.monotonic()
    results.close()
    assert time.monotonic() - started < 15, "closing waited for the running tasks"
