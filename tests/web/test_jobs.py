"""The job store: a killed server resumes its job to the CLI's numbers; cancel leaves nothing.

A server killed (SIGKILL) in the middle of a run and started again finishes the job from
the replications it had saved, and its results are those of an uninterrupted
``pathways run`` of the same file, number for number. A cancelled job leaves no partial
or empty results folder behind, and a queued job cancelled never starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.api import open_results
from simulation.store.resume import PART_SUFFIX
from simulation.web.jobs import SCHEMA, JobStore, Runner, fingerprint
from simulation.web.workspace import Workspace
from tests.web.server import ROOT, Server, wait_for

SCENARIO = """\
extends: ../examples/baseline.yaml
name: short
description: The baseline over two years.
horizon_years: 2
"""


def _workspace(root: Path) -> Workspace:
    workspace = Workspace(root)
    (workspace.scenarios / "short.yaml").write_text(SCENARIO)
    return workspace


def _parts(workspace: Workspace, folder: str | None) -> int:
    if folder is None:
        return 0
    final = workspace.root / folder
    staging = final.parent / f".{final.name}.partial"
    return len(list(staging.glob(f"parts/*/r*{PART_SUFFIX}")))


@pytest.mark.slow
def test_a_killed_server_resumes_the_job_to_the_uninterrupted_cli_numbers(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    replications = 12
    job = store.add(["scenarios/short.yaml"], replications)

    server = Server(workspace.root).start()
    try:

        def some_saved() -> bool:
            current = store.get(job.id)
            assert current is not None and current.state != "finished", "ran before the kill"
            return _parts(workspace, current.folder) >= 2

        wait_for(some_saved, 120, "two replications saved")
        server.kill()
    finally:
        server.kill()
    killed = store.get(job.id)
    assert killed is not None and killed.state == "running"
    saved = _parts(workspace, killed.folder)
    assert 2 <= saved < replications, saved

    restarted = Server(workspace.root).start()
    try:

        def ended() -> bool:
            current = store.get(job.id)
            return current is not None and not current.active

        wait_for(ended, 300, "the resumed job to end")
    finally:
        restarted.stop()
    done = store.get(job.id)
    assert done is not None and done.state == "finished", done.message
    assert done.folder == killed.folder, "the job finished its own folder, not a new one"
    folder = workspace.root / done.folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["resumed_replications"] >= saved

    cli = subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", "run",
         str(workspace.scenarios / "short.yaml"), "--replications", str(replications),
         "--workers", "1", "--quiet",
         "--out", str(tmp_path / "cli")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    served, uninterrupted = open_results(folder), open_results(cli.stdout.strip())
    for part in ("kpis", "summary", "monthly", "ledger"):
        pd.testing.assert_frame_equal(getattr(served, part), getattr(uninterrupted, part))


def test_cancel_leaves_no_folder_and_a_queued_job_never_starts(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    running = store.add(["scenarios/short.yaml"], 500)
    queued = store.add(["scenarios/short.yaml", "examples/baseline.yaml"], 2)
    runner = Runner(workspace, store, workers=1)
    runner.start()
    try:

        def started() -> bool:
            current = store.get(running.id)
            return current is not None and current.done >= 1

        wait_for(started, 120, "the first replication")
        store.request_cancel(queued.id)
        store.request_cancel(running.id)

        def cancelled() -> bool:
            current = store.get(running.id)
            return current is not None and current.state == "cancelled"

        wait_for(cancelled, 120, "the job to stop")
    finally:
        runner.stop()
    never = store.get(queued.id)
    assert never is not None and never.state == "cancelled" and never.done == 0
    assert never.message == "cancelled before it started"
    stopped = store.get(running.id)
    assert stopped is not None and stopped.done >= 1
    # Not "cancelled" twice over: what became of the work done, and what to do next.
    assert stopped.message == (
        f"while running: the {stopped.done} replication{'s' if stopped.done != 1 else ''} "
        "done were discarded; start it again to run it"
    )
    left = [p.relative_to(workspace.results) for p in workspace.results.rglob("*")]
    assert left == [], f"a cancelled job left {left}"


def test_a_queued_job_waits_its_turn_and_jobs_run_in_order(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    first = store.add(["scenarios/short.yaml"], 2, owner="ann")
    second = store.add(["scenarios/short.yaml"], 2, owner="bob")
    assert store.position(first) == 0 and store.position(second) == 1
    assert store.next() == first
    runner = Runner(workspace, store, workers=1)
    runner.start()
    try:
        wait_for(lambda: not any(j.active for j in store.recent()), 240, "both jobs")
    finally:
        runner.stop()
    a, b = store.get(first.id), store.get(second.id)
    assert a is not None and b is not None
    assert (a.state, b.state) == ("finished", "finished")
    assert a.folder != b.folder
    assert [j.owner for j in store.recent()] == ["bob", "ann"]


def test_a_job_whose_scenario_became_invalid_fails_with_the_loader_message(
    tmp_path: Path,
) -> None:
    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    job = store.add(["scenarios/short.yaml"], 2)
    (workspace.scenarios / "short.yaml").write_text(
        SCENARIO + "units:\n- name: Ashwood Medium Secure\n  beds: -1\n"
    )
    Runner(workspace, store, workers=1).run(job)
    failed = store.get(job.id)
    assert failed is not None and failed.state == "failed"
    assert "units[0].beds: expected a whole number" in failed.message
    assert list(workspace.results.iterdir()) == []


def test_a_scenario_changed_after_its_job_was_queued_is_not_run_as_changed(
    tmp_path: Path,
) -> None:
    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    short = workspace.scenarios / "short.yaml"
    queued = fingerprint([workspace.load(short)])
    changed = store.add(["scenarios/short.yaml"], 2, digest=queued)
    short.write_text(SCENARIO.replace("horizon_years: 2", "horizon_years: 1"))
    Runner(workspace, store, workers=1).run(changed)
    failed = store.get(changed.id)
    assert failed is not None and failed.state == "failed" and failed.folder is None
    assert failed.message.startswith("short: changed after this job was queued")
    assert str(tmp_path) not in failed.message
    assert list(workspace.results.rglob("*")) == []
    # Queued as it is now, the same file runs.
    again = store.add(["scenarios/short.yaml"], 2, digest=fingerprint([workspace.load(short)]))
    Runner(workspace, store, workers=1).run(again)
    done = store.get(again.id)
    assert done is not None and done.state == "finished"


def test_a_job_store_made_before_fingerprints_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "jobs.sqlite"
    old = SCHEMA.replace("    fingerprint TEXT NOT NULL DEFAULT '',\n", "")
    assert "fingerprint" not in old
    with sqlite3.connect(path) as db:
        db.execute(old)
        db.execute(
            "INSERT INTO jobs (id, kind, scenarios, replications, state, created, updated) "
            "VALUES ('a', 'run', '[\"scenarios/x.yaml\"]', 2, 'queued', 'now', 'now')"
        )
    store = JobStore(path)
    job = store.get("a")
    assert job is not None and job.fingerprint == "" and job.state == "queued"
    assert store.add(["scenarios/x.yaml"], 2, digest="d").fingerprint == "d"


def test_a_job_that_cannot_start_says_why_without_the_servers_folders(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    job = store.add(["scenarios/short.yaml"], 2)
    (workspace.scenarios / "short.yaml").write_text("extends: gone.yaml\nname: short\n")
    Runner(workspace, store, workers=1).run(job)
    failed = store.get(job.id)
    assert failed is not None and failed.state == "failed"
    assert failed.message.startswith("scenarios/short.yaml:1: extends: parent scenario")
    assert "(looked for scenarios/gone.yaml)" in failed.message
    assert str(tmp_path) not in failed.message


def test_the_same_job_asked_for_twice_while_queued_is_one_job(tmp_path: Path) -> None:
    import threading

    workspace = _workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    digest = fingerprint([workspace.load(workspace.scenarios / "short.yaml")])
    made: list[str] = []

    def click() -> None:
        made.append(store.add(["scenarios/short.yaml"], 2, "ann", digest).id)

    clicks = [threading.Thread(target=click) for _ in range(6)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    assert len(set(made)) == 1 and len(store.recent()) == 1
    # Another count, another planner, or once the first has ended: a job of its own.
    assert store.add(["scenarios/short.yaml"], 3, "ann", digest).id not in made
    assert store.add(["scenarios/short.yaml"], 2, "bob", digest).id not in made
    store.update(made[0], state="finished")
    assert store.add(["scenarios/short.yaml"], 2, "ann", digest).id not in made
