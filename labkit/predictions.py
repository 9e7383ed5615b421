"""From logits to named classes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from labkit.data import ImageSource, imagenet_labels, load_rgb
from labkit.models import LoadedModel
from labkit.preprocessing import preprocess


@dataclass(frozen=True)
class Prediction:
    """One class with its probability."""

    class_id: int
    label: str
    probability: float


def top_k(logits: torch.Tensor, k: int = 5, labels: tuple[str, ...] | None = None) -> list[Prediction]:
    """The ``k`` most probable classes of one logit vector (shape ``[C]`` or ``[1, C]``)."""
    logits = logits.detach().reshape(-1).to(torch.float32)
    probabilities = torch.softmax(logits, dim=0)
    values, indices = probabilities.topk(k)
    if labels is None and logits.numel() == 1000:
        labels = imagenet_labels()
    return [
        Prediction(int(i), labels[int(i)] if labels else str(int(i)), float(v))
        for v, i in zip(values, indices)
    ]


def classify(model: LoadedModel, image: ImageSource, k: int = 5) -> list[Prediction]:
    """Preprocess an image with the model's own spec and return its top-``k`` classes."""
    x = preprocess(load_rgb(image), model.spec.preprocess)
    with torch.no_grad():
        logits = model.module(x)
    return top_k(logits, k)
