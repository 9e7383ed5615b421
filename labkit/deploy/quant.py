"""Quantization arithmetic, spelled out: scale/zero-point, fake quantization, error in dB.

The formulas follow PyTorch's min/max observers (``torch.ao.quantization.observer``) exactly, so a
lab can compute them by hand and then show that the library agrees:

* affine (asymmetric): ``scale = (max' - min') / (qmax - qmin)``, ``zero_point = qmin - round(min' / scale)``
  with ``min' = min(x.min(), 0)``, ``max' = max(x.max(), 0)`` (zero must be exactly representable);
* symmetric: ``scale = max(-min', max') / ((qmax - qmin) / 2)``, zero point at the middle of the range
  (0 for signed integers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.fx import Node

from labkit.errors import ParameterError


def _check_tensor(name: str, value: object) -> None:
    if not isinstance(value, torch.Tensor) or value.numel() == 0:
        got = f"an empty tensor {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise ParameterError(f"{name} must be a non-empty torch.Tensor, got {got}; e.g. conv.weight.detach()")


def _check_params(x: torch.Tensor, params: object) -> None:
    if not isinstance(params, QParams):
        raise ParameterError(f"params must be the QParams that qparams(x, …) returns, got {type(params).__name__}")
    if params.axis is not None and (params.axis >= x.dim() or x.shape[params.axis] != params.scale.numel()):
        raise ParameterError(f"these per-channel QParams have {params.scale.numel()} scales along axis {params.axis}, "
                             f"but the tensor is shaped {tuple(x.shape)}; compute qparams from this tensor")


@dataclass(frozen=True)
class QParams:
    """Quantization parameters of one tensor (per tensor, or per channel along ``axis``)."""

    scale: torch.Tensor
    zero_point: torch.Tensor
    qmin: int
    qmax: int
    axis: int | None

    @property
    def bits(self) -> int:
        """Bit width implied by the integer range."""
        return int(self.qmax - self.qmin).bit_length()


def integer_range(bits: int, signed: bool) -> tuple[int, int]:
    """(qmin, qmax) of a ``bits``-bit integer, e.g. (-128, 127) or (0, 255) for 8 bits."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
        raise ParameterError(f"bits must be a whole number between 2 and 16 (8 for int8), got {bits!r}")
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def qparams(x: torch.Tensor, bits: int = 8, symmetric: bool = True, per_channel: bool = False,
            axis: int = 0) -> QParams:
    """Min/max quantization parameters of ``x``; symmetric uses signed, affine uses unsigned integers."""
    qmin, qmax = integer_range(bits, signed=symmetric)
    _check_tensor("x", x)
    if per_channel and not -x.dim() <= axis < x.dim():
        raise ParameterError(f"axis {axis} does not exist in a tensor shaped {tuple(x.shape)}; per-channel "
                             f"quantization of conv weights uses axis=0 (output channels)")
    x = x.detach().to(torch.float32)
    if per_channel:
        flat = x.transpose(0, axis).reshape(x.shape[axis], -1)
        low, high = flat.min(dim=1).values, flat.max(dim=1).values
    else:
        low, high = x.min().reshape(1), x.max().reshape(1)
    low, high = torch.clamp(low, max=0.0), torch.clamp(high, min=0.0)
    eps = torch.finfo(torch.float32).eps
    if symmetric:
        scale = torch.clamp(torch.maximum(-low, high) / ((qmax - qmin) / 2), min=eps)
        zero_point = torch.full_like(scale, (qmin + qmax + 1) // 2, dtype=torch.int64)
    else:
        scale = torch.clamp((high - low) / float(qmax - qmin), min=eps)
        zero_point = torch.clamp(qmin - torch.round(low / scale), qmin, qmax).to(torch.int64)
    return QParams(scale, zero_point, qmin, qmax, axis if per_channel else None)


def _broadcast(values: torch.Tensor, like: torch.Tensor, axis: int | None) -> torch.Tensor:
    if axis is None:
        return values.reshape([1] * like.dim()) if values.numel() == 1 else values
    shape = [1] * like.dim()
    shape[axis] = -1
    return values.reshape(shape)


def quantize(x: torch.Tensor, params: QParams) -> torch.Tensor:
    """``clamp(round(x / scale) + zero_point, qmin, qmax)`` as an int64 tensor."""
    _check_tensor("x", x)
    _check_params(x, params)
    scale = _broadcast(params.scale, x, params.axis)
    zero_point = _broadcast(params.zero_point, x, params.axis)
    return torch.clamp(torch.round(x / scale) + zero_point, params.qmin, params.qmax).to(torch.int64)


def dequantize(q: torch.Tensor, params: QParams) -> torch.Tensor:
    """``(q - zero_point) * scale`` as float32."""
    _check_tensor("q", q)
    _check_params(q, params)
    scale = _broadcast(params.scale, q, params.axis)
    zero_point = _broadcast(params.zero_point, q, params.axis)
    return (q - zero_point).to(torch.float32) * scale


def fake_quantize(x: torch.Tensor, params: QParams) -> torch.Tensor:
    """Quantize then dequantize: the float values an integer kernel really computes with."""
    return dequantize(quantize(x, params), params)


def sqnr_db(reference: torch.Tensor, approximation: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio in dB (higher is better; +6 dB ≈ one more bit)."""
    _check_tensor("reference", reference)
    _check_tensor("approximation", approximation)
    if reference.shape != approximation.shape:
        raise ParameterError(f"reference {tuple(reference.shape)} and approximation {tuple(approximation.shape)} "
                             f"differ in shape; compare a tensor with its own fake_quantize(...)")
    noise = float(((reference - approximation) ** 2).sum())
    signal = float((reference ** 2).sum())
    return float("inf") if noise == 0 else 10.0 * torch.log10(torch.tensor(signal / noise)).item()


def keep_float_filter(module_names: Iterable[str]) -> Callable[[Node], bool]:
    """A quantizer node filter that is False for nodes coming from ``module_names`` (or their children).

    Name whole layers (e.g. ``"stem"``, ``"blocks.1.depthwise"``): a layer's padding, conv, BatchNorm
    and activation then stay in float together. See :func:`float_pads_after_int8` for the one
    boundary XNNPACK cannot lower.
    """
    from torchao.quantization.pt2e.quantizer import get_module_name_filter

    if isinstance(module_names, str):
        raise ParameterError(f"keep_float (module_names) must be a list of layer names, got the string {module_names!r}; "
                             f"write [{module_names!r}]")
    filters = [get_module_name_filter(name) for name in module_names]
    return lambda node: not any(matches(node) for matches in filters)


def _is_qdq(node: object) -> bool:
    return isinstance(node, Node) and node.op == "call_function" and "quantized_decomposed" in str(node.target)


def _module_of(node: Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return list(stack.values())[-1][0] if stack else node.name


def float_pads_after_int8(graph: torch.fx.GraphModule) -> dict[str, str]:
    """Explicit paddings that feed a *float* conv but read an int8 (dequantized) tensor: {padding: producer}.

    ExecuTorch's XNNPACK lowering re-quantizes the output of a zero padding that reads a dequantized
    tensor (``InsertPadQDQPass``), so the float conv after it gets an int8 input with float weights
    and lowering fails with "Weight and Input should both be quantized". Keeping the producer's layer
    in float too (so the padding reads a float tensor) avoids it.
    """
    conflicts = {}
    for node in graph.graph.nodes:
        if node.op != "call_function" or "conv" not in str(node.target) or _is_qdq(node.args[1]):
            continue  # not a conv, or a conv whose weights are int8
        source = node.args[0]
        while _is_qdq(source):
            source = source.args[0]
        if not (isinstance(source, Node) and "pad" in str(source.target)):
            continue
        producer = source.args[0]
        if not _is_qdq(producer):
            continue  # the padding reads a float tensor: fine
        while _is_qdq(producer):
            producer = producer.args[0]
        conflicts[_module_of(source)] = _module_of(producer)
    return conflicts


CLAMP_TARGETS = (torch.ops.aten.hardtanh.default, torch.ops.aten.hardtanh_.default)
CONV_TARGETS = (torch.ops.aten.conv1d.default, torch.ops.aten.conv2d.default)
BATCH_NORM_TARGETS = (torch.ops.aten.batch_norm.default,)


def _only_user_is(node: object, targets: tuple) -> bool:
    return isinstance(node, Node) and node.target in targets and len(node.users) == 1


def annotate_conv_clamp(graph: torch.fx.GraphModule, config: object,
                        filter_fn: Callable[[Node], bool] | None = None) -> list[tuple[Node, ...]]:
    """Annotate each conv (→ BatchNorm) → ``hardtanh`` (ReLU6) chain as one quantized pattern; returns them.

    The conv's input, weight and bias get ``config``'s specs, its output (and the BatchNorm's, in a
    QAT graph where BatchNorm is not folded yet) none; the clamp's output gets the activation spec.
    So the one int8 tensor of the chain is observed *after* the clamp, over [0, 6], as XNNPACK's
    conv with a fused output clamp computes it. Chains with a branching intermediate, already
    annotated nodes, or nodes that ``filter_fn`` rejects are left alone.
    """
    from torchao.quantization.pt2e.quantizer import (
        QuantizationAnnotation,
        get_bias_qspec,
        get_input_act_qspec,
        get_output_act_qspec,
        get_weight_qspec,
    )
    from torchao.quantization.pt2e.quantizer.quantizer import Q_ANNOTATION_KEY

    chains = []
    for clamp in graph.graph.nodes:
        if clamp.op != "call_function" or clamp.target not in CLAMP_TARGETS:
            continue
        chain = [clamp]
        if _only_user_is(clamp.args[0], BATCH_NORM_TARGETS):
            chain.insert(0, clamp.args[0])
        conv = chain[0].args[0]
        if not _only_user_is(conv, CONV_TARGETS):
            continue
        chain.insert(0, conv)
        if any(Q_ANNOTATION_KEY in n.meta for n in chain):
            continue
        if filter_fn is not None and not all(filter_fn(n) for n in chain):
            continue
        specs = {conv.args[0]: get_input_act_qspec(config), conv.args[1]: get_weight_qspec(config)}
        if len(conv.args) > 2 and isinstance(conv.args[2], Node):
            specs[conv.args[2]] = get_bias_qspec(config)
        conv.meta[Q_ANNOTATION_KEY] = QuantizationAnnotation(input_qspec_map=specs, _annotated=True)
        for middle in chain[1:-1]:
            middle.meta[Q_ANNOTATION_KEY] = QuantizationAnnotation(_annotated=True)
        clamp.meta[Q_ANNOTATION_KEY] = QuantizationAnnotation(output_qspec=get_output_act_qspec(config),
                                                              _annotated=True)
        chains.append(tuple(chain))
    return chains


def relu6_fusing_quantizer(per_channel: bool = True, keep_float: Sequence[str] = (), qat: bool = False) -> object:
    """The kit's int8 quantizer: ExecuTorch's ``XNNPACKQuantizer`` plus conv → ReLU6 as one pattern.

    The stock quantizer fuses conv + ReLU but not conv + ReLU6: it gives ``hardtanh`` the *shared*
    spec of its input, so the conv output is quantized over its whole unclamped range and the clamp
    keeps only the few levels inside [0, 6]. Its subclass
    (:class:`labkit.deploy.relu6_quantizer.ReLU6FusingXNNPACKQuantizer`) annotates those chains first
    (:func:`annotate_conv_clamp`), then lets the stock annotation do the rest. ``qat=True`` for
    ``prepare_qat_pt2e``; ``keep_float`` as in :func:`keep_float_filter`.
    """
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config

    from labkit.deploy.relu6_quantizer import ReLU6FusingXNNPACKQuantizer  # imports executorch: only when used

    config = get_symmetric_quantization_config(is_per_channel=per_channel, is_qat=qat)
    quantizer = ReLU6FusingXNNPACKQuantizer().set_global(config)
    if keep_float:
        quantizer.set_filter_function(keep_float_filter(keep_float))
    return quantizer


def _takes_one_image(exported: torch.export.ExportedProgram) -> bool:
    """True when the exported graph's first input has batch 1 or a dynamic batch dimension."""
    names = set(exported.graph_signature.user_inputs)
    first = next((n for n in exported.graph.nodes if n.op == "placeholder" and n.name in names), None)
    value = first.meta.get("val") if first is not None else None
    if value is None or not hasattr(value, "shape") or not len(value.shape):
        return False
    batch = value.shape[0]
    return not isinstance(batch, int) or batch == 1


def ptq_xnnpack(exported: torch.export.ExportedProgram, calibration: Iterable[torch.Tensor], per_channel: bool = True,
                keep_float: Sequence[str] = (), fuse_relu6: bool = True) -> torch.fx.GraphModule:
    """Post-training int8 quantization for XNNPACK with torchao PT2E: the calls the quantization lab shows.

    ``exported`` is a ``torch.export`` of the float model in eval mode; ``calibration`` yields input
    batches, fed to the observers one image at a time when the graph takes batch 1 or a dynamic
    batch (the activation observers' ranges depend on the batching; one at a time is what
    :func:`int8_program` does), else as given; modules named in ``keep_float`` stay in float.
    ``fuse_relu6=True`` is the kit's recipe (:func:`relu6_fusing_quantizer`); ``False`` is the stock
    ``XNNPACKQuantizer``. Returns the converted graph (Q/DQ ops around float ops), ready for
    ``torch.export`` and XNNPACK lowering.
    """
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    if not isinstance(exported, torch.export.ExportedProgram):
        raise ParameterError(f"ptq_xnnpack takes a torch.export.ExportedProgram, got {type(exported).__name__}; "
                             f"pass torch.export.export(model.eval(), (x,))")
    if fuse_relu6:
        quantizer = relu6_fusing_quantizer(per_channel, keep_float)
    else:
        quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
        if keep_float:
            quantizer.set_filter_function(keep_float_filter(keep_float))
    prepared = prepare_pt2e(exported.module(), quantizer)
    seen = 0
    with torch.no_grad():
        for batch in calibration:
            # one image per call (histogram observers depend on how images are batched), where the graph allows it
            for part in (batch.split(1) if _takes_one_image(exported) else [batch]):
                prepared(part)
            seen += batch.shape[0]
    if seen == 0:
        raise ParameterError("no calibration batches: pass at least one input batch so the observers see real ranges")
    return convert_pt2e(prepared)


def _recipe_source() -> str:
    """The code of the recipe, so that editing it re-makes every cached int8 program."""
    import inspect

    from labkit.deploy.relu6_quantizer import ReLU6FusingXNNPACKQuantizer

    parts = (annotate_conv_clamp, ReLU6FusingXNNPACKQuantizer, relu6_fusing_quantizer, ptq_xnnpack)
    return "".join(inspect.getsource(f) for f in parts)


def int8_recipe() -> str:
    """The kit's int8 recipe in words (what :func:`int8_program` makes)."""
    from labkit.model.data import CALIBRATION_SEED, CALIBRATION_SIZE

    return (f"PT2E XNNPACKQuantizer, symmetric per-channel weights, conv + ReLU6 as one pattern; calibration_set: "
            f"{CALIBRATION_SIZE} crops of seed {CALIBRATION_SEED}, one image per call")


def int8_program(model: object, path: Path) -> Path:
    """The kit's one int8 program of ``model``: :func:`int8_recipe`, batch 1, lowered to XNNPACK, at ``path``.

    Cached (``build/pte-cache``) by everything that makes it: the weights and the module's code, the
    calibration crops, the recipe's code and the torchao version (torch and executorch are added by
    ``cached_artifact``). So every lab, checker and ``labkit export-android`` asking for the same
    model gets byte-identical files. ``model.module``'s train/eval mode is left as it was.
    """
    import hashlib
    import json

    from labkit.deploy.export import cached_artifact, lower_to_pte, state_fingerprint
    from labkit.measure.env import package_version
    from labkit.model.data import calibration_set
    from labkit.model.models import LoadedModel
    from labkit.paths import build_dir

    if not isinstance(model, LoadedModel):
        raise ParameterError(f"int8_program takes a LoadedModel (labkit.model.models.load_model(...)), "
                             f"got {type(model).__name__}")
    x = model.example_input()
    calibration = calibration_set(model.spec.preprocess)
    key = {"weights": state_fingerprint(model.module), "module": repr(model.module), "shapes": [tuple(x.shape)],
           "backend": "xnnpack", "recipe": int8_recipe(), "torchao": package_version("torchao"),
           "recipe_code": hashlib.sha256(_recipe_source().encode()).hexdigest()[:16],
           "calibration": hashlib.sha256(calibration.inputs.numpy().tobytes()).hexdigest()[:16]}

    def make() -> bytes:
        was_training = model.module.training
        try:
            exported = torch.export.export(model.module.eval(), (x,))
            return lower_to_pte(ptq_xnnpack(exported, calibration.batches(1)), (x,))
        finally:
            model.module.train(was_training)

    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    shared = cached_artifact(build_dir("pte-cache") / f"int8-{digest[:20]}.pte", key, make)
    return cached_artifact(Path(path), key, shared.read_bytes)


def layer_names(module: torch.nn.Module) -> list[str]:
    """Names of the model's layers that ``keep_float`` accepts: every module that has parameters.

    ("Layer", not "unit": in the kit a unit is a backbone block that fine-tuning unfreezes.)"""
    return [name for name, child in module.named_modules() if name and any(True for _ in child.parameters())]
