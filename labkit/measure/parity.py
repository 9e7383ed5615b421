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
    expected_rows: list[torch.Tensor] = []
    got_rows: list[torch.Tensor] = []
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
            if got.shape != expected.shape:
                raise ParameterError(f"output shapes differ: reference {tuple(expected.shape)}, candidate "
                                     f"{tuple(got.shape)}; compare models with the same classes and input batch")
            expected_rows.append(expected.float())
            got_rows.append(got.float())
    if not expected_rows:
        raise ParameterError("no inputs to compare: batches was empty; pass at least one input batch")
    return from_logits(torch.cat(expected_rows), torch.cat(got_rows))


def from_logits(expected: torch.Tensor, got: torch.Tensor) -> Parity:
    """The same numbers as :func:`compare` from logits already computed (N × classes each), e.g. of a slow
    simulator run once and compared with several references."""
    if not isinstance(expected, torch.Tensor) or not isinstance(got, torch.Tensor) or expected.dim() < 2:
        raise ParameterError("from_logits(expected, got) takes two N × classes (× …) logits tensors")
    if got.shape != expected.shape:
        raise ParameterError(f"logits shapes differ: reference {tuple(expected.shape)}, candidate {tuple(got.shape)}")
    if expected.shape[0] == 0:
        raise ParameterError("no inputs to compare: the logits have no rows")
    expected, got = expected.float(), got.float()
    diff = (got - expected).abs()
    log_p = torch.log_softmax(expected, dim=1)
    log_q = torch.log_softmax(got, dim=1)
    inputs = expected.shape[0]
    return Parity(inputs, float(diff.max()), float(diff.mean()),
                  float((got.argmax(dim=1) == expected.argmax(dim=1)).float().sum()) / inputs,
                  float((log_p.exp() * (log_p - log_q)).sum()) / inputs)
