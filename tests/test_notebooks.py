"""The notebooks: stored clean, each says how to scale up, and each runs top to bottom.

Every notebook in ``notebooks/`` is executed with nbclient in a fresh kernel that is this
interpreter (the project's virtual environment), from the notebooks' own folder as a
researcher opens them. Any error fails the test. Notebooks are committed without outputs,
so a diff shows what changed in the analysis, not in its pictures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]


def test_there_are_notebooks() -> None:
    names = {path.stem for path in NOTEBOOKS}
    assert {
        "01_quickstart",
        "02_reinvestment",
        "03_sensitivity",
        "04_calibration",
        "05_warmup_and_replications",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} is stored with outputs"
            assert cell.execution_count is None, f"{path.name} cell {index} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_says_first_how_to_scale_up(path: Path) -> None:
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    assert "Scaling up" in first.source and "FULL = True" in first.source


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``python3`` kernel spec that runs this interpreter, found before any other."""
    folder = tmp_path / "kernels" / "python3"
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (pathways venv)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_top_to_bottom(
    path: Path, venv_kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel's temporary files go to a folder of the test's own, which must be empty
    # once the kernel has stopped: a notebook's scratch files are the notebook's to remove.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    notebook = nbformat.read(path, as_version=4)
    # A last cell reports which interpreter ran the notebook.
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name=venv_kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    last = notebook.cells[-1].outputs[0]["text"].strip()
    assert Path(last).resolve() == Path(sys.executable).resolve()
    figures = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert figures, f"{path.name} drew no figure"
    left = sorted(item.name for item in scratch.iterdir())
    assert not left, f"{path.name} left {left} in the temporary folder"
