"""Does a converted model compute what the original computes? Numbers, not impressions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from labkit.errors import ImageInputError, ParameterError
from labkit.measure.bench import _first_call


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
    if not callable(reference) or not callable(candidate):
        raise ParameterError("compare(reference, candidate, batches) takes two callables (modules or runners) "
                             "and an iterable of input batches; did you swap the arguments?")
    if isinstance(batches, torch.Tensor):
        raise ParameterError(f"batches must be a list (or iterable) of input batches, got one tensor shaped "
                             f"{tuple(batches.shape)}; pass [x]")
    with torch.no_grad():
        for batch in batches:
            if not isinstance(batch, torch.Tensor) or batch.dim() < 2:
                got = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
                raise ImageInputError(f"each batch must be an N × … input tensor, got {got}; add the batch "
                                      f"dimension with x[None]")
            expected, got = _first_call(reference, batch, "the reference"), _first_call(candidate, batch, "the candidate")
            for who, out in (("reference", expected), ("candidate", got)):
                if not isinstance(out, torch.Tensor):
                    raise ParameterError(f"the {who} returned a {type(out).__name__}, not a logits tensor; wrap it "
                                         f"so it returns one tensor, e.g. lambda x: model(x)[0]")
            expected, got = expected.float(), got.float()
            if got.shape != expected.shape:
                raise ParameterError(f"output shapes differ: reference {tuple(expected.shape)}, candidate "
                                     f"{tuple(got.shape)}; compare models with the same classes and input batch")
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
        raise ParameterError("no inputs to compare: batches was empty; pass at least one input batch")
    return Parity(inputs, max_diff, abs_sum / count, agree / inputs, kl_sum / inputs)
