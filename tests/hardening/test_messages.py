"""Mistakes that used to end in a traceback, or in a message that said too much.

Each case is one clear message, exit status 2 for input (1 for writing), nothing
written, and options checked before anything runs. A message quotes at most a short,
printable excerpt of what it read: never a whole file, never an escape sequence that
would repaint the terminal, never rich markup turned into styling or emoji.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.cli.main import main
from tests.cli.test_cli import SMALL

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 60
LONGEST_LINE = 400
"""No line of a refusal is longer: it names what is wrong, it does not reprint a file."""


def pathways(*args: str | Path, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def refused(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The refusal's text, after checking it is clear: status 2, short lines, no traceback."""
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text
    assert all(len(line) <= LONGEST_LINE for line in text.splitlines()), text
    assert "\x1b" not in text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_extends_through_a_loop_of_symbolic_links(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    (tmp_path / "child.yaml").write_text("extends: a.yaml\nname: child\n")
    for command in ("validate", "run"):
        refused(
            pathways(command, "child.yaml", cwd=tmp_path),
            "child.yaml:1: extends: parent scenario 'a.yaml' cannot be followed: its symbolic "
            "links form a loop",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml", "child.yaml"]


def test_a_census_naming_a_system_file_does_not_print_it(tmp_path: Path, small: Path) -> None:
    small.write_text(SMALL.replace("name: small", "name: small\ncensus: /proc/self/environ"))
    secret = "s3cret-value-that-must-not-show"
    # The environment's first variable is what the file starts with; a long one, so that a
    # quoted excerpt must be cut short whatever else the environment of the tests holds.
    env = {"A_LONG_FIRST_VARIABLE": "x" * 200, **os.environ, "ZZ_SECRET": secret}
    done = subprocess.run(
        [sys.executable, "-m", "simulation.cli.main", "validate", str(small)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    text = refused(done, "/proc/self/environ:1:", "unknown column", "A_LONG_FIRST_VARIABLE")
    assert secret not in text
    assert "x" * 100 not in text and "…" in text


def test_extends_to_any_text_file_quotes_only_its_start(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("first words " + "secret " * 8000)
    (tmp_path / "child.yaml").write_text("extends: notes.txt\nname: child\n")
    text = refused(pathways("validate", "child.yaml", cwd=tmp_path), "got the value 'first words")
    assert text.count("secret") < 10


def test_validate_of_a_csv_quotes_only_its_first_line(tmp_path: Path) -> None:
    lines = ["a,b,c"] + [f"{i},x,y" for i in range(5000)]
    (tmp_path / "table.csv").write_text("\n".join(lines))
    text = refused(pathways("validate", "table.csv", cwd=tmp_path), "table.csv:1:")
    assert len(text) < 600


def test_escape_sequences_and_markup_from_a_file_are_shown_not_obeyed(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text(
        SMALL.replace("seed: 7", 'seed: 7\n"evil\\e[2J:x: [bold]key[/bold]": 1')
    )
    text = refused(pathways("validate", "keys.yaml", cwd=tmp_path), "unknown field")
    assert "evil\\x1b[2J:x: [bold]key[/bold]" in text
    assert "❌" not in text


def test_cluster_foo_is_refused_before_anything_runs(tmp_path: Path, small: Path) -> None:
    refused(
        pathways("run", small, "--cluster", "foo", "--out", "out", cwd=tmp_path),
        "argument --cluster: expected 'local' or a scheduler's address",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_an_unreachable_scheduler_is_not_called_a_full_disk(tmp_path: Path, small: Path) -> None:
    pytest.importorskip("distributed")
    done = pathways(
        "run", small, "-q", "--cluster", "tcp://127.0.0.1:9", "--out", "out", cwd=tmp_path
    )
    text = refused(done, "error: --cluster: cannot reach a Dask scheduler at tcp://127.0.0.1:9")
    assert "could not write" not in text
    assert "nothing was run" in text
    assert list((tmp_path / "out").iterdir()) == []


def test_warmup_plot_of_an_unknown_format_is_refused_before_running(
    tmp_path: Path, small: Path
) -> None:
    started = time.monotonic()
    done = pathways("warmup", small, "--plot", "x.txt", "-r", "50", cwd=tmp_path)
    refused(done, "error: --plot: expected a file name ending .png, .pdf, .svg", "nothing was run")
    assert time.monotonic() - started < SECONDS / 2
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--max-replications", "1", "expected a number from 2 to 100,000, got 1"),
        ("--max-replications", "1000000000", "expected a number from 2 to 100,000"),
    ],
)
def test_bounded_options(tmp_path: Path, small: Path, option: str, value: str, expected: str):
    refused(pathways("run", small, "-r", "auto", option, value, cwd=tmp_path), expected)


def test_warmup_replications_are_bounded(tmp_path: Path, small: Path) -> None:
    refused(
        pathways("warmup", small, "-r", "1000000000", cwd=tmp_path),
        "expected a number from 1 to 100,000",
    )


def test_one_replication_says_why_it_has_no_interval(
    tmp_path: Path, small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(small), "-r", "1", "-w", "1", "--out", str(tmp_path / "o")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the title wraps in a narrow terminal
    assert "one replication: values, no interval (run two or more)" in out
    assert "mean (95% CI)" not in out


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("finished")
    file = folder / "small.yaml"
    file.write_text(SMALL)
    assert main(["run", str(file), "-w", "1", "--out", str(folder / "out"), "-q"]) == 0
    (run,) = (folder / "out" / "small").iterdir()
    return run


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("replications", "x", 'its replications is "x", expected a whole number'),
        ("start_date", "9999-99-99", 'its start_date is "9999-99-99", expected a date'),
        ("horizon_years", "abc", 'its horizon_years is "abc", expected a number of years'),
        ("code", "x", 'its code is "x", expected a mapping'),
    ],
)
def test_a_hand_edited_manifest_is_named_by_report(
    tmp_path: Path,
    finished: Path,
    field: str,
    value: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest[field] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {copy / 'manifest.json'} has been edited or damaged: {expected}")
    assert err.count("\n") == 1
    assert not (copy / "report").exists()


def test_a_hand_edited_summary_is_named_by_report(
    tmp_path: Path, finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    text = (copy / "summary.csv").read_text().splitlines()
    cells = text[1].split(",")
    cells[6] = "lots"  # the mean
    text[1] = ",".join(cells)
    (copy / "summary.csv").write_text("\n".join(text) + "\n")
    assert main(["report", str(copy)]) == 2
    assert capsys.readouterr().err == (
        f"error: {copy / 'summary.csv'} has been edited or damaged: its column mean holds "
        "'lots', expected a number\n"
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda copy: (copy / "summary.csv").write_text(
                (copy / "summary.csv").read_text().splitlines()[0] + "\n"
            ),
            "{copy} has been edited or damaged: its summary table holds no rows",
        ),
        (
            lambda copy: (copy / "scenario.yaml").write_text("name: small\n"),
            "{copy}/scenario.yaml has been edited or damaged: it has no pathways, expected a "
            "mapping",
        ),
        (
            lambda copy: (copy / "scenario.yaml").write_text(
                (copy / "scenario.yaml").read_text().replace("name: small", "name: other", 1)
            ),
            "{copy} has been edited or damaged: its scenario.yaml is of 'other', its "
            "manifest.json of 'small'",
        ),
    ],
)
def test_a_results_folder_whose_tables_or_scenario_were_replaced_is_named_by_report(
    tmp_path: Path, finished: Path, capsys: pytest.CaptureFixture[str], damage, expected: str
) -> None:
    # Once a KeyError from deep in a chart: now the file, and what is wrong with it.
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    damage(copy)
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {expected.format(copy=copy)}\n"
    assert not (copy / "report").exists()


def test_report_out_never_replaces_a_folder_it_did_not_write(
    tmp_path: Path, finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "report.json").write_text("{}")
    (target / "thesis.docx").write_text("years of work")
    assert main(["report", str(finished), "--out", str(target)]) == 2
    assert "is not a report folder (it holds thesis.docx)" in capsys.readouterr().err
    assert (target / "thesis.docx").read_text() == "years of work"
    # an earlier report is replaced whole
    fresh = tmp_path / "fresh"
    assert main(["report", str(finished), "--out", str(fresh), "-q"]) == 0
    assert main(["report", str(finished), "--out", str(fresh), "-q"]) == 0
    assert (fresh / "report.html").is_file()
