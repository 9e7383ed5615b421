"""Images in, RGB arrays out; the kit's sample photos, ImageNet labels and a calibration set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from labkit.errors import ImageInputError, ParameterError
from labkit.model.preprocessing import PreprocessSpec, preprocess
from labkit.params import check_int
from labkit.paths import data_dir

ImageSource = str | Path | Image.Image | np.ndarray


def _pil_to_rgb(image: Image.Image) -> np.ndarray:
    """Any PIL mode → H × W × 3 uint8 RGB; transparency is composited over white."""
    image = ImageOps.exif_transpose(image)  # phone photos store rotation in EXIF
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        scale = 255.0 / 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 1.0
        gray = np.clip(np.round(array * scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.size == 0 or array.ndim < 2 or 0 in array.shape[:2]:
        raise ImageInputError(
            f"image array has shape {array.shape}: no pixels; pass an H × W × 3 uint8 array with H, W ≥ 1 "
            f"(did a crop or slice come out empty?)"
        )
    if array.dtype != np.uint8:
        raise ImageInputError(
            f"image array has dtype {array.dtype}; pass uint8 pixels 0–255 (e.g. "
            f"(array * 255).round().astype(np.uint8) if your values are in [0, 1])"
        )
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] not in (1, 3, 4):
        raise ImageInputError(
            f"image array has shape {array.shape}, which looks channels-first (C × H × W); "
            f"pass height × width × channels, e.g. array.transpose(1, 2, 0)"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.ndim == 3 and array.shape[2] == 3:
        return np.ascontiguousarray(array)
    if array.ndim == 3 and array.shape[2] == 4:
        return _pil_to_rgb(Image.fromarray(array, mode="RGBA"))
    raise ImageInputError(
        f"image array has shape {array.shape}; expected H × W (grey), H × W × 3 (RGB) or H × W × 4 (RGBA)"
    )


def load_rgb(source: ImageSource) -> np.ndarray:
    """Load a file, PIL image or array as an H × W × 3 uint8 RGB array.

    Grey, palette, 16-bit, CMYK and transparent images are converted; EXIF rotation is applied.
    Anything that is not an image raises :class:`ImageInputError` saying what to pass instead.
    """
    if isinstance(source, torch.Tensor):
        raise ImageInputError(
            "got a torch.Tensor; pass a file path, a PIL image or an H × W × 3 uint8 NumPy array "
            "(tensor.permute(1, 2, 0).numpy() for a 3 × H × W uint8 tensor)"
        )
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        if 0 in source.size:
            raise ImageInputError(f"the PIL image is {source.size[0]}×{source.size[1]} pixels: empty; "
                                  f"pass an image with at least one pixel (did a crop come out empty?)")
        return _pil_to_rgb(source)
    if not isinstance(source, (str, Path)):
        raise ImageInputError(
            f"got a {type(source).__name__}; pass a file path, a PIL image or an H × W × 3 uint8 NumPy array"
        )
    path = Path(source)
    if path.is_dir():
        raise ImageInputError(f"{path} is a folder, not an image file; pass the path of one image inside it")
    if not path.is_file():
        raise ImageInputError(f"no image file at {path}; check the path (relative paths start at {Path.cwd()})")
    try:
        with Image.open(path) as image:
            image.load()
            return _pil_to_rgb(image)
    except UnidentifiedImageError as exc:
        raise ImageInputError(f"{path} is not an image PIL can read (JPEG, PNG, WebP, BMP, TIFF, …); "
                              f"pass a photo file, or convert this one to PNG or JPEG first") from exc
    except OSError as exc:
        raise ImageInputError(f"{path} could not be decoded ({exc}); "
                              f"the file is probably truncated or corrupt — copy it again") from exc


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, index = class id (from ``data/imagenet_classes.txt``)."""
    labels = tuple((data_dir() / "imagenet_classes.txt").read_text().splitlines())
    if len(labels) != 1000:
        raise ImageInputError(f"imagenet_classes.txt has {len(labels)} lines, expected 1000: restore it with git")
    return labels


@dataclass(frozen=True)
class Sample:
    """One bundled photo with the ImageNet classes that count as a correct top-1."""

    name: str
    path: Path
    description: str
    accepted_classes: tuple[int, ...]
    source: str
    licence: str

    @property
    def labelled(self) -> bool:
        """False for photos no ImageNet class fits (they show what a closed-set classifier does)."""
        return bool(self.accepted_classes)

    @property
    def accepted_labels(self) -> tuple[str, ...]:
        """Names of the accepted classes."""
        labels = imagenet_labels()
        return tuple(labels[i] for i in self.accepted_classes)

    def image(self) -> np.ndarray:
        """The photo as an H × W × 3 uint8 RGB array."""
        return load_rgb(self.path)


def load_samples(labelled_only: bool = False) -> list[Sample]:
    """The bundled photos listed in ``data/samples.json``, in file order."""
    root = data_dir()
    entries = json.loads((root / "samples.json").read_text())["samples"]
    samples = [
        Sample(e["name"], root / e["file"], e["description"], tuple(e["accepted_classes"]), e["source"], e["licence"])
        for e in entries
    ]
    return [s for s in samples if s.labelled] if labelled_only else samples


def sample(name: str) -> Sample:
    """One bundled photo by name (``chelsea``, ``coffee``, ``rocket``, ``china``, ``astronaut``)."""
    for s in load_samples():
        if s.name == name:
            return s
    raise ParameterError(f"no sample photo named {name!r}; choose from {[s.name for s in load_samples()]}")


@dataclass(frozen=True)
class AugmentedSet:
    """Preprocessed inputs made from random crops of the bundled photos, and where each came from."""

    inputs: torch.Tensor
    source: tuple[str, ...]
    seed: int

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def batches(self, batch_size: int) -> list[torch.Tensor]:
        """The inputs split into contiguous batches."""
        check_int("batch_size", batch_size, 1)
        return [b.contiguous() for b in self.inputs.split(batch_size)]


def _random_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    for _ in range(20):
        area = height * width * rng.uniform(0.35, 1.0)
        ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        h, w = int(round(np.sqrt(area / ratio))), int(round(np.sqrt(area * ratio)))
        if 0 < h <= height and 0 < w <= width:
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            return image[top:top + h, left:left + w]
    return image


def augmented_set(n: int, spec: PreprocessSpec, seed: int = 0, labelled_only: bool = True) -> AugmentedSet:
    """``n`` real-image inputs for calibration and fidelity checks.

    They are augmented crops of the bundled photos (random crop of 35–100 % of the area, aspect
    3/4–4/3, horizontal flip, brightness and contrast ±20 %), preprocessed with ``spec``. They are
    real pixels but *not* an independent test set: use them to compare a model with its
    compressed self, not to claim ImageNet accuracy.
    """
    check_int("augmented_set's n (number of inputs)", n, 1)
    if not isinstance(spec, PreprocessSpec):
        raise ParameterError(f"spec must be a PreprocessSpec (e.g. model.spec.preprocess), got {type(spec).__name__}")
    rng = np.random.default_rng(seed)
    photos = [(s.name, s.image()) for s in load_samples(labelled_only=labelled_only)]
    inputs, source = [], []
    for i in range(n):
        name, photo = photos[i % len(photos)]
        crop = _random_crop(photo, rng).astype(np.float32)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)
        crop = (crop - crop.mean()) * contrast + crop.mean() * brightness
        crop = np.clip(np.round(crop), 0, 255).astype(np.uint8)
        inputs.append(preprocess(np.ascontiguousarray(crop), spec))
        source.append(name)
    return AugmentedSet(torch.cat(inputs).contiguous(), tuple(source), seed)


CALIBRATION_SIZE = 64
CALIBRATION_SEED = 7


def calibration_set(spec: PreprocessSpec, n: int = CALIBRATION_SIZE) -> AugmentedSet:
    """The kit's one calibration split: crops of seed 7; the kit's int8 recipe uses the first 64.

    Every int8 program the kit makes (the labs, the exercise checkers, ``labkit export-android``)
    calibrates on ``calibration_set(spec)``, so a program a lab measured is the program the app
    ships. Other ``n`` (calibration-size experiments) give a prefix or an extension of the same crops.
    """
    check_int("calibration_set's n (number of crops)", n, 1, 4096)
    return augmented_set(n, spec, seed=CALIBRATION_SEED)
