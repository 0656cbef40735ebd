"""End to end: `pathways compare` and `pathways show` in a subprocess, as a planner runs them."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from tests.builders import mmc_scenario


def pathways(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_pair(tmp_path: Path):
    base = mmc_scenario(beds=9, horizon_years=1, warmup_days=60, name="base")
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (tmp_path / "more.yaml").write_text(
        "# One more bed than the base.\nextends: base.yaml\nname: more_beds\n"
        "units:\n  - {name: Unit, beds: 10}\n"
    )
    (tmp_path / "people.yaml").write_text(
        "extends: base.yaml\nname: more_people\nplaces:\n  - {name: Home, population: 120000}\n"
    )


def test_compare_prints_paired_differences_and_writes_a_folder(tmp_path):
    write_pair(tmp_path)
    done = pathways(
        "compare",
        "base.yaml",
        "more.yaml",
        "people.yaml",
        "-r",
        "3",
        "--out",
        "out",
        "-w",
        "1",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    out = done.stdout
    assert "more_beds vs base" in out and "paired difference with 95% CI" in out
    assert "see the same referrals in each replication" in out  # capacity change: CRN
    assert "do not see the same referrals" in out  # demand change: said plainly
    [folder] = list((tmp_path / "out" / "compare-base").iterdir())
    assert {p.name for p in folder.iterdir()} >= {
        "base",
        "more_beds",
        "more_people",
        "comparison.csv",
        "comparison_notes.txt",
        "manifest.json",
    }
    for name in ("base", "more_beds", "more_people"):
        files = {p.name for p in (folder / name).iterdir()}
        assert {
            "kpis.parquet",
            "summary.csv",
            "ledger.csv",
            "manifest.json",
            "scenario.yaml",
        } <= files
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["alternatives"] == ["more_beds", "more_people"]
    assert manifest["replications"] == 3
    table = pd.read_csv(folder / "comparison.csv")
    row = table[
        (table["alternative"] == "more_beds")
        & (table["kpi"] == "referrals")
        & (table["period"] == "horizon")
        & (table["service"] == "all")
        & (table["place"] == "all")
        & (table["unit"] == "all")
    ]
    # Same arrivals: adding a bed cannot change the referrals, in any replication.
    assert float(row["diff_mean"].iloc[0]) == 0.0
    # The alternatives ran with the base's seed whatever their own files say.
    alt_manifest = json.loads((folder / "more_beds" / "manifest.json").read_text())
    assert alt_manifest["seed"] == 12345
    # Every file the alternative was built from is traced, with its hash.
    sources = {Path(s["path"]).name: s["sha256"] for s in alt_manifest["scenario_sources"]}
    assert set(sources) == {"more.yaml", "base.yaml"}
    assert all(len(digest) == 64 for digest in sources.values())


def test_compare_refuses_two_scenarios_of_the_same_name(tmp_path):
    write_pair(tmp_path)
    done = pathways("compare", "base.yaml", "base.yaml", "-r", "2", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert "different names" in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


def test_compare_refuses_scenarios_over_different_periods(tmp_path):
    write_pair(tmp_path)
    (tmp_path / "short.yaml").write_text("extends: base.yaml\nname: short\nhorizon_years: 0.5\n")
    done = pathways("compare", "base.yaml", "short.yaml", "-r", "2", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: short.yaml: horizon_years: covers 0.5 years from 1 April 2026, and the base "
        "base 1 year from 1 April 2026: scenarios compared must cover the same period (the "
        "same start date and years simulated: horizon_years)",
        "1 problem found; nothing was run.",
    ]
    assert not (tmp_path / "out").exists()


def test_show_prints_the_resolved_scenario(tmp_path):
    write_pair(tmp_path)
    done = pathways("show", "more.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = yaml.safe_load(done.stdout)
    assert shown["name"] == "more_beds"
    assert shown["units"][0]["beds"] == 10
    assert shown["units"][0]["cost_per_bed_day_gbp"] == 500  # inherited
    assert "extends" not in shown
    assert shown["bed_management"]["allocation"] == "continuous"  # default filled


def test_show_reports_a_bad_override_with_its_file_and_line(tmp_path):
    write_pair(tmp_path)
    (tmp_path / "bad.yaml").write_text("extends: base.yaml\nunits:\n  - {name: Unit, beds: -3}\n")
    done = pathways("show", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.yaml:3" in done.stderr and "units[0].beds" in done.stderr
    assert "Traceback" not in done.stderr


def test_compare_refuses_a_replications_count_the_scenario_refuses(tmp_path):
    write_pair(tmp_path)
    args = ("compare", "base.yaml", "more.yaml", "-r", "200000", "--out", "out")
    done = pathways(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: base.yaml: replications: expected a whole number from 1 to 100,000, got 200000 "
        "(from --replications)",
        "1 problem found; nothing was run.",
    ]
    assert not (tmp_path / "out").exists()
