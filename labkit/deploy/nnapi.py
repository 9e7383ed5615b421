"""Read the NNAPI model that PyTorch's (deprecated, prototype) NNAPI converter serializes.

``torch.backends._nnapi.prepare.process_for_nnapi(traced, inputs)`` returns, among other things,
the model NNAPI would build on a phone as one int32 tensor. The layout is written by
``torch.backends._nnapi.serializer._NnapiSerializer.serialize_model`` (version 1): a header of six
int32 counts; operands ``(type, rank, scale, zero_point)``; values ``(operand, source, length)``;
operations ``(type, inputs, outputs)``; every operand's dimensions; the values' bytes (4-byte
aligned); the operations' operand indices; the model's inputs and outputs. Weights are not inside:
a value of source ``NUMBERED_BUFFER`` points into the ``used_weights`` list returned beside it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from labkit.errors import LabkitError, ModelFileError


class NnapiModelError(ModelFileError, ValueError):
    """A serialized NNAPI model that is truncated, of another version, or does not fit the inputs given."""


class NnapiUnsupportedError(LabkitError, NotImplementedError):
    """The reference executor does not implement an operation (or an option of one) the model uses."""


_HEADER = struct.Struct("<6i")
_OPERAND = struct.Struct("<iifi")
_TRIPLE = struct.Struct("<3i")
_IMMEDIATE, _NUMBERED_BUFFER = 0, 2


def _code_names(codes: type) -> dict[int, str]:
    return {value: name for name, value in vars(codes).items() if not name.startswith("_") and isinstance(value, int)}


def _names() -> tuple[dict[int, str], dict[int, str]]:
    from torch.backends._nnapi.serializer import NNAPI_OperandCode, NNAPI_OperationCode

    return _code_names(NNAPI_OperandCode), _code_names(NNAPI_OperationCode)


_SCALAR_FORMATS = {"FLOAT32": "<f", "INT32": "<i", "UINT32": "<I", "BOOL": "<?"}
_TENSOR_DTYPES = {"TENSOR_INT32": np.int32, "TENSOR_FLOAT32": np.float32, "TENSOR_QUANT8_ASYMM": np.uint8,
                  "TENSOR_FLOAT16": np.float16, "TENSOR_QUANT16_ASYMM": np.uint16, "TENSOR_QUANT16_SYMM": np.int16}


@dataclass(frozen=True)
class Operand:
    """One NNAPI operand: a model input/output, an intermediate tensor, a weight or a scalar argument."""

    index: int
    type: str
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    source: str  # "" (computed or a model input), "immediate" or "weights[k]"
    value: np.ndarray | None


@dataclass(frozen=True)
class Operation:
    """One NNAPI operation and the operand indices it reads and writes."""

    index: int
    type: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class NnapiModel:
    """A decoded NNAPI model: operands, operations, and which operands are the model's inputs and outputs."""

    version: int
    operands: tuple[Operand, ...]
    operations: tuple[Operation, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def operands_table(self) -> pd.DataFrame:
        """One row per operand; ``value`` shows scalars and the shape of constant tensors."""
        rows = []
        for o in self.operands:
            shown = None if o.value is None else (o.value.item() if o.value.size == 1 and not o.shape else
                                                  f"{o.value.dtype}{list(o.value.shape)}")
            role = "input" if o.index in self.inputs else "output" if o.index in self.outputs else ""
            rows.append({"operand": o.index, "role": role, "type": o.type, "shape": o.shape, "scale": o.scale,
                         "zero_point": o.zero_point, "source": o.source, "value": shown})
        return pd.DataFrame(rows).set_index("operand")

    def operations_table(self) -> pd.DataFrame:
        """One row per operation with its input and output operand indices."""
        return pd.DataFrame([{"operation": op.index, "type": op.type, "inputs": op.inputs, "outputs": op.outputs}
                             for op in self.operations]).set_index("operation")


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise NnapiModelError(f"the serialized NNAPI model ends early: needed {size} bytes at offset {self.offset}, "
                             f"it has {len(self.data)} in all (truncated? re-run process_for_nnapi)")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def ints(self, count: int) -> tuple[int, ...]:
        return struct.unpack(f"<{count}i", self.take(4 * count))


def _as_bytes(serialized: torch.Tensor | bytes | bytearray) -> bytes:
    if isinstance(serialized, torch.Tensor):
        if serialized.dtype != torch.int32 or serialized.dim() != 1:
            raise NnapiModelError(f"expected the 1-D int32 tensor process_for_nnapi returns, got {serialized.dtype} "
                             f"with shape {tuple(serialized.shape)}; pass ser_model as it came")
        return serialized.contiguous().numpy().astype("<i4").tobytes()
    if not isinstance(serialized, (bytes, bytearray, memoryview)):
        raise NnapiModelError(f"expected the serialized model (the int32 tensor process_for_nnapi returns, or its "
                              f"bytes), got {type(serialized).__name__}")
    return bytes(serialized)


def _constant(type_name: str, shape: tuple[int, ...], data: bytes) -> np.ndarray:
    if type_name in _SCALAR_FORMATS:
        return np.array(struct.unpack(_SCALAR_FORMATS[type_name], data[:struct.calcsize(_SCALAR_FORMATS[type_name])])[0])
    dtype = _TENSOR_DTYPES.get(type_name)
    if dtype is None:
        return np.frombuffer(data, dtype=np.uint8)
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def decode(serialized: torch.Tensor | bytes, weights: Sequence[torch.Tensor] = ()) -> NnapiModel:
    """Decode a serialized NNAPI model (``ser_model`` from ``process_for_nnapi``) and attach its ``weights``.

    Raises :class:`NnapiModelError` (a ``ValueError``) naming what is wrong when the data is truncated,
    has trailing bytes, is of another version or is otherwise corrupt.
    """
    if isinstance(weights, torch.Tensor) or not all(isinstance(w, torch.Tensor) for w in weights):
        raise NnapiModelError("weights must be the used_weights list of tensors that process_for_nnapi returns")
    try:
        return _decode(serialized, weights)
    except (IndexError, KeyError, ValueError, struct.error) as exc:
        if isinstance(exc, LabkitError):
            raise
        raise NnapiModelError(f"the serialized NNAPI model is corrupt ({type(exc).__name__}: {exc}); "
                              f"re-run process_for_nnapi and decode its ser_model unchanged") from exc


def _decode(serialized: torch.Tensor | bytes, weights: Sequence[torch.Tensor]) -> NnapiModel:
    operand_names, operation_names = _names()
    reader = _Reader(_as_bytes(serialized))
    version, n_operands, n_values, n_operations, n_inputs, n_outputs = _HEADER.unpack(reader.take(_HEADER.size))
    if version != 1:
        raise NnapiModelError(f"serialized NNAPI model version {version}; this reader knows version 1 (torch 2.x): "
                              f"pass the ser_model that torch 2.x's process_for_nnapi returns")
    if min(n_operands, n_values, n_operations, n_inputs, n_outputs) < 0:
        raise NnapiModelError("negative counts in the header: this is not a serialized NNAPI model; pass the ser_model "
                              "tensor that process_for_nnapi returns")
    raw_operands = [_OPERAND.unpack(reader.take(_OPERAND.size)) for _ in range(n_operands)]
    values = [_TRIPLE.unpack(reader.take(_TRIPLE.size)) for _ in range(n_values)]
    raw_operations = [_TRIPLE.unpack(reader.take(_TRIPLE.size)) for _ in range(n_operations)]
    shapes = [reader.ints(rank) for _, rank, _, _ in raw_operands]
    constants: dict[int, tuple[str, np.ndarray]] = {}
    for operand, source, length in values:
        data = reader.take(((length - 1) | 0x3) + 1 if length else 0)[:length]
        type_name = operand_names.get(raw_operands[operand][0], str(raw_operands[operand][0]))
        if source == _IMMEDIATE:
            constants[operand] = ("immediate", _constant(type_name, shapes[operand], data))
        elif source == _NUMBERED_BUFFER:
            buffer, _offset, _size = struct.unpack("<3i", data)
            value = None
            if buffer < len(weights):
                tensor = weights[buffer].detach()
                value = (tensor.int_repr() if tensor.is_quantized else tensor).contiguous().numpy()
            constants[operand] = (f"weights[{buffer}]", value)
        else:
            constants[operand] = (f"source {source}", None)
    arguments = reader.ints(sum(n_in + n_out for _, n_in, n_out in raw_operations))
    inputs, outputs = reader.ints(n_inputs), reader.ints(n_outputs)
    if reader.offset != len(reader.data):
        raise NnapiModelError(f"{len(reader.data) - reader.offset} bytes left after the model: not a model this reader "
                         f"understands (or two models joined); pass exactly the ser_model of one process_for_nnapi call")
    operands = tuple(Operand(i, operand_names.get(code, str(code)), tuple(shapes[i]), scale, zero_point,
                             constants.get(i, ("", None))[0], constants.get(i, ("", None))[1])
                     for i, (code, _rank, scale, zero_point) in enumerate(raw_operands))
    operations, position = [], 0
    for i, (code, n_in, n_out) in enumerate(raw_operations):
        operations.append(Operation(i, operation_names.get(code, str(code)), tuple(arguments[position:position + n_in]),
                                    tuple(arguments[position + n_in:position + n_in + n_out])))
        position += n_in + n_out
    return NnapiModel(version, operands, tuple(operations), tuple(inputs), tuple(outputs))


_FUSED = {0: lambda t: t, 1: torch.relu, 2: lambda t: t.clamp(-1.0, 1.0), 3: lambda t: t.clamp(0.0, 6.0)}


def _scalar(values: dict[int, torch.Tensor], index: int) -> int:
    return int(values[index].item())


def _conv(op: Operation, values: dict[int, torch.Tensor], depthwise: bool) -> torch.Tensor:
    x, weight, bias = (values[i] for i in op.inputs[:3])
    left, right, top, bottom, stride_w, stride_h = (_scalar(values, i) for i in op.inputs[3:9])
    fuse, nchw = _scalar(values, op.inputs[-2]), bool(values[op.inputs[-1]].item())
    image = x if nchw else x.permute(0, 3, 1, 2)
    image = torch.nn.functional.pad(image, (left, right, top, bottom))
    if depthwise:  # NNAPI [1, H, W, C] → torch [C, 1, H, W]
        out = torch.nn.functional.conv2d(image, weight.permute(3, 0, 1, 2), bias, (stride_h, stride_w),
                                         groups=image.shape[1])
    else:  # NNAPI [O, H, W, I] → torch [O, I, H, W]
        out = torch.nn.functional.conv2d(image, weight.permute(0, 3, 1, 2), bias, (stride_h, stride_w))
    out = _FUSED[fuse](out)
    return out if nchw else out.permute(0, 2, 3, 1)


def _mean(op: Operation, values: dict[int, torch.Tensor]) -> torch.Tensor:
    axes = [int(a) for a in values[op.inputs[1]].flatten().tolist()]
    return values[op.inputs[0]].mean(dim=axes, keepdim=bool(_scalar(values, op.inputs[2])))


def _strided_slice(op: Operation, values: dict[int, torch.Tensor]) -> torch.Tensor:
    x = values[op.inputs[0]]
    begins, ends, strides = (values[i].flatten().tolist() for i in op.inputs[1:4])
    begin_mask, end_mask, shrink_mask = (_scalar(values, i) for i in op.inputs[4:7])
    if shrink_mask:
        raise NnapiUnsupportedError(f"operation {op.index} (STRIDED_SLICE) uses a shrink-axis mask; the reference "
                                  f"executor does not: slice without dropping the axis (then reshape) to check it")
    index = tuple(slice(None if begin_mask >> d & 1 else int(begins[d]), None if end_mask >> d & 1 else int(ends[d]),
                        int(strides[d])) for d in range(x.dim()))
    return x[index]


def _average_pool(op: Operation, values: dict[int, torch.Tensor]) -> torch.Tensor:
    if len(op.inputs) != 11:
        raise NnapiUnsupportedError(f"operation {op.index} (AVERAGE_POOL_2D) uses implicit padding; the reference "
                                  f"executor reads the explicit-padding form the PyTorch converter writes")
    x = values[op.inputs[0]]
    left, right, top, bottom, stride_w, stride_h, width, height, fuse = (_scalar(values, i) for i in op.inputs[1:10])
    if left or right or top or bottom:
        raise NnapiUnsupportedError(f"operation {op.index} (AVERAGE_POOL_2D) pads; the reference executor does not: "
                                    f"check a model whose pooling has no padding")
    nchw = bool(values[op.inputs[10]].item())
    image = x if nchw else x.permute(0, 3, 1, 2)
    out = _FUSED[fuse](torch.nn.functional.avg_pool2d(image, (height, width), (stride_h, stride_w)))
    return out if nchw else out.permute(0, 2, 3, 1)


_REFERENCE_OPS = {
    "CONV_2D": lambda op, v: _conv(op, v, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda op, v: _conv(op, v, depthwise=True),
    "RELU": lambda op, v: torch.relu(v[op.inputs[0]]),
    "RELU6": lambda op, v: v[op.inputs[0]].clamp(0.0, 6.0),
    "ADD": lambda op, v: _FUSED[_scalar(v, op.inputs[2])](v[op.inputs[0]] + v[op.inputs[1]]),
    "MEAN": _mean,
    "STRIDED_SLICE": _strided_slice,
    "AVERAGE_POOL_2D": _average_pool,
    "RESHAPE": lambda op, v: v[op.inputs[0]].reshape([int(d) for d in v[op.inputs[1]].flatten().tolist()]),
    "QUANTIZE": lambda op, v: v[op.inputs[0]],  # real values; the output operand's grid does the rounding
    "DEQUANTIZE": lambda op, v: v[op.inputs[0]],
    "FULLY_CONNECTED": lambda op, v: _FUSED[_scalar(v, op.inputs[3])](
        v[op.inputs[0]] @ v[op.inputs[1]].T + v[op.inputs[2]]),
}


_QUANT8 = "TENSOR_QUANT8_ASYMM"


def _real(operand: Operand) -> torch.Tensor:
    """A constant operand's real value: uint8 → (q − zero_point)·scale, scaled int32 (a bias) → q·scale."""
    value = torch.from_numpy(np.array(operand.value))
    if operand.type == _QUANT8:
        return (value.to(torch.float32) - operand.zero_point) * operand.scale
    if operand.type == "TENSOR_INT32" and operand.scale > 0:
        return value.to(torch.float32) * operand.scale
    return value


def _snap(value: torch.Tensor, operand: Operand) -> torch.Tensor:
    """Round a real value to the grid of a uint8 operand (what storing it as uint8 does)."""
    if operand.type != _QUANT8:
        return value
    q = torch.clamp(torch.round(value / operand.scale) + operand.zero_point, 0, 255)
    return (q - operand.zero_point) * operand.scale


def run_reference(model: NnapiModel, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Execute a decoded model on the host, operation by operation, in NNAPI's own layouts.

    It reads the weights, padding, strides, fused activations, layout flags and quantization
    parameters from the serialized model, so comparing its output with the PyTorch model checks
    the *conversion*. Quantized (uint8) tensors are simulated: every value is kept as a real number
    and rounded to its operand's grid (scale, zero point) when an operation writes it; NNAPI drivers
    use integer arithmetic and may differ by a rounding step. Each result's shape is checked against
    the shape the model declares for that operand (``ValueError`` names the first that disagrees),
    which catches converter bugs a driver would trip over. It is a check, not NNAPI: no driver,
    no accelerator, and only the operations listed in ``REFERENCE_OPERATIONS``.
    """
    if not isinstance(model, NnapiModel):
        raise NnapiModelError(f"run_reference takes the NnapiModel that decode() returns, got {type(model).__name__}")
    if isinstance(inputs, torch.Tensor) or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise NnapiModelError("inputs must be a list with one tensor per model input, e.g. [x] (not x itself)")
    values: dict[int, torch.Tensor] = {}
    for operand in model.operands:
        if operand.value is not None:
            values[operand.index] = _real(operand)
        elif operand.source.startswith("weights["):
            raise NnapiModelError(f"operand {operand.index} needs {operand.source}: pass the used_weights list to decode()")
    if len(inputs) != len(model.inputs):
        raise NnapiModelError(f"the model has {len(model.inputs)} input(s), got {len(inputs)}; pass one tensor per input")
    for index, tensor in zip(model.inputs, inputs, strict=True):
        expected = model.operands[index].shape
        if tuple(tensor.shape) != expected:
            raise NnapiModelError(f"input operand {index} has shape {expected} (NNAPI layout), got {tuple(tensor.shape)}; "
                                  f"an NHWC model takes x.permute(0, 2, 3, 1).contiguous()")
        values[index] = _snap(tensor.float(), model.operands[index])
    for op in model.operations:
        output = model.operands[op.outputs[0]]
        if output.type not in ("TENSOR_FLOAT32", _QUANT8):
            raise NnapiUnsupportedError(f"operation {op.index} ({op.type}) produces {output.type}: the reference "
                                      f"executor simulates float32 and uint8 tensors only: check a float32 or quint8 model")
        run = _REFERENCE_OPS.get(op.type)
        if run is None:
            raise NnapiUnsupportedError(f"operation {op.index} is {op.type}; the reference executor implements "
                                      f"{sorted(_REFERENCE_OPS)}: check a model made of those, or on a device")
        result = run(op, values)
        declared = output.shape
        if len(declared) != result.dim() or any(d not in (0, r) for d, r in zip(declared, result.shape, strict=True)):
            raise NnapiModelError(f"operation {op.index} ({op.type}) computes shape {tuple(result.shape)} but the serialized "
                             f"model declares operand {output.index} as {declared}: the conversion is inconsistent "
                             f"(a real NNAPI driver would reject or mis-run this model); "
                                  f"fix the model or its layout before converting, or report the converter bug")
        values[op.outputs[0]] = _snap(result, output)
    return [values[index] for index in model.outputs]


REFERENCE_OPERATIONS = tuple(sorted(_REFERENCE_OPS))
