"""Jobs: runs and comparisons queued in a SQLite store and run one after another.

A job is a row in ``<workspace>/jobs.sqlite``: what to run (scenario files in the
workspace and a number of replications), its state (``queued``, ``running``,
``finished``, ``failed``, ``cancelled``), its progress and the results folder it writes.
The page reads the row, so progress survives a closed browser; the row and the run's
streamed parts (:mod:`simulation.store.resume`) are on disk, so it survives a restarted
server too: on start the :class:`Runner` resumes the job that was running, running only
the replications that had not been saved, then takes the queue in order.

A job runs exactly as ``pathways run`` or ``pathways compare`` runs the same files with
``--replications N``: the same scenarios, the same executors, the same streamed writer,
so its results are those of the command line, number for number. Cancelling stops the
run at its next finished replication and removes its partial folder: no half-written
results are left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import secrets
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from simulation.core.problems import InputError, Problem
from simulation.experiment.comparison import aligned
from simulation.scenario.loading import derive, scenario_to_yaml
from simulation.scenario.schema import Scenario
from simulation.store.layout import MANIFEST
from simulation.store.resume import SUFFIX, ResumeError, RunInUse, StreamedRun
from simulation.web.workspace import Workspace

log = logging.getLogger("pathways.web")

STATES = ("queued", "running", "finished", "failed", "cancelled")
MAX_REPLICATIONS = 1000
"""The most replications a job from the page may ask for."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,
    scenarios TEXT NOT NULL,
    replications INTEGER NOT NULL,
    state TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    folder TEXT,
    message TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    cancel INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Job:
    """One row of the job store."""

    id: str
    kind: str
    scenarios: list[str]
    """Workspace-relative scenario files, the base first."""
    replications: int
    state: str
    done: int
    total: int
    folder: str | None
    """The results folder, relative to the workspace, once the run has reserved it."""
    message: str
    owner: str
    cancel: bool
    created: str
    updated: str
    fingerprint: str = ""
    """The scenarios as queued (:func:`fingerprint`): a job runs them so, or not at all."""

    @property
    def names(self) -> list[str]:
        """Scenario names (file stems), the base first."""
        return [Path(s).stem for s in self.scenarios]

    @property
    def title(self) -> str:
        """The job as a planner names it."""
        if self.kind == "run":
            return f"Run of {self.names[0]}"
        return f"{', '.join(self.names[1:])} compared with {self.names[0]}"

    @property
    def percent(self) -> int:
        """Progress as a whole percentage."""
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def active(self) -> bool:
        """Whether the job is still to run or running."""
        return self.state in ("queued", "running")


def fingerprint(scenarios: list[Scenario]) -> str:
    """A digest of scenarios fully resolved (their ``extends`` chains, overrides, budgets)."""
    digest = hashlib.sha256()
    for scenario in scenarios:
        digest.update(scenario_to_yaml(scenario).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Cancelled(Exception):
    """Raised inside a run when its job has been cancelled."""


class JobStore:
    """The jobs table of a workspace's SQLite file; safe to use from several threads."""

    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            if "fingerprint" not in columns:  # a store made before jobs kept one
                db.execute("ALTER TABLE jobs ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            kind=row["kind"],
            scenarios=json.loads(row["scenarios"]),
            replications=row["replications"],
            state=row["state"],
            done=row["done"],
            total=row["total"],
            folder=row["folder"],
            message=row["message"],
            owner=row["owner"],
            cancel=bool(row["cancel"]),
            created=row["created"],
            updated=row["updated"],
            fingerprint=row["fingerprint"],
        )

    def add(
        self, scenarios: list[str], replications: int, owner: str = "", digest: str = ""
    ) -> Job:
        """Queue a run (one scenario) or a comparison (base first).

        ``digest``: the scenarios' :func:`fingerprint` as queued, checked when the job starts.
        With a digest, the same job (scenarios, replications, owner and digest) asked for
        while one is queued or running is that one.
        """
        job_id = secrets.token_urlsafe(9)
        kind = "run" if len(scenarios) == 1 else "compare"
        now = _now()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one request at a time decides, and inserts
            if digest:
                # The same job asked for again (a double click, a second tab) while the
                # first has not ended: that one, not a second run of the same numbers.
                same = db.execute(
                    "SELECT * FROM jobs WHERE state IN ('queued', 'running') AND cancel = 0 "
                    "AND scenarios = ? AND replications = ? AND owner = ? AND fingerprint = ? "
                    "ORDER BY seq LIMIT 1",
                    (json.dumps(scenarios), replications, owner, digest),
                ).fetchone()
                if same is not None:
                    return self._job(same)
            db.execute(
                "INSERT INTO jobs (id, kind, scenarios, replications, state, total, owner, "
                "fingerprint, created, updated) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                (job_id, kind, json.dumps(scenarios), replications,
                 replications * len(scenarios), owner, digest, now, now),
            )  # fmt: skip
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    def recent(self, limit: int = 50) -> list[Job]:
        """The latest jobs, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [self._job(r) for r in rows]

    def next(self) -> Job | None:
        """The job to run next: one left running by a stopped server, else the oldest queued."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE state IN ('running', 'queued') "
                "ORDER BY state = 'queued', seq LIMIT 1"
            ).fetchone()
        return None if row is None else self._job(row)

    def position(self, job: Job) -> int:
        """How many jobs will run before this queued one."""
        with self._connect() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE state IN ('running', 'queued') AND seq < "
                "(SELECT seq FROM jobs WHERE id = ?)",
                (job.id,),
            ).fetchone()
        return int(row[0])

    def update(self, job_id: str, **values: Any) -> None:
        """Set some columns of a job."""
        columns = ", ".join(f"{name} = ?" for name in values)
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET {columns}, updated = ? WHERE id = ?",
                (*values.values(), _now(), job_id),
            )

    def request_cancel(self, job_id: str) -> None:
        """Cancel a queued job at once, or ask a running one to stop."""
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET state = 'cancelled', message = 'cancelled before it started', "
                "updated = ? WHERE id = ? AND state = 'queued'",
                (_now(), job_id),
            )
            db.execute(
                "UPDATE jobs SET cancel = 1, updated = ? WHERE id = ? AND state = 'running'",
                (_now(), job_id),
            )


class Runner:
    """Runs the store's jobs one at a time in a background thread (see module doc)."""

    def __init__(
        self,
        workspace: Workspace,
        store: JobStore,
        workers: int | None = None,
        cluster: str | None = None,
    ):
        self.workspace = workspace
        self.store = store
        self.workers = workers
        self.cluster = cluster
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="pathways-jobs", daemon=True)
        self.lock: TextIO | None = None

    def start(self) -> None:
        """Start the background thread; it resumes a job left running first.

        Raises :class:`~simulation.web.workspace.WorkspaceBusy` if another server runs
        this workspace's jobs.
        """
        self.lock = self.workspace.hold()
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after the current replication (the job stays resumable)."""
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=30)
        if self.lock is not None:
            self.lock.close()
            self.lock = None

    def _loop(self) -> None:
        while not self.stopping.is_set():
            job = self.store.next()
            if job is None:
                self.wake.wait(timeout=1.0)
                self.wake.clear()
                continue
            try:
                self.run(job)
            except Exception as exc:  # a bug must not stop the queue: the job says what failed
                log.exception("job %s failed", job.id)
                self.store.update(job.id, state="failed", message=f"internal error: {exc}")

    def _streamed(self, job: Job) -> StreamedRun:
        """The job's streamed run: reopened if it had started, else created."""
        ws = self.workspace
        if job.folder is not None:
            folder = ws.root / job.folder
            try:
                return StreamedRun.open(folder)
            except RunInUse:
                raise  # another process is running it: never this job's to remove
            except ResumeError as error:
                # Started by other code, say: its parts cannot be trusted. They are this
                # job's own, so they go, and the job starts again from its files.
                log.warning("job %s starts again: %s", job.id, error)
                shutil.rmtree(folder.parent / f".{folder.name}{SUFFIX}", ignore_errors=True)
                with contextlib.suppress(OSError):
                    folder.rmdir()
        paths = [ws.root / s for s in job.scenarios]
        loaded = [ws.load(p) for p in paths]
        if job.fingerprint and fingerprint(loaded) != job.fingerprint:
            raise InputError(
                [
                    Problem(
                        ", ".join(job.names),
                        None,
                        "",
                        "changed after this job was queued; the job did not run a version "
                        "it was not given: start it again to run the scenario as it is now",
                    )
                ]
            )
        base = derive(loaded[0], {"replications": job.replications}, "the job", str(paths[0]))
        scenarios = aligned(base, loaded[1:])
        files: dict[str, str | None] = {
            s.name: str(p) for s, p in zip(scenarios, paths, strict=True)
        }
        command = ["pathways", job.kind, *(str(p) for p in paths)]
        command += ["--replications", str(job.replications), "--out", str(ws.results)]
        run = StreamedRun.create(ws.results, scenarios, files, False, command)
        self.store.update(job.id, folder=ws.relative(run.final), state="running")
        return run

    def run(self, job: Job) -> None:
        """Run (or resume) one job to its end: finished, failed or cancelled."""
        store = self.store
        folder = None if job.folder is None else self.workspace.root / job.folder
        if folder is not None and (folder / MANIFEST).is_file():
            store.update(job.id, state="finished", done=job.total)
            return
        store.update(job.id, state="running", message="")
        try:
            run = self._streamed(job)
        except InputError as error:
            shown = "; ".join(self.workspace.shown(p) for p in error.problems)
            store.update(job.id, state="failed", message=shown)
            return
        except RunInUse as error:
            store.update(job.id, state="failed", message=str(error))
            return
        try:
            self._execute(job, run)
        finally:
            run.release()  # the folder's lock, whatever became of the job

    def _execute(self, job: Job, run: StreamedRun) -> None:
        """Run a job's streamed run to its end: finished, failed or cancelled."""
        store = self.store

        def progress(done: int, total: int) -> None:
            store.update(job.id, done=done, total=total)
            current = store.get(job.id)
            if current is not None and current.cancel:
                raise Cancelled
            if self.stopping.is_set():
                raise InterruptedError

        try:
            run.execute(self.workers, self.cluster, progress)
            store.update(job.id, message="writing the results folder")
            run.assemble()
            finished = run.finish()
        except Cancelled:
            shutil.rmtree(run.staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                run.final.rmdir()
            with contextlib.suppress(OSError):
                run.final.parent.rmdir()  # only if no other run is in it
            current = store.get(job.id)
            done = current.done if current is not None else 0
            store.update(
                job.id,
                state="cancelled",
                folder=None,
                message=f"while running: the {done} replication{'s' if done != 1 else ''} "
                "done were discarded; start it again to run it",
            )
            return
        except InterruptedError:
            return  # the server is stopping: the job stays 'running' and resumes on restart
        except OSError as exc:
            store.update(
                job.id,
                state="failed",
                message=f"could not write results: {exc.strerror or exc}",
            )
            return
        store.update(
            job.id,
            state="finished",
            folder=self.workspace.relative(finished),
            done=run.total,
            total=run.total,
            message="",
        )
