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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.refusals import Outcome, assert_refused_clearly, run_pathways

CORPUS = Path(__file__).parents[1] / "data" / "bad"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
COMMANDS = ("validate", "run")
SECONDS = 20
"""Generous for a loaded machine; on an idle one a bad file is refused in about a second."""


def refuse(name: str | Path, command: str, folder: Path) -> Outcome:
    arguments = [command, str(CORPUS / name)]
    if command == "run":
        arguments += ["--out", str(folder / "out")]
    return run_pathways(arguments, folder, SECONDS)


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
    spec = EXPECTED[name]
    path = CORPUS / spec.get("file", name)
    assert_refused_clearly(outcomes[(name, command)], path, spec["expect"], spec["line"], SECONDS)


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
    assert_refused_clearly(
        outcome, path, ["the file is larger than 5,000,000 bytes"], None, SECONDS
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_of_too_many_values_is_refused(command: str, tmp_path: Path) -> None:
    """Under the size limit but holding a quarter of a million values."""
    path = tmp_path / "many.yaml"
    values = ", ".join(["1"] * 250_000)
    path.write_text(f"name: many\nseeds: [{values}]\n")
    outcome = refuse(path, command, tmp_path / "work")
    assert_refused_clearly(
        outcome, path, ["the file holds more than 200,000 values"], None, SECONDS
    )
