"""Running `pathways` on a bad input as a planner would, and checking the refusal.

Shared by the corpora of bad scenarios (tests/scenario/test_bad_corpus.py) and bad extracts
(tests/calibration/test_bad_extracts.py): each command runs in its own subprocess, and a clear
refusal is status 2, no traceback, nothing on standard output, one ``error:`` line per
problem naming the file (one of them at the expected line) with the expected words,
the count of problems, nothing written, and an answer within the time limit.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def pathways() -> list[str]:
    """The installed console command, else the module run by this interpreter."""
    script = Path(sys.executable).with_name("pathways")
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulation.cli.main"]


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    folder: Path  # the working folder; --out is folder/out


def run_pathways(arguments: list[str], folder: Path, seconds: float) -> Outcome:
    """Run ``pathways ARGUMENTS`` in ``folder`` (made, with an empty ``out`` inside)."""
    (folder / "out").mkdir(parents=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*pathways(), *arguments], cwd=folder, capture_output=True, text=True, timeout=seconds
        )
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, str(exc.stdout), str(exc.stderr), time.monotonic() - started, folder)
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started, folder)


def assert_refused_clearly(
    outcome: Outcome,
    path: Path,
    fragments: list[str],
    line: int | None,
    seconds: float,
) -> None:
    """The refusal a planner should see for the bad input ``path``.

    ``line``: the line one of the problems must name (None: any).
    """
    stderr = outcome.stderr
    assert "Traceback" not in outcome.stdout + stderr, stderr
    assert outcome.returncode == 2, (outcome.stdout, stderr)
    assert outcome.stdout == ""
    errors = [text for text in stderr.splitlines() if text.startswith("error: ")]
    assert errors and all(text.startswith(f"error: {path}") for text in errors), stderr
    where = f"error: {path}:{line}:" if line is not None else f"error: {path}:"
    assert any(text.startswith(where) for text in errors), (where, stderr)
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)
    count = len(errors)
    assert f"{count} problem{'s' if count != 1 else ''} found; nothing was run." in stderr
    # nothing written under --out, nor anywhere else (a Python tag that ran would be seen)
    assert list((outcome.folder / "out").iterdir()) == []
    assert [p.name for p in outcome.folder.iterdir()] == ["out"]
    assert outcome.seconds < seconds
