"""labkit.deploy.nnapi reads what torch's NNAPI converter serializes (the converter runs on the host; NNAPI does not)."""

import warnings

import pytest
import torch

from labkit.deploy import nnapi


class _SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.depthwise = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = y + torch.nn.functional.hardtanh(self.depthwise(y), 0.0, 6.0)
        return self.fc(y.mean(dim=(2, 3)))


def _serialize(channels_last: bool):
    from torch.backends._nnapi.prepare import process_for_nnapi

    x = torch.randn(1, 3, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecation warnings: lab 05 shows them
        traced = torch.jit.trace(_SmallNet().eval(), x)
        example = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        if channels_last:
            example.nnapi_nhwc = True
        _, serialized, weights, input_formats, _, _ = process_for_nnapi(traced, [example])
    return serialized, weights, input_formats


@pytest.mark.parametrize("channels_last, input_shape, layout_operand", [(False, (1, 3, 16, 16), True),
                                                                         (True, (1, 16, 16, 3), False)])
def test_decode_operations_operands_and_layouts(channels_last, input_shape, layout_operand):
    serialized, weights, input_formats = _serialize(channels_last)
    model = nnapi.decode(serialized, weights)
    ops = model.operations_table()
    assert list(ops["type"]) == ["CONV_2D", "RELU", "DEPTHWISE_CONV_2D", "RELU6", "ADD", "MEAN", "FULLY_CONNECTED"]
    operands = model.operands
    assert operands[model.inputs[0]].shape == input_shape and input_formats == [int(channels_last)]
    assert operands[model.outputs[0]].shape == (1, 4) and operands[model.outputs[0]].type == "TENSOR_FLOAT32"
    conv = model.operations[0]
    assert bool(operands[conv.inputs[-1]].value) is layout_operand  # CONV_2D's last argument: "NCHW layout?"
    depthwise_weight = operands[model.operations[2].inputs[1]]
    assert depthwise_weight.shape == (1, 3, 3, 8) and depthwise_weight.source.startswith("weights[")  # [1, H, W, C]
    expected = _SmallNet().depthwise.weight.detach().permute(1, 2, 3, 0).numpy()
    assert depthwise_weight.value.shape == (1, 3, 3, 8)
    assert abs(depthwise_weight.value - expected).max() < 1e-6  # the weights NNAPI would get, re-laid out
    table = model.operands_table()
    assert table.loc[model.inputs[0], "role"] == "input" and set(table["source"]) >= {"immediate", ""}


def test_decode_refuses_damaged_data():
    serialized, weights, _ = _serialize(False)
    with pytest.raises(ValueError, match="ends early"):
        nnapi.decode(serialized[:-3], weights)
    with pytest.raises(ValueError, match="left after the model"):
        nnapi.decode(torch.cat([serialized, serialized[:1]]), weights)
    with pytest.raises(ValueError, match="version"):
        nnapi.decode(torch.cat([torch.tensor([2], dtype=torch.int32), serialized[1:]]), weights)
    with pytest.raises(ValueError, match="int32 tensor"):
        nnapi.decode(serialized.float(), weights)


@pytest.mark.parametrize("channels_last", [False, True])
def test_reference_executor_reproduces_the_pytorch_model(channels_last):
    serialized, weights, _ = _serialize(channels_last)
    model = nnapi.decode(serialized, weights)
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = _SmallNet().eval()(x)
    fed = x.permute(0, 2, 3, 1).contiguous() if channels_last else x
    (got,) = nnapi.run_reference(model, [fed])
    assert got.shape == expected.shape and float((got - expected).abs().max()) < 1e-5
    with pytest.raises(ValueError, match="NNAPI layout"):
        nnapi.run_reference(model, [fed.permute(0, 3, 1, 2) if channels_last else fed.permute(0, 2, 3, 1)])


def test_reference_executor_needs_the_weights_and_known_operations():
    serialized, weights, _ = _serialize(False)
    with pytest.raises(ValueError, match="used_weights"):
        nnapi.run_reference(nnapi.decode(serialized), [torch.zeros(1, 3, 16, 16)])
    model = nnapi.decode(serialized, weights)
    renamed = nnapi.NnapiModel(model.version, model.operands,
                               (nnapi.Operation(0, "LSTM", (), model.operations[0].outputs),) + model.operations[1:],
                               model.inputs, model.outputs)
    with pytest.raises(NotImplementedError, match="LSTM"):
        nnapi.run_reference(renamed, [torch.zeros(1, 3, 16, 16)])


def test_decode_a_qnnpack_quantized_model_shows_nnapi_quantization():
    import torch.ao.quantization as tq
    from torch.backends._nnapi.prepare import process_for_nnapi

    class QuantConv(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.conv, self.relu, self.dequant = (tq.QuantStub(), torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
                                                              torch.nn.ReLU(), tq.DeQuantStub())

        def forward(self, x):
            return self.dequant(self.relu(self.conv(self.quant(x))))

    previous = torch.backends.quantized.engine
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.backends.quantized.engine = "qnnpack"
            model = tq.fuse_modules(QuantConv().eval(), [["conv", "relu"]])
            model.qconfig = tq.get_default_qconfig("qnnpack")
            prepared = tq.prepare(model)
            prepared(torch.randn(8, 3, 16, 16))
            converted = tq.convert(prepared)
            x = torch.randn(1, 3, 16, 16).contiguous(memory_format=torch.channels_last)
            x.nnapi_nhwc = True  # the converter asks for NHWC inputs on quantized models
            _, serialized, weights, _, output_formats, _ = process_for_nnapi(torch.jit.trace(converted, x), [x])
            probe = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(7))
            with torch.no_grad():
                expected = converted(probe)
        finally:
            torch.backends.quantized.engine = previous
    model = nnapi.decode(serialized, weights)
    assert [op.type for op in model.operations] == ["QUANTIZE", "CONV_2D", "DEQUANTIZE"]
    quantized_input, weight, bias = (model.operands[i] for i in model.operations[1].inputs[:3])
    assert weight.type == "TENSOR_QUANT8_ASYMM" and weight.value.dtype.name == "uint8" and weight.zero_point == 128
    assert bias.type == "TENSOR_INT32" and bias.zero_point == 0  # NNAPI: int32 bias at input scale × weight scale
    assert bias.scale == pytest.approx(quantized_input.scale * weight.scale, rel=1e-5)
    assert model.operands[model.operations[1].inputs[-2]].value == 1  # ReLU fused into the conv

    # the host reference reproduces PyTorch's int8 conv within one rounding step of the output grid
    assert output_formats == [1]  # NHWC out
    (got,) = nnapi.run_reference(model, [probe.permute(0, 2, 3, 1).contiguous()])
    step = model.operands[model.operations[1].outputs[0]].scale
    assert float((got - expected.permute(0, 2, 3, 1)).abs().max()) <= 1.01 * step


class _SliceNet(torch.nn.Module):
    """A stride-1 conv subsampled by slicing, average-pooled and flattened: STRIDED_SLICE, AVERAGE_POOL_2D, RESHAPE."""

    def __init__(self, start: int):
        super().__init__()
        torch.manual_seed(0)
        self.start = start
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=2)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        y = self.conv(x)[:, :, self.start::2, self.start::2]
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1))


def _decoded_slice_net(start: int, channels_last: bool = False):
    from torch.backends._nnapi.prepare import process_for_nnapi

    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    example = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    if channels_last:
        example.nnapi_nhwc = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, serialized, weights, _, _, _ = process_for_nnapi(torch.jit.trace(_SliceNet(start).eval(), example), [example])
    return nnapi.decode(serialized, weights), x


def test_reference_executor_runs_slices_pooling_and_reshape():
    model, x = _decoded_slice_net(start=2)  # 10 rows from index 2 in steps of 2: 4 rows, as the converter says
    assert [op.type for op in model.operations] == ["CONV_2D", "STRIDED_SLICE", "STRIDED_SLICE", "AVERAGE_POOL_2D",
                                                    "RESHAPE", "FULLY_CONNECTED"]
    (got,) = nnapi.run_reference(model, [x])
    with torch.no_grad():
        expected = _SliceNet(2).eval()(x)
    assert float((got - expected).abs().max()) < 1e-5


def test_reference_executor_catches_the_converters_slice_bugs():
    # torch 2.14.1's converter sizes a slice as (stop - start) // step: 10 rows from index 1 → it declares 4, there are 5
    model, x = _decoded_slice_net(start=1)
    with pytest.raises(ValueError, match=r"STRIDED_SLICE\) computes shape \(1, 4, 5, 10\).*declares.*\(1, 4, 4, 10\)"):
        nnapi.run_reference(model, [x])
    # on NHWC tensors it writes begin/end/stride vectors in NCHW order, so the wrong axis is sliced
    model, x = _decoded_slice_net(start=2, channels_last=True)
    with pytest.raises(ValueError, match="STRIDED_SLICE"):
        nnapi.run_reference(model, [x.permute(0, 2, 3, 1).contiguous()])
