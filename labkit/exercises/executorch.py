"""Lab exercises on ExecuTorch: a head that delegates fully to XNNPACK, the memory arena predicted.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import executorch as checks``.
"""

from __future__ import annotations

import torch

from labkit.deploy.pte import non_delegated_ops  # the lab calls it as checks.non_delegated_ops(module, example)
from labkit.exercises.core import CheckResult, fail, not_attempted, record


class ErfGeluHead(torch.nn.Module):
    """Exercise 01.1's model: a conv head whose activation is GELU written out with ``torch.erf``.

    XNNPACK has no ``erf``, so the partitioner leaves it to the portable kernels and the graph
    splits into several delegates. The learner rewrites :meth:`activation` so everything delegates.
    """

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(5)
        self.conv1 = torch.nn.Conv2d(16, 32, 1)
        self.conv2 = torch.nn.Conv2d(32, 8, 1)
        with torch.no_grad():
            for param in self.parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.erf(x / 1.4142135623730951))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.activation(self.conv1(x)))


def check_fully_delegated(module: torch.nn.Module | None) -> CheckResult:
    """Exercise 01.1: a rewrite of :class:`ErfGeluHead` that computes the same outputs (within
    1e-4) and lowers to XNNPACK with no operator left outside the delegate."""
    exercise = "01.1"
    if module is None:
        return not_attempted(exercise)
    example = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = ErfGeluHead().eval()(example), module.eval()(example)
    if got.shape != expected.shape:
        fail(exercise, f"output shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
    error = float((got - expected).abs().max())
    if error > 1e-4:
        fail(exercise, f"outputs differ from the original by up to {error:.3g}: keep the weights and the exact GELU "
                        f"(torch.nn.functional.gelu with approximate='none' computes the same function)")
    left = non_delegated_ops(module, example)
    if left:
        fail(exercise, f"still outside XNNPACK: {left}; which op in activation() does XNNPACK lack?")
    return record(CheckResult(exercise, True, f"fully delegated, max abs difference {error:.1e}"))


def check_arena_prediction(predicted_bytes: float | None, model_name: str = "efficientnet_lite0") -> CheckResult:
    """Exercise 01.2: predict the portable arena of ``model_name`` (the lab's ``MODEL``) at batch 2; within 10 % passes.

    The checker lowers the batch-2 program itself and reads its plan (the plan does not depend on the weights).
    """
    import warnings

    from executorch.exir import to_edge_transform_and_lower

    from labkit.deploy.pte import memory_plan
    from labkit.model.models import UntrainedModelWarning, load_model

    exercise = "01.2"
    if predicted_bytes is None:
        return not_attempted(exercise)
    if isinstance(predicted_bytes, bool) or not isinstance(predicted_bytes, (int, float)) or not predicted_bytes > 0:
        fail(exercise, f"answer with a number of bytes, e.g. 12_000_000; got {predicted_bytes!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedModelWarning)  # random weights plan the same arena
        loaded = load_model(model_name, pretrained=False)
    shape = (2, *loaded.spec.input_shape[1:])
    program = to_edge_transform_and_lower(torch.export.export(loaded.module, (torch.zeros(shape),))).to_executorch()
    actual = memory_plan(program).arena_bytes
    relative = abs(float(predicted_bytes) - actual) / actual
    if relative > 0.10:
        hint = f"{predicted_bytes / 1e6:.2f} MB is {relative:.0%} off"
        if relative < 0.6 and predicted_bytes < actual:
            hint += "; activations hold one slice per image — what happens to every activation tensor at batch 2?"
        fail(exercise, hint)
    return record(CheckResult(exercise, True, f"predicted {predicted_bytes / 1e6:.2f} MB, planned {actual / 1e6:.2f} MB "
                                               f"({relative:.1%} off)"))
