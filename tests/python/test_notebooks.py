"""The tutorial notebooks run top to bottom on the Loopscope kernel (through
nbclient) without errors, and show what they promise."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

EXPECTED = {
    "01-tour.ipynb": [
        "same result as Python: True",
        "faster than plain Python",
        "loopscope.run on the CPU matches Python: True",
        "loopscope.jit on one core matches Python: True",
        "same as NumPy: True",
        "for i -> parallel",
        "Loopscope: loop nest at line",
    ],
    "02-why-cpu.ipynb": ["choice:", "the copies cost", "sequential", "same result: True"],
    "03-dependence-tests.ipynb": [
        "carried by i",
        "(GCD)",
        "): parallel",
        "): reduction",
        "explained, not run",
        "keeps Python's order",
        "never the same element",
    ],
    "04-cost-model.ipynb": [
        "python: total",
        "gpu: total",
        "h100_sxm",
        "application/vnd.vegalite.v5+json",
        "n = 1024 takes",
    ],
    "05-benchmarks.ipynb": ["all results match Python: True", "cores for this kernel, load average"],
}


def _text(nb):
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime, value in (out.get("data") or {}).items():
                parts.append(mime)
                if isinstance(value, str):
                    parts.append(value)
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(repo_root, name, tmp_path):
    path = os.path.join(repo_root, "notebooks", name)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="loopscope", timeout=600, allow_errors=False, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    text = _text(nb)
    for expected in EXPECTED[name]:
        assert expected in text, f"{name}: expected output {expected!r} is missing"
