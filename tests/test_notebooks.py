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

from labkit.report.results import ResultsStore

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
    for name in ("SMOKE", "MODEL", "PRETRAINED", "THREADS"):
        assert re.search(rf"^{name} = ", tagged[0].source, re.M), f"{path.name}: parameter {name} missing"
    assert "LABKIT_SMOKE" in tagged[0].source
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "ResultsStore" in sources and "assert " in sources, f"{path.name}: results and assertions"
    assert "tqdm" in sources
    exercises = re.findall(r"checks\.check_\w+\(", sources)
    assert 1 <= len(exercises) <= 3, f"{path.name}: 1–3 exercises checked by labkit.exercises"
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


# Labs 00 and 06 with other parameters run in tests/test_parameter_matrix.py (00 mnv3-untrained-1, 04 mnv2-untrained).


def _code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return ["\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for c in nb.cells if c.cell_type == "code"]


ALL_NOTEBOOKS = LABS + sorted(SOLUTIONS.glob("*.ipynb")) + [ROOT / "notebooks" / "index.ipynb"]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_every_assert_says_what_was_expected(path):
    """A bare `assert x` shows a learner an empty AssertionError: every assert carries a message."""
    import ast

    bare = [ast.unparse(node.test)[:80] for source in _code_cells(path)
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert) and node.msg is None]
    assert not bare, f"{path.name}: asserts without a message (say expected, measured, what to do): {bare}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_speed_claims_go_through_the_noise_aware_helper(path):
    """No assert compares two timings directly: labkit.measure.speed decides, from rotated rounds, what the run resolved."""
    import ast

    timing = re.compile(r"(_ms\b|_ms\[|p50|p90|latency|seconds)", re.I)
    direct = []
    for source in _code_cells(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
                sides = [node.test.left, *node.test.comparators]
                if sum(bool(timing.search(ast.unparse(side))) for side in sides) >= 2:
                    direct.append(ast.unparse(node.test)[:100])
    assert not direct, f"{path.name}: timings compared by a bare assert — use labkit.measure.speed: {direct}"


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_parameters_are_checked_in_the_next_cell(path):
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    following = next(c for c in nb.cells[index + 1:] if c.cell_type == "code")
    assert "params.check_common(" in following.source, f"{path.name}: the cell after the parameters must check them"


KITS_KERNELSPEC = {"name": "edge-lab-kit", "display_name": "Python 3.11 (Edge Lab Kit)", "language": "python"}


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_stored_kernel_metadata_is_what_jupyterlab_writes_on_open(path):
    """JupyterLab writes the kernel's kernelspec and language_info into a notebook when its kernel starts and marks
    the notebook modified unless the stored values are equal (labkit/workshop/kernel.py): store exactly those values."""
    from labkit.workshop.kernel import LANGUAGE_INFO

    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata.get("kernelspec") == KITS_KERNELSPEC, f"{path.name}: kernelspec {metadata.get('kernelspec')}"
    assert metadata.get("language_info") == LANGUAGE_INFO, (
        f"{path.name}: language_info {metadata.get('language_info')} is not the kit kernel's {LANGUAGE_INFO}: "
        "JupyterLab would mark the notebook modified on opening; "
        "set metadata.language_info to labkit.workshop.kernel.LANGUAGE_INFO")


def test_the_kits_kernel_reports_the_stored_language_info():
    """The registered kernel (`make kernel`) runs labkit.workshop.kernel and answers kernel_info with LANGUAGE_INFO."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from jupyter_client.manager import start_new_kernel

    from labkit.workshop.kernel import KERNEL_CLASS, LANGUAGE_INFO

    try:
        spec = KernelSpecManager().get_kernel_spec(KITS_KERNELSPEC["name"])
    except NoSuchKernel:
        pytest.fail("the kernel 'edge-lab-kit' is not registered: make kernel")
    assert f"--IPKernelApp.kernel_class={KERNEL_CLASS}" in spec.argv, (
        f"{spec.resource_dir}/kernel.json does not run {KERNEL_CLASS}: make kernel (re-registers it)")
    assert spec.display_name == KITS_KERNELSPEC["display_name"] and spec.language == KITS_KERNELSPEC["language"]
    manager, client = start_new_kernel(kernel_name=KITS_KERNELSPEC["name"], startup_timeout=120)
    try:
        client.kernel_info()
        reply = client.get_shell_msg(timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["language_info"] == LANGUAGE_INFO, reply["content"]["language_info"]
