"""Small labelled image sets for fine-tuning (lab 07), offline first, with a leakage-free split.

Offline: scikit-learn's bundled handwritten digits (real scans, 1,797 images of 8 × 8 pixels, 10
classes; installed with scikit-learn, no download). Online: any folder of ``class_name/image``
files (the Imagenette layout), and torchvision's Imagenette download, through the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labkit.errors import LabkitError
from labkit.model.data import load_rgb

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class DatasetError(LabkitError):
    """A dataset folder or split request that cannot be used as it is."""


@dataclass(frozen=True)
class LabelledImages:
    """Images (each H × W × 3 uint8 RGB), their integer labels, the class names and where they came from."""

    images: tuple[np.ndarray, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: Sequence[int]) -> LabelledImages:
        """The images at ``indices``, in that order."""
        return LabelledImages(tuple(self.images[i] for i in indices), self.labels[np.asarray(indices, dtype=int)],
                              self.class_names, self.source)

    def counts(self) -> dict[str, int]:
        """Images per class name."""
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.class_names)}


def digits() -> LabelledImages:
    """scikit-learn's handwritten digits (UCI optical recognition set): 1,797 real 8 × 8 scans, 10 classes.

    Pixel values 0–16 are scaled to 0–255 and the grey image repeated over three channels.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    grey = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    images = tuple(np.repeat(g[:, :, None], 3, axis=2) for g in grey)
    return LabelledImages(images, bunch.target.astype(np.int64), tuple(str(d) for d in range(10)),
                          "scikit-learn load_digits(): UCI optical recognition of handwritten digits, test part "
                          "(1,797 images, 8 × 8, 16 grey levels), bundled with scikit-learn")


def image_folder(root: str | Path, max_per_class: int | None = None) -> LabelledImages:
    """Read ``root/<class name>/<image>`` (Imagenette / torchvision ``ImageFolder`` layout), classes sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"no dataset folder at {root}: expected {root}/<class name>/<image files>")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{root} has no class sub-folders: put each class's images in {root}/<class name>/")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(f"class folder {root / name} has no images ({', '.join(IMAGE_SUFFIXES)})")
        for path in files[:max_per_class]:
            images.append(load_rgb(path))
            labels.append(label)
    return LabelledImages(tuple(images), np.asarray(labels, dtype=np.int64), tuple(classes), f"image folder {root.name}")


def imagenette(root: str | Path, split: str = "train", size: str = "160px", max_per_class: int | None = None,
               download: bool = True) -> LabelledImages:
    """Imagenette (10 ImageNet classes) downloaded by torchvision, read through :func:`image_folder`.

    Needs the network the first time; offline, use :func:`digits` or a folder you already have.
    """
    import torchvision

    try:
        dataset = torchvision.datasets.Imagenette(str(root), split=split, size=size, download=download)
    except Exception as exc:  # torchvision raises URLError, RuntimeError, ... depending on what failed
        raise DatasetError(f"Imagenette is not available under {root} and could not be downloaded ({exc}); "
                           f"offline, use labkit.model.training_sets.digits()") from exc
    # the extracted wnid/<image> folders (torchvision 0.29 keeps their path in _image_root)
    found = image_folder(Path(dataset._image_root), max_per_class)
    names = tuple(dataset.classes[dataset.wnid_to_idx[wnid]][0] for wnid in found.class_names)
    return LabelledImages(found.images, found.labels, names, f"Imagenette {size} {split} (torchvision download)")


def stratified_split(labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint train and test indices with the same class proportions; deterministic for a seed.

    Each class contributes ``round(test_fraction × count)`` images (at least one) to the test set.
    """
    if not 0 < test_fraction < 1:
        raise DatasetError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            raise DatasetError(f"class {label} has {len(members)} image(s): a split needs at least 2 per class")
        members = rng.permutation(members)
        n_test = min(max(1, int(round(test_fraction * len(members)))), len(members) - 1)
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return np.sort(np.asarray(train)), np.sort(np.asarray(test))
