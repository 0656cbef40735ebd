"""Streamed runs: each replication saved as it finishes, and interrupted runs resumed.

A run killed with SIGKILL part-way and then resumed gives exactly the results of an
uninterrupted run, with every replication once; Ctrl-C stops cleanly and prints the
command that resumes; a folder from other code or another scenario is refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli.main import main
from simulation.experiment.comparison import aligned, run_comparison
from simulation.experiment.experiment import run_experiment
from simulation.scenario.loading import derive, load_scenario
from simulation.store.resume import RESUME_FILE, StreamedRun
from tests.cli.test_cli import SMALL

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 120
REPLICATIONS = 12
KEYS = ["replication", "pathway", "service", "unit", "place", "period", "kpi"]


def scenario_file(
    tmp_path: Path, name: str = "small", seed: int = 7, years: float = 10, beds: int = 6
) -> Path:
    """SMALL over ten years (about a quarter of a second a replication), or as asked."""
    text = SMALL.replace("horizon_years: 0.25", f"horizon_years: {years:g}")
    text = text.replace("name: small", f"name: {name}").replace("seed: 7", f"seed: {seed}")
    text = text.replace("beds: 6", f"beds: {beds}")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulation.cli.main", *args]


def resume_in_subprocess(folder: Path) -> subprocess.CompletedProcess[str]:
    """``pathways run --resume FOLDER`` on two workers, as a planner would run it."""
    return subprocess.run(
        command("run", "--resume", str(folder), "-w", "2", "-q"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )


def parts(out: Path) -> list[Path]:
    return sorted(out.glob("*/.*.partial/parts/*/r*.part"))


def _interruptible() -> None:
    """Ctrl-C as at a terminal, even where the tests were started with it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_and_wait(
    args: list[str], out: Path, at_least: int, interruptible: bool = False
) -> subprocess.Popen[str]:
    """Start a run in a subprocess and return once it has saved ``at_least`` parts.

    A process started in the background by a shell inherits Ctrl-C ignored, and Python
    then keeps ignoring it; ``interruptible`` gives the run the disposition it has at a
    terminal.
    """
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible if interruptible else None,
    )
    deadline = time.monotonic() + SECONDS
    while len(parts(out)) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run saved no replication in time"
        time.sleep(0.02)
    return process


def only_folder(parent: Path) -> Path:
    (folder,) = [p for p in parent.iterdir() if not p.name.startswith(".")]
    return folder


def sorted_kpis(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS).reset_index(drop=True)


@pytest.mark.slow
def test_a_run_killed_part_way_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    file = scenario_file(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(file), "-r", str(REPLICATIONS), "-w", "1", "--out", str(out), "-q"]
    process = start_and_wait(command(*args), out, at_least=3)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=SECONDS)
    saved = len(parts(out))
    assert 3 <= saved < REPLICATIONS, "the run must be killed part-way"
    (folder,) = [p for p in (out / "small").iterdir() if not p.name.startswith(".")]
    assert not (folder / "manifest.json").exists()

    resumed = resume_in_subprocess(folder)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{saved} of {REPLICATIONS} replications already done" in resumed.stderr
    assert resumed.stdout.strip() == str(folder)
    assert not list((out / "small").glob(".*")), "the partial folder is renamed into place"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["resumed_replications"] == saved
    assert manifest["replications"] == REPLICATIONS

    kpis = pd.read_parquet(folder / "kpis.parquet")
    counts = kpis.groupby(KEYS[1:])["replication"].agg(list)
    assert all(sorted(c) == list(range(REPLICATIONS)) for c in counts), "each replication once"
    expected = run_experiment(load_scenario(file), replications=REPLICATIONS, workers=1)
    pd.testing.assert_frame_equal(
        sorted_kpis(kpis), sorted_kpis(expected.kpis), check_exact=True, check_dtype=False
    )
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == len(expected.summary)


@pytest.mark.slow
def test_a_run_to_a_precision_killed_part_way_resumes_to_the_uninterrupted_result(
    tmp_path: Path,
) -> None:
    from tests.store.test_assembly import assert_same_run

    file = scenario_file(tmp_path)
    # An unreachable target: batches of 10, then 16 (the cap); killed in the second.
    auto = ["-r", "auto", "--precision", "0.1%", "--max-replications", "16", "-w", "1", "-q"]
    out = tmp_path / "out"
    process = start_and_wait(command("run", str(file), *auto, "--out", str(out)), out, at_least=11)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=SECONDS)
    saved = len(parts(out))
    assert 11 <= saved < 16, "the run must be killed in its second batch"
    folder = only_folder(out / "small")

    resumed = resume_in_subprocess(folder)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{saved} replications already done" in resumed.stderr
    assert "Cap reached: stopped at the cap of 16 replications" in resumed.stderr
    assert resumed.stdout.strip() == str(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["resumed_replications"] == saved
    assert manifest["replications_to_precision"]["history"] == [10, 16]

    assert main(["run", str(file), *auto, "--out", str(tmp_path / "whole")]) == 0
    assert_same_run(folder, only_folder(tmp_path / "whole" / "small"))


def test_a_run_resumes_as_it_was_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = partial_run(tmp_path)
    assert main(["run", "--resume", str(run.final), "-r", "auto"]) == 2
    assert "was started with 2 replications" in capsys.readouterr().err
    file = scenario_file(tmp_path, "precise")
    scenario = load_scenario(file)
    auto = {"precision": 0.05, "max_replications": 4, "initial": 2, "level": 0.95}
    precise = StreamedRun.create(tmp_path / "out", [scenario], {"precise": str(file)}, auto=auto)
    assert main(["run", "--resume", str(precise.final), "-r", "3"]) == 2
    assert "was started with --replications auto" in capsys.readouterr().err
    assert main(["run", "--resume", str(precise.final), "--precision", "1%"]) == 2
    refusal = capsys.readouterr().err
    assert "was started with --replications auto --precision 5% --max-replications 4" in refusal
    assert "not --precision 1%" in refusal
    assert main(["run", "--resume", str(run.final), "--max-replications", "9"]) == 2
    assert "was started with 2 replications, not --max-replications 9" in capsys.readouterr().err
    assert main(["run", str(file), "--resume", str(precise.final), "-r", "auto", "-q"]) == 0
    manifest = json.loads((precise.final / "manifest.json").read_text())
    assert manifest["replications"] in (2, 4)
    assert manifest["replications"] == manifest["replications_to_precision"]["history"][-1]


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_prints_the_resume_command(tmp_path: Path) -> None:
    file = scenario_file(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(file), "-r", str(REPLICATIONS), "-w", "2", "--out", str(out), "-q"]
    process = start_and_wait(command(*args), out, at_least=1, interruptible=True)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=SECONDS)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    (folder,) = [p for p in (out / "small").iterdir() if not p.name.startswith(".")]
    assert f"pathways run --resume {folder}" in stderr
    saved = len(parts(out))
    assert f"{saved} of {REPLICATIONS} replications are saved" in stderr
    assert main(["run", "--resume", str(folder), "-w", "1", "-q"]) == 0
    assert (folder / "kpis.parquet").is_file()


def interrupted_after(run: StreamedRun, completions: int) -> None:
    """Run ``run`` in this process and interrupt it as Ctrl-C would after some completions."""

    def progress(done: int, _: int) -> None:
        if done >= completions:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.execute(workers=1, progress=progress)


def test_a_comparison_resumes_to_the_uninterrupted_comparison(tmp_path: Path) -> None:
    base_file, alt_file = scenario_file(tmp_path), scenario_file(tmp_path, "other", seed=99)
    base, alt = load_scenario(base_file), load_scenario(alt_file)
    base = derive(base, {"horizon_years": 2.0, "replications": 3})
    alt = derive(alt, {"horizon_years": 2.0})  # compared over the base's period
    files: dict[str, str | None] = {"small": str(base_file), "other": str(alt_file)}
    run = StreamedRun.create(tmp_path / "out", aligned(base, [alt]), files)
    interrupted_after(run, 4)
    assert len(run.done()) == 4

    # the stored scenarios were changed from the files (horizon), so resume from the store
    for path in (base_file, alt_file):
        path.unlink()
    assert main(["compare", "--resume", str(run.final), "-w", "1", "-q"]) == 0
    table = pd.read_csv(run.final / "comparison.csv")
    expected = run_comparison(base, [alt], workers=1).table
    assert len(table) == len(expected)
    pd.testing.assert_series_equal(
        table["diff_mean"], expected["diff_mean"], check_exact=False, rtol=1e-12
    )
    assert (run.final / "other" / "kpis.parquet").is_file()


def partial_run(tmp_path: Path) -> tuple[Path, StreamedRun]:
    file = scenario_file(tmp_path)
    scenario = derive(load_scenario(file), {"replications": 2})
    return file, StreamedRun.create(tmp_path / "out", [scenario], {"small": str(file)})


def test_a_folder_from_other_code_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = partial_run(tmp_path)
    info = json.loads((run.staging / RESUME_FILE).read_text())
    info["code"] = "0" * 64
    (run.staging / RESUME_FILE).write_text(json.dumps(info))
    assert main(["run", "--resume", str(run.final)]) == 2
    message = capsys.readouterr().err
    assert "different version of the code" in message
    assert "Traceback" not in message
    assert not (run.final / "manifest.json").exists()


def test_a_folder_whose_scenario_changed_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file, run = partial_run(tmp_path)
    file.write_text(file.read_text().replace("beds: 6", "beds: 7"))
    assert main(["run", "--resume", str(run.final)]) == 2
    assert "different scenario" in capsys.readouterr().err


def test_a_different_scenario_given_on_resume_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = partial_run(tmp_path)
    other = scenario_file(tmp_path, "other")
    assert main(["run", str(other), "--resume", str(run.final)]) == 2
    assert "different scenarios" in capsys.readouterr().err


def test_a_bad_option_given_on_resume_is_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file, run = partial_run(tmp_path)
    assert main(["run", str(file), "--resume", str(run.final), "-r", "200000"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {file}: replications: expected a whole number from 1 to 100,000, got 200000 "
        "(from --replications)",
        "1 problem found; nothing was run.",
    ]
    assert not (run.final / "manifest.json").exists()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["-r", "10"], "replications, not --replications 10"),
        (["--seed", "5"], ", not --seed 5"),
        (["--csv"], "no --csv"),
        (["--events"], "no --events"),
    ],
)
def test_an_option_that_would_change_a_resumed_run_is_refused_not_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], said: str
) -> None:
    _, run = partial_run(tmp_path)
    assert main(["run", "--resume", str(run.final), *options]) == 2
    message = capsys.readouterr().err
    assert message.startswith(f"error: --resume: {run.final} was started with ")
    assert said in message and "resume it without them" in message
    assert not (run.final / "manifest.json").exists()


def test_a_finished_or_unknown_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = partial_run(tmp_path)
    assert main(["compare", "--resume", str(run.final)]) == 2
    assert "pathways run --resume" in capsys.readouterr().err
    assert main(["run", "--resume", str(run.final), "-q", "-w", "1"]) == 0
    assert main(["run", "--resume", str(run.final)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "not an interrupted run" in capsys.readouterr().err


def test_a_file_half_written_when_killed_is_left_out_of_the_results(tmp_path: Path) -> None:
    _, run = partial_run(tmp_path)
    for stray in (run.staging / ".tmp-resume", run.staging / "parts" / "0" / ".tmp-part"):
        stray.write_bytes(b"half")
    assert main(["run", "--resume", str(run.final), "-q", "-w", "1"]) == 0
    assert not list(run.final.rglob(".tmp-*"))


def test_each_replication_is_saved_as_it_finishes(tmp_path: Path) -> None:
    _, run = partial_run(tmp_path)
    seen: list[int] = []
    run.execute(workers=1, progress=lambda done, _: seen.append(len(run.done())))
    assert seen == [0, 1, 2], "a part file exists by the time the progress bar advances"
    assert not list(run.staging.glob("parts/*/.tmp-*"))
    assert os.path.isdir(run.final)


@pytest.mark.parametrize("command", ["run", "compare"])
def test_precision_options_without_auto_are_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(scenario_file(tmp_path, "one"))] * (1 if command == "run" else 2)
    arguments = [command, *files, "--precision", "2%", "--out", str(tmp_path / "out")]
    assert main(arguments) == 2
    assert "--precision 2% is used only with --replications auto" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
