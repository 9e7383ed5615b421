"""Does a converted model compute what the original computes? Numbers, not impressions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch


@dataclass(frozen=True)
class Parity:
    """Agreement between a reference model and a candidate over the same inputs."""

    inputs: int
    max_abs_diff: float
    mean_abs_diff: float
    top1_agreement: float
    mean_kl: float

    def as_row(self) -> dict[str, float]:
        """The numbers, for a results table."""
        return {"parity_inputs": self.inputs, "max_abs_diff": self.max_abs_diff, "mean_abs_diff": self.mean_abs_diff,
                "top1_agreement": self.top1_agreement, "mean_kl": self.mean_kl}


def compare(reference: Callable[[torch.Tensor], torch.Tensor], candidate: Callable[[torch.Tensor], torch.Tensor],
            batches: Iterable[torch.Tensor]) -> Parity:
    """Run both on every batch (each a contiguous NCHW tensor) and compare their logits.

    ``mean_kl`` is the mean KL divergence of the candidate's softmax from the reference's.
    """
    max_diff, abs_sum, count, agree, kl_sum, inputs = 0.0, 0.0, 0, 0, 0.0, 0
    with torch.no_grad():
        for batch in batches:
            expected = reference(batch).float()
            got = candidate(batch).float()
            if got.shape != expected.shape:
                raise ValueError(f"output shapes differ: reference {tuple(expected.shape)}, candidate {tuple(got.shape)}")
            diff = (got - expected).abs()
            max_diff = max(max_diff, float(diff.max()))
            abs_sum += float(diff.sum())
            count += diff.numel()
            agree += int((got.argmax(dim=1) == expected.argmax(dim=1)).sum())
            log_p = torch.log_softmax(expected, dim=1)
            log_q = torch.log_softmax(got, dim=1)
            kl_sum += float((log_p.exp() * (log_p - log_q)).sum())
            inputs += batch.shape[0]
    if inputs == 0:
        raise ValueError("no inputs to compare")
    return Parity(inputs, max_diff, abs_sum / count, agree / inputs, kl_sum / inputs)
