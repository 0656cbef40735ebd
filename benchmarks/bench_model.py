"""Speed of the pathways model, measured against a bare SimPy model in the same process.

Four measurements, printed as a table (and written as JSON to benchmarks/output/):

1. the model alone (``Model(scenario, r).run()``) on the baseline scenario: events
   processed per second of wall time, for building the model and running it together
   and for the run alone (building, mostly the census start, is a fixed cost per
   replication that a longer horizon spreads over more events);
2. a bare SimPy M/M/c queue (Poisson arrivals, exponential service, ``simpy.Resource``
   with c servers) sized to a similar number of events per run, interleaved with the
   model runs so that both see the same machine load; the ratio of the model's cost
   per event to bare SimPy's is the figure to watch, since it does not depend on how
   fast the machine is;
3. the full replication pipeline (``simulation.experiment.experiment.run_replication``) split into
   model time and KPI time (KPI rows, monthly series);
4. ``simulation.run_experiment`` with 100 replications of the baseline over 10 years and
   the default workers (wall time);
5. the same M/M/c in Ciw (``pip install -e '.[bench]'``), for comparison with another
   Python DES library: seconds per run of the same horizon as the bare SimPy runs;
6. parallel speedup: ``run_experiment`` on a process pool of 2 workers against 1;
7. peak memory of ``pathways run`` (streamed to part files) for 10 against 100
   replications, each measured in its own subprocess (``resource.getrusage`` peak RSS,
   and ``tracemalloc``'s peak of Python allocations).

Run with ``make bench`` or ``.venv/bin/python benchmarks/bench_model.py``; ``--quick``
for a smoke run in a few seconds. This is not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
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


@contextlib.contextmanager
def timed_stages(totals: dict[str, float]) -> Iterator[None]:
    """Patch the pipeline's stages inside ``simulation.experiment.experiment`` to time each one."""
    kpi_stages = ("kpi_rows", "monthly_rows", "episodes_frame", "ledger_rows")
    originals: dict[str, Any] = {
        name: getattr(experiment, name)
        for name in ("Model", *kpi_stages)
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

    class TimedModel(Model):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            clock = Clock()
            super().__init__(*args, **kwargs)
            add("model", clock)

        def run(self) -> Any:
            clock = Clock()
            try:
                return super().run()
            finally:
                add("model", clock)

    setattr(experiment, "Model", TimedModel)  # noqa: B010 - not re-exported
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
        clock = Clock()
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
        clock = Clock()
        bare_events = mmc.run(horizon, seed=r)
        bare.add(*clock.read(), bare_events)
    return {
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


def bench_ciw(mmc: MMc, horizon: float, replications: int) -> dict[str, Any] | None:
    """The M/M/c of the SimPy runs, in Ciw, for the same horizon, interleaved with SimPy."""
    try:
        import ciw  # type: ignore[import-untyped]
    except ImportError:
        return None
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=mmc.arrival_rate)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / mmc.mean_service)],
        number_of_servers=[mmc.servers],
    )
    ciw_seconds: list[float] = []
    simpy_seconds: list[float] = []
    customers: list[int] = []
    for r in range(replications):
        ciw.seed(r)
        clock = Clock()
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(horizon)
        ciw_seconds.append(clock.read()[0])
        customers.append(len(sim.get_all_records()))
        clock = Clock()
        mmc.run(horizon, seed=r)
        simpy_seconds.append(clock.read()[0])
    return {
        "ciw": ciw.__version__,
        "horizon_days": horizon,
        "runs": replications,
        "customers_per_run_mean": statistics.fmean(customers),
        "ciw_seconds_median": statistics.median(ciw_seconds),
        "simpy_seconds_median": statistics.median(simpy_seconds),
        "ratio_ciw_to_simpy": statistics.median(ciw_seconds) / statistics.median(simpy_seconds),
    }


def bench_speedup(scenario: Scenario, replications: int) -> dict[str, Any]:
    """``run_experiment`` wall time on a process pool of 2 workers against 1 (in process).

    The pool's fork server (which imports the model once) is started first and timed
    apart: it is paid once per process, not per run.
    """
    started = time.perf_counter()
    tiny = derive(scenario, {"horizon_years": 0.1})
    run_experiment(tiny, replications=2, workers=2)
    startup = time.perf_counter() - started
    walls: dict[int, float] = {}
    for workers in (1, 2):
        started = time.perf_counter()
        run_experiment(scenario, replications=replications, workers=workers)
        walls[workers] = time.perf_counter() - started
    return {
        "replications": replications,
        "wall_seconds_1_worker": walls[1],
        "wall_seconds_2_workers": walls[2],
        "speedup": walls[1] / walls[2],
        "first_pool_seconds": startup,
    }


MEMORY_PROBE = """
import json, resource, sys, tracemalloc
from simulation.cli.main import main
tracemalloc.start()
code = main(sys.argv[1:])
peak = tracemalloc.get_traced_memory()[1]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "tracemalloc_peak_mb": peak / 2**20, "rss_peak_mb": rss / 1024}))
"""


def bench_memory(scenario_file: str, years: float, counts: list[int]) -> dict[str, Any]:
    """Peak memory of ``pathways run -w 1`` for each replication count, in fresh processes."""
    import tempfile

    out: dict[str, Any] = {"horizon_years": years, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        short = Path(tmp) / "short.yaml"
        short.write_text(
            f"extends: {Path(scenario_file).resolve()}\nhorizon_years: {years}\n", "utf-8"
        )
        options = ["-w", "1", "-q", "--out", str(Path(tmp) / "out")]
        for n in counts:
            done = subprocess.run(
                [sys.executable, "-c", MEMORY_PROBE, "run", str(short), "-r", str(n), *options],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            out["runs"][str(n)] = json.loads(done.stdout.strip().splitlines()[-1])
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
            "",
        ]
    pipeline = results.get("pipeline")
    if pipeline:
        m = pipeline["mean"]
        lines.append(
            f"2. run_replication time per replication (mean of {pipeline['replications']})"
        )
        for label, prefix in (("wall", ""), ("CPU ", "cpu_")):
            total = m[f"{prefix}total"]
            kpis = m[f"{prefix}kpis"]
            share = 100 * kpis / total if total else float("nan")
            lines.append(
                f"   {label} {total:.3f} s = model {m[f'{prefix}model']:.3f} s"
                f" + KPIs {kpis:.3f} s ({share:.0f}%) + other {m[f'{prefix}other']:.3f} s"
            )
        lines.append("")
    exp = results.get("experiment")
    if exp:
        lines += [
            f"3. run_experiment: {exp['replications']} replications x {exp['years']:g} years "
            f"on {exp['workers']} workers",
            f"   wall {exp['wall_seconds']:.1f} s"
            f" ({exp['replications_per_second']:.2f} replications/s;"
            f" {exp['replication_seconds_mean']:.3f} s per replication in its worker)",
            "",
        ]
    c = results.get("ciw")
    if c:
        lines += [
            f"4. the same M/M/c in Ciw {c['ciw']} ({c['horizon_days']:,.0f} days, "
            f"{c['customers_per_run_mean']:,.0f} customers a run, median of {c['runs']})",
            f"   Ciw {c['ciw_seconds_median']:.3f} s, bare SimPy {c['simpy_seconds_median']:.3f} s"
            f" per run: Ciw takes {c['ratio_ciw_to_simpy']:.1f}x SimPy's time",
            "",
        ]
    sp = results.get("speedup")
    if sp:
        lines += [
            f"5. parallel speedup, {sp['replications']} replications: 1 worker "
            f"{sp['wall_seconds_1_worker']:.1f} s, 2 workers {sp['wall_seconds_2_workers']:.1f} s:"
            f" speedup {sp['speedup']:.2f} (the first pool of the process took"
            f" {sp['first_pool_seconds']:.1f} s to start, not counted)",
            "",
        ]
    mem = results.get("memory")
    if mem:
        lines.append(f"6. peak memory of pathways run -w 1 ({mem['horizon_years']:g}-year horizon)")
        for n, m in mem["runs"].items():
            lines.append(
                f"   {n:>4} replications: peak RSS {m['rss_peak_mb']:.0f} MB, "
                f"Python allocations peak {m['tracemalloc_peak_mb']:.1f} MB"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--model-reps", type=int, default=10, help="model-only replications")
    parser.add_argument("--pipeline-reps", type=int, default=3, help="run_replication calls")
    parser.add_argument("--experiment-reps", type=int, default=100, help="run_experiment size")
    parser.add_argument(
        "--experiment-years", type=float, default=10.0, help="run_experiment horizon (years)"
    )
    parser.add_argument("--ciw-reps", type=int, default=3, help="Ciw runs (0 to skip)")
    parser.add_argument(
        "--speedup-reps", type=int, default=100, help="replications for 2 against 1 worker"
    )
    parser.add_argument(
        "--memory-reps",
        default="10,100",
        help="replication counts whose peak memory is compared ('' to skip)",
    )
    parser.add_argument(
        "--memory-years", type=float, default=1.0, help="horizon of the memory runs (years)"
    )
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--skip-experiment", action="store_true", help="skip run_experiment")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 model reps, 1 pipeline rep, 4 in exp."
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
        args.model_reps, args.pipeline_reps, args.experiment_reps = 2, 1, 4
        args.experiment_years, args.ciw_reps, args.speedup_reps = 1.0, 1, 2
        args.memory_reps, args.memory_years = "2,4", 0.25

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
        if args.ciw_reps > 0:
            horizon = results["model_vs_simpy"]["bare_simpy"]["horizon_days"]
            results["ciw"] = bench_ciw(MMc(), horizon, args.ciw_reps)
    if args.pipeline_reps > 0:
        results["pipeline"] = bench_pipeline(scenario, args.pipeline_reps)
    if not args.skip_experiment and args.experiment_reps > 0:
        long = derive(scenario, {"horizon_years": args.experiment_years}, "--experiment-years")
        results["experiment"] = bench_experiment(long, args.experiment_reps, args.workers)
        results["experiment"]["years"] = args.experiment_years
    if args.speedup_reps > 0:
        results["speedup"] = bench_speedup(scenario, args.speedup_reps)
    counts = [int(n) for n in args.memory_reps.split(",") if n.strip()]
    if counts:
        results["memory"] = bench_memory(args.scenario, args.memory_years, counts)

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
