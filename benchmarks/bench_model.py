"""Speed of the pathways model, measured against bare SimPy and Ciw in the same process.

Measurements, printed as a table (and written as JSON to benchmarks/output/); every
figure is a median with its range (lowest to highest) over repeated runs, and every
ratio is taken between runs interleaved in one process, so that both see the same load.
Each engine's timed run starts after a full collection, so that none pays for another
run's garbage:

1. the model alone (``Model(scenario, r).run()``) on the baseline scenario against a
   bare SimPy M/M/c queue of a similar number of events; events are counted the same
   way for both (SimPy's count of scheduled events), and the ratio of costs per event
   is the figure that travels between machines. The model schedules no event that
   changes nothing (a patient's journey has no process events of its own, a bed given
   at once and a thinning candidate turned down are no events), so it needs fewer
   events per patient than a process-per-patient SimPy model and each costs more:
   between revisions, compare the CPU per replication (s/run) as well;
2. the same M/M/c (50 servers, utilisation 0.9) as a pathways scenario, as a bare SimPy
   model and in Ciw (``pip install -e '.[bench]'``): CPU time per customer;
3. how the model's cost per event grows with the horizon (the baseline over 5, 10 and
   20 years) and with the footprint (the baseline's places, beds and teams 1, 4 and 16
   times over, from empty);
4. ``run_replication`` split into model and KPI time;
5. ``pathways run`` as a planner runs it, in a fresh process: 1,000 replications x 10
   years on 2 workers (wall time and size of the results folder), and 100 replications
   on 1 worker against 2 (the speedup), with the CPU of all the run's processes: the
   speedup is how many CPUs two workers keep busy against one, divided by how much
   more CPU they spend;
6. peak memory (the high-water mark of resident memory, ``VmHWM``) of ``pathways run
   -w 1`` for several replication counts, each in a fresh process.

Run with ``make bench`` or ``.venv/bin/python benchmarks/bench_model.py``; ``--quick``
for a smoke run of every measurement at small sizes. This is not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import simpy

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

import simulation.experiment.experiment as experiment  # noqa: E402
from simulation import load_scenario, run_experiment  # noqa: E402
from simulation.experiment.executors import settle_worker  # noqa: E402
from simulation.model.model import Model  # noqa: E402
from simulation.scenario.loading import derive  # noqa: E402
from simulation.scenario.schema import Scenario  # noqa: E402

OUTPUT = ROOT / "benchmarks" / "output"


# -- bare SimPy M/M/c ---------------------------------------------------------------------
@dataclass(frozen=True)
class MMc:
    """An M/M/c queue: arrival rate, mean service time and servers (time in days)."""

    arrival_rate: float = 8.0
    mean_service: float = 1.0
    servers: int = 10

    def run(self, until: float, seed: int) -> int:
        """Run to ``until`` and return SimPy's count of scheduled events."""
        env = simpy.Environment()
        servers = simpy.Resource(env, capacity=self.servers)
        rng = random.Random(seed)
        service_rate = 1.0 / self.mean_service

        def customer() -> Generator[simpy.Event, Any, None]:
            with servers.request() as request:
                yield request
                yield env.timeout(rng.expovariate(service_rate))

        def arrivals() -> Generator[simpy.Event, Any, None]:
            while True:
                yield env.timeout(rng.expovariate(self.arrival_rate))
                env.process(customer())

        env.process(arrivals())
        env.run(until=until)
        return next(env._eid)

    def customers(self, until: float, seed: int) -> int:
        """Run to ``until`` and return the number of customers that arrived."""
        env = simpy.Environment()
        servers = simpy.Resource(env, capacity=self.servers)
        rng = random.Random(seed)
        service_rate = 1.0 / self.mean_service
        count = 0

        def customer() -> Generator[simpy.Event, Any, None]:
            with servers.request() as request:
                yield request
                yield env.timeout(rng.expovariate(service_rate))

        def arrivals() -> Generator[simpy.Event, Any, None]:
            nonlocal count
            while True:
                yield env.timeout(rng.expovariate(self.arrival_rate))
                count += 1
                env.process(customer())

        env.process(arrivals())
        env.run(until=until)
        return count

    def horizon_for(self, events: int) -> float:
        """Run length that gives about ``events`` events (from a pilot run)."""
        pilot = 2000.0
        per_day = self.run(pilot, seed=-1) / pilot
        return events / per_day


# -- timing helpers ------------------------------------------------------------------------
@dataclass
class Runs:
    """Wall and CPU times and event counts of repeated runs of one thing."""

    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def add(self, seconds: float, cpu_seconds: float, events: int) -> None:
        self.seconds.append(seconds)
        self.cpu_seconds.append(cpu_seconds)
        self.events.append(events)

    def us_per_event(self, cpu: bool = False) -> float:
        """Median over runs of microseconds (wall, or CPU) per event."""
        times = self.cpu_seconds if cpu else self.seconds
        return statistics.median(1e6 * s / e for s, e in zip(times, self.events, strict=True))

    def summary(self) -> dict[str, Any]:
        return {
            "runs": len(self.seconds),
            "events_per_run_mean": statistics.fmean(self.events),
            "seconds_per_run_median": statistics.median(self.seconds),
            "events_per_second": 1e6 / self.us_per_event(),
            "us_per_event": self.us_per_event(),
            "cpu_us_per_event": self.us_per_event(cpu=True),
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "events": self.events,
        }


class Clock:
    """Wall and process CPU time since creation."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def started() -> Clock:
    """A clock started after a full collection, for one engine's timed run.

    Each run then starts with nothing of earlier runs left to collect: Ciw's runs leave
    reference cycles, and their collection fell in whichever run came next (Ciw's own, or
    another engine's), a full collection that made Ciw's CPU per customer swing between
    14 and 19 µs here. The collection itself is not timed.
    """
    gc.collect()
    return Clock()


@contextlib.contextmanager
def timed_stages(totals: dict[str, float]) -> Iterator[None]:
    """Patch the pipeline's stages inside ``simulation.experiment.experiment`` to time each one."""
    kpi_stages = ("kpi_rows", "monthly_rows", "episodes_frame", "ledger_rows")
    originals: dict[str, Any] = {
        name: getattr(experiment, name)
        for name in ("run_model", *kpi_stages)
        if hasattr(experiment, name)
    }

    def add(stage: str, clock: Clock) -> None:
        wall, cpu = clock.read()
        totals[stage] = totals.get(stage, 0.0) + wall
        totals[f"cpu_{stage}"] = totals.get(f"cpu_{stage}", 0.0) + cpu

    def timer(stage: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            clock = Clock()
            try:
                return func(*args, **kwargs)
            finally:
                add(stage, clock)

        return wrapped

    setattr(experiment, "run_model", timer("model", originals["run_model"]))  # noqa: B010
    for name in kpi_stages:
        if name in originals:
            setattr(experiment, name, timer("kpis", originals[name]))
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(experiment, name, value)


# -- the four measurements -----------------------------------------------------------------
def bench_model_vs_simpy(scenario: Scenario, replications: int) -> dict[str, Any]:
    """Model-only runs interleaved with bare SimPy runs of a similar event count.

    A replication is timed in two parts: building the model (streams, units and the
    census start: a fixed cost per replication, whatever the horizon) and running it to
    the horizon. Cost per event is reported for the run alone and for the whole.
    """
    build = Runs()
    run = Runs()
    whole = Runs()
    bare = Runs()
    Model(scenario, 0).run()  # warm imports and caches
    mmc = MMc()
    horizon: float | None = None
    for r in range(replications):
        clock = started()
        model = Model(scenario, r)
        built = clock.read()
        output = model.run()
        total = clock.read()
        events = output.events_processed
        build.add(*built, events)
        run.add(total[0] - built[0], total[1] - built[1], events)
        whole.add(*total, events)
        if horizon is None:
            horizon = mmc.horizon_for(events)
        clock = started()
        bare_events = mmc.run(horizon, seed=r)
        bare.add(*clock.read(), bare_events)
    pairs = zip(whole.cpu_seconds, whole.events, bare.cpu_seconds, bare.events, strict=True)
    cpu_ratios = [(m / me) / (b / be) for m, me, b, be in pairs]
    pairs = zip(run.cpu_seconds, run.events, bare.cpu_seconds, bare.events, strict=True)
    run_ratios = [(m / me) / (b / be) for m, me, b, be in pairs]
    return {
        "cpu_ratio_spread": spread(cpu_ratios),
        "run_cpu_ratio_spread": spread(run_ratios),
        "model": whole.summary(),
        "model_run": run.summary(),
        "model_build": build.summary(),
        "bare_simpy": {**bare.summary(), "mmc": asdict(mmc), "horizon_days": horizon},
        "ratio": whole.us_per_event() / bare.us_per_event(),
        "cpu_ratio": whole.us_per_event(cpu=True) / bare.us_per_event(cpu=True),
        "run_ratio": run.us_per_event() / bare.us_per_event(),
        "run_cpu_ratio": run.us_per_event(cpu=True) / bare.us_per_event(cpu=True),
        "census_patients": len(scenario.census_patients),
    }


def spread(values: list[float]) -> dict[str, float]:
    """Median, lowest and highest of repeated measurements."""
    return {"median": statistics.median(values), "low": min(values), "high": max(values)}


def text(figure: dict[str, float], digits: int = 2) -> str:
    """A median with its range, as ``1.23 (1.10-1.40)``."""
    return f"{figure['median']:.{digits}f} ({figure['low']:.{digits}f}-{figure['high']:.{digits}f})"


# -- per customer on one M/M/c, three ways ---------------------------------------------------
def mmc_pathways(mmc: MMc, days: float) -> Scenario:
    """The M/M/c as a pathways scenario: one unit, Poisson referrals, exponential stays."""
    from simulation import load_scenario_dict
    from tests.builders import mmc_scenario

    data = mmc_scenario(
        beds=mmc.servers,
        arrivals_per_day=mmc.arrival_rate,
        mean_stay_days=mmc.mean_service,
        horizon_years=days / 365.25,
        warmup_days=0.0,
        name="mmc_bench",
    )
    return load_scenario_dict(data)


def bench_customers(mmc: MMc, days: float, repeats: int) -> dict[str, Any]:
    """CPU time per customer of one M/M/c in pathways, bare SimPy and Ciw, interleaved."""
    try:
        import ciw  # type: ignore[import-untyped]
    except ImportError:
        ciw = None
    scenario = mmc_pathways(mmc, days)
    network = None
    if ciw is not None:
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=mmc.arrival_rate)],
            service_distributions=[ciw.dists.Exponential(rate=1.0 / mmc.mean_service)],
            number_of_servers=[mmc.servers],
        )
    Model(scenario, 0).run()  # warm imports and caches
    per: dict[str, list[float]] = {"pathways": [], "simpy": [], "ciw": []}
    customers: dict[str, list[int]] = {"pathways": [], "simpy": [], "ciw": []}
    for r in range(repeats):
        clock = started()
        output = Model(scenario, r + 1).run()
        cpu = clock.read()[1]
        count = len(output.episodes)
        per["pathways"].append(1e6 * cpu / count)
        customers["pathways"].append(count)

        clock = started()
        count = mmc.customers(days, seed=r)
        per["simpy"].append(1e6 * clock.read()[1] / count)
        customers["simpy"].append(count)

        if network is not None:
            ciw.seed(r)
            clock = started()
            sim = ciw.Simulation(network)
            sim.simulate_until_max_time(days)
            cpu = clock.read()[1]
            count = sim.nodes[0].number_of_individuals  # customers that arrived
            per["ciw"].append(1e6 * cpu / count)
            customers["ciw"].append(count)
    out: dict[str, Any] = {
        "mmc": asdict(mmc),
        "days": days,
        "repeats": repeats,
        "ciw_version": getattr(ciw, "__version__", None),
    }
    for engine, values in per.items():
        if values:
            out[engine] = {
                "us_per_customer": spread(values),
                "customers_per_run": statistics.fmean(customers[engine]),
                "values": values,
            }
    pairs = zip(per["pathways"], per["simpy"], strict=True)
    out["pathways_over_simpy"] = spread([p / b for p, b in pairs])
    if per["ciw"]:
        pairs = zip(per["ciw"], per["pathways"], strict=True)
        out["ciw_over_pathways"] = spread([c / p for c, p in pairs])
    return out


# -- cost growth with horizon and footprint ---------------------------------------------------
def footprint(scenario: Scenario, times: int) -> Scenario:
    """The scenario with every place's population, unit's beds and team's places ``times``
    over, started empty: as many patients in the same structure."""
    import yaml

    from simulation import load_scenario_dict
    from simulation.scenario.loading import scenario_to_yaml

    data = yaml.safe_load(scenario_to_yaml(scenario))
    for place in data["places"]:
        place["population"] *= times
    for unit in data["units"]:
        unit["beds"] *= times
    for team in data.get("community_teams") or []:
        team["places"] *= times
    data["census"] = None
    data["name"] = f"{scenario.name}_x{times}"
    return load_scenario_dict(data)


def per_event(scenario: Scenario, repeats: int) -> dict[str, Any]:
    """CPU microseconds per event of building and running the model, over repeats."""
    values, events = [], []
    for r in range(repeats):
        clock = started()
        output = Model(scenario, r).run()
        values.append(1e6 * clock.read()[1] / output.events_processed)
        events.append(output.events_processed)
    return {"us_per_event": spread(values), "events_per_run": statistics.fmean(events)}


def bench_growth(
    scenario: Scenario, horizons: list[float], footprints: list[int], years: float, repeats: int
) -> dict[str, Any]:
    """Cost per event against the horizon, and against the footprint at ``years``."""
    Model(scenario, 0).run()  # warm imports and caches
    out: dict[str, Any] = {"horizon": {}, "footprint": {}, "footprint_years": years}
    for h in horizons:
        longer = derive(scenario, {"horizon_years": h}, "--growth")
        out["horizon"][f"{h:g}"] = per_event(longer, repeats)
    for k in footprints:
        bigger = derive(footprint(scenario, k), {"horizon_years": years}, "--growth")
        out["footprint"][str(k)] = per_event(bigger, repeats)
    return out


# -- pathways run as a planner runs it -----------------------------------------------------------
PEAK_PROBE = """
import gc, json, os, sys
from simulation.experiment.executors import one_blas_thread
one_blas_thread()  # as the console command does, before anything imports numpy
from simulation.cli.main import main
code = main(sys.argv[1:])
gc.freeze()  # as the console command does before the process ends
# The pool's fork server has reaped its workers; stopped and reaped here, its CPU and
# theirs count among this process's children. (It would end with this process anyway.)
import multiprocessing.forkserver as forkserver
forkserver._forkserver._stop()
times = os.times()
peak = None
with open("/proc/self/status") as status:  # this process's own high-water mark
    for line in status:
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
cpu = times.user + times.system  # this process's own CPU time, not its workers'
children = times.children_user + times.children_system  # the fork server's and workers'
print(json.dumps({
    "code": code, "peak_rss_mb": peak, "own_cpu_seconds": cpu, "children_cpu_seconds": children
}))
"""


def pathways_run(scenario_file: Path, out: Path, args: list[str]) -> dict[str, Any]:
    """``pathways run`` in a fresh process: its wall time, exit status and peak memory."""
    started = time.perf_counter()
    command = ["run", str(scenario_file), "-q", "--out", str(out), *args]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"pathways run {' '.join(args)} failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def with_horizon(scenario_file: str, years: float, folder: Path) -> Path:
    """A scenario file extending ``scenario_file`` with another horizon."""
    path = folder / f"h{years:g}.yaml"
    path.write_text(f"extends: {Path(scenario_file).resolve()}\nhorizon_years: {years}\n")
    return path


def bench_cli(
    scenario_file: str,
    replications: int,
    years: float,
    speedup_reps: int,
    speedup_years: float,
    repeats: int,
) -> dict[str, Any]:
    """The big run on 2 workers, and the speedup of 2 workers over 1, through the CLI.

    A run's manifest says how long its replications took (until the last was saved);
    the rest of the process's wall time is starting up and finishing the folder.
    """
    import tempfile

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if replications > 0:
            big = with_horizon(scenario_file, years, folder)
            out["big"] = {
                "replications": replications,
                "years": years,
                **cli_run(big, folder / "big", ["-r", str(replications), "-w", "2"]),
            }
        if speedup_reps > 0:
            small = with_horizon(scenario_file, speedup_years, folder)
            walls: dict[int, list[float]] = {1: [], 2: []}
            cpus: dict[int, list[float]] = {1: [], 2: []}
            sizes, parent = [], []
            for repeat in range(repeats):
                # 1, 2, then 2, 1: a machine that speeds up or slows down over the pairs
                # favours neither side of the ratio.
                for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
                    args = ["-r", str(speedup_reps), "-w", str(workers)]
                    run = cli_run(small, folder / "s", args)
                    walls[workers].append(run["wall_seconds"])
                    cpus[workers].append(run["cpu_seconds"])
                    sizes.append(run["kb_per_replication"])
                    if workers == 2:
                        parent.append(run["parent_cpu_ms_per_replication"])
            pairs = list(zip(walls[1], walls[2], cpus[1], cpus[2], strict=True))
            out["speedup"] = {
                "replications": speedup_reps,
                "years": speedup_years,
                "kb_per_replication": statistics.median(sizes),
                "parent_cpu_ms_per_replication": spread(parent),
                "wall_seconds_1_worker": spread(walls[1]),
                "wall_seconds_2_workers": spread(walls[2]),
                "cpu_seconds_1_worker": spread(cpus[1]),
                "cpu_seconds_2_workers": spread(cpus[2]),
                "speedup": spread([w1 / w2 for w1, w2, _, _ in pairs]),
                # The speedup is the one times the reciprocal of the other: how many CPUs
                # two workers keep busy against one, and how much more CPU they spend.
                "cpus_busy_1_worker": spread([c1 / w1 for w1, _, c1, _ in pairs]),
                "cpus_busy_2_workers": spread([c2 / w2 for _, w2, _, c2 in pairs]),
                "cpu_2_over_1": spread([c2 / c1 for _, _, c1, c2 in pairs]),
            }
    return out


def cli_run(scenario_file: Path, out: Path, args: list[str]) -> dict[str, Any]:
    """One ``pathways run`` into ``out`` (removed after): its times and its folder's size."""
    run = pathways_run(scenario_file, out, args)
    (written,) = [p for p in out.glob("*/*") if p.is_dir()]
    manifest = json.loads((written / "manifest.json").read_text())
    size = folder_bytes(written)
    count = int(manifest["replications"])
    csv_files = sorted(p.name for p in written.glob("*.csv"))
    shutil.rmtree(out)
    return {
        "wall_seconds": run["wall_seconds"],
        "replications_seconds": float(manifest["wall_seconds"]),
        "rest_seconds": run["wall_seconds"] - float(manifest["wall_seconds"]),
        "parent_cpu_ms_per_replication": 1e3 * run["own_cpu_seconds"] / count,
        # Every process of the run: the one started, the pool's fork server and workers.
        "cpu_seconds": run["own_cpu_seconds"] + run["children_cpu_seconds"],
        "folder_mb": size / 2**20,
        "kb_per_replication": size / 1024 / count,
        "csv_files": csv_files,
    }


def bench_memory(scenario_file: str, years: float, counts: list[int]) -> dict[str, Any]:
    """Peak resident memory of ``pathways run -w 1`` per replication count, fresh processes."""
    import tempfile

    out: dict[str, Any] = {"horizon_years": years, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        short = with_horizon(scenario_file, years, Path(tmp))
        for n in counts:
            run = pathways_run(short, Path(tmp) / "out", ["-r", str(n), "-w", "1"])
            out["runs"][str(n)] = run
    return out


def bench_pipeline(scenario: Scenario, replications: int) -> dict[str, Any]:
    """``run_replication`` end to end, split into model and KPI time (wall and CPU)."""
    per_rep: list[dict[str, float]] = []
    for r in range(replications):
        totals: dict[str, float] = {}
        with timed_stages(totals):
            clock = Clock()
            experiment.run_replication(scenario, r)
            total, cpu = clock.read()
        model_s, kpi_s = totals.get("model", 0.0), totals.get("kpis", 0.0)
        cpu_model, cpu_kpis = totals.get("cpu_model", 0.0), totals.get("cpu_kpis", 0.0)
        per_rep.append(
            {
                "total": total,
                "model": model_s,
                "kpis": kpi_s,
                "other": total - model_s - kpi_s,
                "cpu_total": cpu,
                "cpu_model": cpu_model,
                "cpu_kpis": cpu_kpis,
                "cpu_other": cpu - cpu_model - cpu_kpis,
            }
        )
    return {
        "replications": replications,
        "mean": {k: statistics.fmean(p[k] for p in per_rep) for k in per_rep[0]},
        "spread": {k: spread([p[k] for p in per_rep]) for k in per_rep[0]},
        "per_replication": per_rep,
    }


def bench_experiment(scenario: Scenario, replications: int, workers: int | None) -> dict[str, Any]:
    """``run_experiment`` wall time with the default (or given) workers."""
    started = time.perf_counter()
    result = run_experiment(scenario, replications=replications, workers=workers)
    wall = time.perf_counter() - started
    rep_seconds = [r.wall_seconds for r in result.replications]
    return {
        "replications": replications,
        "workers": result.workers,
        "wall_seconds": wall,
        "replications_per_second": replications / wall,
        "replication_seconds_mean": statistics.fmean(rep_seconds),
        "kpi_rows": len(result.kpis),
    }


def profile_model(scenario: Scenario, years: float, top: int) -> str:
    """cProfile of one model run (build and run), the ``top`` functions by own time.

    cProfile's overhead inflates small functions; read it for where the time goes, not
    for how much.
    """
    import cProfile
    import io
    import pstats

    long = derive(scenario, {"horizon_years": years})
    Model(long, 0).run()  # warm imports and caches
    profiler = cProfile.Profile()
    profiler.enable()
    Model(long, 1).run()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


# -- reporting -----------------------------------------------------------------------------
def environment() -> dict[str, Any]:
    """What the figures depend on: machine, interpreter, library versions, revision."""
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        revision, dirty = "unknown", False
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "revision": revision + ("+dirty" if dirty else ""),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "simpy": simpy.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def report(results: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    env = results["environment"]
    lines = [
        f"pathways benchmark  {env['when']}  rev {env['revision']}  "
        f"Python {env['python']}  SimPy {env['simpy']}  pandas {env['pandas']}  "
        f"{env['cpus']} CPUs (load {env['load_average_1min']:.1f} at start)",
        f"scenario: {results['scenario']}",
        "",
    ]
    speed = results.get("model_vs_simpy")
    if speed:
        header = (
            f"{'engine':<32}{'runs':>5}{'events/run':>11}{'s/run':>8}"
            f"{'events/s':>10}{'µs/event':>10}{'CPU µs/ev':>11}"
        )
        lines += ["1. Cost per event (median over runs)", header, "-" * len(header)]
        mmc = speed["bare_simpy"]["mmc"]
        rho = mmc["arrival_rate"] * mmc["mean_service"] / mmc["servers"]
        for label, key in (
            ("pathways model, build + run", "model"),
            ("  of which the run", "model_run"),
            (f"bare SimPy M/M/{mmc['servers']} (rho {rho:.1f})", "bare_simpy"),
        ):
            s = speed[key]
            lines.append(
                f"{label:<32}{s['runs']:>5}{s['events_per_run_mean']:>11,.0f}"
                f"{s['seconds_per_run_median']:>8.3f}{s['events_per_second']:>10,.0f}"
                f"{s['us_per_event']:>10.1f}{s['cpu_us_per_event']:>11.1f}"
            )
        build_ms = 1e3 * speed["model_build"]["seconds_per_run_median"]
        lines += [
            f"building a replication's model (streams, units, census start of"
            f" {speed['census_patients']} patients): {build_ms:.0f} ms,"
            " a fixed cost per replication",
            "ratio model ÷ bare SimPy, cost per event:"
            f" build + run {speed['ratio']:.2f} (wall), {speed['cpu_ratio']:.2f} (CPU);"
            f" run alone {speed['run_ratio']:.2f} (wall), {speed['run_cpu_ratio']:.2f} (CPU)",
            f"   CPU ratio per interleaved pair, median (range): build + run"
            f" {text(speed['cpu_ratio_spread'])}, run alone {text(speed['run_cpu_ratio_spread'])}",
            "",
        ]
    exp = results.get("experiment")
    if exp:
        lines += [
            f"run_experiment (Python API): {exp['replications']} replications x "
            f"{exp['years']:g} years on {exp['workers']} workers",
            f"   wall {exp['wall_seconds']:.1f} s"
            f" ({exp['replications_per_second']:.2f} replications/s;"
            f" {exp['replication_seconds_mean']:.3f} s per replication in its worker)",
            "",
        ]
    c = results.get("customers")
    if c:
        mmc = c["mmc"]
        rho = mmc["arrival_rate"] * mmc["mean_service"] / mmc["servers"]
        lines.append(
            f"2. CPU µs per customer, M/M/{mmc['servers']} (rho {rho:.2f}) over {c['days']:,.0f}"
            f" days, median (range) of {c['repeats']} interleaved runs"
        )
        for engine, label in (
            ("pathways", "pathways model"),
            ("simpy", "bare SimPy"),
            ("ciw", f"Ciw {c['ciw_version']}"),
        ):
            if engine in c:
                e = c[engine]
                lines.append(
                    f"   {label:<16} {text(e['us_per_customer'], 1)} µs"
                    f" ({e['customers_per_run']:,.0f} customers a run)"
                )
        lines.append(f"   pathways ÷ bare SimPy: {text(c['pathways_over_simpy'])}")
        if "ciw_over_pathways" in c:
            lines.append(f"   Ciw ÷ pathways:      {text(c['ciw_over_pathways'])}")
        lines.append("")
    g = results.get("growth")
    if g:
        lines.append("3. CPU µs per event (build + run) as the horizon and footprint grow")
        for h, fig in g["horizon"].items():
            lines.append(
                f"   horizon {h:>3} years:   {text(fig['us_per_event'])}"
                f"  ({fig['events_per_run']:,.0f} events)"
            )
        for k, fig in g["footprint"].items():
            lines.append(
                f"   footprint x{k:<3} ({g['footprint_years']:g} y, from empty): "
                f"{text(fig['us_per_event'])}  ({fig['events_per_run']:,.0f} events)"
            )
        lines.append("")
    pipeline = results.get("pipeline")
    if pipeline:
        m, sp = pipeline["mean"], pipeline["spread"]
        lines.append(
            f"4. run_replication CPU ms per replication over {pipeline['replications']},"
            " median (range); mean (a slow run, or a collection, counts in it)"
        )
        for part in ("total", "model", "kpis", "other"):
            fig = {k: 1e3 * v for k, v in sp[f"cpu_{part}"].items()}
            lines.append(f"   {part:<6} {text(fig, 1)}; mean {1e3 * m[f'cpu_{part}']:.1f}")
        share = 100 * m["cpu_kpis"] / m["cpu_total"] if m["cpu_total"] else float("nan")
        lines.append(f"   the KPI tables' share of the mean: {share:.0f}%")
        lines.append("")
    cli = results.get("cli")
    if cli:
        big, sp = cli.get("big"), cli.get("speedup")
        if big:
            lines += [
                f"5. pathways run, {big['replications']:,} replications x {big['years']:g} years"
                f" on 2 workers: {big['wall_seconds']:.0f} s wall"
                f" ({big['wall_seconds'] / 60:.1f} min), of which"
                f" {big['rest_seconds']:.1f} s starting and finishing the folder;"
                f" parent CPU {big['parent_cpu_ms_per_replication']:.0f} ms a replication"
                " (start-up included);"
                f" folder {big['folder_mb']:.1f} MB, {big['kb_per_replication']:.0f} KB a"
                f" replication (CSV: {', '.join(big['csv_files'])})",
            ]
        if sp:
            lines += [
                f"   {sp['replications']} replications x {sp['years']:g} years"
                f" ({sp['kb_per_replication']:.0f} KB a replication): 1 worker"
                f" {text(sp['wall_seconds_1_worker'], 1)} s, 2 workers"
                f" {text(sp['wall_seconds_2_workers'], 1)} s: speedup {text(sp['speedup'])}",
                "   CPU of the parent process (start-up, saving parts, writing the folder)"
                f" per replication, 2 workers: {text(sp['parent_cpu_ms_per_replication'], 0)} ms",
                "   CPU of every process of the run (the parent, the fork server, the workers):"
                f" 1 worker {text(sp['cpu_seconds_1_worker'], 1)} s,"
                f" 2 workers {text(sp['cpu_seconds_2_workers'], 1)} s;"
                f" per pair, 2 workers ÷ 1 {text(sp['cpu_2_over_1'])}; CPUs kept busy"
                f" (CPU ÷ wall): 1 worker {text(sp['cpus_busy_1_worker'])},"
                f" 2 workers {text(sp['cpus_busy_2_workers'])}",
            ]
        lines.append("")
    mem = results.get("memory")
    if mem:
        lines.append(
            f"6. peak resident memory of pathways run -w 1 ({mem['horizon_years']:g}-year"
            " horizon), each in a fresh process"
        )
        for n, m in mem["runs"].items():
            lines.append(f"   {n:>4} replications: {m['peak_rss_mb']:.0f} MB")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--model-reps", type=int, default=10, help="model-only replications")
    parser.add_argument(
        "--customer-reps", type=int, default=5, help="runs of the M/M/50 per engine (0 to skip)"
    )
    parser.add_argument(
        "--customer-days", type=float, default=3650.0, help="horizon of the M/M/50 runs (days)"
    )
    parser.add_argument("--growth-reps", type=int, default=3, help="runs per horizon and footprint")
    parser.add_argument("--horizons", default="5,10,20", help="horizons (years) for growth")
    parser.add_argument("--footprints", default="1,4,16", help="footprint multiples for growth")
    parser.add_argument("--pipeline-reps", type=int, default=15, help="run_replication calls")
    parser.add_argument("--experiment-reps", type=int, default=0, help="run_experiment size")
    parser.add_argument(
        "--experiment-years", type=float, default=10.0, help="run_experiment horizon (years)"
    )
    parser.add_argument(
        "--big-reps", type=int, default=1000, help="replications of the big pathways run (0 skips)"
    )
    parser.add_argument("--big-years", type=float, default=10.0, help="its horizon (years)")
    parser.add_argument(
        "--speedup-reps", type=int, default=100, help="replications for 2 against 1 worker"
    )
    parser.add_argument("--speedup-years", type=float, default=5.0, help="their horizon (years)")
    parser.add_argument("--speedup-repeats", type=int, default=3, help="pairs of speedup runs")
    parser.add_argument(
        "--memory-reps",
        default="10,100",
        help="replication counts whose peak memory is compared ('' to skip)",
    )
    parser.add_argument(
        "--memory-years", type=float, default=1.0, help="horizon of the memory runs (years)"
    )
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: every measurement, at small sizes"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="instead of the measurements, profile one 20-year run and list N functions",
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON")
    parser.add_argument("--no-json", action="store_true", help="do not write JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.model_reps, args.pipeline_reps, args.experiment_reps = 2, 1, 2
        args.experiment_years, args.customer_reps, args.customer_days = 1.0, 2, 365.0
        args.growth_reps, args.horizons, args.footprints = 1, "1,2", "1,2"
        args.big_reps, args.big_years = 20, 1.0
        args.speedup_reps, args.speedup_years, args.speedup_repeats = 4, 1.0, 1
        args.memory_reps, args.memory_years = "2,4", 0.25

    # As a pool or Dask worker does when it starts (experiment.executors.settle_worker):
    # what the imports built is set aside from the garbage collector's full collections.
    settle_worker()
    scenario = load_scenario(args.scenario)
    if args.profile > 0:
        print(profile_model(scenario, 20.0, args.profile))
        return 0
    results: dict[str, Any] = {
        "environment": environment(),
        "scenario": f"{scenario.name}: horizon {scenario.horizon_years:g} years, "
        f"warm-up {scenario.warmup_days:g} days, seed {scenario.seed}",
        "arguments": {k: str(v) for k, v in vars(args).items()},
    }
    if args.model_reps > 0:
        results["model_vs_simpy"] = bench_model_vs_simpy(scenario, args.model_reps)
    if args.customer_reps > 0:
        mmc = MMc(arrival_rate=4.5, mean_service=10.0, servers=50)
        results["customers"] = bench_customers(mmc, args.customer_days, args.customer_reps)
    if args.growth_reps > 0:
        horizons = [float(h) for h in args.horizons.split(",") if h.strip()]
        footprints = [int(k) for k in args.footprints.split(",") if k.strip()]
        years = min(horizons) if horizons else 2.0
        results["growth"] = bench_growth(scenario, horizons, footprints, years, args.growth_reps)
    if args.pipeline_reps > 0:
        results["pipeline"] = bench_pipeline(scenario, args.pipeline_reps)
    if args.experiment_reps > 0:
        long = derive(scenario, {"horizon_years": args.experiment_years}, "--experiment-years")
        results["experiment"] = bench_experiment(long, args.experiment_reps, args.workers)
        results["experiment"]["years"] = args.experiment_years
    if args.big_reps > 0 or args.speedup_reps > 0:
        results["cli"] = bench_cli(
            args.scenario,
            args.big_reps,
            args.big_years,
            args.speedup_reps,
            args.speedup_years,
            args.speedup_repeats,
        )
    counts = [int(n) for n in args.memory_reps.split(",") if n.strip()]
    if counts:
        results["memory"] = bench_memory(args.scenario, args.memory_years, counts)
    results["environment"]["load_average_at_end"] = os.getloadavg()

    print(report(results))
    if not args.no_json:
        path = args.json
        if path is None:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = OUTPUT / f"bench-{stamp}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"written {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
