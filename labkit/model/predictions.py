"""From logits to named classes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from labkit.errors import ImageInputError, ParameterError
from labkit.model.data import ImageSource, imagenet_labels, load_rgb
from labkit.model.models import LoadedModel
from labkit.model.preprocessing import preprocess


@dataclass(frozen=True)
class Prediction:
    """One class with its probability."""

    class_id: int
    label: str
    probability: float


def top_k(logits: torch.Tensor, k: int = 5, labels: tuple[str, ...] | None = None) -> list[Prediction]:
    """The ``k`` most probable classes of one logit vector (shape ``[C]`` or ``[1, C]``)."""
    if not isinstance(logits, torch.Tensor):
        raise ImageInputError(f"top_k takes the model's output tensor (logits), got {type(logits).__name__}; "
                              f"if the model returned a tuple, pass its first element")
    if logits.numel() == 0 or (logits.dim() > 1 and logits.numel() != logits.shape[-1]):
        raise ImageInputError(f"top_k takes the logits of ONE image, shaped [C] or [1, C], got {tuple(logits.shape)}; "
                              f"for a batch call it per row: [top_k(row) for row in logits]")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= logits.numel():
        raise ParameterError(f"k must be a whole number from 1 to the number of classes ({logits.numel()}), got {k!r}")
    if labels is not None and len(labels) != logits.numel():
        raise ParameterError(f"{len(labels)} labels for {logits.numel()} classes: pass one label per class "
                             f"(or labels=None to show class ids)")
    logits = logits.detach().reshape(-1).to(torch.float32)
    probabilities = torch.softmax(logits, dim=0)
    values, indices = probabilities.topk(k)
    if labels is None and logits.numel() == 1000:
        labels = imagenet_labels()
    return [
        Prediction(int(i), labels[int(i)] if labels else str(int(i)), float(v))
        for v, i in zip(values, indices, strict=True)
    ]


def classify(model: LoadedModel, image: ImageSource, k: int = 5) -> list[Prediction]:
    """Preprocess an image with the model's own spec and return its top-``k`` classes."""
    if not isinstance(model, LoadedModel):
        raise ParameterError(f"classify takes a LoadedModel (labkit.model.models.load_model(name)), got {type(model).__name__}")
    x = preprocess(load_rgb(image), model.spec.preprocess)
    with torch.no_grad():
        logits = model.module(x)
    return top_k(logits, k)
