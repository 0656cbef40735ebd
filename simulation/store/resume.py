"""Streamed runs: each replication saved as it finishes, so a run can be resumed.

A run (or comparison) that will become ``<root>/<name>/<timestamp>/`` is worked on in
the hidden sibling ``.<timestamp>.partial/``, which holds ``resume.json`` (the resolved
scenarios, seed, replications, whether the event log is kept, and a fingerprint of the
code) and one part file per finished replication, ``parts/<scenario index>/r<NNNNNN>.part``
(data, never code: see :mod:`simulation.store.parts`). A part is written under a
temporary name and renamed into place, so it is either whole or absent.

The results files are written into the partial folder while the run goes on: as soon as
replication ``r`` of every scenario and all before it are saved, round ``r`` is added
(see :class:`~simulation.store.writer.FolderFiles`), so the files do not depend on the
order in which replications finish, and the end of a run only writes the summaries.
The folder is then renamed to its final name and the parts are removed. If the run is
killed, ``pathways run --resume <root>/<name>/<timestamp>`` (or ``compare --resume``)
checks every saved part, runs again any that is damaged or not this run's (saying so),
runs the replications that have no part, and writes the files again from the parts, so
no replication is lost or repeated. Replication ``r`` depends
only on (scenario, seed, ``r``), so the resumed result is the uninterrupted one. A run
to a precision (``--replications auto``) saves its replications the same way; resumed,
it decides its batches again from the first, from the parts present, and so runs to the
count the uninterrupted run would have. A folder started by other code, or whose
scenario file has changed since, is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.core.safetext import excerpt
from simulation.experiment.executors import make_executor
from simulation.scenario.loading import (
    derive,
    load_scenario,
    load_scenario_text,
    scenario_to_yaml,
)
from simulation.scenario.schema import Scenario
from simulation.store.layout import MANIFEST
from simulation.store.lock import FolderBusy, FolderLock
from simulation.store.manifest import (
    changed_input,
    code_fingerprint,
    input_files,
    package_version,
)
from simulation.store.staging import atomic_write, new_run_folder
from simulation.store.task import replicate_part

# The model, pandas and Arrow (parts, writer, precision) are imported once the pool's
# workers are at their first replications: see simulation.store.task.
if TYPE_CHECKING:
    import pandas as pd

    from simulation.experiment.precision import PrecisionReport
    from simulation.store.parts import SavedReplication
    from simulation.store.writer import Assembled, FolderFiles

RESUME_FILE = "resume.json"
PARTS = "parts"
PART_SUFFIX = ".part"
SUFFIX = ".partial"
FORMAT = 2

Progress = Callable[[int, int], None]


class ResumeError(Exception):
    """A folder that cannot be resumed; the message says why, in one sentence."""


class RunInUse(ResumeError):
    """Another process is running the folder now: it is theirs, not to be resumed or removed."""


@dataclass
class StreamedRun:
    """A run or comparison whose replications are saved one by one (see module doc)."""

    staging: Path
    final: Path
    info: dict[str, Any]
    scenarios: list[Scenario]
    resumed: int = 0
    """Replications already saved when this session started."""
    lock: FolderLock | None = None
    """The partial folder's lock, held by this process until :meth:`finish` or its exit."""
    discarded: list[str] = field(default_factory=list)
    """One line per saved part found damaged or foreign on reopening (run again)."""
    _files: FolderFiles | None = field(default=None, init=False, repr=False)
    _next: int = field(default=0, init=False, repr=False)
    """The first replication not yet added to the results files."""
    _held: dict[tuple[int, int], SavedReplication] = field(
        default_factory=dict, init=False, repr=False
    )
    """Replications received before their turn, kept (a few) so as not to be read back."""

    # -- starting and reopening ------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: str | Path,
        scenarios: list[Scenario],
        files: dict[str, str | None],
        keep_events: bool = False,
        command: list[str] | None = None,
        auto: dict[str, Any] | None = None,
        csv: bool = False,
    ) -> StreamedRun:
        """Reserve ``<root>/<name>/<timestamp>`` and start its partial folder.

        One scenario is a run; several are a comparison (base first) whose scenarios
        must already share the base's seed and replications. ``auto`` (``precision``,
        ``max_replications``, ``initial``, ``level``) makes it a run to a precision: the
        replications are decided batch by batch (see :meth:`execute_to_precision`).
        ``csv`` writes the per-replication tables as CSV as well as parquet.
        """
        name = scenarios[0].name if len(scenarios) == 1 else f"compare-{scenarios[0].name}"
        info: dict[str, Any] = {
            "format": FORMAT,
            "kind": "run" if len(scenarios) == 1 else "compare",
            "code": code_fingerprint(),
            "version": package_version(),
            "replications": 0 if auto else scenarios[0].replications,
            "auto": auto,
            "seed": scenarios[0].seed,
            "keep_events": keep_events,
            "csv": csv,
            "command": command,
            "elapsed_seconds": 0.0,
            "scenarios": [
                {
                    "name": s.name,
                    "file": str(Path(f).resolve()) if (f := files.get(s.name)) else None,
                    "given_as": files.get(s.name),
                    "yaml": scenario_to_yaml(s),
                    "inputs": input_files(s, files.get(s.name)),
                }
                for s in scenarios
            ],
        }
        final = new_run_folder(Path(root), name)
        staging = final.parent / f".{final.name}{SUFFIX}"
        lock = FolderLock(staging)
        try:
            staging.mkdir()
            lock.acquire("running")
            for index in range(len(scenarios)):
                (staging / PARTS / str(index)).mkdir(parents=True)
            atomic_write(staging / RESUME_FILE, json.dumps(info, indent=1).encode())
        except BaseException:  # a full disk, say: leave nothing behind that looks like a run
            lock.release()
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                final.rmdir()
            raise
        return cls(staging, final, info, list(scenarios), lock=lock)

    @classmethod
    def open(cls, results_dir: str | Path) -> StreamedRun:
        """Reopen an interrupted run for resuming; :class:`ResumeError` if it cannot be."""
        given = Path(results_dir)
        if given.name.startswith(".") and given.name.endswith(SUFFIX):
            staging = given
            final = given.parent / given.name[1 : -len(SUFFIX)]
        else:
            final = given
            staging = given.parent / f".{given.name}{SUFFIX}"
        if not staging.is_dir():
            if (final / MANIFEST).is_file():
                raise ResumeError(
                    f"{given} is a finished results folder: there is nothing to resume"
                )
            raise ResumeError(
                f"{given} is not an interrupted run: there is no {staging.name} beside it "
                "(give the folder that the interrupted run named)"
            )
        # Only one process works on a partial folder: a second resume of it is refused
        # here, before anything in it is read or tidied.
        lock = FolderLock(staging)
        try:
            lock.acquire("running")
        except FolderBusy:
            raise RunInUse(
                f"{given} is in use: another pathways process is running it now; wait for "
                "that one to finish (a process that was stopped or killed frees it at once)"
            ) from None
        except OSError:  # finished (renamed away) since it was looked at
            raise ResumeError(
                f"{given} is not an interrupted run any more: it finished meanwhile"
            ) from None
        try:
            return cls._open_locked(given, staging, final, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, given: Path, staging: Path, final: Path, lock: FolderLock) -> StreamedRun:
        """Reopen a partial folder whose lock this process holds."""
        if not staging.is_dir():
            raise ResumeError(f"{given} is not an interrupted run any more: it finished meanwhile")
        try:
            info = json.loads((staging / RESUME_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResumeError(
                f"{given} cannot be resumed: its {RESUME_FILE} is unreadable"
            ) from exc
        _check_info(info, given)
        if info.get("format") != FORMAT and info.get("code") == code_fingerprint():
            raise ResumeError(
                f"{given} cannot be resumed: its {RESUME_FILE} is of format "
                f"{excerpt(info.get('format'))}, and this code reads format {FORMAT}; "
                "start a new run"
            )
        if info.get("format") != FORMAT or info.get("code") != code_fingerprint():
            raise ResumeError(
                f"{given} was started by a different version of the code (pathways "
                f"{info.get('version')}, model fingerprint {str(info.get('code'))[:12]}; this is "
                f"{package_version()}, {code_fingerprint()[:12]}): its replications would not "
                "match new ones, so it cannot be resumed; start a new run"
            )
        for entry in info["scenarios"]:
            changed = changed_input(entry.get("inputs", []))
            if changed:
                raise ResumeError(
                    f"{given} cannot be resumed: {changed}, so new replications would not "
                    "match the saved ones; restore the file, or start a new run"
                )
        scenarios = [_reload(entry, given) for entry in info["scenarios"]]
        run = cls(staging, final, info, scenarios, lock=lock)
        # Left by a kill mid-write, of a part or of resume.json beside the results files.
        for path in [*staging.glob(f"{PARTS}/*/.tmp-*"), *staging.glob(".tmp-*")]:
            path.unlink()
        run.discarded = run._check_parts()
        run.resumed = len(run.done())
        return run

    def _check_parts(self) -> list[str]:
        """Remove every saved part that is not whole and this run's; one line for each."""
        lines = []
        for index, replication in sorted(self.done()):
            try:
                self.part_of(index, replication)
            except ResumeError as exc:
                lines.append(str(exc))
        return lines

    # -- state -------------------------------------------------------------------------

    @property
    def replications(self) -> int:
        """Replications per scenario."""
        return int(self.info["replications"])

    @property
    def auto(self) -> dict[str, Any] | None:
        """The precision a run to a precision aims at, and its cap; None for a fixed run."""
        auto: dict[str, Any] | None = self.info.get("auto")
        return auto

    @property
    def total(self) -> int:
        """Replications over all scenarios."""
        return self.replications * len(self.scenarios)

    def part(self, index: int, replication: int) -> Path:
        """Path of the part file of one scenario's replication."""
        return self.staging / PARTS / str(index) / f"r{replication:06d}{PART_SUFFIX}"

    def done(self) -> set[tuple[int, int]]:
        """(scenario index, replication) of every saved part."""
        found = set()
        for index in range(len(self.scenarios)):
            for path in (self.staging / PARTS / str(index)).glob(f"r*{PART_SUFFIX}"):
                number = path.stem[1:]
                if len(number) == 6 and number.isdigit():
                    found.add((index, int(number)))
        return found

    def matches(self, scenarios: list[Scenario]) -> bool:
        """Whether these scenarios (as given on a resume command) are the ones run."""
        return [scenario_to_yaml(s) for s in scenarios] == [
            e["yaml"] for e in self.info["scenarios"]
        ]

    # -- running -------------------------------------------------------------------------

    def execute(
        self,
        workers: int | None = None,
        cluster: str | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Run every replication without a part, saving each as it finishes.

        Returns the number of workers used. Ctrl-C (or any error) leaves the saved parts
        for a later :meth:`open` and re-raises.
        """
        done = self.done()
        # Replication-major, so that rounds of a comparison complete as the run goes on.
        todo = [
            (index, r)
            for r in range(self.replications)
            for index in range(len(self.scenarios))
            if (index, r) not in done
        ]
        keep_events = bool(self.info["keep_events"])
        tasks = [(self.scenarios[i], r, keep_events) for i, r in todo]
        index_of = {(self.scenarios[i].name, r): i for i, r in todo}
        executor = make_executor(workers, cluster, max(1, len(tasks)))
        count = sum(1 for _, r in done if r < self.replications)
        if progress:
            progress(count, self.total)
        started = time.perf_counter()
        elapsed = float(self.info.get("elapsed_seconds", 0.0))
        try:
            results = executor.map_unordered(replicate_part, tasks)
            with contextlib.closing(results):
                # A pool's workers are on their first replications while the folder's
                # files are started (and any rounds already saved are written).
                self._add_rounds(done)
                for name, replication, blob in results:
                    index = index_of[(name, replication)]
                    result = _decoded(blob, name, replication, keep_events)
                    atomic_write(self.part(index, replication), blob)
                    del blob
                    done.add((index, replication))
                    count += 1
                    self.info["elapsed_seconds"] = elapsed + time.perf_counter() - started
                    atomic_write(
                        self.staging / RESUME_FILE, json.dumps(self.info, indent=1).encode()
                    )
                    if replication == self._next or len(self._held) < HELD:
                        self._held[(index, replication)] = result
                    del result
                    self._add_rounds(done)
                    if progress:
                        progress(count, self.total)
        except BaseException:
            self._abandon_files()
            raise
        self.info["workers"] = executor.workers
        return executor.workers

    def _add_rounds(self, done: set[tuple[int, int]]) -> None:
        """Add to the results files every round whose replications, and all before, are saved.

        A replication held since it was received is used as it is rather than read back
        from its part (the same bytes, checked when they arrived).
        """
        if self._files is None:
            from simulation.store.writer import FolderFiles

            self._files = FolderFiles(
                self.staging,
                self.scenarios,
                bool(self.info["keep_events"]),
                self.csv,
                [str(e["yaml"]) for e in self.info["scenarios"]],  # made as the run started
                self._scenario_files(),
            )
            self._next = 0
        scenarios = range(len(self.scenarios))
        while self._next < self.replications and all((i, self._next) in done for i in scenarios):
            replications = []
            for index in scenarios:
                held = self._held.pop((index, self._next), None)
                if held is None:
                    held = self.part_of(index, self._next)
                replications.append(held)
            self._files.add(replications)
            del replications
            self._next += 1

    def _scenario_files(self) -> dict[str, str | None]:
        """Each scenario's file as the command gave it, if it is still there (its name)."""
        return {
            e["name"]: e["given_as"] if e["file"] and Path(e["file"]).is_file() else None
            for e in self.info["scenarios"]
        }

    def _abandon_files(self) -> None:
        """Close the results files as they stand: a resumed run writes them again."""
        self._held.clear()
        if self._files is not None:
            self._files.abandon()
            self._files = None

    @property
    def csv(self) -> bool:
        """Whether per-replication tables are written as CSV as well as parquet."""
        return bool(self.info.get("csv", False))

    def execute_to_precision(
        self,
        workers: int | None = None,
        cluster: str | None = None,
        progress: Progress | None = None,
    ) -> PrecisionReport:
        """Run batches of replications until the headline KPIs are precise enough, or the cap.

        Each batch is run as :meth:`execute` runs a fixed number, and then judged from
        its parts (see :func:`~simulation.experiment.precision.to_precision`). The batches are
        decided again from the first on every call: replications already saved are not
        run again, and as replication ``r`` depends only on (scenario, seed, ``r``) an
        interrupted run, resumed, reaches the count an uninterrupted one would.
        """
        from simulation.experiment.precision import PrecisionTracker, to_precision

        auto = self.auto
        if auto is None:
            raise ValueError("this run has a fixed number of replications")
        precision, level = float(auto["precision"]), float(auto["level"])
        names = [s.name for s in self.scenarios]
        tracker = PrecisionTracker(names, precision, level)

        def run_batch(first: int, end: int) -> pd.DataFrame:
            self.info["replications"] = end
            self.execute(workers, cluster, progress)
            for index, name in enumerate(names):
                for replication in range(first, end):
                    tracker.add(name, self.part_of(index, replication).kpis)
            return tracker.table()

        report = to_precision(
            run_batch, precision, int(auto["max_replications"]), int(auto["initial"]), level
        )
        self.info["replications"] = report.replications
        self.info["precision_report"] = {
            "precision": report.precision,
            "level": report.level,
            "max_replications": report.max_replications,
            "reached": report.reached,
            "history": report.history,
        }
        return report

    def part_of(self, index: int, replication: int) -> SavedReplication:
        """One scenario's saved replication; :class:`ResumeError` if it has no part."""
        path = self.part(index, replication)
        name = self.scenarios[index].name
        if not path.is_file():
            raise ResumeError(f"replication {replication} of {name} is missing")
        from simulation.store.parts import DamagedPart

        try:
            return read_part(path, name, replication, bool(self.info["keep_events"]))
        except DamagedPart as exc:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # never trusted: the replication is run again
            raise ResumeError(
                f"replication {replication} of {name}: its saved part {path.name} is damaged or "
                f"not this run's ({exc}); it is run again"
            ) from None

    def assemble(self) -> Assembled:
        """Finish the results files in the partial folder: the rounds not yet added, the summaries.

        Every part must be saved. The rounds left are read one replication at a time. The
        parts stay until :meth:`finish`, so a run killed while its files are written is
        resumed by writing them again.
        """
        command = self.info.get("command")
        wall = float(self.info.get("elapsed_seconds", 0.0))
        workers = int(self.info.get("workers", 1))
        try:
            self._add_rounds(self.done())
            if self._files is None or self._next != self.replications:
                raise ResumeError(f"replication {self._next} has no saved part")
            assembled = self._files.close(command, wall, workers)
        finally:
            self._abandon_files()
        extra: dict[str, Any] = {"resumed_replications": self.resumed}
        if "precision_report" in self.info:
            extra["replications_to_precision"] = self.info["precision_report"]
        _add_to_manifest(self.staging, extra)
        return assembled

    def finish(self) -> Path:
        """Give the assembled folder its final name and drop the parts."""
        try:
            # Onto the reserved, empty folder in one step: the name is never free for a
            # run starting in the same second to take in between.
            os.replace(self.staging, self.final)
        except OSError:  # a system that cannot rename onto a folder
            with contextlib.suppress(FileNotFoundError):
                self.final.rmdir()
            os.replace(self.staging, self.final)
        # The parts go only once the results are in place: a kill before this line
        # leaves a resumable partial folder, a kill after it complete results.
        shutil.rmtree(self.final / PARTS, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.final / RESUME_FILE).unlink()
        self.release()
        return self.final

    def release(self) -> None:
        """Give back the folder's lock (also given back when this process ends)."""
        if self.lock is not None:
            self.lock.release()

    def discard(self) -> bool:
        """Remove a new run that saved nothing (its start failed); whether it was removed.

        A run with any replication saved, or one being resumed, is kept for ``--resume``.
        """
        if self.resumed or self.done():
            return False
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.final.rmdir()
            self.final.parent.rmdir()  # only if no other run is in it
        self.release()
        return True


def read_part(path: Path, scenario: str, replication: int, keep_events: bool) -> SavedReplication:
    """A replication saved by :meth:`StreamedRun.execute`; :class:`DamagedPart` if not whole."""
    from simulation.store.parts import DamagedPart, decode_saved

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DamagedPart(f"it cannot be read: {exc.strerror or exc}") from None
    return decode_saved(data, scenario, replication, keep_events)


def _decoded(blob: bytes, scenario: str, replication: int, keep_events: bool) -> SavedReplication:
    """A replication as a worker sent it, checked as a saved part is (see :func:`decode_saved`)."""
    from simulation.store.parts import DamagedPart, decode_saved

    try:
        return decode_saved(blob, scenario, replication, keep_events, from_worker=True)
    except DamagedPart as exc:
        raise ResumeError(
            f"replication {replication} of {scenario} came back damaged from its worker ({exc})"
        ) from None


_INFO_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "replications": int,
    "seed": int,
    "keep_events": bool,
    "scenarios": list,
}


def _check_info(info: Any, given: Path) -> None:
    """Refuse a ``resume.json`` that is not what :meth:`StreamedRun.create` wrote."""
    damaged = ResumeError(
        f"{given} cannot be resumed: its {RESUME_FILE} has been changed or damaged; start a new run"
    )
    if not isinstance(info, dict):
        raise damaged
    for key, kind in _INFO_TYPES.items():
        if not isinstance(info.get(key), kind):
            raise damaged
    if info["kind"] not in ("run", "compare") or not info["scenarios"]:
        raise damaged
    if info["replications"] < 0 or info["replications"] > MAX_REPLICATIONS:
        raise damaged
    for entry in info["scenarios"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("yaml"), str):
            raise damaged
        if not all(isinstance(entry.get(k), str | None) for k in ("file", "given_as", "name")):
            raise damaged
        inputs = entry.get("inputs", [])
        if not isinstance(inputs, list) or not all(
            isinstance(i, dict)
            and isinstance(i.get("path"), str)
            and isinstance(i.get("sha256"), str | None)
            for i in inputs
        ):
            raise damaged
    auto = info.get("auto")
    if auto is not None and not (
        isinstance(auto, dict) and all(isinstance(auto.get(k), int | float) for k in AUTO_KEYS)
    ):
        raise damaged


HELD = 8
"""Replications received before their turn that are kept in memory until it comes.

On a pool of two, about every other replication finishes before the one submitted just
ahead of it; reading it back from its part when its turn comes would check and convert
it a second time. Beyond this many (a large cluster), the rest are read back.
"""

AUTO_KEYS = ("precision", "max_replications", "initial", "level")
MAX_REPLICATIONS = 100_000
"""The most replications a run can have: the scenario's own limit."""


def _reload(entry: dict[str, Any], given: Path) -> Scenario:
    """A scenario of a partial folder, from its file if it still has one."""
    stored = str(entry["yaml"])
    file = entry.get("file")
    if file and Path(file).is_file():
        fresh = load_scenario(file)
        saved = load_scenario_text(stored, f"{given}/{RESUME_FILE}")
        run = {"seed": saved.seed, "replications": saved.replications}
        fresh = derive(fresh, run, f"the interrupted run in {given}", str(file))
        if scenario_to_yaml(fresh) != stored:
            raise ResumeError(
                f"{given} was started from a different scenario: {file} has changed since "
                "(its replications would not match new ones); start a new run"
            )
        return fresh
    return load_scenario_text(stored, f"{given}/{RESUME_FILE}")


def _add_to_manifest(folder: Path, extra: dict[str, Any]) -> None:
    """Add entries to a written ``manifest.json``."""
    path = folder / MANIFEST
    info = json.loads(path.read_text(encoding="utf-8"))
    info.update(extra)
    path.write_text(json.dumps(info, indent=2) + "\n")
