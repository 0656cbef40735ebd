"""Every file in tests/data/bad_extracts is refused by `pathways calibrate`, clearly.

As for bad scenarios (tests/scenario/test_bad_corpus.py): status 2, each problem on one line
naming the file and the row with what was expected (the fragments in expected.yaml),
no traceback, nothing written beside ``--out``, and an answer within seconds. The
commands run side by side in subprocesses, as a planner would run them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.refusals import Outcome, assert_refused_clearly, run_pathways

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parents[1] / "data" / "bad_extracts"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
BASE = ROOT / "scenarios" / "baseline.yaml"
SECONDS = 60
"""About three seconds of CPU each (calibrate loads the fitting stack and the base
scenario); the limit is generous so that a machine shared by many tests still passes."""


def refuse(name: str, folder: Path) -> Outcome:
    arguments = ["calibrate", str(CORPUS / name), "--base", str(BASE)]
    arguments += ["--out", str(folder / "out" / "fitted.yaml"), "--replications", "0", "--quiet"]
    return run_pathways(arguments, folder, SECONDS)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("extracts")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(refuse, name, root / name) for name in EXPECTED}
        return {name: future.result() for name, future in futures.items()}


def test_every_extract_has_expectations() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.yaml"}
    assert files == set(EXPECTED)
    for name, spec in EXPECTED.items():
        assert spec["expect"] and spec["what"], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_extract_is_refused_clearly(name: str, outcomes: dict[str, Outcome]) -> None:
    spec = EXPECTED[name]
    assert_refused_clearly(outcomes[name], CORPUS / name, spec["expect"], spec["line"], SECONDS)
