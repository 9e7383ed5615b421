"""Lab exercise on post-training quantization: scale and zero point computed by hand.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import ptq as checks``.
"""

from __future__ import annotations

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record


def check_qparams(answer: tuple[float, int] | None, model_name: str = "efficientnet_lite0",
                  tensor: str = "classifier.weight") -> CheckResult:
    """Exercise 03.1: (scale, zero_point) of ``tensor`` for per-tensor asymmetric uint8 (0…255).

    The expected values come from PyTorch's own ``MinMaxObserver(quint8, per_tensor_affine)``.
    """
    from torch.ao.quantization.observer import MinMaxObserver

    from labkit.model.models import load_model

    exercise = "03.1"
    if answer is None:
        return not_attempted(exercise)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        fail(exercise, "answer with a pair (scale, zero_point), e.g. (0.0123, 97)")
    scale, zero_point = float(answer[0]), answer[1]
    weights = dict(load_model(model_name).module.named_parameters()).get(tensor)
    weights = None if weights is None else weights.detach()
    if weights is None:
        fail(exercise, f"{model_name} has no parameter {tensor!r}")
    observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    observer(weights.detach())
    expected_scale, expected_zero = (float(v) for v in observer.calculate_qparams())
    low, high = float(weights.min()), float(weights.max())
    if abs(scale - expected_scale) > 1e-6 * expected_scale:
        hint = f"scale {scale:.6g} is not right: the {tensor} values span [{low:.4f}, {high:.4f}]"
        if abs(scale - (high - low) / 256) < 1e-6 * expected_scale:
            hint += "; 0…255 has 255 steps between its ends, not 256"
        elif abs(scale - max(-low, high) / 127.5) < 1e-6 * expected_scale:
            hint += "; that is the symmetric scale: asymmetric spans min to max"
        fail(exercise, hint)
    if not float(zero_point).is_integer():
        fail(exercise, f"a zero point is an integer (the integer that stands for 0.0); round {zero_point}")
    if int(zero_point) != int(expected_zero):
        fail(exercise, f"zero point {int(zero_point)} is off: it is the integer that stands for 0.0, "
                        f"qmin − round(min / scale), clamped to 0…255")
    return record(CheckResult(exercise, True, f"scale {scale:.6g}, zero point {int(zero_point)}: the observer agrees"))
