"""The ``pathways`` command end to end, in subprocesses, as a planner runs it.

Valid input: ``validate`` says so, ``run`` prints the headline table and writes a new,
complete results folder every time. Bad command-line values and a bad ``--out`` get a
clear message, status 2 and nothing written. The error path stays fast: it never
imports the model, pandas or scipy.stats.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation import load_scenario
from simulation.store.staging import new_run_folder

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 120

SMALL = """\
name: small
start_date: 2026-04-01
horizon_years: 0.25
replications: 2
seed: 7
places:
  - {name: Northmoor, population: 650000}
  - {name: Eastbrook, population: 480000}
units:
  - name: Beacon Low Secure
    pathway: adult_secure
    service: low
    place: Eastbrook
    beds: 6
    cost_per_bed_day_gbp: 420
    linked_places: [Northmoor, Eastbrook]
pathways:
  adult_secure:
    services:
      low:
        referral_rate_per_100k_per_year: 8
        length_of_stay: {distribution: gamma, mean: 60, sd: 30}
        out_of_area: {cost_per_bed_day_gbp: 520, distance_miles: 100}
"""

MANIFEST_KEYS = {"seed", "replications", "version", "dependencies", "scenario_sha256", "code"}
RESULT_FILES = {
    "scenario.yaml",
    "manifest.json",
    "kpis.parquet",
    "summary.csv",
    "monthly.parquet",
}
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(-\d+)?$")


def pathways() -> list[str]:
    script = Path(sys.executable).with_name("pathways")
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulation.cli.main"]


def cli(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*pathways(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*pathways(), *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


# -- valid input --------------------------------------------------------------------------


def test_validate_the_shipped_baseline():
    done = cli("validate", "scenarios/baseline.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("scenarios/baseline.yaml: valid scenario 'baseline' with ")
    assert "pathways adult_secure, camhs_t4, adult_ed" in done.stdout


def test_two_runs_write_two_complete_results_folders(tmp_path: Path, small: Path):
    out = tmp_path / "out"
    # Started together, so they most likely reserve their folders in the same second.
    table = start("run", small, "--out", out, "--workers", "1")
    quiet = start("run", small, "--out", out, "--workers", "1", "--quiet", "--seed", "11")
    table_out, table_err = table.communicate(timeout=SECONDS)
    quiet_out, quiet_err = quiet.communicate(timeout=SECONDS)
    for stdout, stderr, proc in ((table_out, table_err, table), (quiet_out, quiet_err, quiet)):
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stdout + stderr

    # the headline table, then where the results went
    assert "small: 2 replications, 0.25 years from 01 Apr 2026; mean (95% CI)" in table_out
    for label in ("KPI", "Adult secure", "Referrals", "Admissions", "Bed occupancy"):
        assert label in table_out
    written = re.search(r"Results written to (.+)$", table_out.strip())
    assert written is not None, table_out
    first = Path(written.group(1))

    # --quiet prints the folder and nothing else
    assert quiet_out.count("\n") == 1
    second = Path(quiet_out.strip())

    folders = sorted((out / "small").iterdir())
    assert folders == sorted([first, second])
    assert first != second
    for folder, seed in ((first, 7), (second, 11)):
        assert STAMP.match(folder.name), folder.name
        assert {p.name for p in folder.iterdir()} >= RESULT_FILES
        manifest = json.loads((folder / "manifest.json").read_text())
        assert set(manifest) >= MANIFEST_KEYS
        assert manifest["seed"] == seed
        assert manifest["replications"] == 2
        assert manifest["scenario_sha256"] == hashlib.sha256(small.read_bytes()).hexdigest()
        assert {"revision", "modified"} <= set(manifest["code"])
        assert manifest["dependencies"]["simpy"]
        # the resolved scenario reads back as the same scenario
        assert load_scenario(folder / "scenario.yaml").name == "small"
        kpis = pd.read_parquet(folder / "kpis.parquet")
        assert set(kpis["replication"]) == {0, 1}
        assert not pd.read_csv(folder / "summary.csv").empty
        assert not pd.read_parquet(folder / "monthly.parquet").empty
        # per-replication CSV only when asked for (--csv)
        assert not (folder / "kpis.csv").exists() and not (folder / "monthly.csv").exists()
    # the two seeds gave different patients, so the runs are not one folder written twice
    first_kpis = pd.read_parquet(first / "kpis.parquet")
    assert not first_kpis.equals(pd.read_parquet(second / "kpis.parquet"))
    # nothing half-written is left behind (folders are staged under hidden names)
    assert [p.name for p in (out / "small").iterdir() if p.name.startswith(".")] == []


def test_a_new_run_folder_never_reuses_an_existing_one(tmp_path: Path):
    now = dt.datetime.now()
    taken = []
    for seconds in range(3):  # this second and the next two, in case the clock ticks
        stamp = (now + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H-%M-%S")
        folder = tmp_path / "small" / stamp
        folder.mkdir(parents=True)
        (folder / "kpis.csv").write_text("earlier results\n")
        taken.append(folder)
    folders = [new_run_folder(tmp_path, "small") for _ in range(3)]
    assert len(set(folders)) == 3
    assert not set(folders) & set(taken)
    assert all(list(f.iterdir()) == [] for f in folders)
    assert all((f / "kpis.csv").read_text() == "earlier results\n" for f in taken)


# -- bad command-line values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--replications", "0", "argument -r/--replications: expected a number of at least 1"),
        ("--seed", "-1", "argument --seed: expected a seed from 0 to 9223372036854775807"),
        ("--seed", "-5", "argument --seed: expected a seed from 0 to 9223372036854775807, got -5"),
        ("--seed", "abc", "argument --seed: expected a whole number, got 'abc'"),
    ],
)
def test_a_bad_option_value_is_a_usage_error(tmp_path, small, option, value, message):
    out = tmp_path / "out"
    done = cli("run", small, option, value, "--out", out)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("usage: pathways run ")
    assert f"pathways run: error: {message}" in done.stderr
    assert not out.exists()


def test_an_option_value_the_scenario_refuses_is_one_problem(tmp_path, small):
    """Past the option's own check, the scenario's: the same one line and status 2."""
    out = tmp_path / "out"
    done = cli("run", small, "--replications", "200000", "--seed", "3", "--out", out)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {small}: replications: expected a whole number from 1 to 100,000, got 200000 "
        "(from --replications)",
        "1 problem found; nothing was run.",
    ]
    assert not out.exists()


def test_out_pointing_at_a_file_is_refused_before_running(tmp_path, small):
    target = tmp_path / "results.txt"
    target.write_text("not a folder\n")
    before = files_under(tmp_path)
    done = cli("run", small, "--out", target)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: --out: {target} is a file; --out must be a folder (it is created if missing)\n"
    )
    assert files_under(tmp_path) == before
    assert target.read_text() == "not a folder\n"


def test_quiet_prints_the_results_folder_on_one_line_whatever_its_name(tmp_path, small):
    out = tmp_path / "out\nRESULTS: /etc"  # a line break in --out must not forge a line
    done = cli("run", small, "-r", "1", "-w", "1", "-q", "--out", out)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert line.startswith(str(tmp_path / "out\\x0aRESULTS: /etc"))
    assert Path(line.replace("\\x0a", "\n")).is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_out_in_a_read_only_folder_is_refused(tmp_path, small):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = cli("run", small, "--out", locked / "results")
        assert done.returncode == 2
        assert f"error: --out: cannot create a folder under {locked}" in done.stderr
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_where_no_folder_can_be_made_is_refused(small):
    # /proc refuses new folders even to root, so this runs wherever the tests run
    done = cli("run", small, "--out", "/proc/pathways-results")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "error: --out: cannot create a folder under /proc (" in done.stderr
    assert "choose a folder you can write to" in done.stderr


# -- files that are not there -------------------------------------------------------------


def test_a_missing_scenario_file(tmp_path):
    done = cli("run", "no-such.yaml", "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: no-such.yaml: file not found (looked for {tmp_path / 'no-such.yaml'})",
        "1 problem found; nothing was run.",
    ]
    assert files_under(tmp_path) == []


def test_a_folder_given_as_the_scenario(tmp_path):
    done = cli("validate", tmp_path)
    assert done.returncode == 2
    assert f"error: {tmp_path}: is a folder; expected a YAML file" in done.stderr


# -- help ---------------------------------------------------------------------------------


def test_help():
    done = cli("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: pathways ")
    for command in ("validate", "run"):
        assert command in done.stdout
    done = cli("run", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: pathways run ")
    for option in ("--replications", "--seed", "--out", "--workers", "--quiet"):
        assert option in done.stdout


# -- the error path stays fast ----------------------------------------------------------


def test_a_bad_input_is_reported_without_loading_the_model(tmp_path):
    bad = ROOT / "tests" / "data" / "bad" / "negative_cost.yaml"
    code = (
        "import sys\n"
        "from simulation.cli.main import main\n"
        f"code = main(['run', {str(bad)!r}, '--out', {str(tmp_path / 'out')!r}])\n"
        "heavy = ('pandas', 'scipy.stats', 'matplotlib', 'simulation.model.model',"
        " 'simulation.experiment.experiment', 'simulation.results.kpis')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=SECONDS
    )
    assert done.stdout.strip() == "2 []", done.stdout + done.stderr
    assert "units[0].cost_per_bed_day_gbp: expected a number from 0 to" in done.stderr
