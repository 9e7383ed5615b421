"""Every lab checks its parameters in the cell after the ``parameters`` cell and stops there, with a
message naming the allowed values, on any wrong type, range or name (run in-process: no kernel)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from labkit.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _check_cells(path: Path) -> tuple[str, str]:
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    check = next(c for c in nb.cells[index + 1:] if c.cell_type == "code")
    return nb.cells[index].source, check.source


def _run_checks(path: Path, **overrides: object) -> dict:
    parameters, check = _check_cells(path)
    namespace: dict = {}
    exec(compile(parameters, f"{path.name}:parameters", "exec"), namespace)
    namespace.update(overrides)
    exec(compile(check, f"{path.name}:check", "exec"), namespace)
    return namespace


# Values every lab must refuse (THREADS as a list or a number, whichever the lab takes).
COMMON_BAD = {
    "model-name": {"MODEL": "mobilenet"},
    "model-type": {"MODEL": 3},
    "smoke-string": {"SMOKE": "True"},
    "pretrained-string": {"PRETRAINED": "no"},
    "pretrained-unavailable": {"MODEL": "tiny_cnn", "PRETRAINED": True},
    "threads-zero": {"THREADS": 0},
    "threads-list-zero": {"THREADS": [0]},
    "threads-too-many": {"THREADS": [os.cpu_count() + 1]},
    "threads-string": {"THREADS": "2"},
    "threads-bool": {"THREADS": True},
    "threads-list-bool": {"THREADS": [True]},
}

# Each lab's own knobs: lab file name → {case id: overrides}. Owned by whoever changes that lab.
LAB_BAD: dict[str, dict[str, dict[str, object]]] = {
    "00_baseline.ipynb": {
        "seconds-zero": {"SECONDS_PER_MEASUREMENT": 0},
        "seconds-string": {"SECONDS_PER_MEASUREMENT": "0.5"},
        "threads-list-string": {"THREADS": "[1, 2]"},
        "threads-duplicate": {"THREADS": [1, 1]},
        "threads-number": {"THREADS": 2},
    },
    "02_fusion.ipynb": {
        "seconds-negative": {"SECONDS_PER_MEASUREMENT": -1.0},
        "seconds-bool": {"SECONDS_PER_MEASUREMENT": True},
        "threads-number": {"THREADS": 1},
        "threads-empty": {"THREADS": []},
    },
    "03_quantization.ipynb": {
        "calibration-zero": {"CALIBRATION_IMAGES": 0},
        "calibration-float": {"CALIBRATION_IMAGES": 8.0},
        "sweep-string": {"CALIBRATION_SWEEP": "[8, 32]"},
        "sweep-empty": {"CALIBRATION_SWEEP": []},
        "sweep-zero": {"CALIBRATION_SWEEP": [0, 8]},
        "sweep-duplicate": {"CALIBRATION_SWEEP": [8, 8]},
        "eval-zero": {"EVAL_IMAGES": 0},
        "seconds-zero": {"SECONDS_PER_MEASUREMENT": 0},
        "seconds-string": {"SECONDS_PER_MEASUREMENT": "0.5"},
        "lower-string": {"LOWER_EVERY_VARIANT": "yes"},
        "threads-list": {"THREADS": [2]},
    },
    "04_qat_mixed_precision.ipynb": {
        "eval-zero": {"EVAL_IMAGES": 0},
        "qat-negative": {"QAT_STEPS": -1},
        "qat-string": {"QAT_STEPS": "2"},
        "sensitivity-over-eval": {"EVAL_IMAGES": 8, "SENSITIVITY_IMAGES": 9},
        "seconds-zero": {"SECONDS_PER_MEASUREMENT": 0},
        "lower-string": {"LOWER_EVERY_VARIANT": "yes"},
        "threads-list": {"THREADS": [2]},
        "model-unknown": {"MODEL": "vgg16"},
    },
    "05_torchscript.ipynb": {
        "seconds-zero": {"SECONDS_PER_MEASUREMENT": 0.0},
        "seconds-string": {"SECONDS_PER_MEASUREMENT": "2"},
        "threads-list": {"THREADS": [2]},
        "threads-bool": {"THREADS": True},
    },
    "06_legacy_int8_nnapi.ipynb": {
        "model-resnet18": {"MODEL": "resnet18", "PRETRAINED": False},
        "model-mobilenet_v3_small": {"MODEL": "mobilenet_v3_small", "PRETRAINED": False},
        "photos-zero": {"PHOTOS": 0},
        "photos-too-many": {"PHOTOS": 6},
        "photos-string": {"PHOTOS": "2"},
        "calibration-zero": {"CALIBRATION_IMAGES": 0},
        "calibration-float": {"CALIBRATION_IMAGES": 8.0},
        "threads-list": {"THREADS": [1]},
    },
    "01_executorch.ipynb": {
        "seconds-infinite": {"SECONDS_PER_MEASUREMENT": float("inf")},
        "parity-huge": {"PARITY_IMAGES": 10**6},
        "seconds-zero": {"SECONDS_PER_MEASUREMENT": 0},
        "seconds-string": {"SECONDS_PER_MEASUREMENT": "0.5"},
        "parity-float": {"PARITY_IMAGES": 2.5},
        "threads-duplicate": {"THREADS": [1, 1]},
        "threads-list-string": {"THREADS": "[1, 2]"},
    },
    "07_fine_tuning.ipynb": {
        "dataset-unknown": {"DATASET": "mnist"},
        "dataset-number": {"DATASET": 3},
        "image-size-small": {"IMAGE_SIZE": 16},
        "image-size-string": {"IMAGE_SIZE": "96"},
        "test-fraction-zero": {"TEST_FRACTION": 0},
        "test-fraction-high": {"TEST_FRACTION": 0.9},
        "unfreeze-unknown": {"UNFREEZE": ["blocks.99"]},
        "unfreeze-string": {"UNFREEZE": "head"},
        "unfreeze-other-model": {"MODEL": "resnet18", "PRETRAINED": False, "UNFREEZE": ["head"]},
        "head-epochs-zero": {"HEAD_EPOCHS": 0},
        "finetune-epochs-float": {"FINETUNE_EPOCHS": 2.5},
        "lr-zero": {"LR": 0},
        "lr-string": {"LR": "0.05"},
        "qat-zero": {"QAT_STEPS": 0},
        "device-steps-one": {"ON_DEVICE_STEPS": 1},
        "batch-zero": {"BATCH": 0},
        "batch-too-big": {"BATCH": 512},
        "threads-list": {"THREADS": [2]},
    },
    "08_benchmarking.ipynb": {
        "seconds-infinite": {"SECONDS_PER_MEASUREMENT": float("inf")},
        "rounds-huge": {"ROUNDS": 10**4},
        "runtimes-unknown": {"RUNTIMES": ["executorch-vulkan"]},
        "runtimes-string": {"RUNTIMES": "eager"},
        "runtimes-empty": {"RUNTIMES": []},
        "precisions-unknown": {"PRECISIONS": ["int4"]},
        "int8-without-runtime": {"RUNTIMES": ["eager", "torchscript"], "PRECISIONS": ["int8"]},
        "rounds-two": {"ROUNDS": 2},
        "rounds-string": {"ROUNDS": "3"},
        "seconds-negative": {"SECONDS_PER_MEASUREMENT": -1.0},
        "parity-zero": {"PARITY_IMAGES": 0},
        "memory-string": {"MEASURE_MEMORY": "yes"},
        "fma-zero": {"FMA_UNITS": 0},
        "second-model-unknown": {"SECOND_MODEL": "resnet50"},
        "threads-duplicate": {"THREADS": [2, 2]},
    },
    "09_npu_accelerators.ipynb": {
        "targets-unknown": {"ETHOSU_TARGETS": ["ethos-u55-100"]},
        "targets-string": {"ETHOSU_TARGETS": "ethos-u55-128"},
        "targets-empty": {"ETHOSU_TARGETS": []},
        "targets-duplicate": {"ETHOSU_TARGETS": ["ethos-u85-256", "ethos-u85-256"]},
        "second-model-same": {"SECOND_MODEL": "efficientnet_lite0"},
        "second-model-unknown": {"SECOND_MODEL": "resnet50"},
        "calibration-zero": {"CALIBRATION_IMAGES": 0},
        "tosa-images-float": {"TOSA_IMAGES": 2.5},
        "budget-zero": {"LATENCY_BUDGET_MS": 0},
        "budget-string": {"LATENCY_BUDGET_MS": "6"},
        "seconds-negative": {"SECONDS_PER_MEASUREMENT": -1.0},
        "threads-list": {"THREADS": [2]},
    },
}


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_defaults_pass_the_checks(path, monkeypatch):
    monkeypatch.setenv("LABKIT_SMOKE", "1")
    _run_checks(path)


@pytest.mark.parametrize("case", sorted(COMMON_BAD))
@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_common_parameters_are_checked(path, case):
    with pytest.raises(ParameterError) as caught:
        _run_checks(path, **COMMON_BAD[case])
    named = [name for name in COMMON_BAD[case] if name in str(caught.value)]
    assert named, f"the message must name the parameter ({list(COMMON_BAD[case])}): {caught.value}"


def _lab_cases():
    for name, cases in LAB_BAD.items():
        for case, overrides in cases.items():
            yield pytest.param(ROOT / "notebooks" / name, overrides, id=f"{name[:2]}-{case}")


@pytest.mark.parametrize(("path", "overrides"), list(_lab_cases()))
def test_lab_knobs_are_checked(path, overrides):
    with pytest.raises(ParameterError) as caught:
        _run_checks(path, **overrides)
    assert any(name in str(caught.value) for name in overrides), (
        f"the message must name the parameter that is wrong ({list(overrides)}): {caught.value}")
