"""Every lab follows the conventions; lab 00 runs under papermill with non-default parameters.

(nbval executes every notebook in smoke mode separately: `pytest notebooks --nbval-lax`.)
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.results import ResultsStore

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"


def test_there_are_labs():
    assert LABS and LABS[0].name == "00_baseline.ipynb"


@pytest.mark.parametrize("path", LABS + sorted(SOLUTIONS.glob("*.ipynb")) + [ROOT / "notebooks" / "index.ipynb"],
                         ids=lambda p: p.name)
def test_no_outputs_committed(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: run `nbstripout {path}`"


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_shape(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    for word in ("After this lab you can", "Time", "Prerequisites", "Where it runs"):
        assert word in first.source, f"{path.name}: title cell lacks '{word}'"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
    for name in ("SMOKE", "MODEL", "THREADS"):
        assert re.search(rf"^{name} = ", tagged[0].source, re.M), f"{path.name}: parameter {name} missing"
    assert "LABKIT_SMOKE" in tagged[0].source
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "ResultsStore" in sources and "assert " in sources, f"{path.name}: results and assertions"
    assert "tqdm" in sources
    exercises = re.findall(r"checks\.check_\w+\(", sources)
    assert 1 <= len(exercises) <= 3, f"{path.name}: 1–3 exercises checked by labkit.checks"
    assert "# YOUR CODE HERE" in sources
    assert "Further reading" in nb.cells[-1].source
    assert (SOLUTIONS / path.name.replace(".ipynb", "_solutions.ipynb")).is_file(), "worked solutions missing"


def _run_lab(tmp_path, notebook: str, *arguments: str, timeout: int = 600):
    """papermill a lab into tmp_path with its own results and build folders: (its results store, its outputs as text)."""
    results = tmp_path / "results"
    env = {**os.environ, "LABKIT_RESULTS_DIR": str(results), "LABKIT_BUILD_DIR": str(tmp_path / "build")}
    out = tmp_path / notebook.replace(".ipynb", "_out.ipynb")
    command = [sys.executable, "-m", "papermill", "--cwd", str(ROOT / "notebooks"), "-k", "python3",
               str(ROOT / "notebooks" / notebook), str(out), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return ResultsStore(results), json.dumps([c.get("outputs", []) for c in nbformat.read(out, as_version=4).cells])


def test_baseline_runs_with_other_parameters(tmp_path):
    """Instructors re-run labs with papermill: an untrained torchvision model at one thread."""
    store, text = _run_lab(tmp_path, "00_baseline.ipynb", "-p", "SMOKE", "True", "-p", "MODEL", "mobilenet_v3_small",
                           "-p", "PRETRAINED", "False", "-y", "THREADS: [1]", "-p", "SECONDS_PER_MEASUREMENT", "0.3")
    rows = store.latest_run("00_baseline")
    assert list(rows["model"]) == ["mobilenet_v3_small"] and list(rows["threads"]) == [1]
    assert list(rows["trained"]) == [False] and list(rows["config.PRETRAINED"]) == [False]
    assert rows["p50_ms"].iloc[0] > 0 and 2.4e6 < rows["params"].iloc[0] < 2.6e6
    assert "UNTRAINED" in text, "an untrained model must be labelled loudly"


def test_nnapi_lab_runs_with_another_model(tmp_path):
    """Lab 04 with torchvision's MobileNetV2 (untrained offline): no TF-SAME padding, so no slice surgery."""
    store, text = _run_lab(tmp_path, "04_nnapi.ipynb", "-p", "SMOKE", "True", "-p", "MODEL", "mobilenet_v2",
                           "-p", "PRETRAINED", "False", "-p", "PHOTOS", "1")
    rows = store.latest_run("04_nnapi").set_index("variant")
    assert set(rows["model"]) == {"mobilenet_v2"} and not rows["trained"].any()
    as_trained = rows.loc["mobilenet_v2 as trained"]
    assert not as_trained["converts"] and "hardtanh_" in as_trained["error"]  # in-place ReLU6
    fixed = rows.loc["mobilenet_v2, surgery 2 (slice from 2)"]
    assert fixed["converts"] and fixed["top1_agreement"] == 1.0 and fixed["max_abs_diff"] < 1e-3
    assert "UNTRAINED" in text


def test_benchmarking_lab_runs_a_subset_of_its_matrix(tmp_path):
    """Lab 07 as one sweep combination would run it: a tiny untrained model, one thread, two runtimes, int8 only."""
    store, text = _run_lab(tmp_path, "07_benchmarking.ipynb", "-p", "SMOKE", "True", "-p", "MODEL", "tiny_cnn",
                           "-p", "PRETRAINED", "False", "-y", "THREADS: [1]",
                           "-y", "RUNTIMES: [executorch-xnnpack, onnxruntime]", "-y", "PRECISIONS: [int8]", timeout=900)
    rows = store.latest_run("07_benchmarking")
    assert sorted(rows["runtime"]) == ["executorch-xnnpack", "onnxruntime"] and set(rows["precision"]) == {"int8"}
    assert set(rows["threads"]) == {1} and set(rows["model"]) == {"tiny_cnn"} and not rows["trained"].any()
    assert (rows["p50_ms"] > 0).all() and (rows["size_mb"] > 0).all() and rows["top1_agreement"].between(0, 1).all()
    assert "UNTRAINED" in text
