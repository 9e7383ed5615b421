"""Lab exercises on fine-tuning: which units to unfreeze within a budget, one SGD step as ExecuTorch does it.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import fine_tuning as checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record

UNFREEZE_BUDGET = 1_100_000
"""Exercise 07.1's budget of trainable parameters (the new 10-class classifier included)."""


def lite0_units(num_classes: int = 10) -> list[tuple[str, int]]:
    """EfficientNet-Lite0's units in forward order with their parameter counts, with a ``num_classes`` classifier.

    The units are the backbone units lab 07 unfreezes (:func:`labkit.deploy.ondevice.backbone_units`), then the classifier.
    """
    from labkit.deploy.ondevice import backbone_units
    from labkit.model.efficientnet_lite import EfficientNetLite

    model = EfficientNetLite(num_classes=num_classes)
    units = [*backbone_units("efficientnet_lite0", model)[0], ("classifier", model.classifier)]
    return [(name, sum(p.numel() for p in unit.parameters())) for name, unit in units]


def check_unfreeze(names: Sequence[str] | None, budget: int = UNFREEZE_BUDGET) -> CheckResult:
    """Exercise 07.1: the longest run of *last* units of EfficientNet-Lite0 (classifier included) within ``budget``."""
    exercise = "07.1"
    if names is None:
        return not_attempted(exercise)
    units = lite0_units()
    known = [name for name, _ in units]
    if isinstance(names, str) or any(n not in known for n in names):
        fail(exercise, f"answer with a list of unit names from {known}")
    counts = dict(units)
    total = sum(counts[n] for n in names)
    suffix, used = [], 0
    for name, count in reversed(units):
        if used + count > budget:
            break
        suffix.insert(0, name)
        used += count
    if total > budget:
        fail(exercise, f"{total:,} trainable parameters: over the budget of {budget:,}")
    if sorted(names, key=known.index) != [n for n in known if n in names] or set(names) != set(suffix):
        if not set(names) <= set(suffix) or "classifier" not in names:
            fail(exercise, "fine-tuning trains the *last* units first (closest to the new task), always with the new "
                            "classifier: pick a run that ends with 'classifier'")
        fail(exercise, f"{total:,} parameters: you can unfreeze more of the last units within {budget:,}")
    return record(CheckResult(exercise, True, f"{suffix} — {used:,} trainable parameters of {budget:,}"))


def check_sgd_step(sgd_step: Callable | None) -> CheckResult:
    """Exercise 07.2: ``sgd_step(param, grad, lr)`` returns the updated tensor exactly as ExecuTorch's SGD does."""
    import warnings

    exercise = "07.2"
    if sgd_step is None:
        return not_attempted(exercise)
    if not callable(sgd_step):
        fail(exercise, "pass your function itself: sgd_step(param, grad, lr) -> new param")
    from labkit.deploy.ondevice import WithLoss, training_program

    generator = torch.Generator().manual_seed(6)
    x, y = torch.randn(4, 5, generator=generator), torch.tensor([0, 1, 2, 1])
    torch.manual_seed(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from executorch.extension.training import _load_for_executorch_for_training_from_buffer, get_sgd_optimizer

        program = training_program(WithLoss(torch.nn.Linear(5, 3)), (x, y))  # kept: the runtime reads it in place
        module = _load_for_executorch_for_training_from_buffer(program)
        module.forward_backward("forward", (x, y))
        params = module.named_parameters()
        grads = {k: v.clone() for k, v in module.named_gradients().items()}
        before = {k: v.clone() for k, v in params.items()}
        mine = {k: sgd_step(before[k].clone(), grads[k], 0.3) for k in before}
        get_sgd_optimizer(params, 0.3).step(module.named_gradients())
    for name, value in module.named_parameters().items():
        got = mine[name]
        if not isinstance(got, torch.Tensor) or got.shape != value.shape:
            fail(exercise, f"{name}: return a tensor shaped like the parameter {tuple(value.shape)}")
        gap = float((got - value).abs().max())
        if gap > 1e-6:
            sign = float(((got - before[name]) * grads[name]).sum())
            hint = "step *against* the gradient" if sign > 0 else "the step is lr × gradient, nothing more"
            fail(exercise, f"{name}: differs from ExecuTorch's SGD by {gap:.3g} — {hint}")
    return record(CheckResult(exercise, True, "your step equals ExecuTorch's SGD on every parameter"))
