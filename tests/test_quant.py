import pytest
import torch
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

from labkit import quant


def _weights() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    # channels with very different ranges, like a real depthwise conv after BatchNorm folding
    return torch.randn(8, 4, 3, 3, generator=generator) * torch.logspace(-2, 0, 8).view(8, 1, 1, 1)


def test_integer_ranges():
    assert quant.integer_range(8, signed=True) == (-128, 127)
    assert quant.integer_range(8, signed=False) == (0, 255)
    assert quant.integer_range(4, signed=True) == (-8, 7)
    with pytest.raises(ValueError):
        quant.integer_range(1, signed=True)


@pytest.mark.parametrize("symmetric", [True, False])
def test_per_tensor_params_match_torch_observer(symmetric):
    w = _weights()
    observer = MinMaxObserver(dtype=torch.qint8 if symmetric else torch.quint8,
                              qscheme=torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine)
    observer(w)
    scale, zero_point = observer.calculate_qparams()
    ours = quant.qparams(w, bits=8, symmetric=symmetric)
    assert torch.allclose(ours.scale, scale, rtol=1e-6)
    assert int(ours.zero_point) == int(zero_point)


def test_per_channel_params_match_torch_observer():
    w = _weights()
    observer = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    observer(w)
    scale, zero_point = observer.calculate_qparams()
    ours = quant.qparams(w, symmetric=True, per_channel=True)
    assert torch.allclose(ours.scale, scale, rtol=1e-6) and torch.equal(ours.zero_point, zero_point.to(torch.int64))


def test_fake_quantize_matches_torch():
    w = _weights()
    p = quant.qparams(w, symmetric=False)
    expected = torch.fake_quantize_per_tensor_affine(w, float(p.scale), int(p.zero_point), p.qmin, p.qmax)
    assert torch.allclose(quant.fake_quantize(w, p), expected, atol=1e-7)
    pc = quant.qparams(w, symmetric=True, per_channel=True)
    expected = torch.fake_quantize_per_channel_affine(w, pc.scale, pc.zero_point.to(torch.int32), 0, pc.qmin, pc.qmax)
    assert torch.allclose(quant.fake_quantize(w, pc), expected, atol=1e-7)


def test_hand_computed_example():
    x = torch.tensor([-1.0, 0.0, 0.5, 3.0])
    p = quant.qparams(x, bits=8, symmetric=False)  # scale = 4 / 255, zero point = round(1 / scale) = 64
    assert float(p.scale) == pytest.approx(4 / 255) and int(p.zero_point) == 64
    assert quant.quantize(x, p).tolist() == [0, 64, 96, 255]
    assert quant.fake_quantize(torch.tensor([0.0]), p).item() == 0.0  # zero is exact


def test_error_grows_as_expected():
    w = _weights()
    per_tensor = quant.sqnr_db(w, quant.fake_quantize(w, quant.qparams(w, per_channel=False)))
    per_channel = quant.sqnr_db(w, quant.fake_quantize(w, quant.qparams(w, per_channel=True)))
    four_bit = quant.sqnr_db(w, quant.fake_quantize(w, quant.qparams(w, bits=4, per_channel=True)))
    assert per_channel > per_tensor + 3  # channels with small ranges keep their resolution
    assert 18 < per_channel - four_bit < 30  # ~6 dB per bit, 4 bits fewer
    assert quant.sqnr_db(w, w) == float("inf")
