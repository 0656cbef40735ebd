"""Staging: a results or report folder appears whole, or not at all.

Everything the package writes to disk goes through here. A folder is built under a
hidden temporary name beside its final place and renamed into place only when complete,
so a reader never sees half a result; a run's folder name is reserved first so that two
runs never share one, and an existing run folder is never overwritten. Single files
(a resume record, a part) are written to a temporary file, flushed and renamed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def new_run_folder(root: Path, scenario_name: str) -> Path:
    """Reserve a fresh, empty folder name ``<root>/<scenario>/<timestamp>``.

    The timestamp is local time to the second; a second run in the same second gets a
    ``-2`` suffix (and so on). ``mkdir`` is atomic, so two runs never share a folder.
    """
    parent = root / scenario_name
    parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    for attempt in range(1, 1000):
        name = stamp if attempt == 1 else f"{stamp}-{attempt}"
        candidate = parent / name
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"could not find a free results folder name under {parent}")


class StagedFolder:
    """A hidden staging folder that becomes ``root/name/<timestamp>`` only on success.

    Use as ``with StagedFolder(root, name) as staging: ...``; afterwards ``.final`` is
    the folder's path. On any failure the staging folder is removed and nothing appears
    under the final name; earlier results are never touched.
    """

    def __init__(self, root: Path, name: str):
        self.final = new_run_folder(root, name)
        try:
            staging = tempfile.mkdtemp(prefix=f".{self.final.name}.", dir=self.final.parent)
        except BaseException:  # a full disk, say: leave no empty folder that looks like a run
            with contextlib.suppress(OSError):
                self.final.rmdir()
            raise
        self.staging = Path(staging)

    def __enter__(self) -> Path:
        return self.staging

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            # Renaming onto the reserved, empty folder replaces it in one step, so the name
            # is never free for a run starting in the same second to take in between.
            try:
                os.replace(self.staging, self.final)
            except OSError:  # a system that cannot rename onto a folder
                self.final.rmdir()
                os.replace(self.staging, self.final)
            return
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.final.rmdir()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the whole file or none of it."""
    _put(path, data, os.replace)


def atomic_create(path: Path, data: bytes) -> None:
    """As :func:`atomic_write`, but only if ``path`` does not exist (``FileExistsError``).

    Of two writers racing to make the same new file, one wins and the other is told;
    neither overwrites the other.
    """
    _put(path, data, os.link)  # a link fails, atomically, if the name is taken


def _put(path: Path, data: bytes, place: Callable[[str, Path], None]) -> None:
    """Write ``data`` to a temporary file beside ``path``, flushed, then ``place`` it there."""
    handle, name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        place(name, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)  # gone already once replaced; the spare name once linked


def replace_folder(staging: Path, target: Path) -> None:
    """Put a finished staging folder in place of ``target`` (whole, or not at all)."""
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    old.rmdir()
    os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
