"""Training inside the ExecuTorch runtime (the program an app would run on the phone), for lab 07.

The lab shows the calls; this module keeps the two quirks of executorch 1.5.1's experimental
training API in one place: parameters exist only after the first ``forward_backward``, and the
optimizer must be created from those parameter tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from labkit.errors import LabkitError


class WithLoss(nn.Module):
    """``module`` followed by a loss: ``forward(x, target)`` returns ``(loss, logits)``, what a training program exports.

    The logits are detached: the joint graph may only differentiate the scalar loss.
    """

    def __init__(self, module: nn.Module, loss: nn.Module | None = None):
        super().__init__()
        self.module = module
        self.loss = loss or nn.CrossEntropyLoss()

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.module(x)
        return self.loss(logits, target), logits.detach()


def training_program_manager(module_with_loss: nn.Module, example_inputs: Sequence[torch.Tensor]):
    """``torch.export`` → ``_export_forward_backward`` (the joint forward + backward graph) → ``to_executorch()``.

    The first output of ``module_with_loss`` must be the scalar loss. Returns the program manager
    (``.buffer`` is the ``.pte``; :func:`labkit.deploy.pte.memory_plan` reads its planned memory).
    """
    from executorch.exir import to_edge
    from torch.export.experimental import _export_forward_backward

    exported = torch.export.export(module_with_loss, tuple(example_inputs), strict=False)
    joint = _export_forward_backward(exported)
    return to_edge(joint).to_executorch()


def training_program(module_with_loss: nn.Module, example_inputs: Sequence[torch.Tensor]) -> bytes:
    """The ``.pte`` bytes of :func:`training_program_manager`."""
    return training_program_manager(module_with_loss, example_inputs).buffer


class ExecuTorchTrainer:
    """SGD steps of a training ``.pte`` in the ExecuTorch runtime.

    ``step(x, target)`` runs forward + backward in the runtime and applies ExecuTorch's own SGD; it
    returns the loss of the batch (computed *before* the update, as in eager training).
    """

    def __init__(self, program: bytes, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        from executorch.extension.training import _load_for_executorch_for_training_from_buffer

        if lr <= 0:
            raise ValueError(f"the learning rate must be positive, got {lr}")
        self.program = program  # the runtime reads the buffer in place: it must outlive the module
        try:
            self.module = _load_for_executorch_for_training_from_buffer(program)
        except RuntimeError as exc:
            raise LabkitError(f"ExecuTorch could not load the training program ({exc}); re-create it with "
                              f"labkit.deploy.ondevice.training_program") from exc
        self.hyper = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        self.optimizer = None
        self.steps = 0

    def step(self, x: torch.Tensor, target: torch.Tensor) -> float:
        """One forward + backward + SGD update; the batch's loss."""
        from executorch.extension.training import get_sgd_optimizer

        try:
            outputs = self.module.forward_backward("forward", (x.contiguous(), target.contiguous()))
        except RuntimeError as exc:
            raise LabkitError(f"the training program rejected inputs shaped {tuple(x.shape)} / {tuple(target.shape)} "
                              f"({exc}): it was exported for one fixed batch shape — use exactly that") from exc
        if self.optimizer is None:  # executorch 1.5.1: parameters appear after the first forward_backward
            self.optimizer = get_sgd_optimizer(self.module.named_parameters(), **self.hyper)
        self.optimizer.step(self.module.named_gradients())
        self.steps += 1
        return float(outputs[0])

    def parameters(self) -> dict[str, torch.Tensor]:
        """The runtime's current parameters by name (copies). Only after the first :meth:`step`."""
        if self.steps == 0:
            raise LabkitError("no parameters yet: ExecuTorch exposes them after the first step")
        return {name: value.detach().clone() for name, value in self.module.named_parameters().items()}


# Each registry model's backbone as units in forward order (what lab 07 unfreezes from the end).
UNIT_NAMES: dict[str, list[str]] = {
    "efficientnet_lite0": ["stem", *[f"blocks.{i}" for i in range(16)], "head"],
    "mobilenet_v2": [f"features.{i}" for i in range(19)],
    "mobilenet_v3_small": [f"features.{i}" for i in range(13)],
    "resnet18": ["stem", "layer1", "layer2", "layer3", "layer4"],
    "tiny_cnn": ["block1", "block2"],
}


def backbone_unit_names(model_name: str) -> list[str]:
    """The names of ``model_name``'s backbone units in forward order (no model is built)."""
    if model_name not in UNIT_NAMES:
        raise LabkitError(f"no backbone units known for {model_name!r}; known: {sorted(UNIT_NAMES)}")
    return list(UNIT_NAMES[model_name])


def backbone_units(model_name: str, module: nn.Module) -> tuple[list[tuple[str, nn.Module]], nn.Module]:
    """``model_name``'s backbone split into units (sharing the model's parameters) and its global pooling.

    ``nn.Sequential(*unit modules, pool, nn.Flatten())`` computes the pooled features the model's
    classifier sees. Units are the model's own blocks; where the model calls several modules by name
    (ResNet's ``conv1, bn1, relu, maxpool``; TinyCNN's conv–BN–ReLU triples), they are grouped in a
    ``Sequential``.
    """
    names = backbone_unit_names(model_name)
    if model_name == "efficientnet_lite0":
        modules = [module.stem, *module.blocks, module.head]
        pool = module.pool
    elif model_name in ("mobilenet_v2", "mobilenet_v3_small"):
        modules = list(module.features)
        pool = getattr(module, "avgpool", None) or nn.AdaptiveAvgPool2d(1)  # MobileNetV2 pools in forward()
    elif model_name == "resnet18":
        modules = [nn.Sequential(module.conv1, module.bn1, module.relu, module.maxpool),
                   module.layer1, module.layer2, module.layer3, module.layer4]
        pool = module.avgpool
    else:  # tiny_cnn
        modules = [module.features[:3], module.features[3:]]
        pool = module.pool
    if len(modules) != len(names):
        raise LabkitError(f"{model_name} has {len(modules)} backbone units, the table expects {len(names)}")
    return list(zip(names, modules, strict=True)), pool
