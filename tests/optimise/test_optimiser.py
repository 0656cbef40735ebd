"""A whole optimisation on a tiny collaborative: folder, constraints, reported values, resume."""

import json
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli.main import main
from simulation.optimise.optimiser import optimise, reopen
from simulation.optimise.outcome import open_optimisation
from simulation.report.publish import write_report
from simulation.scenario.loading import load_scenario
from simulation.store.reader import read_results_folder


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """One uninterrupted optimisation of the tiny file (in this process)."""
    from tests.optimise.conftest import OPTIMISATION, write_base

    folder = tmp_path_factory.mktemp("tiny")
    write_base(folder)
    (folder / "tiny.yaml").write_text(OPTIMISATION)
    result = optimise(folder / "tiny.yaml", folder / "results", workers=1)
    return folder, result


def test_the_folder_holds_every_candidate_the_trace_and_the_selection(done):
    _, result = done
    folder = result.folder
    outcome = open_optimisation(folder)
    candidates = outcome.candidates
    assert len(candidates) == 10  # every feasible allocation was enumerated
    for key in candidates["candidate"]:
        assert (folder / "candidates" / f"{key}.yaml").is_file()
    assert (candidates["cost_gbp_per_year"] <= 120000 + 1e-6).all()
    assert (candidates["Day Service"] + 2 * candidates["Unit"] <= 26).all()
    assert candidates["finalist"].sum() == 3
    assert list(outcome.finalists["role"]).count("chosen") == 1
    assert outcome.finalists["role"].iloc[-1] == "today"
    assert "was chosen from 3 finalists; with probability at least 95% it is within" in (
        outcome.statement
    )
    assert not list(folder.parent.glob(".*partial"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "optimisation" and manifest["search_seed"] == 1
    assert manifest["cleanup_seed"] == outcome.selection["selection"]["seed"] != 1
    assert len(manifest["optimisation_sha256"]) == 64 and manifest["dependencies"]["simpy"]


def test_the_api_opens_the_folder_and_its_comparison(done):
    import simulation as sim

    _, result = done
    outcome = sim.open_optimisation(result.folder)
    assert outcome.statement == result.selection["statement"]
    comparison = sim.open_results(outcome.comparison)
    assert list(comparison.kpis["scenario"].unique()) == ["today", "recommended", "runner_up"]


def test_the_recommended_file_is_an_ordinary_scenario_with_the_chosen_values(done):
    _, result = done
    outcome = open_optimisation(result.folder)
    scenario = outcome.recommended()
    chosen = outcome.selection["chosen"]["allocation"]
    assert scenario.team("Day Service").places == chosen["Day Service"]
    assert scenario.units[0].beds == chosen["Unit"]
    assert scenario.horizon_years == 1  # the base's own horizon, seed and replications
    assert load_scenario(result.folder / "recommended.yaml").name == "tiny_recommended"


def test_reported_values_are_the_clean_up_replications(done):
    _, result = done
    folder = result.folder
    info = json.loads((folder / "selection.json").read_text())
    cleanup = pd.read_csv(folder / "cleanup_values.csv")
    chosen = info["chosen"]["candidate"]
    mine = cleanup[cleanup["candidate"] == chosen].sort_values("replication")
    assert len(mine) == info["selection"]["replications"]
    assert info["chosen"]["mean"] == pytest.approx(mine["objective"].mean())
    # The comparison folder the board report is drawn from reruns exactly those replications.
    comparison = read_results_folder(folder / "comparison")
    kpis = comparison.alternatives[0].kpis
    rows = kpis[
        (kpis["kpi"] == "ooa_bed_days")
        & (kpis["service"] == "all")
        & (kpis["unit"] == "all")
        & (kpis["place"] == "all")
        & (kpis["period"] == "2026/27")
    ].sort_values("replication")
    assert list(rows["value"]) == pytest.approx(list(mine["objective"]))
    today = cleanup[cleanup["candidate"] == "today"].sort_values("replication")
    versus = info["versus_today"]["objective"]
    assert versus["mean"] == pytest.approx(mine["objective"].mean() - today["objective"].mean())


def test_the_board_report_opens_with_the_recommended_allocation(done):
    _, result = done
    files = write_report(result.folder)
    page = files.html.read_text()
    assert page.index("Recommended allocation") < page.index('id="figures"')
    assert "was chosen from 3 finalists" in page
    assert "What the optimisation did not consider" in page
    assert "Finalists of the optimisation" in page


def test_resume_after_a_kill_gives_the_same_selection(done, tmp_path):
    from tests.optimise.conftest import OPTIMISATION, write_base

    _, uninterrupted = done
    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)
    seen = []

    def kill_midway(stage: str, finished: int, total: int) -> None:
        seen.append(stage)
        if stage == "clean-up" and finished >= 3:
            raise KeyboardInterrupt

    from simulation.optimise.optimiser import start

    pending = start(tmp_path / "tiny.yaml", tmp_path / "results")
    with pytest.raises(KeyboardInterrupt):
        pending.run(workers=1, progress=kill_midway)
    assert not pending.final.exists() or not any(pending.final.iterdir())
    again = reopen(pending.final).run(workers=1)
    assert again.evaluations_reused >= 30 + 3  # the search's 30 and the clean-up's first 3
    first, second = uninterrupted.selection, again.selection
    for key in ("chosen", "runner_up", "versus_today", "versus_runner_up", "statement"):
        assert first[key] == second[key]
    a = pd.read_csv(uninterrupted.folder / "cleanup_values.csv")
    b = pd.read_csv(again.folder / "cleanup_values.csv")
    pd.testing.assert_frame_equal(a, b)


def test_the_command_prints_the_choice_and_refuses_a_finished_folder(done, tmp_path, capsys):
    from tests.optimise.conftest import OPTIMISATION, write_base

    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)
    code = main(["optimise", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "r"), "-w", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "was chosen from 3 finalists" in out and "against today's plan" in out
    folder = Path(out.strip().splitlines()[-1].removeprefix("Results written to "))
    # Each comparison says whether its interval leaves out zero, as the report does.
    selection = json.loads((folder / "selection.json").read_text())
    for key, label in (("versus_today", "today's plan"), ("versus_runner_up", "the runner-up")):
        diff = selection[key]["objective"]
        [line] = [s for s in out.splitlines() if s.startswith(f"  against {label}:")]
        assert ("no clear difference" in line) == (diff["low"] <= 0 <= diff["high"])
    assert folder.is_dir()
    assert main(["optimise", "--resume", str(folder)]) == 2
    assert "is a finished optimisation: nothing to resume" in capsys.readouterr().err


def test_a_maximised_weighted_sum_in_pounds(tiny, tmp_path):
    text = tiny.read_text()
    start, end = text.index("objective:"), text.index("search:")
    objective = (
        "objective:\n  maximise:\n"
        "    - {kpi: diversions, pathway: adult_ed, gbp_per_unit: 1000}\n"
        "    - {kpi: ooa_bed_days, pathway: all, gbp_per_unit: -600}\n"
    )
    tiny.write_text(text[:start] + objective + text[end:].replace("delta: 20", "delta: 5000"))
    result = optimise(tiny, tmp_path / "results", workers=1)
    info = result.selection
    assert info["objective"]["unit"] == "£ a year" and info["objective"]["sense"] == "maximise"
    cleanup = pd.read_csv(result.folder / "cleanup_values.csv")
    weighted = 1000 * cleanup["diversions:adult_ed"] - 600 * cleanup["ooa_bed_days:all"]
    assert list(cleanup["objective"]) == pytest.approx(list(weighted))
    table = pd.read_csv(result.folder / "selection.csv")
    finalists = table[table["role"] != "today"]
    chosen = finalists[finalists["role"] == "chosen"].iloc[0]
    assert chosen["mean"] == pytest.approx(finalists["mean"].max())
    # Against the best of the others, for a maximised objective, it reaches down at most the
    # margin the replications support (delta, or wider when the cap stopped the procedure).
    margin = info["selection"]["delta_achieved"]
    assert margin >= 5000
    assert chosen["mcb_low"] == pytest.approx(
        min(0.0, chosen["mean"] - finalists["mean"].drop(chosen.name).max() - margin)
    )
    assert chosen["mcb_low"] >= -margin - 1e-6 and chosen["mcb_high"] >= 0


def test_a_larger_feasible_set_is_searched_by_compass(tiny, tmp_path):
    tiny.write_text(
        tiny.read_text().replace(
            "search: {replications: 3,",
            "search: {enumerate_up_to: 4, budget_replications: 21,"
            " samples_per_iteration: 2, replications: 3,",
        )
    )
    result = optimise(tiny, tmp_path / "results", workers=1)
    info = result.selection
    assert info["search"]["method"] == "compass"
    assert info["search"]["replications"] <= 21
    candidates = pd.read_csv(result.folder / "candidates.csv")
    assert 2 <= len(candidates) < 10  # it did not run every feasible allocation
    assert (candidates["cost_gbp_per_year"] <= 120000 + 1e-6).all()
    trace = pd.read_csv(result.folder / "trace.csv")
    assert set(trace["event"].str.split(";").str[0]) <= {"incumbent", "sampled"}
    assert any("The search ran" in note for note in info["not_considered"])


def test_resume_after_the_process_is_killed_gives_the_same_selection(done, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.optimise.conftest import OPTIMISATION, write_base

    _, uninterrupted = done
    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)
    out = tmp_path / "results"
    command = [sys.executable, "-m", "simulation.cli.main", "optimise", "tiny.yaml"]
    process = subprocess.Popen(
        [*command, "--out", str(out), "-w", "1", "-q"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(out.glob("optimise-tiny/.*.partial/evals/search/*/r*.json"))) >= 12:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the optimisation finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    (folder,) = [p for p in (out / "optimise-tiny").iterdir() if not p.name.startswith(".")]
    assert not (folder / "selection.json").exists()
    assert main(["optimise", "--resume", str(folder), "-w", "1", "-q"]) == 0
    again = open_optimisation(folder)
    first = uninterrupted.selection
    for key in ("chosen", "runner_up", "versus_today", "versus_runner_up", "statement"):
        assert first[key] == again.selection[key]
    assert again.selection["evaluations"]["reused"] >= 12


def test_the_selection_does_not_depend_on_the_number_of_workers(done, tmp_path):
    from tests.optimise.conftest import OPTIMISATION, write_base

    _, serial = done
    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)
    pooled = optimise(tmp_path / "tiny.yaml", tmp_path / "results", workers=2)
    for key in ("chosen", "runner_up", "versus_today", "versus_runner_up", "selection"):
        assert serial.selection[key] == pooled.selection[key]
    a = pd.read_csv(serial.folder / "cleanup_values.csv")
    b = pd.read_csv(pooled.folder / "cleanup_values.csv")
    pd.testing.assert_frame_equal(a, b)


def _interruptible() -> None:
    """Ctrl-C as at a terminal, even where the tests were started with it ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_the_finished_replications_and_prints_the_command_to_finish(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.optimise.conftest import OPTIMISATION, write_base

    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)
    out = tmp_path / "results"
    command = [sys.executable, "-m", "simulation.cli.main", "optimise", "tiny.yaml"]
    process = subprocess.Popen(
        [*command, "--out", str(out), "-w", "1"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    deadline = time.monotonic() + 300
    while len(list(out.glob("optimise-tiny/.*.partial/evals/search/*/r*.json"))) < 6:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no replication was saved in time"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    (folder,) = [p for p in (out / "optimise-tiny").iterdir() if not p.name.startswith(".")]
    assert f"pathways optimise --resume {folder}" in err
    assert "Traceback" not in err
    assert main(["optimise", "--resume", str(folder), "-w", "1", "-q"]) == 0
    assert (folder / "selection.json").is_file()


def test_resume_after_an_interruption_while_the_folder_was_being_written(done, tmp_path):
    from simulation.optimise.optimiser import start
    from tests.optimise.conftest import OPTIMISATION, write_base

    _, uninterrupted = done
    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)

    def stop_in_comparison(stage: str, finished: int, total: int) -> None:
        if stage == "comparison" and finished >= 2:
            raise KeyboardInterrupt

    pending = start(tmp_path / "tiny.yaml", tmp_path / "results")
    with pytest.raises(KeyboardInterrupt):
        pending.run(workers=1, progress=stop_in_comparison)
    assert (pending.staging / "candidates.csv").is_file()  # written before the interruption
    again = reopen(pending.final).run(workers=1)
    assert again.selection["chosen"] == uninterrupted.selection["chosen"]
    assert again.evaluations_run == 0  # every search and clean-up replication was saved


HOLD = """
import sys, time
from pathlib import Path
from simulation.store.lock import FolderLock
FolderLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_an_optimisation_another_process_is_running_is_not_resumed(tmp_path):
    import subprocess
    import sys

    from simulation.optimise.optimiser import OptimisationError, start
    from tests.optimise.conftest import OPTIMISATION, write_base

    write_base(tmp_path)
    (tmp_path / "tiny.yaml").write_text(OPTIMISATION)
    pending = start(tmp_path / "tiny.yaml", tmp_path / "results")
    pending.lock.release()  # as if this process had been stopped
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(pending.staging)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = sorted(p.name for p in pending.staging.iterdir())
        with pytest.raises(OptimisationError, match="is in use: another pathways process is opt"):
            reopen(pending.final)
        assert sorted(p.name for p in pending.staging.iterdir()) == before  # nothing cleaned
    finally:
        holder.kill()
        holder.wait(timeout=60)
    again = reopen(pending.final)  # free once the holder is gone
    assert again.lock.held
    again.lock.release()
