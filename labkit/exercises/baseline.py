"""Lab exercises on the baseline: the model input by hand, the size of the fp32 weights.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import baseline as checks``.
"""

from __future__ import annotations

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record


def check_preprocessing(answer: torch.Tensor | None, sample_name: str = "coffee") -> CheckResult:
    """Exercise 00.1: the model input for a sample photo, computed with plain torch ops.

    Must equal :func:`labkit.model.preprocessing.preprocess` with EfficientNet-Lite0's spec within 1e-4.
    """
    from labkit.model.data import sample
    from labkit.model.models import REGISTRY
    from labkit.model.preprocessing import preprocess

    exercise = "00.1"
    if answer is None:
        return not_attempted(exercise)
    spec = REGISTRY["efficientnet_lite0"].preprocess
    expected = preprocess(sample(sample_name).image(), spec)
    if not isinstance(answer, torch.Tensor):
        fail(exercise, f"return a torch.Tensor, not {type(answer).__name__}")
    if tuple(answer.shape) != tuple(expected.shape):
        fail(exercise, f"shape {tuple(answer.shape)}, expected {tuple(expected.shape)} (batch, channels, height, width)")
    if answer.dtype != torch.float32:
        fail(exercise, f"dtype {answer.dtype}, expected torch.float32")
    if not answer.is_contiguous():
        fail(exercise, "the tensor is not contiguous: ExecuTorch would silently read it wrongly; call .contiguous()")
    error = float((answer - expected).abs().max())
    if error > 1e-4:
        low, high = float(answer.min()), float(answer.max())
        hint = f"max abs difference {error:.4f}; your values span [{low:.2f}, {high:.2f}], expected [-1, 1]"
        if high > 2:
            hint += " — did you forget to divide by 255?"
        elif error > 0.05:
            hint += " — check the order: resize the short side to 256, centre-crop 224, then (x/255 - 0.5) / 0.5"
        fail(exercise, hint)
    return record(CheckResult(exercise, True, f"matches the kit's preprocessing (max abs difference {error:.1e})"))


def fp32_state_dict_bytes(model_name: str = "efficientnet_lite0") -> tuple[int, int]:
    """(parameter count, bytes of ``torch.save(state_dict)``) of a registry model."""
    import io

    from labkit.model.models import count_parameters, load_model

    module = load_model(model_name).module
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return count_parameters(module), buffer.getbuffer().nbytes


def check_size_estimate(estimate_mb: float | None) -> CheckResult:
    """Exercise 00.2: predict EfficientNet-Lite0's fp32 weight file size (MB = 10^6 bytes) from its
    parameter count. Passes within 5 % of the real ``torch.save(state_dict)`` size, which the
    checker measures itself. The reasoning: a float32 takes 4 bytes (BatchNorm buffers and the file
    format add a little).
    """
    exercise = "00.2"
    if estimate_mb is None:
        return not_attempted(exercise)
    parameters, size_bytes = fp32_state_dict_bytes()
    measured_mb = size_bytes / 1e6
    relative = abs(float(estimate_mb) - measured_mb) / measured_mb
    if relative > 0.05:
        ratio = float(estimate_mb) / (parameters / 1e6)
        hint = f"{estimate_mb:.2f} MB is {relative:.0%} off the real size"
        if abs(ratio - 1) < 0.1:
            hint += "; that is 1 byte per parameter — how many bytes does a float32 take?"
        elif abs(ratio - 4 / 1.048576) < 0.1:
            hint += "; the kit's MB is 10^6 bytes, not 2^20 (MiB)"
        elif abs(ratio - 8) < 0.5:
            hint += "; that is 8 bytes per parameter (float64); the model is float32"
        fail(exercise, hint)
    return record(CheckResult(exercise, True, f"{estimate_mb:.2f} MB vs real {measured_mb:.2f} MB ({relative:.1%} off)"))
