"""``pathways serve`` refuses what it cannot do in one sentence, with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.cli.main import main
from simulation.web.workspace import Workspace


def test_a_workspace_another_server_runs_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = Workspace(tmp_path / "ws").hold()
    try:
        assert main(["serve", "--workspace", str(tmp_path / "ws"), "--port", "1"]) == 2
    finally:
        held.close()
    err = capsys.readouterr().err
    assert "another pathways serve is running jobs from" in err and "Traceback" not in err


def test_a_file_as_workspace_and_a_bad_port_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "file"
    file.write_text("")
    assert main(["serve", "--workspace", str(file)]) == 2
    assert "--workspace must be a folder" in capsys.readouterr().err
    assert main(["serve", "--workspace", str(tmp_path / "ws"), "--port", "70000"]) == 2
    assert "port number from 1 to 65535" in capsys.readouterr().err
    assert not (tmp_path / "ws").exists(), "nothing is created for a refused command"
