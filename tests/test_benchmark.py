"""The benchmark counts every process of a run: its speedup figures rest on that.

Nothing here times anything. ``benchmarks/bench_model.py`` reads the CPU of a ``pathways
run`` as the CPU of the process it started plus that of its children, which counts the
pool's workers only once the fork server that reaped them has been stopped and reaped
in turn; a run on one worker starts no other process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench_model import pathways_run, with_horizon

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture
def short(tmp_path: Path) -> Path:
    return with_horizon(str(BASELINE), 0.5, tmp_path)


def test_a_run_on_two_workers_counts_the_workers_cpu(short: Path, tmp_path: Path) -> None:
    run = pathways_run(short, tmp_path / "out", ["-r", "4", "-w", "2"])
    assert run["code"] == 0
    # Four half-year replications, all run by the workers: well over a tenth of a second.
    assert run["children_cpu_seconds"] > 0.1, run


def test_a_run_on_one_worker_has_no_other_process(short: Path, tmp_path: Path) -> None:
    run = pathways_run(short, tmp_path / "out", ["-r", "2", "-w", "1"])
    assert run["code"] == 0
    assert run["children_cpu_seconds"] == 0.0, run
    assert run["own_cpu_seconds"] > 0.1, run
