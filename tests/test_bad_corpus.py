"""Every file in tests/data/bad is refused, by `pathways validate` and `pathways run`.

For each bad scenario both commands must exit with status 2, print each problem on one
line naming the file, the line and the field with what was expected (the fragments in
tests/data/bad/expected.yaml), never show a traceback, write nothing under --out or
anywhere else, and answer within seconds. A corpus file may extend a parent kept in a
subfolder (not itself in the list); ``file:`` names the file a problem is reported in
when that is the parent. An enormous file is made at test time rather than committed.
Each command runs in its own subprocess, as a
planner would run it; the subprocesses run side by side, one per core, since nearly all
their time is interpreter start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

CORPUS = Path(__file__).parent / "data" / "bad"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
COMMANDS = ("validate", "run")
SECONDS = 20
"""Generous for a loaded machine; on an idle one a bad file is refused in about a second."""


def pathways() -> list[str]:
    script = Path(sys.executable).with_name("pathways")
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulation.cli"]


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    folder: Path  # the working folder; --out is folder/out


def refuse(name: str | Path, command: str, folder: Path) -> Outcome:
    out = folder / "out"
    out.mkdir(parents=True)
    args = [*pathways(), command, str(CORPUS / name)]
    if command == "run":
        args += ["--out", str(out)]
    started = time.monotonic()
    try:
        done = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=SECONDS)
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, str(exc.stdout), str(exc.stderr), time.monotonic() - started, folder)
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started, folder)


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> dict[tuple[str, str], Outcome]:
    """Run both commands on every selected corpus file, several at a time."""
    names = sorted(
        {
            item.callspec.params["name"]
            for item in request.session.items
            if getattr(item, "originalname", "") == "test_bad_file_is_refused_clearly"
        }
    )
    jobs = [(name, command) for name in names for command in COMMANDS]
    root = tmp_path_factory.mktemp("refusals")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {
            job: pool.submit(refuse, job[0], job[1], root / f"{job[0]}-{job[1]}") for job in jobs
        }
        return {job: future.result() for job, future in futures.items()}


def test_every_corpus_file_has_expectations():
    files = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "expected.yaml"}
    assert files == set(EXPECTED)
    assert len(files) >= 40
    for name, spec in EXPECTED.items():
        assert spec["expect"], name
        assert spec["line"] is None or spec["line"] >= 1, name


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_refused_clearly(name: str, command: str, outcomes) -> None:
    outcome = outcomes[(name, command)]
    spec = EXPECTED[name]
    path = CORPUS / spec.get("file", name)
    stderr = outcome.stderr
    assert "Traceback" not in outcome.stdout + stderr, stderr
    assert outcome.returncode == 2, (outcome.stdout, stderr)
    assert outcome.stdout == ""
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    # one line per problem, each naming the file, one of them at the expected line
    assert errors, stderr
    assert all(line.startswith(f"error: {path}") for line in errors), stderr
    where = f"error: {path}:{spec['line']}:" if spec["line"] is not None else f"error: {path}:"
    assert any(line.startswith(where) for line in errors), (where, stderr)
    for fragment in spec["expect"]:
        assert fragment in stderr, (fragment, stderr)
    count = len(errors)
    assert f"{count} problem{'s' if count != 1 else ''} found; nothing was run." in stderr
    # nothing written under --out, nor anywhere else (a Python tag that ran would be seen)
    assert list((outcome.folder / "out").iterdir()) == []
    assert [p.name for p in outcome.folder.iterdir()] == ["out"]
    assert outcome.seconds < SECONDS


def check_refused(outcome: Outcome, path: Path, fragments: list[str]) -> None:
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.stderr
    assert outcome.returncode == 2, (outcome.stdout, outcome.stderr)
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error: ")]
    assert errors and all(line.startswith(f"error: {path}") for line in errors), outcome.stderr
    for fragment in fragments:
        assert fragment in outcome.stderr, (fragment, outcome.stderr)
    assert list((outcome.folder / "out").iterdir()) == []
    assert outcome.seconds < SECONDS


@pytest.mark.parametrize("command", COMMANDS)
def test_an_enormous_file_is_refused_before_it_is_read(command: str, tmp_path: Path) -> None:
    """Made here, not committed: 6 MB of comments after a valid start."""
    path = tmp_path / "enormous.yaml"
    head = (CORPUS / "negative_cost.yaml").read_text().replace("-420", "420")
    with path.open("w") as handle:
        handle.write(head)
        line = "# " + "x" * 98 + "\n"
        handle.write(line * 60_000)
    outcome = refuse(path, command, tmp_path / "work")
    check_refused(outcome, path, ["the file is larger than 5,000,000 bytes"])


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_of_too_many_values_is_refused(command: str, tmp_path: Path) -> None:
    """Under the size limit but holding a quarter of a million values."""
    path = tmp_path / "many.yaml"
    values = ", ".join(["1"] * 250_000)
    path.write_text(f"name: many\nseeds: [{values}]\n")
    outcome = refuse(path, command, tmp_path / "work")
    check_refused(outcome, path, ["the file holds more than 200,000 values"])
