"""ruff over the kit's Python files, and (through nbqa) over the notebooks, with pyproject.toml's [tool.ruff] config."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_PATHS = ["labkit", "tests", "android_demo/ci", "conftest.py"]


def _require(*modules: str) -> None:
    """Fail (not skip) when a lint tool is missing: requirements.txt pins them, so the venv is out of date."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed in {sys.executable}'s environment: run `make install` "
                    f"(requirements.txt pins ruff and nbqa)", pytrace=False)


def _run(*args: str) -> subprocess.CompletedProcess:
    # --no-cache: no .ruff_cache in the checkout (tests write outside it); concise: one line per finding
    return subprocess.run([sys.executable, "-m", *args, "--no-cache", "--output-format=concise"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_ruff_check_is_clean():
    _require("ruff")
    done = _run("ruff", "check", *PYTHON_PATHS)
    assert done.returncode == 0, f"ruff check {' '.join(PYTHON_PATHS)} found problems:\n{done.stdout}{done.stderr}"


def test_nbqa_ruff_notebooks_is_clean():
    # nbqa lints each notebook as a temporary notebooks/<name><random>_nbqa_ipynb.py, so ruff reads pyproject.toml
    # from there and the "*_nbqa_ipynb.py" per-file-ignores apply (the "*.ipynb" ones do not match those files).
    _require("nbqa", "ruff")
    done = _run("nbqa", "ruff", "notebooks")
    assert "No notebooks found" not in done.stderr, f"nbqa checked nothing:\n{done.stderr}"
    assert done.returncode == 0, f"nbqa ruff notebooks found problems:\n{done.stdout}{done.stderr}"
