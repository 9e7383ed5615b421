"""Test-suite setup for tests/ and notebooks/ (nbval): offline guards, smoke mode, temp outputs, fixtures."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent
NETGUARD = ROOT / "tests" / "netguard"

# Set before any kernel starts: kernels and child processes inherit the environment. This checkout's labkit
# comes first: a venv shared by several clones (CI's) points its editable install at only one of them.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETGUARD), str(ROOT), os.environ.get("PYTHONPATH")]))
os.environ["LABKIT_NETWORK_GUARD"] = "1"
os.environ.setdefault("LABKIT_SMOKE", "1")
os.environ.setdefault("LABKIT_OFFLINE", "1")
# Notebooks executed by the suite write results and artifacts outside the checkout.
os.environ.setdefault("LABKIT_RESULTS_DIR", tempfile.mkdtemp(prefix="labkit-test-results-"))
os.environ.setdefault("LABKIT_BUILD_DIR", tempfile.mkdtemp(prefix="labkit-test-build-"))


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests write results and build artifacts to temporary folders, never into the checkout."""
    monkeypatch.setenv("LABKIT_RESULTS_DIR", str(tmp_path_factory.mktemp("results")))
    monkeypatch.setenv("LABKIT_BUILD_DIR", str(tmp_path_factory.mktemp("build")))


@pytest.fixture(scope="session")
def tiny():
    from labkit.model.models import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model("tiny_cnn", pretrained=False)


@pytest.fixture(scope="session")
def lite0():
    from labkit.model.models import load_model

    return load_model("efficientnet_lite0")


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory, tiny):
    """The tiny CNN exported as XNNPACK .pte, portable .pte, TorchScript, lite and ONNX files."""
    from labkit.deploy.export import export_pte

    folder = tmp_path_factory.mktemp("tiny_exports")
    x = tiny.example_input()
    files = {
        "xnnpack": export_pte(tiny.module, (x,), folder / "tiny_xnnpack.pte", backend="xnnpack"),
        "portable": export_pte(tiny.module, (x,), folder / "tiny_portable.pte", backend="portable"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(tiny.module, x)
        traced.save(str(folder / "tiny.pt"))
        traced._save_for_lite_interpreter(str(folder / "tiny.ptl"))
        torch.onnx.export(tiny.module, (x,), str(folder / "tiny.onnx"), dynamo=True, verbose=False)
    files.update(torchscript=folder / "tiny.pt", lite=folder / "tiny.ptl", onnx=folder / "tiny.onnx")
    return files
