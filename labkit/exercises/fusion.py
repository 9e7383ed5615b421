"""Lab exercise on fusion: conv + BatchNorm folded into one conv that computes the same.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import fusion as checks``.
"""

from __future__ import annotations

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record


def check_fusion(original: torch.nn.Module | None, fused: torch.nn.Module | None,
                 example: torch.Tensor | None = None) -> CheckResult:
    """Exercise 02.1: ``fused`` is ``original`` with every BatchNorm folded away.

    Passes when ``original`` has at least one BatchNorm, ``fused`` has none, and in eval mode both
    give the same outputs on ``example`` within 1e-4 (relative to the output's scale).
    """
    exercise = "02.1"
    if original is None or fused is None:
        return not_attempted(exercise)
    norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    if not any(isinstance(m, norms) for m in original.modules()):
        fail(exercise, "your original model has no BatchNorm layer, so there is nothing to fold: add conv → bn (→ relu)")
    left = [name for name, m in fused.named_modules() if isinstance(m, norms)]
    if left:
        fail(exercise, f"the fused model still has BatchNorm layers: {left}")
    if fused is original:
        fail(exercise, "fused is the same object as original: fuse a copy (copy.deepcopy) so you can compare them")
    if example is None:
        fail(exercise, "pass an example input tensor shaped like your model's input")
    original.eval()
    fused.eval()
    with torch.no_grad():
        expected, got = original(example), fused(example)
    scale = float(expected.abs().max()) or 1.0
    error = float((got - expected).abs().max()) / scale
    if error > 1e-4:
        fail(exercise, f"outputs differ by {error:.2e} of their scale: were the models in eval mode when you fused "
                        f"them, and did you fold (not just delete) each BatchNorm?")
    return record(CheckResult(exercise, True, f"no BatchNorm left, outputs equal within {error:.1e} (relative)"))
