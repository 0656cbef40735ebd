"""Where replications run: in this process, on local worker processes, or on Dask.

Every executor takes a function and a list of argument tuples and yields results as
they complete (not in submission order). Replication ``r`` depends only on (scenario,
seed, ``r``), so the results are the same, bit for bit, on every executor; callers sort
them by replication number.

- :class:`SerialExecutor` runs each task in this process, in order (for debugging);
- :class:`PoolExecutor` runs them on a local process pool (``forkserver`` start method;
  workers ignore Ctrl-C so that only this process decides what to do on an interrupt;
  a task's scenario is unpickled once per worker, not once per task);
- :class:`DaskExecutor` runs them on a Dask distributed cluster: an existing scheduler
  (``tcp://HOST:PORT``) or a :class:`distributed.LocalCluster` started for the run
  (``"local"``). Dask is an optional extra: ``pip install 'pathways[dask]'``.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import itertools
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

LOCAL = "local"
"""The ``cluster`` value that starts a Dask LocalCluster for the run."""


class Executor(Protocol):
    """Runs tasks and yields their results as they complete."""

    workers: int

    def map_unordered(
        self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]
    ) -> Generator[T, None, None]:  # pragma: no cover - protocol
        """Yield ``fn(*task)`` for every task, in order of completion."""
        ...


class SerialExecutor:
    """Every task in this process, one after another."""

    workers = 1

    def map_unordered(
        self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]
    ) -> Generator[T, None, None]:
        """Yield ``fn(*task)`` for each task in order."""
        for task in tasks:
            yield fn(*task)


def _die_with_parent() -> None:
    """End this worker as soon as the process that started the pool ends, however it ends.

    A pool worker is forked by the fork server, which lives as long as any worker does,
    so a parent-death signal would wait for the server for ever; instead a watcher
    thread waits on the pool's own sentinel of the parent (readable once the parent has
    gone, ``kill -9`` included) and ends the worker at once. No worker runs on after its
    run has gone.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - not started by multiprocessing
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(EXIT_PARENT_GONE)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


EXIT_PARENT_GONE = 70
"""A worker's exit status when its run's process has ended without stopping it."""


_settled = False


def settle_worker() -> None:
    """Once per worker process: set aside for good what is alive when the worker starts.

    The modules imported, and everything they built, live as long as the worker. Left
    to the garbage collector, each of its full collections walks them again (some
    100,000 objects, 0.1 s a time) although none can be freed; frozen once, after a
    collection, they are never walked again. What a replication creates is collected
    as before.
    """
    global _settled
    if not _settled:
        _settled = True
        gc.collect()
        gc.freeze()


def _start_worker(shared: dict[int, bytes]) -> None:
    """Pool worker initialiser: Ctrl-C is the parent's to handle; freeze the start-up.

    ``shared`` holds the pool's shared arguments, pickled (see :class:`_Shared`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settle_worker()
    _die_with_parent()
    _given.update(shared)


def _in_worker(fn: Callable[..., T], *task: Any) -> T:
    """``fn(*task)`` on a Dask worker, which is settled before its first task."""
    settle_worker()
    return fn(*task)


WORKER_MODULES = ("simulation.store.parts", "simulation.store.task")
"""What a pool worker's replications need: the model, its KPIs and a part's encoding.

The fork server imports these once, and every worker forked from it starts with them:
a streamed run's task (:func:`simulation.store.task.replicate_part`) and what it runs.
A task from any other module is imported by each worker at its first such task. Named
as text: a pool's workers run what the layers above give them.
"""

PRELOAD = ["simulation.experiment.forkserver_settle"]
"""What the fork server imports at its start: that module imports :data:`WORKER_MODULES`
and settles the server (see :func:`settle_server`)."""


BLAS_THREADS = "OPENBLAS_NUM_THREADS"
"""How many threads OpenBLAS starts when it is loaded (by numpy, and again by scipy)."""


def one_blas_thread() -> None:
    """Ask OpenBLAS, before numpy loads it, to start no threads of its own in this process.

    numpy and scipy each load OpenBLAS, which starts a thread for every other core at
    once, and each spins for about a tenth of a second of CPU while the process imports:
    0.2 s of CPU in every process that imports both, before it has done anything. Here
    the replications are what runs in parallel, one worker a core, and nothing does the
    large matrix products that those threads are for. A value the user has set stays.
    Call it before numpy is imported; afterwards it changes nothing in this process, but
    the processes it starts inherit it.
    """
    os.environ.setdefault(BLAS_THREADS, "1")


def settle_server(modules: Sequence[str]) -> None:
    """In the pool's fork server: import ``modules``, then set aside for good all they built.

    Every worker is forked from the server, and no worker can start before the server
    is ready, so this is on the way to a run's first replication. The collector is off
    while the modules are imported: they build some 150,000 objects, all kept, and
    without it the imports walk them again and again to free nothing. Then all are
    frozen, uncollected: a full collection would walk them once more (a tenth of a
    second) to find the few hundred that the imports left unreachable, which instead
    stay, frozen with the rest, as long as the server and its workers. A worker forked
    afterwards inherits the frozen objects and starts settled (see :func:`settle_worker`),
    with the collector as the server had it before. OpenBLAS is asked for no threads of
    its own first (:func:`one_blas_thread`): the server and its workers then have none.
    """
    global _settled
    one_blas_thread()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        gc.freeze()
        _settled = True
        if enabled:
            gc.enable()


def end_server_at_once() -> None:
    """In the pool's fork server: when it ends, end the process at once.

    The server ends when the process that started it does. Its interpreter would then
    take apart every module and object it holds, one by one (a tenth of a second and
    more, with pandas and the model imported), while it still holds the standard output
    and error it was started with: whoever reads a run's output through a pipe (a
    script, the benchmark) waited for that as well. The server has nothing to tidy (its
    socket is removed by the process that started it, and each worker ends on its own),
    so it flushes its streams and exits. A worker forked from it inherits this, but a
    worker always ends without running exit handlers.
    """

    def end() -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)

    atexit.register(end)


def _pool_context() -> multiprocessing.context.ForkServerContext:
    """The start method of pool workers: forked from a server that has imported the model.

    Workers fork from a server that has imported :data:`WORKER_MODULES` once, instead of
    each importing pandas, scipy and the model afresh.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_pool_early(workers: int | None, cluster: str | None, tasks: int) -> None:
    """Start the pool's fork server now, if the run will have a local pool.

    The server's imports take about as long as this process's own (a second of CPU), and
    a pool's workers cannot start before they are done. Started before this process
    imports the model and writes its folder, the two happen at once on two cores rather
    than one after the other. The server lives as long as this process and serves every
    pool it starts; if no pool is started after all, it ends with this process.
    """
    if cluster:  # its workers are Dask's (and asking would import Dask now)
        return
    if isinstance(make_executor(workers, None, tasks), PoolExecutor):
        _pool_context()
        multiprocessing.forkserver.ensure_running()


class _Shared:
    """An argument the same in every task of a pool: pickled once here, sent once a worker.

    A scenario is the same object in every task of a run; pickling it for each task, and
    sending and unpickling it in the worker, costs some milliseconds a replication on each
    side, and its bytes (some 100 KB) would go through the pipe with every task. Instead
    its bytes go to each worker once, as the worker starts; a task names them by key, and
    the worker unpickles them at its first task that does and keeps the object.
    """

    __slots__ = ("key",)

    def __init__(self, key: int):
        self.key = key


_given: dict[int, bytes] = {}
"""A pool worker's shared arguments as they came, pickled, by key, until first used."""
_received: dict[int, Any] = {}
"""A pool worker's unpickled shared arguments, by key (a worker serves one pool)."""


def _in_pool(fn: Callable[..., T], *task: Any) -> T:
    """``fn(*task)`` in a pool worker, with shared arguments unpickled once per worker."""
    values = []
    for value in task:
        if isinstance(value, _Shared):
            if value.key not in _received:
                _received[value.key] = pickle.loads(_given.pop(value.key))
            value = _received[value.key]
        values.append(value)
    return fn(*values)


def _plain(value: Any) -> bool:
    """Whether a task's argument is sent as it is (numbers and text), not as shared."""
    return value is None or isinstance(value, bool | int | float | str | bytes)


_shared_keys = itertools.count()
"""Keys of shared arguments, never reused in this process."""


class PoolExecutor:
    """A local process pool of ``workers`` processes."""

    def __init__(self, workers: int):
        self.workers = workers

    def map_unordered(
        self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]
    ) -> Generator[T, None, None]:
        """Start the pool on the first tasks now; return a generator of results as they complete.

        The workers are started, and at work, before the first result is asked for, so the
        caller can do its own setting up meanwhile: even the wait for the pool's fork
        server to finish its imports is a thread's, not the caller's. The caller must then
        close the generator (or use it up) whatever happens. If the consumer stops early
        (an error, Ctrl-C, or closing the generator), queued tasks are cancelled and the
        workers are stopped at once.
        """
        results = self._results(fn, tasks)
        next(results)  # up to the first tasks' submission
        return cast(Generator[T, None, None], results)

    def _results(
        self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]
    ) -> Generator[T | None, None, None]:
        """None once the first tasks are submitted, then every task's result as it completes."""
        # Anything but numbers and text (a scenario) is pickled once for all tasks, and
        # goes to each worker as it starts. The tasks hold each value, so its id is stable.
        shared: dict[int, _Shared] = {}
        pickled: dict[int, bytes] = {}
        for task in tasks:
            for value in task:
                if not _plain(value) and id(value) not in shared:
                    key = next(_shared_keys)
                    shared[id(value)] = _Shared(key)
                    pickled[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_pool_context(),
            initializer=_start_worker,
            initargs=(pickled,),
        )
        # A few tasks per worker are in flight at a time, and finished ones are handed
        # over through a queue: this process never holds a lock of the pool's while it
        # waits, so a signal that stops the run (Ctrl-C, SIGTERM) cannot leave one held
        # and the pool's own thread waiting for it for ever at exit.
        finished_queue: queue.SimpleQueue[Future[T]] = queue.SimpleQueue()

        def submit(task: tuple[Any, ...]) -> None:
            values = [value if _plain(value) else shared[id(value)] for value in task]
            pool.submit(_in_pool, fn, *values).add_done_callback(finished_queue.put)

        waiting = iter(tasks)
        first = list(itertools.islice(waiting, IN_FLIGHT_PER_WORKER * self.workers))
        in_flight = len(first)

        def submit_first() -> None:
            # Each of the first submissions starts a worker, and waits until the fork
            # server has forked it, which is once the server's imports are done: a thread
            # waits for that, so that the caller can set up meanwhile (see map_unordered).
            try:
                for task in first:
                    submit(task)
            except BaseException as exc:  # to the caller, as the first result
                failed: Future[T] = Future()
                failed.set_exception(exc)
                finished_queue.put(failed)

        starter = threading.Thread(target=submit_first, name="pathways-pool-start", daemon=True)
        finished = False
        try:
            starter.start()
            yield None
            while in_flight:
                future = finished_queue.get()
                in_flight -= 1
                starter.join()  # a moment at most: never submit from two threads at once
                for task in itertools.islice(waiting, 1):
                    submit(task)
                    in_flight += 1
                yield future.result()
            finished = True
        finally:
            if starter.is_alive():
                starter.join()
            if finished:
                pool.shutdown(wait=True)
            else:
                _stop(pool)


IN_FLIGHT_PER_WORKER = 2
"""Tasks given to the pool ahead of their turn, per worker: enough to keep each busy."""


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued tasks and end the pool's workers without waiting for running ones."""
    table = getattr(pool, "_processes", None) or {}  # shutdown forgets it too
    processes = list(table.values())
    results = getattr(pool, "_result_queue", None)  # shutdown forgets it
    calls = getattr(pool, "_call_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    # A worker still being started when the run stopped is listed only now.
    processes += [p for p in list(table.values()) if p not in processes]
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
    # A worker ended while sending its result leaves half a message in the result pipe;
    # the pool's manager thread would wait for the rest for ever, and the interpreter with
    # it at exit. Closing this process's end of the pipe, now that no worker is left to
    # write, ends that wait: the thread reads the end of the pipe and stops.
    writer = getattr(results, "_writer", None)
    if writer is not None:
        writer.close()
    # Tasks not yet taken by a worker that has gone are never read: exit need not wait
    # for them to be sent.
    if calls is not None:
        calls.cancel_join_thread()


CONNECT_SECONDS = 10
"""How long to try to reach a Dask scheduler before giving up."""


class ClusterUnavailable(RuntimeError):
    """The Dask cluster asked for cannot be used; the message says why."""


class DaskExecutor:
    """Tasks on a Dask distributed cluster.

    ``cluster`` is a scheduler address (``tcp://HOST:PORT``) or ``"local"`` to start a
    :class:`distributed.LocalCluster` of ``workers`` single-threaded processes (default
    one per core) that lives as long as the run. Arguments other than numbers and text
    (a scenario) are sent to every worker once, and each task names them; a task's result
    comes back to this process as the function returned it (for a streamed run, the
    bytes of a part file).
    """

    def __init__(self, cluster: str, workers: int | None = None):
        try:
            importlib.import_module("distributed")
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ClusterUnavailable(
                "running on a Dask cluster needs the optional extra: pip install 'pathways[dask]'"
            ) from exc
        self.cluster = cluster
        self.workers = workers or (os.cpu_count() or 1)

    def map_unordered(
        self, fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]]
    ) -> Generator[T, None, None]:
        """Submit every task to the cluster; yield results as they complete."""
        distributed: Any = importlib.import_module("distributed")  # optional, untyped
        local: Any = None
        if self.cluster == LOCAL:
            local = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
            )
            client = distributed.Client(local)
        else:
            try:
                client = distributed.Client(self.cluster, timeout=CONNECT_SECONDS)
            except (OSError, ValueError) as exc:  # no scheduler there, or not an address
                raise ClusterUnavailable(
                    f"cannot reach a Dask scheduler at {self.cluster} ({exc}); start one "
                    "there, or check the address (tcp://HOST:PORT)"
                ) from None
        try:
            shared: dict[int, Any] = {}

            def sent_once(value: Any) -> Any:
                # A scenario is the same object in thousands of tasks: send it to every
                # worker once, not with each task.
                if value is None or isinstance(value, bool | int | float | str):
                    return value
                if id(value) not in shared:
                    shared[id(value)] = client.scatter(value, broadcast=True, hash=False)
                return shared[id(value)]

            futures = [
                client.submit(_in_worker, fn, *(sent_once(v) for v in task), pure=False)
                for task in tasks
            ]
            try:
                for future in distributed.as_completed(futures):
                    yield future.result()
            finally:
                client.cancel([f for f in futures if not f.done()])
        finally:
            client.close()
            if local is not None:
                local.close()


def make_executor(workers: int | None, cluster: str | None, tasks: int) -> Executor:
    """The executor for a run of ``tasks`` tasks.

    ``cluster`` (a Dask scheduler address or ``"local"``) wins; otherwise ``workers``
    local processes (default one per core, no more than there are tasks), and in this
    process when that is one.
    """
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(
            f"workers must be a whole number of at least 1 (None: one per core), got {workers!r}"
        )
    if cluster:
        return DaskExecutor(cluster, workers)
    n = workers if workers is not None else os.cpu_count() or 1
    n = max(1, min(n, tasks))
    return SerialExecutor() if n <= 1 else PoolExecutor(n)
