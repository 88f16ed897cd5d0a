"""examples/quickstart.ipynb runs top to bottom (executed here so that it cannot rot)."""

import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")  # the [test] extra installs nbclient and ipykernel
nbclient = pytest.importorskip("nbclient")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_quickstart_notebook_runs_and_its_agents_do_what_it_says():
    """Trains Catch (about 20 seconds on 2 cores), plots it, plays the shipped Pong agent in a
    gymnasium loop and reads the A3C agent's policy; every cell must run without error."""
    notebook = nbformat.read(os.path.join(REPO, "examples", "quickstart.ipynb"), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell["outputs"] = []
    # Run where a user opens it; it writes only to a temporary logdir of its own.
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": os.path.join(REPO, "examples")}}
                            ).execute()
    texts = "".join(output.get("text", "") for cell in notebook.cells
                    if cell.cell_type == "code" for output in cell.get("outputs", []))
    assert "'step': 10000" in texts
    score = re.search(r"score ([+-]\d+) in \d+ agent steps", texts)
    assert score and int(score.group(1)) >= 15, texts  # the shipped agent wins its game
    assert "V(s) = " in texts
    images = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
    assert len(images) == 2  # the Catch curve and the A3C agent's frame
