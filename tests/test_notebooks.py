"""Run every notebook in ``notebooks/`` from top to bottom.

The notebooks assert what they teach, so a change that breaks an example
fails here. They run in a kernel of the interpreter that runs the tests,
without the suite's strict dtype settings, as a reader would run them.
"""

import json
import pathlib
import sys

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
Config = pytest.importorskip("traitlets.config").Config

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "optgrad-tests"


def test_notebooks_exist():
    assert len(NOTEBOOKS) >= 2, NOTEBOOKS


@pytest.fixture
def kernel_path(tmp_path, monkeypatch):
    """Register a kernel that runs this interpreter, whatever else is installed."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path, kernel_path):
    notebook = nbformat.read(path, as_version=4)
    # Unix sockets in the temporary directory rather than local TCP ports.
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=300,
        resources={"metadata": {"path": str(kernel_path)}},
        config=Config({"KernelManager": {"transport": "ipc"}}),
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    executed = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in executed)
