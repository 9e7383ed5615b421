"""Lab exercise on TorchScript: a data-dependent head rewritten so that it exports.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import torchscript as checks``.
"""

from __future__ import annotations

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record


class GatedHead(torch.nn.Module):
    """Exercise 05.1's model: doubles the features when their mean is positive, negates them otherwise, flattens.

    Eager PyTorch runs it correctly; ``torch.jit.trace`` bakes in one branch and the batch size
    (with TracerWarnings); ``torch.export`` refuses the Python ``if`` on a tensor value and the
    ``int(...)`` of the batch size.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 0:
            x = x * 2
        else:
            x = -x
        return x.view(int(x.shape[0]), -1)


def check_exportable(module: torch.nn.Module | None) -> CheckResult:
    """Exercise 05.1: ``module`` computes what :class:`GatedHead` computes and exports with a dynamic batch.

    The checker exports it with ``Dim("batch")`` and compares the exported program with
    ``GatedHead`` on batches of 1 and 3 whose means are positive and negative.
    """
    from torch.export import Dim

    exercise = "05.1"
    if module is None:
        return not_attempted(exercise)
    if not isinstance(module, torch.nn.Module):
        fail(exercise, f"pass an nn.Module instance, not {type(module).__name__}")
    generator = torch.Generator().manual_seed(3)
    example = torch.rand(2, 4, 5, 5, generator=generator)
    try:
        exported = torch.export.export(module.eval(), (example,), dynamic_shapes=({0: Dim("batch", max=64)},))
    except Exception as error:  # export raises many error types; the first line says which construct failed
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        fail(exercise, f"torch.export failed: {type(error).__name__}: {first[:300]} — replace the Python `if` on a "
                        f"tensor value with torch.where or torch.cond, and keep the batch size symbolic (no int())")
    reference = GatedHead()
    for batch in (1, 3):
        for sign in (1.0, -1.0):
            x = sign * torch.rand(batch, 4, 5, 5, generator=generator)
            with torch.no_grad():
                expected, got = reference(x), exported.module()(x)
            if tuple(got.shape) != tuple(expected.shape):
                fail(exercise, f"batch {batch}: output shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
            if not torch.allclose(got, expected, atol=1e-6):
                branch = "positive" if sign > 0 else "negative"
                fail(exercise, f"batch {batch}, {branch} mean: outputs differ by {float((got - expected).abs().max()):.3g}"
                                f" — does your model take the right branch for every input?")
    return record(CheckResult(exercise, True, "exports with a dynamic batch and matches GatedHead on both branches "
                                               "and batch sizes 1 and 3"))
