"""The preprocessing spec: one serializable object that the labs and the Android app both follow.

Pipeline, in this exact order (the Android demo re-implements it from ``preprocess.json``):

1. decode to RGB, uint8, height × width × 3 (see :func:`labkit.model.data.load_rgb`);
2. convert to float32 in [0, 255], layout C × H × W, contiguous;
3. resize so the short side is ``resize_short_side`` (the long side is ``int(long * short_target /
   short)``, truncated), bilinear with half-pixel centres and antialiasing (PIL-style triangle
   filter; ``torch.nn.functional.interpolate(..., antialias=True)``);
4. centre-crop ``crop_size`` × ``crop_size`` (offset ``round((size - crop) / 2)``);
5. scale by ``1/255`` then normalize per channel: ``(x - mean) / std``;
6. add the batch dimension: 1 × 3 × crop × crop, contiguous NCHW float32.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from labkit.errors import ImageInputError, ParameterError
from labkit.params import check_int

INTERPOLATIONS = ("bilinear", "bicubic")  # what resize_short_side can do with half-pixel centres (and antialias)
# What the pipeline always makes; the fields record it for the Android app, which refuses any other value
# (android_demo/.../core/PreprocessSpec.java), so a spec may not claim anything else.
FIXED: dict[str, str] = {"channel_order": "RGB", "layout": "NCHW", "dtype": "float32"}
# Choices this pipeline has but the Android app does not implement: its PreprocessSpec.java refuses other values.
ANDROID_ONLY: dict[str, object] = {"interpolation": "bilinear", "antialias": True}
# Keys preprocess.json must have (the app refuses a file without them); notes and input_shape are optional.
REQUIRED_KEYS: tuple[str, ...] = ("resize_short_side", "crop_size", "mean", "std", "interpolation", "antialias",
                                  *FIXED, "value_scale")


@dataclass(frozen=True)
class PreprocessSpec:
    """What a model expects, as data (serializable to JSON for the Android demo).

    ``channel_order``, ``layout`` and ``dtype`` record what the pipeline always makes (RGB, NCHW, float32):
    any other value is refused, here and by the Android app. Bicubic resizing and no antialiasing are
    choices of this pipeline that the app lacks: :meth:`check_android` (and :meth:`save`) refuse them.
    """

    resize_short_side: int = 256
    crop_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    interpolation: str = "bilinear"
    antialias: bool = True
    channel_order: str = "RGB"
    layout: str = "NCHW"
    dtype: str = "float32"
    value_scale: float = 1.0 / 255.0
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("resize_short_side", "crop_size"):
            value = getattr(self, name)
            check_int(f"PreprocessSpec.{name} (pixels)", value, 1)
        for name in ("mean", "std"):
            value = getattr(self, name)
            if (not isinstance(value, (tuple, list)) or len(value) != 3
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
                raise ParameterError(f"PreprocessSpec.{name} must be three numbers (R, G, B), got {value!r}")
            if not all(math.isfinite(v) for v in value):
                raise ParameterError(f"PreprocessSpec.{name} must be finite numbers, got {value!r}")
        if any(v <= 0 for v in self.std):
            raise ParameterError(f"PreprocessSpec.std must be positive (it divides; the Android app refuses 0 and "
                                 f"negative values), got {self.std!r}; e.g. std=(0.229, 0.224, 0.225) or (0.5, 0.5, 0.5)")
        if self.resize_short_side < self.crop_size:
            raise ParameterError(f"PreprocessSpec.resize_short_side ({self.resize_short_side}) must be at least "
                                 f"crop_size ({self.crop_size}): the crop is cut from the resized image; e.g. "
                                 f"resize_short_side=256, crop_size=224")
        if not isinstance(self.interpolation, str) or self.interpolation not in INTERPOLATIONS:
            raise ParameterError(f"PreprocessSpec.interpolation must be one of {list(INTERPOLATIONS)}, "
                                 f"got {self.interpolation!r}")
        if not isinstance(self.antialias, bool):
            raise ParameterError(f"PreprocessSpec.antialias must be True or False, got {self.antialias!r}")
        for name, only in FIXED.items():
            value = getattr(self, name)
            if not (isinstance(value, str) and value == only):
                raise ParameterError(
                    f"PreprocessSpec.{name} must be {only!r}, got {value!r}: the pipeline always makes "
                    f"{FIXED['channel_order']}, {FIXED['layout']}, {FIXED['dtype']} (and the Android app refuses any "
                    f"other value); convert the image or the tensor yourself after preprocess() if a model needs another")
        if (not isinstance(self.value_scale, (int, float)) or isinstance(self.value_scale, bool)
                or not math.isfinite(self.value_scale) or self.value_scale <= 0):
            raise ParameterError(f"PreprocessSpec.value_scale must be a number > 0 (1/255 for 0–255 pixels), "
                                 f"got {self.value_scale!r}")

    def check_android(self) -> PreprocessSpec:
        """Raise :class:`ParameterError` if the Android demo cannot follow this spec exactly (its
        ``PreprocessSpec.java`` implements bilinear resizing with antialiasing only); returns the spec."""
        for name, only in ANDROID_ONLY.items():
            value = getattr(self, name)
            if value != only or type(value) is not type(only):
                raise ParameterError(f"PreprocessSpec.{name} is {value!r}, but the Android app implements "
                                     f"{name}={only!r} only and refuses this preprocess.json; use "
                                     f"dataclasses.replace(spec, {name}={only!r}) for a spec the app can follow")
        return self

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Shape of the model input this spec produces for one image."""
        return (1, 3, self.crop_size, self.crop_size)

    def to_json(self) -> str:
        """The spec as JSON (keys as in this dataclass, plus ``input_shape``)."""
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> PreprocessSpec:
        """Inverse of :meth:`to_json`, as strict as the Android app reading ``preprocess.json``: unknown or
        missing keys, an ``input_shape`` that does not match ``crop_size`` and every value the constructor
        refuses are errors (bicubic / no antialiasing load, as this pipeline implements them: see
        :meth:`check_android`). The app also accepts a ``value_scale`` ≤ 0, which is refused here."""
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ParameterError(f"a preprocess spec must be JSON text as to_json() writes it ({exc}); "
                                 f"re-create it with spec.save(path)") from exc
        if not isinstance(data, dict):
            raise ParameterError(f"a preprocess spec is a JSON object with keys like crop_size, got {type(data).__name__}; "
                                 f"re-create it with spec.save(path)")
        has_shape, shape = "input_shape" in data, data.pop("input_shape", None)
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ParameterError(f"unknown keys in preprocess spec: {sorted(unknown)}; expected a subset of {sorted(known)}")
        missing = [key for key in REQUIRED_KEYS if key not in data]
        if missing:
            raise ParameterError(f"the preprocess spec has no {missing} (the Android app refuses it too): every key "
                                 f"to_json() writes must be there; re-create it with spec.save(path)")
        for key in ("mean", "std"):
            if isinstance(data[key], list):
                data[key] = tuple(data[key])
        for key in ("resize_short_side", "crop_size"):  # JSON has one number type: 224.0 is the whole number 224
            if isinstance(data[key], float) and data[key].is_integer():
                data[key] = int(data[key])
        spec = cls(**data)
        if has_shape and shape != list(spec.input_shape):
            raise ParameterError(f"the preprocess spec's input_shape {shape!r} does not match crop_size {spec.crop_size} "
                                 f"(expected {list(spec.input_shape)}); re-create it with spec.save(path)")
        return spec

    def save(self, path: Path) -> Path:
        """Write :meth:`to_json` to ``path`` (a ``preprocess.json`` for the Android demo) and return it.

        Refuses a spec the app refuses (:meth:`check_android`), so no file is written that it cannot follow.
        """
        self.check_android()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")
        return path


def resized_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """Output (height, width) when the short side becomes ``short_side`` (long side truncated)."""
    if min(height, width) < 1:
        raise ImageInputError(f"cannot resize an image of {height}×{width} pixels: it is empty; "
                              f"pass an image with at least one pixel")
    if height <= width:
        return short_side, int(width * short_side / height)
    return int(height * short_side / width), short_side


def center_crop_offsets(height: int, width: int, crop: int) -> tuple[int, int]:
    """Top and left offsets of a centred ``crop`` × ``crop`` window."""
    if height < crop or width < crop:
        raise ImageInputError(
            f"cannot centre-crop {crop}×{crop} from {height}×{width}; resize first (resize_short_side >= crop_size)"
        )
    return int(round((height - crop) / 2.0)), int(round((width - crop) / 2.0))


def rgb_to_chw_float(image: np.ndarray) -> torch.Tensor:
    """H × W × 3 uint8 RGB array → contiguous 3 × H × W float32 tensor in [0, 255]."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{type(image).__name__} {getattr(image, 'shape', '?')} {getattr(image, 'dtype', '?')}"
        raise ImageInputError(
            f"expected an RGB image as a height × width × 3 uint8 array, got {got}; "
            f"load files with labkit.model.data.load_rgb(), which converts any mode to RGB"
        )
    if 0 in image.shape:
        raise ImageInputError(f"the image array has shape {image.shape}: no pixels; pass an image with at least "
                              f"one pixel (did a crop or slice come out empty?)")
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).to(torch.float32).contiguous()


def _check_chw(chw: object, step: str, need_float: bool = True) -> None:
    if not isinstance(chw, torch.Tensor) or chw.dim() != 3 or chw.shape[0] != 3 or 0 in chw.shape:
        got = f"{type(chw).__name__} {tuple(chw.shape) if isinstance(chw, torch.Tensor) else ''}".strip()
        raise ImageInputError(f"{step} takes a 3 × H × W tensor (channels first, no batch dimension), got {got}; "
                              f"make one with rgb_to_chw_float(load_rgb(...))")
    if need_float and not chw.is_floating_point():
        raise ImageInputError(f"{step} takes a float tensor (values 0–255), got {chw.dtype}; convert with .float()")


def _check_spec(spec: object) -> None:
    if not isinstance(spec, PreprocessSpec):
        raise ParameterError(f"spec must be a PreprocessSpec (e.g. model.spec.preprocess), got {type(spec).__name__}")


def resize_short_side(chw: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """Step 3 of the pipeline on a 3 × H × W float tensor."""
    _check_chw(chw, "resize_short_side")
    _check_spec(spec)
    height, width = chw.shape[-2:]
    size = resized_size(height, width, spec.resize_short_side)
    return F.interpolate(chw[None], size=size, mode=spec.interpolation, align_corners=False,
                         antialias=spec.antialias)[0]


def center_crop(chw: torch.Tensor, crop: int) -> torch.Tensor:
    """Step 4 of the pipeline on a 3 × H × W tensor."""
    _check_chw(chw, "center_crop", need_float=False)
    if isinstance(crop, bool) or not isinstance(crop, int) or crop < 1:
        raise ParameterError(f"crop must be a whole number of pixels ≥ 1, got {crop!r}")
    top, left = center_crop_offsets(chw.shape[-2], chw.shape[-1], crop)
    return chw[:, top:top + crop, left:left + crop]


def normalize(chw: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """Step 5: scale to [0, 1] and normalize each channel with the spec's mean and std."""
    _check_chw(chw, "normalize")
    _check_spec(spec)
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(3, 1, 1)
    return (chw * spec.value_scale - mean) / std


def preprocess(image: np.ndarray, spec: PreprocessSpec) -> torch.Tensor:
    """RGB uint8 H × W × 3 → model input 1 × 3 × crop × crop (contiguous NCHW float32)."""
    _check_spec(spec)
    chw = rgb_to_chw_float(image)
    chw = center_crop(resize_short_side(chw, spec), spec.crop_size)
    return normalize(chw, spec)[None].contiguous()


def preprocess_steps(image: np.ndarray, spec: PreprocessSpec) -> dict[str, torch.Tensor]:
    """Every intermediate of :func:`preprocess`, for showing the pipeline step by step."""
    _check_spec(spec)
    chw = rgb_to_chw_float(image)
    resized = resize_short_side(chw, spec)
    cropped = center_crop(resized, spec.crop_size)
    normalized = normalize(cropped, spec)
    return {"original": chw, "resized": resized, "cropped": cropped, "normalized": normalized}


def denormalize(nchw: torch.Tensor, spec: PreprocessSpec) -> np.ndarray:
    """Model input back to a displayable H × W × 3 uint8 image (for plots)."""
    _check_spec(spec)
    if (not isinstance(nchw, torch.Tensor) or nchw.dim() not in (3, 4) or nchw.numel() == 0
            or nchw.numel() != 3 * nchw.shape[-2] * nchw.shape[-1]):
        got = tuple(nchw.shape) if isinstance(nchw, torch.Tensor) else type(nchw).__name__
        raise ImageInputError(f"denormalize takes one image as 1 × 3 × H × W or 3 × H × W, got {got}; "
                              f"pick one image of a batch with x[i]")
    mean = torch.tensor(spec.mean).view(3, 1, 1)
    std = torch.tensor(spec.std).view(3, 1, 1)
    chw = (nchw.reshape(3, *nchw.shape[-2:]) * std + mean) / spec.value_scale
    return chw.clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
