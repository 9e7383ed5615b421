"""Every lab under papermill with non-default values of each of its parameters (smoke mode).

``make test`` runs the ``core`` combinations; ``make test-params`` (``LABKIT_PARAM_MATRIX=full``) runs
every combination. Each combination must finish without an error, show no runtime log spam, and
store rows for the model and threads it was given. Invalid values must stop the lab in its
parameter-checking cell (tested in-process, without a kernel, in ``test_parameter_checks.py``).
"""

from __future__ import annotations

import os

import pytest
from labrun import run_lab, runtime_spam

FULL = os.environ.get("LABKIT_PARAM_MATRIX", "") == "full"

# (lab notebook, id, papermill arguments, tier). Each lab's block is owned by whoever changes that lab.
MATRIX: list[tuple[str, str, list[str], str]] = [
    # --- lab 00 ---
    # 10 classes, 64×64, untrained: the photo sections skip with a note (once an IndexError), one thread
    ("00_baseline.ipynb", "tiny-1thread", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False", "-y", "THREADS: [1]",
                                           "-p", "SECONDS_PER_MEASUREMENT", "0.3"], "core"),
    # an untrained torchvision model at one thread (was tests/test_notebooks.py::test_baseline_runs_with_other_parameters)
    ("00_baseline.ipynb", "mnv3-untrained-1", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED", "False",
                                               "-y", "THREADS: [1]", "-p", "SECONDS_PER_MEASUREMENT", "0.3"], "full"),
    # no depthwise layers (the matmul claim is printed, not asserted), threads descending
    ("00_baseline.ipynb", "resnet18-untrained-2-1", ["-p", "MODEL", "resnet18", "-p", "PRETRAINED", "False",
                                                     "-y", "THREADS: [2, 1]"], "full"),
    # --- lab 01 ---
    # one thread: the pool is pinned to 1 before any load (this combination once crashed the kernel)
    ("01_executorch.ipynb", "tiny-1thread", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
                                             "-y", "THREADS: [1]"], "core"),
    # untrained torchvision model, thread list given in descending order: 1 thread runs in a child process
    ("01_executorch.ipynb", "mnv3-untrained-2-1", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED", "False",
                                                   "-y", "THREADS: [2, 1]", "-p", "PARITY_IMAGES", "2"], "full"),
    # the trained model with a small parity set, threads ascending
    ("01_executorch.ipynb", "lite0-small-sets-1-2", ["-y", "THREADS: [1, 2]",
                                                     "-p", "PARITY_IMAGES", "2", "-p", "SECONDS_PER_MEASUREMENT", "0.3"],
     "full"),
    # --- lab 02 ---
    # no ReLU6 to try, one thread
    ("02_fusion.ipynb", "tiny-1thread", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False", "-y", "THREADS: [1]"],
     "core"),
    # conv/bn pairs outside Sequentials (once WeightsUnavailableError: no PRETRAINED), threads descending
    ("02_fusion.ipynb", "resnet18-untrained-2-1", ["-p", "MODEL", "resnet18", "-p", "PRETRAINED", "False",
                                                   "-y", "THREADS: [2, 1]"], "full"),
    # torchvision's in-place ReLU6 and a short window at two threads
    ("02_fusion.ipynb", "mnv2-untrained-2", ["-p", "MODEL", "mobilenet_v2", "-p", "PRETRAINED", "False",
                                             "-y", "THREADS: [2]", "-p", "SECONDS_PER_MEASUREMENT", "0.3"], "full"),
    # --- lab 03 ---
    # the cheapest run: 10 classes, 64×64, random weights (fidelity claims skipped), small calibration and sweep
    ("03_quantization.ipynb", "tiny-small-calibration", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
     "-p", "CALIBRATION_IMAGES", "4", "-y", "CALIBRATION_SWEEP: [1, 4]", "-p", "EVAL_IMAGES", "4"], "core"),
    # an untrained torchvision model with residual adds (eager static int8 skipped), one thread
    ("03_quantization.ipynb", "mobilenet_v2-1thread", ["-p", "MODEL", "mobilenet_v2", "-p", "PRETRAINED", "False",
     "-p", "THREADS", "1", "-p", "CALIBRATION_IMAGES", "8", "-y", "CALIBRATION_SWEEP: [2, 8]"], "full"),
    ("03_quantization.ipynb", "resnet18-small", ["-p", "MODEL", "resnet18", "-p", "PRETRAINED", "False",
     "-p", "CALIBRATION_IMAGES", "2", "-y", "CALIBRATION_SWEEP: [2]", "-p", "EVAL_IMAGES", "8"], "full"),
    ("03_quantization.ipynb", "mobilenet_v3_small", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED", "False",
     "-p", "CALIBRATION_IMAGES", "4", "-y", "CALIBRATION_SWEEP: [4]"], "full"),
    # the trained model, one thread, a one-image calibration
    ("03_quantization.ipynb", "lite0-1thread-calib1", ["-p", "THREADS", "1", "-p", "CALIBRATION_IMAGES", "1",
     "-y", "CALIBRATION_SWEEP: [1, 8]"], "full"),
    # --- lab 04 ---
    # the cheapest run: random weights (fidelity claims skipped), one QAT step, few probe images
    ("04_qat_mixed_precision.ipynb", "tiny-1step", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
     "-p", "QAT_STEPS", "1", "-p", "EVAL_IMAGES", "4", "-p", "SENSITIVITY_IMAGES", "2"], "core"),
    # an untrained torchvision model with residual adds at one thread
    ("04_qat_mixed_precision.ipynb", "mobilenet_v2-1thread", ["-p", "MODEL", "mobilenet_v2", "-p", "PRETRAINED", "False",
     "-p", "THREADS", "1", "-p", "QAT_STEPS", "1", "-p", "EVAL_IMAGES", "8"], "full"),
    # the trained model, every variant lowered in smoke mode, one thread
    ("04_qat_mixed_precision.ipynb", "lite0-lowered-1", ["-p", "THREADS", "1", "-p", "LOWER_EVERY_VARIANT", "True",
     "-p", "QAT_STEPS", "2"], "full"),
    # --- lab 05 ---
    # 10 classes, 64×64, one thread (the .pte runs in-process with a pool of 1)
    ("05_torchscript.ipynb", "tiny-1thread", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False", "-p", "THREADS", "1"],
     "core"),
    # untrained torchvision model (once WeightsUnavailableError: no PRETRAINED)
    ("05_torchscript.ipynb", "resnet18-untrained", ["-p", "MODEL", "resnet18", "-p", "PRETRAINED", "False"], "full"),
    ("05_torchscript.ipynb", "mnv3-untrained-1", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED", "False",
                                                  "-p", "THREADS", "1", "-p", "SECONDS_PER_MEASUREMENT", "0.3"], "full"),
    # --- lab 06 ---
    # no TF-SAME padding (no slice surgery), 10 classes (top-5 skipped), one photo, few calibration crops, one thread
    ("06_legacy_int8_nnapi.ipynb", "tiny-small-sets-1", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
     "-p", "THREADS", "1", "-p", "PHOTOS", "1", "-p", "CALIBRATION_IMAGES", "4"], "core"),
    # torchvision's MobileNetV2 untrained (was tests/test_notebooks.py::test_nnapi_lab_runs_with_another_model)
    ("06_legacy_int8_nnapi.ipynb", "mnv2-untrained", ["-p", "MODEL", "mobilenet_v2", "-p", "PRETRAINED", "False",
     "-p", "PHOTOS", "1"], "full"),
    # the trained model with other photo and calibration counts at one thread
    ("06_legacy_int8_nnapi.ipynb", "lite0-3photos-1", ["-p", "THREADS", "1", "-p", "PHOTOS", "3",
     "-p", "CALIBRATION_IMAGES", "2"], "full"),
    # --- lab 07 ---
    # the cheapest run: a random 16-feature backbone, one thread, small images and batch
    ("07_fine_tuning.ipynb", "tiny-1thread-small", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
     "-p", "THREADS", "1", "-p", "IMAGE_SIZE", "64", "-p", "BATCH", "8"], "core"),
    # the failing run: Lite0 at 64 px, batch 8 — the learning rate now follows the features and the batch
    ("07_fine_tuning.ipynb", "lite0-64px-batch8", ["-p", "IMAGE_SIZE", "64", "-p", "BATCH", "8"], "full"),
    # the same with the old fixed lr: reported as diverging, not a failed assert
    ("07_fine_tuning.ipynb", "lite0-64px-batch8-lr0.05", ["-p", "IMAGE_SIZE", "64", "-p", "BATCH", "8",
     "-p", "LR", "0.05"], "full"),
    ("07_fine_tuning.ipynb", "mobilenet_v3_small-1thread", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED",
     "False", "-p", "THREADS", "1", "-p", "IMAGE_SIZE", "64", "-p", "BATCH", "16"], "full"),
    ("07_fine_tuning.ipynb", "resnet18-unfreeze", ["-p", "MODEL", "resnet18", "-p", "PRETRAINED", "False",
     "-y", "UNFREEZE: [layer4]", "-p", "IMAGE_SIZE", "64"], "full"),
    ("07_fine_tuning.ipynb", "mobilenet_v2-batch4", ["-p", "MODEL", "mobilenet_v2", "-p", "PRETRAINED", "False",
     "-p", "IMAGE_SIZE", "48", "-p", "BATCH", "4"], "full"),
    # --- lab 08 ---
    # threads in descending order with a runtime subset: ExecuTorch at 1 thread runs in a child process
    ("08_benchmarking.ipynb", "tiny-2-1-subset", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
                                                  "-y", "THREADS: [2, 1]",
                                                  "-y", "RUNTIMES: [eager, executorch-xnnpack, onnxruntime]"], "core"),
    # one sweep combination (was tests/test_notebooks.py::test_benchmarking_lab_runs_a_subset_of_its_matrix)
    ("08_benchmarking.ipynb", "tiny-1-int8-only", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
                                                   "-y", "THREADS: [1]",
                                                   "-y", "RUNTIMES: [executorch-xnnpack, onnxruntime]",
                                                   "-y", "PRECISIONS: [int8]"], "full"),
    # an untrained torchvision model with every runtime, threads ascending, more rounds
    ("08_benchmarking.ipynb", "mnv3-untrained-all-1-2", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED", "False",
                                                         "-y", "THREADS: [1, 2]", "-p", "ROUNDS", "4"], "full"),
    # --- lab 09 ---
    # 10 classes, 64×64, untrained, one thread; a U85 as the main target (its own TOSA profile) beside the smallest U55
    ("09_npu_accelerators.ipynb", "tiny-1thread-u85-first", ["-p", "MODEL", "tiny_cnn", "-p", "PRETRAINED", "False",
     "-p", "THREADS", "1", "-y", "ETHOSU_TARGETS: [ethos-u85-256, ethos-u55-32]", "-p", "CALIBRATION_IMAGES", "2",
     "-p", "TOSA_IMAGES", "2", "-p", "SECONDS_PER_MEASUREMENT", "0.3"], "core"),
    # hardswish and squeeze-excitation, untrained, a U65 only, a second model
    ("09_npu_accelerators.ipynb", "mnv3-untrained-u65-second", ["-p", "MODEL", "mobilenet_v3_small", "-p", "PRETRAINED",
     "False", "-y", "ETHOSU_TARGETS: [ethos-u65-512]", "-p", "SECOND_MODEL", "tiny_cnn", "-p", "TOSA_IMAGES", "2"], "full"),
    # plain ReLU, max pooling, no padding ops, untrained
    ("09_npu_accelerators.ipynb", "resnet18-untrained", ["-p", "MODEL", "resnet18", "-p", "PRETRAINED", "False",
     "-p", "TOSA_IMAGES", "2", "-p", "LATENCY_BUDGET_MS", "30.0"], "full"),
]


def _selected():
    for notebook, name, arguments, tier in MATRIX:
        marks = [] if tier == "core" or FULL else [pytest.mark.skip(reason="in make test-params only")]
        yield pytest.param(notebook, arguments, id=f"{notebook[:2]}-{name}", marks=marks)


@pytest.mark.parametrize(("notebook", "arguments"), list(_selected()))
def test_lab_runs_with_these_parameters(tmp_path, notebook, arguments):
    store, text, executed = run_lab(tmp_path, notebook, "-p", "SMOKE", "True", *arguments)
    assert not runtime_spam(executed), f"runtime log spam on the learner's screen: {runtime_spam(executed)[:5]}"
    assert "Traceback" not in text, "a cell printed a traceback although the run passed"
    lab = notebook.removesuffix(".ipynb")
    rows = store.latest_run(lab)
    assert len(rows) > 0, f"{lab} stored no rows"
    given = [arguments[i + 2] for i in range(len(arguments) - 2) if arguments[i:i + 2] == ["-p", "MODEL"]]
    second = [arguments[i + 2] for i in range(len(arguments) - 2) if arguments[i:i + 2] == ["-p", "SECOND_MODEL"]]
    if given and "model" in rows:
        assert set(rows["model"].dropna()) <= {given[0], *second}, f"rows for other models: {set(rows['model'])}"
