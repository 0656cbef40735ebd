"""A lock per folder: one process at a time writes a run, a report or a calibration.

Like the key to a records room: whoever holds it works inside, anyone else who comes is
told the room is in use and goes away; nobody waits in the doorway. The key is an
operating-system lock (``flock``) on the folder itself, taken when a run starts or is
resumed and held for the life of the process that took it. The system gives it back
the moment that process ends, however it ends (a crash, ``kill -9``, a power cut of the
machine it ran on), so a lock is never stale: after a kill the next resume takes it at
once and finds the folder as the killed process left it. Nothing is written to take
the lock, so there is no lock file to clean up or to forge.

Locks hold between processes on one machine, and on network file systems that
support ``flock`` (NFS v4 does); the lock is not inherited by worker processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class FolderBusy(Exception):
    """Another process holds the folder's lock; the message says so in one sentence."""


class FolderLock:
    """The lock of one folder, held from :meth:`acquire` until :meth:`release` or exit."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd: int | None = None
        self._key = (0, 0)

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None

    def acquire(self, doing: str = "writing") -> None:
        """Take the lock now, or raise :class:`FolderBusy` if another process has it.

        ``doing`` names what the other process is doing in the message. Raises
        ``OSError`` if the folder cannot be opened (it does not exist, say).
        """
        if self._fd is not None:
            return
        fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        key = _identity(fd)
        if key in _HELD:  # this process has it already (a run resumed in the same session)
            os.close(fd)
            held_fd, count = _HELD[key]
            _HELD[key] = (held_fd, count + 1)
            self._fd, self._key = held_fd, key
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusy(
                f"{self.folder} is in use: another pathways process is {doing} it now; "
                "wait for that one to finish (a process that was stopped or killed frees "
                "it at once)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        _HELD[key] = (fd, 1)
        self._fd, self._key = fd, key

    def release(self) -> None:
        """Give the lock back (closing the folder) once no holder in this process has it."""
        if self._fd is None:
            return
        fd, count = _HELD.pop(self._key, (self._fd, 1))
        self._fd = None
        if count > 1:
            _HELD[self._key] = (fd, count - 1)
            return
        with contextlib.suppress(OSError):
            os.close(fd)


_HELD: dict[tuple[int, int], tuple[int, int]] = {}
"""The folders this process holds locked: (device, inode) to (descriptor, holders).

The lock is one per process: a run interrupted and resumed in one Python session (a
notebook, a test) takes the lock it already has."""


def _identity(fd: int) -> tuple[int, int]:
    status = os.fstat(fd)
    return status.st_dev, status.st_ino


@contextlib.contextmanager
def locked(folder: Path, doing: str = "writing") -> Iterator[FolderLock]:
    """Hold ``folder``'s lock for the ``with`` block; :class:`FolderBusy` if taken."""
    lock = FolderLock(folder)
    lock.acquire(doing)
    try:
        yield lock
    finally:
        lock.release()
