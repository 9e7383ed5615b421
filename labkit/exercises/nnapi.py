"""Lab exercise on NNAPI: the operand shapes the converter writes.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import nnapi as checks``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record


class NnapiShapesNet(torch.nn.Module):
    """Exercise 06.1's model: a 5×3 conv (stride 2), ReLU, a 3×3 depthwise conv, global mean, a classifier.

    Converted for NNAPI with an NHWC input of 1 × 3 × 40 × 30 (channels_last, ``nnapi_nhwc = True``).
    """

    INPUT_SHAPE = (1, 3, 40, 30)

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, kernel_size=(5, 3), stride=2, padding=(2, 1))
        self.depthwise = torch.nn.Conv2d(16, 16, kernel_size=3, padding=1, groups=16)
        self.classifier = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(torch.relu(self.conv(x)))
        return self.classifier(y.mean(dim=(2, 3)))


NNAPI_SHAPE_KEYS = ("input", "conv_weight", "depthwise_weight", "conv_output")


def nnapi_operand_shapes(module: torch.nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Shapes of four operands after ``process_for_nnapi``: the model input, the first CONV_2D's weight and
    output, the first DEPTHWISE_CONV_2D's weight (``x`` channels_last with ``nnapi_nhwc`` selects NHWC)."""
    import warnings

    from torch.backends._nnapi.prepare import process_for_nnapi

    from labkit.deploy import nnapi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecation warnings; lab 05 shows them
        traced = torch.jit.trace(module.eval(), x)
        _, serialized, weights, _, _, _ = process_for_nnapi(traced, [x])
    model = nnapi.decode(serialized, weights)
    conv = next(op for op in model.operations if op.type == "CONV_2D")
    depthwise = next(op for op in model.operations if op.type == "DEPTHWISE_CONV_2D")
    return {"input": model.operands[model.inputs[0]].shape, "conv_weight": model.operands[conv.inputs[1]].shape,
            "depthwise_weight": model.operands[depthwise.inputs[1]].shape,
            "conv_output": model.operands[conv.outputs[0]].shape}


_NNAPI_SHAPE_HINTS = {
    "input": "with nnapi_nhwc the converter declares the input in NHWC order: (N, H, W, C)",
    "conv_weight": "NNAPI's CONV_2D weight is [out channels, kernel height, kernel width, in channels] (OHWI)",
    "depthwise_weight": "NNAPI's DEPTHWISE_CONV_2D weight is [1, kernel height, kernel width, channels]",
    "conv_output": "an NHWC input keeps every activation NHWC; size = (in + 2·padding − kernel) // stride + 1 per axis",
}


def check_nnapi_shapes(answer: Mapping[str, Sequence[int]] | None) -> CheckResult:
    """Exercise 06.1: predict four operand shapes of :class:`NnapiShapesNet` converted with an NHWC input."""
    exercise = "06.1"
    if answer is None:
        return not_attempted(exercise)
    if not isinstance(answer, Mapping) or set(answer) != set(NNAPI_SHAPE_KEYS):
        fail(exercise, f"answer with a dict with exactly the keys {list(NNAPI_SHAPE_KEYS)}, each a tuple of ints")
    x = torch.rand(NnapiShapesNet.INPUT_SHAPE).contiguous(memory_format=torch.channels_last)
    x.nnapi_nhwc = True
    torch.manual_seed(0)
    actual = nnapi_operand_shapes(NnapiShapesNet(), x)
    wrong = [key for key in NNAPI_SHAPE_KEYS if tuple(int(d) for d in answer[key]) != actual[key]]
    if wrong:
        fail(exercise, f"{', '.join(wrong)} not right (the rest is). Hint: "
                        + " · ".join(_NNAPI_SHAPE_HINTS[key] for key in wrong))
    return record(CheckResult(exercise, True, "all four shapes match the converted model: "
                                               + ", ".join(f"{k} {v}" for k, v in actual.items())))
