"""One papermill helper for the lab tests: run a lab with parameters into a temporary folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from labkit.report.results import ResultsStore

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# Runtime log lines that must never reach a learner's screen (labkit.quiet captures them).
SPAM = re.compile(r"\[(cpuinfo_utils|threadpool)\.cpp:\d+\]|register_constant\(\)|No CUDA runtime is found|"
                  r"Output Buffer not found")


def run_lab(tmp_path: Path, notebook: str, *arguments: str,
            timeout: int = 900) -> tuple[ResultsStore, str, nbformat.NotebookNode]:
    """papermill ``notebook`` into ``tmp_path`` with its own results and build folders.

    Returns the results store the run wrote, its outputs as one JSON text, and the executed notebook.
    Fails with the tail of papermill's stderr when the run fails.
    """
    results = tmp_path / "results"
    env = {**os.environ, "LABKIT_RESULTS_DIR": str(results), "LABKIT_BUILD_DIR": str(tmp_path / "build")}
    out = tmp_path / notebook.replace(".ipynb", "_out.ipynb").replace("/", "_")
    command = [sys.executable, "-m", "papermill", "--cwd", str(NOTEBOOKS), "-k", "python3",
               str(NOTEBOOKS / notebook), str(out), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, f"{notebook} {' '.join(arguments)} failed:\n{done.stderr[-4000:]}"
    executed = nbformat.read(out, as_version=4)
    return ResultsStore(results), json.dumps([c.get("outputs", []) for c in executed.cells]), executed


def stderr_outputs(executed: nbformat.NotebookNode) -> list[str]:
    """Everything each code cell showed on stderr, one string per cell (a runtime's line can arrive
    split over several stream outputs, so they are joined)."""
    texts = ["".join("".join(o.get("text", "")) for o in c.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stderr")
             for c in executed.cells if c.cell_type == "code"]
    return [text for text in texts if text]


def runtime_spam(executed: nbformat.NotebookNode) -> list[str]:
    """The stderr lines of an executed notebook that are runtime log spam."""
    return [line for text in stderr_outputs(executed) for line in text.splitlines() if SPAM.search(line)]
