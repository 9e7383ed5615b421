"""Exercise checkers: ``None`` means "not attempted yet", a right answer passes, a wrong one raises.

Every check is recorded in ``results/progress.jsonl`` (exercise id, pass/fail, time) so a learner
can see their progress. Checkers compute the expected answer themselves from the kit's data; they
never trust the notebook's other cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Callable, Mapping, Sequence

import torch

from labkit.errors import ExerciseCheckError
from labkit.paths import results_dir
from labkit.results import PROGRESS_NAME, append_jsonl


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check; ``passed`` is None when the exercise was not attempted."""

    exercise: str
    passed: bool | None
    message: str

    def __str__(self) -> str:
        mark = {True: "PASSED", False: "FAILED", None: "NOT ATTEMPTED"}[self.passed]
        return f"[{mark}] exercise {self.exercise}: {self.message}"

    def _repr_markdown_(self) -> str:
        icon = {True: "✅", False: "❌", None: "✏️"}[self.passed]
        return f"{icon} **Exercise {self.exercise}**: {self.message}"


def _log(entry: dict[str, object], root: Path | None = None) -> None:
    append_jsonl((root or results_dir()) / PROGRESS_NAME,
                 {**entry, "timestamp": datetime.now(UTC).isoformat(timespec="seconds")})


def _record(result: CheckResult, root: Path | None = None) -> CheckResult:
    _log({"exercise": result.exercise, "passed": result.passed}, root)
    return result


def _not_attempted(exercise: str) -> CheckResult:
    return _record(CheckResult(exercise, None, "not answered yet: replace the None in the cell above and run both cells"))


def _fail(exercise: str, hint: str) -> None:
    _record(CheckResult(exercise, False, hint))
    raise ExerciseCheckError(f"exercise {exercise}: {hint}")


def check_preprocessing(answer: torch.Tensor | None, sample_name: str = "coffee") -> CheckResult:
    """Exercise 00.1: the model input for a sample photo, computed with plain torch ops.

    Must equal :func:`labkit.preprocessing.preprocess` with EfficientNet-Lite0's spec within 1e-4.
    """
    from labkit.data import sample
    from labkit.models import REGISTRY
    from labkit.preprocessing import preprocess

    exercise = "00.1"
    if answer is None:
        return _not_attempted(exercise)
    spec = REGISTRY["efficientnet_lite0"].preprocess
    expected = preprocess(sample(sample_name).image(), spec)
    if not isinstance(answer, torch.Tensor):
        _fail(exercise, f"return a torch.Tensor, not {type(answer).__name__}")
    if tuple(answer.shape) != tuple(expected.shape):
        _fail(exercise, f"shape {tuple(answer.shape)}, expected {tuple(expected.shape)} (batch, channels, height, width)")
    if answer.dtype != torch.float32:
        _fail(exercise, f"dtype {answer.dtype}, expected torch.float32")
    if not answer.is_contiguous():
        _fail(exercise, "the tensor is not contiguous: ExecuTorch would silently read it wrongly; call .contiguous()")
    error = float((answer - expected).abs().max())
    if error > 1e-4:
        low, high = float(answer.min()), float(answer.max())
        hint = f"max abs difference {error:.4f}; your values span [{low:.2f}, {high:.2f}], expected [-1, 1]"
        if high > 2:
            hint += " — did you forget to divide by 255?"
        elif error > 0.05:
            hint += " — check the order: resize the short side to 256, centre-crop 224, then (x/255 - 0.5) / 0.5"
        _fail(exercise, hint)
    return _record(CheckResult(exercise, True, f"matches the kit's preprocessing (max abs difference {error:.1e})"))


def fp32_state_dict_bytes(model_name: str = "efficientnet_lite0") -> tuple[int, int]:
    """(parameter count, bytes of ``torch.save(state_dict)``) of a registry model."""
    import io

    from labkit.models import count_parameters, load_model

    module = load_model(model_name).module
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return count_parameters(module), buffer.getbuffer().nbytes


def check_size_estimate(estimate_mb: float | None) -> CheckResult:
    """Exercise 00.2: predict EfficientNet-Lite0's fp32 weight file size (MB = 10^6 bytes) from its
    parameter count. Passes within 5 % of the real ``torch.save(state_dict)`` size, which the
    checker measures itself. The reasoning: a float32 takes 4 bytes (BatchNorm buffers and the file
    format add a little).
    """
    exercise = "00.2"
    if estimate_mb is None:
        return _not_attempted(exercise)
    parameters, size_bytes = fp32_state_dict_bytes()
    measured_mb = size_bytes / 1e6
    relative = abs(float(estimate_mb) - measured_mb) / measured_mb
    if relative > 0.05:
        ratio = float(estimate_mb) / (parameters / 1e6)
        hint = f"{estimate_mb:.2f} MB is {relative:.0%} off the real size"
        if abs(ratio - 1) < 0.1:
            hint += "; that is 1 byte per parameter — how many bytes does a float32 take?"
        elif abs(ratio - 4 / 1.048576) < 0.1:
            hint += "; the kit's MB is 10^6 bytes, not 2^20 (MiB)"
        elif abs(ratio - 8) < 0.5:
            hint += "; that is 8 bytes per parameter (float64); the model is float32"
        _fail(exercise, hint)
    return _record(CheckResult(exercise, True, f"{estimate_mb:.2f} MB vs real {measured_mb:.2f} MB ({relative:.1%} off)"))


class ErfGeluHead(torch.nn.Module):
    """Exercise 05.1's model: a conv head whose activation is GELU written out with ``torch.erf``.

    XNNPACK has no ``erf``, so the partitioner leaves it to the portable kernels and the graph
    splits into several delegates. The learner rewrites :meth:`activation` so everything delegates.
    """

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(5)
        self.conv1 = torch.nn.Conv2d(16, 32, 1)
        self.conv2 = torch.nn.Conv2d(32, 8, 1)
        with torch.no_grad():
            for param in self.parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.erf(x / 1.4142135623730951))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.activation(self.conv1(x)))


def non_delegated_ops(module: torch.nn.Module, example: torch.Tensor) -> list[str]:
    """Lower ``module`` to XNNPACK and list the operators left outside the delegate."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from labkit.pte import non_delegated_ops as left_outside

    return left_outside(to_edge_transform_and_lower(torch.export.export(module.eval(), (example,)),
                                                    partitioner=[XnnpackPartitioner()]))


def check_fully_delegated(module: torch.nn.Module | None) -> CheckResult:
    """Exercise 05.1: a rewrite of :class:`ErfGeluHead` that computes the same outputs (within
    1e-4) and lowers to XNNPACK with no operator left outside the delegate."""
    exercise = "05.1"
    if module is None:
        return _not_attempted(exercise)
    example = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = ErfGeluHead().eval()(example), module.eval()(example)
    if got.shape != expected.shape:
        _fail(exercise, f"output shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
    error = float((got - expected).abs().max())
    if error > 1e-4:
        _fail(exercise, f"outputs differ from the original by up to {error:.3g}: keep the weights and the exact GELU "
                        f"(torch.nn.functional.gelu with approximate='none' computes the same function)")
    left = non_delegated_ops(module, example)
    if left:
        _fail(exercise, f"still outside XNNPACK: {left}; which op in activation() does XNNPACK lack?")
    return _record(CheckResult(exercise, True, f"fully delegated, max abs difference {error:.1e}"))


def check_arena_prediction(predicted_bytes: float | None, model_name: str = "efficientnet_lite0") -> CheckResult:
    """Exercise 05.2: predict the portable arena of ``model_name`` (the lab's ``MODEL``) at batch 2; within 10 % passes.

    The checker lowers the batch-2 program itself and reads its plan (the plan does not depend on the weights).
    """
    import warnings

    from executorch.exir import to_edge_transform_and_lower

    from labkit.models import UntrainedModelWarning, load_model
    from labkit.pte import memory_plan

    exercise = "05.2"
    if predicted_bytes is None:
        return _not_attempted(exercise)
    if isinstance(predicted_bytes, bool) or not isinstance(predicted_bytes, (int, float)) or not predicted_bytes > 0:
        _fail(exercise, f"answer with a number of bytes, e.g. 12_000_000; got {predicted_bytes!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedModelWarning)  # random weights plan the same arena
        loaded = load_model(model_name, pretrained=False)
    shape = (2, *loaded.spec.input_shape[1:])
    program = to_edge_transform_and_lower(torch.export.export(loaded.module, (torch.zeros(shape),))).to_executorch()
    actual = memory_plan(program).arena_bytes
    relative = abs(float(predicted_bytes) - actual) / actual
    if relative > 0.10:
        hint = f"{predicted_bytes / 1e6:.2f} MB is {relative:.0%} off"
        if relative < 0.6 and predicted_bytes < actual:
            hint += "; activations hold one slice per image — what happens to every activation tensor at batch 2?"
        _fail(exercise, hint)
    return _record(CheckResult(exercise, True, f"predicted {predicted_bytes / 1e6:.2f} MB, planned {actual / 1e6:.2f} MB "
                                               f"({relative:.1%} off)"))


def check_fusion(original: torch.nn.Module | None, fused: torch.nn.Module | None,
                 example: torch.Tensor | None = None) -> CheckResult:
    """Exercise 01.1: ``fused`` is ``original`` with every BatchNorm folded away.

    Passes when ``original`` has at least one BatchNorm, ``fused`` has none, and in eval mode both
    give the same outputs on ``example`` within 1e-4 (relative to the output's scale).
    """
    exercise = "01.1"
    if original is None or fused is None:
        return _not_attempted(exercise)
    norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    if not any(isinstance(m, norms) for m in original.modules()):
        _fail(exercise, "your original model has no BatchNorm layer, so there is nothing to fold: add conv → bn (→ relu)")
    left = [name for name, m in fused.named_modules() if isinstance(m, norms)]
    if left:
        _fail(exercise, f"the fused model still has BatchNorm layers: {left}")
    if fused is original:
        _fail(exercise, "fused is the same object as original: fuse a copy (copy.deepcopy) so you can compare them")
    if example is None:
        _fail(exercise, "pass an example input tensor shaped like your model's input")
    original.eval()
    fused.eval()
    with torch.no_grad():
        expected, got = original(example), fused(example)
    scale = float(expected.abs().max()) or 1.0
    error = float((got - expected).abs().max()) / scale
    if error > 1e-4:
        _fail(exercise, f"outputs differ by {error:.2e} of their scale: were the models in eval mode when you fused "
                        f"them, and did you fold (not just delete) each BatchNorm?")
    return _record(CheckResult(exercise, True, f"no BatchNorm left, outputs equal within {error:.1e} (relative)"))


def check_qparams(answer: tuple[float, int] | None, model_name: str = "efficientnet_lite0",
                  tensor: str = "classifier.weight") -> CheckResult:
    """Exercise 02.1: (scale, zero_point) of ``tensor`` for per-tensor asymmetric uint8 (0…255).

    The expected values come from PyTorch's own ``MinMaxObserver(quint8, per_tensor_affine)``.
    """
    from torch.ao.quantization.observer import MinMaxObserver

    from labkit.models import load_model

    exercise = "02.1"
    if answer is None:
        return _not_attempted(exercise)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        _fail(exercise, "answer with a pair (scale, zero_point), e.g. (0.0123, 97)")
    scale, zero_point = float(answer[0]), answer[1]
    weights = dict(load_model(model_name).module.named_parameters()).get(tensor)
    weights = None if weights is None else weights.detach()
    if weights is None:
        _fail(exercise, f"{model_name} has no parameter {tensor!r}")
    observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    observer(weights.detach())
    expected_scale, expected_zero = (float(v) for v in observer.calculate_qparams())
    low, high = float(weights.min()), float(weights.max())
    if abs(scale - expected_scale) > 1e-6 * expected_scale:
        hint = f"scale {scale:.6g} is not right: the {tensor} values span [{low:.4f}, {high:.4f}]"
        if abs(scale - (high - low) / 256) < 1e-6 * expected_scale:
            hint += "; 0…255 has 255 steps between its ends, not 256"
        elif abs(scale - max(-low, high) / 127.5) < 1e-6 * expected_scale:
            hint += "; that is the symmetric scale: asymmetric spans min to max"
        _fail(exercise, hint)
    if not float(zero_point).is_integer():
        _fail(exercise, f"a zero point is an integer (the integer that stands for 0.0); round {zero_point}")
    if int(zero_point) != int(expected_zero):
        _fail(exercise, f"zero point {int(zero_point)} is off: it is the integer that stands for 0.0, "
                        f"qmin − round(min / scale), clamped to 0…255")
    return _record(CheckResult(exercise, True, f"scale {scale:.6g}, zero point {int(zero_point)}: the observer agrees"))


def check_keep_float(names: Sequence[str] | None, model_name: str = "efficientnet_lite0", max_units: int = 3,
                     target_ratio: float = 1 / 3, inputs: int = 32) -> CheckResult:
    """Exercise 02.2: keep at most ``max_units`` layer units in float so that int8 fidelity improves enough.

    Passes when XNNPACK can lower the mixed-precision model and its mean KL divergence from fp32 on
    ``inputs`` augmented photos is at most ``target_ratio`` × the all-int8 model's (the kit's int8
    recipe on its calibration split; the checker quantizes and measures both itself). A unit is a
    module with exactly one conv or linear layer in it (``"stem"``, ``"blocks.3.expand"``), so that
    "three units" cannot mean "the whole network".
    """
    from torch.export import Dim

    from labkit.data import augmented_set, calibration_set
    from labkit.models import load_model
    from labkit.parity import compare
    from labkit.quant import float_pads_after_int8, ptq_xnnpack, unit_names

    exercise = "02.2"
    if names is None:
        return _not_attempted(exercise)
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        _fail(exercise, "answer with a list of module names, e.g. ['stem', 'blocks.0.depthwise']")
    names = list(names)
    if not names or len(names) > max_units:
        _fail(exercise, f"name between 1 and {max_units} units; you named {len(names)}")
    model = load_model(model_name)
    modules = dict(model.module.named_modules())
    layers = (torch.nn.Conv2d, torch.nn.Linear)
    known = {n for n in unit_names(model.module) if sum(isinstance(m, layers) for m in modules[n].modules()) == 1}
    unknown = [n for n in names if n not in known]
    if unknown:
        _fail(exercise, f"{unknown} are not layer units of {model_name} (a module holding exactly one conv or linear "
                        f"layer, e.g. 'stem' or 'blocks.0.depthwise'); see section 5's ranking")
    spec = model.spec.preprocess
    calibration = calibration_set(spec).batches(32)
    evaluation = augmented_set(inputs, spec, seed=2).batches(16)
    exported = torch.export.export(model.module.eval(), (calibration[0][:2],),
                                   dynamic_shapes=({0: Dim("batch", max=256)},))
    mixed_graph = ptq_xnnpack(exported, calibration, keep_float=names)
    conflicts = float_pads_after_int8(mixed_graph)
    if conflicts:
        pad, producer = next(iter(conflicts.items()))
        _fail(exercise, f"XNNPACK could not lower this: the padding {pad!r} reads the int8 output of {producer!r}, so "
                        f"lowering re-quantizes it and its float conv would get an int8 input. "
                        f"Keep {producer.rsplit('.', 1)[0]!r} in float too, or choose other units")
    all_int8 = compare(model.module, ptq_xnnpack(exported, calibration), evaluation).mean_kl
    mixed = compare(model.module, mixed_graph, evaluation).mean_kl
    ratio = mixed / all_int8
    if ratio > target_ratio:
        _fail(exercise, f"mean KL {mixed:.4f} vs all-int8 {all_int8:.4f} (ratio {ratio:.2f}, target ≤ {target_ratio:.2f}): "
                        f"pick the units at the top of the sensitivity ranking")
    return _record(CheckResult(exercise, True, f"keeping {names} in float: mean KL {mixed:.4f} vs all-int8 "
                                               f"{all_int8:.4f} ({ratio:.2f}×, target ≤ {target_ratio:.2f}×)"))


class GatedHead(torch.nn.Module):
    """Exercise 03.1's model: doubles the features when their mean is positive, negates them otherwise, flattens.

    Eager PyTorch runs it correctly; ``torch.jit.trace`` bakes in one branch and the batch size
    (with TracerWarnings); ``torch.export`` refuses the Python ``if`` on a tensor value and the
    ``int(...)`` of the batch size.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 0:
            x = x * 2
        else:
            x = -x
        return x.view(int(x.shape[0]), -1)


def check_exportable(module: torch.nn.Module | None) -> CheckResult:
    """Exercise 03.1: ``module`` computes what :class:`GatedHead` computes and exports with a dynamic batch.

    The checker exports it with ``Dim("batch")`` and compares the exported program with
    ``GatedHead`` on batches of 1 and 3 whose means are positive and negative.
    """
    from torch.export import Dim

    exercise = "03.1"
    if module is None:
        return _not_attempted(exercise)
    if not isinstance(module, torch.nn.Module):
        _fail(exercise, f"pass an nn.Module instance, not {type(module).__name__}")
    generator = torch.Generator().manual_seed(3)
    example = torch.rand(2, 4, 5, 5, generator=generator)
    try:
        exported = torch.export.export(module.eval(), (example,), dynamic_shapes=({0: Dim("batch", max=64)},))
    except Exception as error:  # export raises many error types; the first line says which construct failed
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        _fail(exercise, f"torch.export failed: {type(error).__name__}: {first[:300]} — replace the Python `if` on a "
                        f"tensor value with torch.where or torch.cond, and keep the batch size symbolic (no int())")
    reference = GatedHead()
    for batch in (1, 3):
        for sign in (1.0, -1.0):
            x = sign * torch.rand(batch, 4, 5, 5, generator=generator)
            with torch.no_grad():
                expected, got = reference(x), exported.module()(x)
            if tuple(got.shape) != tuple(expected.shape):
                _fail(exercise, f"batch {batch}: output shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
            if not torch.allclose(got, expected, atol=1e-6):
                branch = "positive" if sign > 0 else "negative"
                _fail(exercise, f"batch {batch}, {branch} mean: outputs differ by {float((got - expected).abs().max()):.3g}"
                                f" — does your model take the right branch for every input?")
    return _record(CheckResult(exercise, True, "exports with a dynamic batch and matches GatedHead on both branches "
                                               "and batch sizes 1 and 3"))


class NnapiShapesNet(torch.nn.Module):
    """Exercise 04.1's model: a 5×3 conv (stride 2), ReLU, a 3×3 depthwise conv, global mean, a classifier.

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

    from labkit import nnapi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecation warnings; lab 03 shows them
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
    """Exercise 04.1: predict four operand shapes of :class:`NnapiShapesNet` converted with an NHWC input."""
    exercise = "04.1"
    if answer is None:
        return _not_attempted(exercise)
    if not isinstance(answer, Mapping) or set(answer) != set(NNAPI_SHAPE_KEYS):
        _fail(exercise, f"answer with a dict with exactly the keys {list(NNAPI_SHAPE_KEYS)}, each a tuple of ints")
    x = torch.rand(NnapiShapesNet.INPUT_SHAPE).contiguous(memory_format=torch.channels_last)
    x.nnapi_nhwc = True
    torch.manual_seed(0)
    actual = nnapi_operand_shapes(NnapiShapesNet(), x)
    wrong = [key for key in NNAPI_SHAPE_KEYS if tuple(int(d) for d in answer[key]) != actual[key]]
    if wrong:
        _fail(exercise, f"{', '.join(wrong)} not right (the rest is). Hint: "
                        + " · ".join(_NNAPI_SHAPE_HINTS[key] for key in wrong))
    return _record(CheckResult(exercise, True, "all four shapes match the converted model: "
                                               + ", ".join(f"{k} {v}" for k, v in actual.items())))


PEAK_EXERCISE_CPU = {"cores": 8, "simd_bits": 256, "fma_units": 2, "ghz": 3.0}
"""Exercise 07.1's CPU: 8 cores with AVX2 (256-bit vectors), two FMA units per core, 3.0 GHz."""


def check_peak_gflops(answer: float | None) -> CheckResult:
    """Exercise 07.1: the fp32 peak of :data:`PEAK_EXERCISE_CPU` in GFLOP/s (within 1 %)."""
    from labkit.roofline import peak_gflops

    exercise = "07.1"
    if answer is None:
        return _not_attempted(exercise)
    right = peak_gflops(**PEAK_EXERCISE_CPU)
    if not isinstance(answer, (int, float)) or answer != answer:
        _fail(exercise, "answer with a number of GFLOP/s")
    if abs(answer - right) <= 0.01 * right:
        return _record(CheckResult(exercise, True, f"{right:.0f} GFLOP/s = 8 cores × 8 fp32 lanes × 2 FMA units × "
                                                   f"2 operations per FMA × 3.0 GHz"))
    hints = {right / 2: "an FMA is a multiply *and* an add: two operations", right * 2: "AVX2 vectors are 256 bits: "
             "8 fp32 lanes, not 16", right / 8: "that is one core; the peak counts all of them",
             right / 4: "two FMA units per core, and two operations per FMA"}
    hint = next((h for value, h in hints.items() if abs(answer - value) <= 0.01 * value),
                "multiply cores × lanes (vector bits / 32) × FMA units × 2 × GHz")
    _fail(exercise, f"{answer:g} GFLOP/s is not it — {hint}")


PARETO_EXERCISE = (  # (variant, file MB, median ms) measured on another machine; exercise 07.2
    ("eager fp32", 18.6, 41.0), ("XNNPACK fp32", 18.6, 5.1), ("XNNPACK int8", 5.0, 3.9),
    ("ORT int8", 5.1, 3.4), ("int4 weights", 2.7, 7.9), ("portable fp32", 18.6, 240.0), ("TorchScript fp32", 19.3, 14.0),
)
"""Exercise 07.2's table: which variants are on the size–latency Pareto front?"""


def check_pareto(answer: Sequence[str] | None) -> CheckResult:
    """Exercise 07.2: the variants of :data:`PARETO_EXERCISE` that no other variant beats on both size and latency."""
    import numpy as np

    from labkit.plots import pareto_front

    exercise = "07.2"
    if answer is None:
        return _not_attempted(exercise)
    names = [name for name, _, _ in PARETO_EXERCISE]
    if isinstance(answer, str) or any(a not in names for a in answer):
        _fail(exercise, f"answer with a list of variant names from {names}")
    points = np.array([[size, ms] for _, size, ms in PARETO_EXERCISE])
    right = {names[i] for i in pareto_front(points)}
    chosen = set(answer)
    if chosen == right:
        return _record(CheckResult(exercise, True, f"the front is {sorted(right)}: each is the smallest for its speed"))
    dominated = sorted(chosen - right)
    missing = sorted(right - chosen)
    parts = []
    if dominated:
        parts.append(f"{dominated} {'is' if len(dominated) == 1 else 'are'} beaten on both size and latency by another variant")
    if missing:
        parts.append(f"{len(missing)} variant(s) on the front are missing — nothing is both smaller and faster than them")
    _fail(exercise, "; ".join(parts))


UNFREEZE_BUDGET = 1_100_000
"""Exercise 06.1's budget of trainable parameters (the new 10-class classifier included)."""


def lite0_units(num_classes: int = 10) -> list[tuple[str, int]]:
    """EfficientNet-Lite0's units in forward order with their parameter counts, with a ``num_classes`` classifier."""
    from labkit.efficientnet_lite import EfficientNetLite

    model = EfficientNetLite(num_classes=num_classes)
    units = [("stem", model.stem)] + [(f"blocks.{i}", b) for i, b in enumerate(model.blocks)] + \
        [("head", model.head), ("classifier", model.classifier)]
    return [(name, sum(p.numel() for p in unit.parameters())) for name, unit in units]


def check_unfreeze(names: Sequence[str] | None, budget: int = UNFREEZE_BUDGET) -> CheckResult:
    """Exercise 06.1: the longest run of *last* units of EfficientNet-Lite0 (classifier included) within ``budget``."""
    exercise = "06.1"
    if names is None:
        return _not_attempted(exercise)
    units = lite0_units()
    known = [name for name, _ in units]
    if isinstance(names, str) or any(n not in known for n in names):
        _fail(exercise, f"answer with a list of unit names from {known}")
    counts = dict(units)
    total = sum(counts[n] for n in names)
    suffix, used = [], 0
    for name, count in reversed(units):
        if used + count > budget:
            break
        suffix.insert(0, name)
        used += count
    if total > budget:
        _fail(exercise, f"{total:,} trainable parameters: over the budget of {budget:,}")
    if sorted(names, key=known.index) != [n for n in known if n in names] or set(names) != set(suffix):
        if not set(names) <= set(suffix) or "classifier" not in names:
            _fail(exercise, "fine-tuning trains the *last* units first (closest to the new task), always with the new "
                            "classifier: pick a run that ends with 'classifier'")
        _fail(exercise, f"{total:,} parameters: you can unfreeze more of the last units within {budget:,}")
    return _record(CheckResult(exercise, True, f"{suffix} — {used:,} trainable parameters of {budget:,}"))


def check_sgd_step(sgd_step: Callable | None) -> CheckResult:
    """Exercise 06.2: ``sgd_step(param, grad, lr)`` returns the updated tensor exactly as ExecuTorch's SGD does."""
    import warnings

    exercise = "06.2"
    if sgd_step is None:
        return _not_attempted(exercise)
    if not callable(sgd_step):
        _fail(exercise, "pass your function itself: sgd_step(param, grad, lr) -> new param")
    from labkit.ondevice import WithLoss, training_program

    generator = torch.Generator().manual_seed(6)
    x, y = torch.randn(4, 5, generator=generator), torch.tensor([0, 1, 2, 1])
    torch.manual_seed(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from executorch.extension.training import _load_for_executorch_for_training_from_buffer, get_sgd_optimizer

        program = training_program(WithLoss(torch.nn.Linear(5, 3)), (x, y))  # kept: the runtime reads it in place
        module = _load_for_executorch_for_training_from_buffer(program)
        module.forward_backward("forward", (x, y))
        params = module.named_parameters()
        grads = {k: v.clone() for k, v in module.named_gradients().items()}
        before = {k: v.clone() for k, v in params.items()}
        mine = {k: sgd_step(before[k].clone(), grads[k], 0.3) for k in before}
        get_sgd_optimizer(params, 0.3).step(module.named_gradients())
    for name, value in module.named_parameters().items():
        got = mine[name]
        if not isinstance(got, torch.Tensor) or got.shape != value.shape:
            _fail(exercise, f"{name}: return a tensor shaped like the parameter {tuple(value.shape)}")
        gap = float((got - value).abs().max())
        if gap > 1e-6:
            sign = float(((got - before[name]) * grads[name]).sum())
            hint = "step *against* the gradient" if sign > 0 else "the step is lr × gradient, nothing more"
            _fail(exercise, f"{name}: differs from ExecuTorch's SGD by {gap:.3g} — {hint}")
    return _record(CheckResult(exercise, True, "your step equals ExecuTorch's SGD on every parameter"))


EXERCISES: dict[str, Callable[..., CheckResult]] = {
    "00.1": check_preprocessing, "00.2": check_size_estimate, "01.1": check_fusion, "02.1": check_qparams,
    "02.2": check_keep_float, "03.1": check_exportable, "04.1": check_nnapi_shapes, "05.1": check_fully_delegated,
    "05.2": check_arena_prediction, "06.1": check_unfreeze, "06.2": check_sgd_step, "07.1": check_peak_gflops,
    "07.2": check_pareto,
}
"""Every exercise of the kit, by id ("lab.number"), with its checker."""


def exercise_title(exercise: str) -> str:
    """What exercise ``exercise`` asks, from its checker's docstring."""
    import re

    first = " ".join((EXERCISES[exercise].__doc__ or "").strip().split("\n\n")[0].split())
    first = re.sub(r":\w+:`([^`]+)`", r"\1", first).replace("``", "`")
    first = first.split(": ", 1)[1] if ": " in first else first
    return first.split(". ")[0].rstrip(".")


@dataclass(frozen=True)
class Solution:
    """A worked solution, shown only when asked for with :func:`solution`."""

    exercise: str
    notebook: Path
    code: str

    def __str__(self) -> str:
        return self.code

    def _repr_markdown_(self) -> str:
        return (f"**Worked solution of exercise {self.exercise}** (from `notebooks/solutions/{self.notebook.name}`, "
                f"executed by the kit's tests)\n\n```python\n{self.code}\n```")


def solution(exercise: str, root: Path | None = None) -> Solution:
    """The worked solution of ``exercise`` (e.g. ``"02.1"``); asking is recorded in ``progress.jsonl``.

    Try the exercise first: the checker's hints usually get you there.
    """
    import nbformat

    from labkit.paths import PROJECT_ROOT

    if exercise not in EXERCISES:
        raise ExerciseCheckError(f"no exercise {exercise!r}; the kit has {', '.join(EXERCISES)}")
    lab = exercise.split(".")[0]
    found = sorted((PROJECT_ROOT / "notebooks" / "solutions").glob(f"{lab}_*_solutions.ipynb"))
    if not found:
        raise ExerciseCheckError(f"no solutions notebook for lab {lab} in notebooks/solutions/: is the checkout complete?")
    call = f"{EXERCISES[exercise].__name__}("
    cells = nbformat.read(found[0], as_version=4).cells
    at = next((i for i, c in enumerate(cells) if c.cell_type == "code" and call in c.source), None)
    if at is None:
        raise ExerciseCheckError(f"{found[0].name} has no cell calling {call}…): the solutions notebook is out of date")
    start = at
    while start > 0 and cells[start - 1].cell_type == "code":  # the answer's cells run up to the check
        start -= 1
    _log({"exercise": exercise, "solution_viewed": True}, root)
    return Solution(exercise, found[0], "\n\n".join(c.source for c in cells[start:at + 1]))
