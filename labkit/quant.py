"""Quantization arithmetic, spelled out: scale/zero-point, fake quantization, error in dB.

The formulas follow PyTorch's min/max observers (``torch.ao.quantization.observer``) exactly, so a
lab can compute them by hand and then show that the library agrees:

* affine (asymmetric): ``scale = (max' - min') / (qmax - qmin)``, ``zero_point = qmin - round(min' / scale)``
  with ``min' = min(x.min(), 0)``, ``max' = max(x.max(), 0)`` (zero must be exactly representable);
* symmetric: ``scale = max(-min', max') / ((qmax - qmin) / 2)``, zero point at the middle of the range
  (0 for signed integers).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
    if not 2 <= bits <= 16:
        raise ValueError(f"bits must be between 2 and 16, got {bits}")
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def qparams(x: torch.Tensor, bits: int = 8, symmetric: bool = True, per_channel: bool = False,
            axis: int = 0) -> QParams:
    """Min/max quantization parameters of ``x``; symmetric uses signed, affine uses unsigned integers."""
    qmin, qmax = integer_range(bits, signed=symmetric)
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
    scale = _broadcast(params.scale, x, params.axis)
    zero_point = _broadcast(params.zero_point, x, params.axis)
    return torch.clamp(torch.round(x / scale) + zero_point, params.qmin, params.qmax).to(torch.int64)


def dequantize(q: torch.Tensor, params: QParams) -> torch.Tensor:
    """``(q - zero_point) * scale`` as float32."""
    scale = _broadcast(params.scale, q, params.axis)
    zero_point = _broadcast(params.zero_point, q, params.axis)
    return (q - zero_point).to(torch.float32) * scale


def fake_quantize(x: torch.Tensor, params: QParams) -> torch.Tensor:
    """Quantize then dequantize: the float values an integer kernel really computes with."""
    return dequantize(quantize(x, params), params)


def sqnr_db(reference: torch.Tensor, approximation: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio in dB (higher is better; +6 dB ≈ one more bit)."""
    noise = float(((reference - approximation) ** 2).sum())
    signal = float((reference ** 2).sum())
    return float("inf") if noise == 0 else 10.0 * torch.log10(torch.tensor(signal / noise)).item()
