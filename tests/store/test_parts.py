"""Part files are data: read back exactly, and never believed when damaged or foreign.

A saved replication reads back bit for bit as it was run. A file where a part goes
that is not a whole part of this run (a crafted pickle, a file cut short, another
replication's or scenario's part) is never executed or trusted: resuming says so in one
line, runs that replication again, and gives the folder an uninterrupted run gives.
"""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli.main import main
from simulation.experiment.experiment import ReplicationResult, run_replication
from simulation.scenario.loading import derive, load_scenario
from simulation.store.parts import MAGIC, DamagedPart, decode_part, encode_part
from simulation.store.resume import StreamedRun
from tests.store.test_assembly import assert_same_run, only_folder, scenario_file

REPLICATIONS = 3


@pytest.fixture(scope="module")
def replication(tmp_path_factory: pytest.TempPathFactory) -> ReplicationResult:
    file = scenario_file(tmp_path_factory.mktemp("part"))
    return run_replication(load_scenario(file), 1, keep_events=True)


def test_a_part_reads_back_exactly_as_it_was_run(replication: ReplicationResult) -> None:
    back = decode_part(encode_part("small", replication), "small", 1, keep_events=True)
    for name in ("kpis", "monthly", "ledger", "events"):
        pd.testing.assert_frame_equal(
            getattr(back, name), getattr(replication, name), check_exact=True
        )
    assert back.end_state == replication.end_state
    assert any(isinstance(key, tuple) for key in back.end_state["waiting"]), "tuple keys kept"
    assert (back.replication, back.events_processed, back.wall_seconds) == (
        replication.replication,
        replication.events_processed,
        replication.wall_seconds,
    )


PART_ON_ONE_THREAD = """
import os
import numpy as np
import pandas as pd
from simulation.store.parts import decode_saved, encode_part
from simulation.experiment.experiment import ReplicationResult

n = 20_000
keys = ("pathway", "service", "unit", "place", "period", "kpi")
text = {k: pd.array([f"{k}{i % 37}" for i in range(n)], dtype="str") for k in keys}
kpis = pd.DataFrame({"replication": np.zeros(n, dtype=np.int64), **text, "value": np.ones(n)})
monthly = pd.DataFrame({"replication": [0], "month": ["2026-04"], "financial_year": ["2026/27"],
    "pathway": ["p"], "service": ["s"], "resource": ["r"], "measure": ["m"], "value": [1.0]})
ledger = pd.DataFrame({"replication": [0], "pathway": ["p"], "financial_year": ["2026/27"],
    "item": ["i"], "value": [1.0]})
result = ReplicationResult(replication=0, kpis=kpis, monthly=monthly, end_state={},
    events_processed=1, wall_seconds=0.1, ledger=ledger, events=None)
before = len(os.listdir("/proc/self/task"))
saved = decode_saved(encode_part("s", result), "s", 0, False, from_worker=True)
assert saved.tables.arrow("kpis").num_rows == n
print(before, len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_a_part_is_made_and_read_on_the_calling_thread_alone() -> None:
    """Parts are made in pool workers beside each other and read while they run.

    No core is left for Arrow's own threads, and waking them cost a third more CPU.
    """
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", PART_ON_ONE_THREAD], capture_output=True, text=True, check=True
    )
    before, after = map(int, done.stdout.split())
    assert after == before, f"Arrow started {after - before} threads"


def damaged(data: bytes) -> dict[str, bytes]:
    """Ways a part's bytes can be wrong."""
    header = len(MAGIC) + 8  # the header's first byte, after its length
    return {
        "cut short": data[: len(data) // 2],
        "cut in its header": data[: len(MAGIC) + 20],
        "empty": b"",
        "a pickle": pickle.dumps({"replication": 1}),
        "trailing bytes": data + b"\x00",
        "a flipped table byte": data[:-40] + bytes([data[-40] ^ 0xFF]) + data[-39:],
        "another format": data.replace(b'"format":1', b'"format":9', 1),
        "no end state": data.replace(b'"end_state":{"dict"', b'"end_stats":{"dict"', 1),
        "a header not JSON": data[:header] + b"X" + data[header + 1 :],
    }


@pytest.mark.parametrize(
    "how",
    [
        "cut short",
        "cut in its header",
        "empty",
        "a pickle",
        "trailing bytes",
        "a flipped table byte",
        "another format",
        "no end state",
        "a header not JSON",
    ],
)
def test_a_damaged_part_is_refused(replication: ReplicationResult, how: str) -> None:
    bad = damaged(encode_part("small", replication))[how]
    with pytest.raises(DamagedPart) as refused:
        decode_part(bad, "small", 1, keep_events=True)
    assert "\n" not in str(refused.value)


def test_a_part_of_another_replication_scenario_or_kind_is_refused(
    replication: ReplicationResult,
) -> None:
    data = encode_part("small", replication)
    with pytest.raises(DamagedPart, match="another replication, 1"):
        decode_part(data, "small", 0, keep_events=True)
    with pytest.raises(DamagedPart, match="another scenario, 'small'"):
        decode_part(data, "other", 1, keep_events=True)
    with pytest.raises(DamagedPart, match=r"does not hold the tables kpis, monthly, ledger$"):
        decode_part(data, "small", 1, keep_events=False)
    relabelled = replication.kpis.assign(replication=0)
    forged = ReplicationResult(**{**vars(replication), "kpis": relabelled})
    with pytest.raises(DamagedPart, match="kpis table holds rows of replication 0"):
        decode_part(encode_part("small", forged), "small", 1, keep_events=True)
    renamed = replication.ledger.rename(columns={"item": "thing"})
    forged = ReplicationResult(**{**vars(replication), "ledger": renamed})
    with pytest.raises(DamagedPart, match="ledger table has the columns"):
        decode_part(encode_part("small", forged), "small", 1, keep_events=True)


class Crafted:
    """An object whose unpickling creates a file: what a crafted part would do if loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return builtins.open, (str(self.marker), "w")


def test_a_crafted_or_damaged_part_is_never_loaded_and_its_replication_is_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = scenario_file(tmp_path)
    scenario = derive(load_scenario(file), {"replications": REPLICATIONS})
    run = StreamedRun.create(tmp_path / "out", [scenario], {"small": str(file)})
    run.execute(workers=1)
    marker = tmp_path / "executed"
    crafted = pickle.dumps(Crafted(marker))
    run.part(0, 0).write_bytes(crafted)  # where replication 0's part goes
    (run.part(0, 0).parent / "r000000.pkl").write_bytes(crafted)  # where the old format put it
    whole = run.part(0, 1).read_bytes()
    run.part(0, 1).write_bytes(whole[: len(whole) - 100])  # cut short
    run.part(0, 2).write_bytes(run.part(0, 2).read_bytes())  # untouched

    assert main(["run", "--resume", str(run.final), "-w", "1", "-q"]) == 0
    assert not marker.exists(), "the crafted part was executed"
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == [
        "replication 0 of small: its saved part r000000.part is damaged or not this run's "
        "(it is not a part file of this format); it is run again",
        "replication 1 of small: its saved part r000001.part is damaged or not this run's "
        "(its ledger table is cut short); it is run again",
    ]
    assert lines[2] == f"Resuming {run.final}: 1 of {REPLICATIONS} replications already done"

    whole_run = ["run", str(file), "-r", str(REPLICATIONS), "-w", "1", "-q"]
    assert main([*whole_run, "--out", str(tmp_path / "whole")]) == 0
    assert_same_run(run.final, only_folder(tmp_path / "whole" / "small"))
