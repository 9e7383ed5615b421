import copy

import pytest
import torch
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

from labkit.deploy import quant


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


def _exported_tiny(tiny):
    from torch.export import Dim

    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    return torch.export.export(tiny.module.eval(), (x[:2],), dynamic_shapes=({0: Dim("batch", max=64)},)), x


def _quantized_convs(graph: torch.fx.GraphModule) -> int:
    """Convolutions whose weight arrives through a dequantize node (i.e. run in int8 on XNNPACK)."""
    count = 0
    for node in graph.graph.nodes:
        if node.op == "call_function" and "conv" in str(node.target):
            weight = node.args[1]
            count += "dequantize" in str(getattr(weight, "target", ""))
    return count


def test_ptq_xnnpack_quantizes_every_conv_and_stays_close(tiny):
    exported, x = _exported_tiny(tiny)
    graph = quant.ptq_xnnpack(exported, [x])
    assert _quantized_convs(graph) == 2
    with torch.no_grad():
        reference, approx = tiny.module(x), graph(x)
    assert 0 < float((reference - approx).abs().max()) < 0.1 * float(reference.abs().max())


def test_keep_float_leaves_the_named_layer_in_float(tiny):
    exported, x = _exported_tiny(tiny)
    assert "features.0" in quant.layer_names(tiny.module) and "pool" not in quant.layer_names(tiny.module)
    graph = quant.ptq_xnnpack(exported, [x], keep_float=["features.0"])
    assert _quantized_convs(graph) == 1


def test_ptq_without_calibration_data_says_so(tiny):
    exported, _ = _exported_tiny(tiny)
    with pytest.raises(ValueError, match="calibration"):
        quant.ptq_xnnpack(exported, [])


def test_fingerprint_tells_quantized_graphs_apart(tiny):
    from labkit.deploy.export import state_fingerprint

    exported, x = _exported_tiny(tiny)
    all_int8 = quant.ptq_xnnpack(exported, [x])
    mixed = quant.ptq_xnnpack(exported, [x], keep_float=["features.0"])
    recalibrated = quant.ptq_xnnpack(exported, [x * 3])
    prints = {state_fingerprint(g) for g in (all_int8, mixed, recalibrated)}
    assert len(prints) == 3 and state_fingerprint(all_int8) == state_fingerprint(quant.ptq_xnnpack(exported, [x]))


class _PaddedNet(torch.nn.Module):
    """conv → ReLU6 → explicit padding → conv: the shape of EfficientNet-Lite's stride-2 units."""

    def __init__(self):
        super().__init__()
        self.first = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.ReLU6())
        self.second = torch.nn.Sequential(torch.nn.ZeroPad2d((0, 1, 0, 1)), torch.nn.Conv2d(8, 8, 3, stride=2))

    def forward(self, x):
        return self.second(self.first(x))


@pytest.mark.parametrize("keep, conflicts", [
    ((), {}),
    (("second",), {"second.0": "first.1"}),  # the float padding would read int8: XNNPACK refuses
    (("first", "second"), {}),
])
def test_float_pads_after_int8(keep, conflicts):
    from torch.export import Dim

    torch.manual_seed(0)
    x = torch.randn(4, 3, 16, 16)
    exported = torch.export.export(_PaddedNet().eval(), (x[:2],), dynamic_shapes=({0: Dim("batch", max=8)},))
    graph = quant.ptq_xnnpack(exported, [x], keep_float=keep)
    assert quant.float_pads_after_int8(graph) == conflicts
    from labkit.deploy.export import lower_to_pte

    if conflicts:  # the prediction matches what XNNPACK really does
        with pytest.raises(RuntimeError, match="Weight and Input should both be quantized"):
            lower_to_pte(graph, (x[:1],))
    else:
        assert len(lower_to_pte(graph, (x[:1],))) > 1000


class _WideReLU6Net(torch.nn.Module):
    """conv → ReLU6 twice, with conv outputs spanning ±60: most of that range is clamped away."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.first = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU6())
        self.second = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU6())
        with torch.no_grad():
            for conv in (self.first[0], self.second[0]):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 3)
                conv.bias.zero_()

    def forward(self, x):
        return self.second(self.first(x))


def _wide_relu6():
    generator = torch.Generator().manual_seed(1)
    module, x = _WideReLU6Net().eval(), torch.randn(4, 3, 8, 8, generator=generator)
    return module, torch.export.export(module, (x,)), x


def _quantize_ops_between_conv_and_clamp(graph) -> int:
    """How many conv → hardtanh edges pass through a quantize op (the stock recipe's extra rounding)."""
    count = 0
    for node in graph.graph.nodes:
        if node.op == "call_function" and "hardtanh" in str(node.target):
            source = node.args[0]
            count += "quantize" in str(source.target) and "conv" not in str(source.target)
    return count


def test_the_kit_recipe_quantizes_conv_relu6_as_one_pattern():
    module, exported, x = _wide_relu6()
    stock = quant.ptq_xnnpack(exported, [x], fuse_relu6=False)
    fused = quant.ptq_xnnpack(exported, [x])
    assert _quantized_convs(stock) == _quantized_convs(fused) == 2
    assert _quantize_ops_between_conv_and_clamp(stock) == 2  # stock: conv output rounded over ±60, then clamped
    assert _quantize_ops_between_conv_and_clamp(fused) == 0  # fused: one int8 tensor, after the clamp
    scales = {name: [float(n.args[1]) for n in g.graph.nodes if n.op == "call_function"
                     and "quantize_per_tensor" in str(n.target) and "hardtanh" in str(n.args[0].target)]
              for name, g in (("stock", stock), ("fused", fused))}
    assert all(6 / s > 200 for s in scales["fused"]), f"fused: [0, 6] should get ≈ 255 levels, scales {scales}"
    assert all(6 / s < 60 for s in scales["stock"]), f"stock: [0, 6] should get few levels, scales {scales}"
    with torch.no_grad():
        reference = module(x)
        errors = {name: float((g(x) - reference).abs().mean()) for name, g in (("stock", stock), ("fused", fused))}
    assert errors["fused"] < errors["stock"] / 3, f"expected the fused recipe far closer to fp32: {errors}"


def test_the_kit_recipe_respects_keep_float_and_refuses_per_module_configs():
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

    _, exported, x = _wide_relu6()
    mixed = quant.ptq_xnnpack(exported, [x], keep_float=["first"])
    assert _quantized_convs(mixed) == 1
    quantizer = quant.relu6_fusing_quantizer().set_module_name("first", get_symmetric_quantization_config())
    with pytest.raises(ValueError, match="one global config"):
        prepare_pt2e(exported.module(), quantizer)
    with pytest.raises(ValueError, match="list of layer names"):
        quant.relu6_fusing_quantizer(keep_float="first")


def test_the_kit_recipe_lowers_entirely_to_xnnpack(tmp_path):
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from labkit.deploy import pte
    from labkit.deploy.runners import open_runner

    _, exported, x = _wide_relu6()
    graph = quant.ptq_xnnpack(exported, [x])
    edge = to_edge_transform_and_lower(torch.export.export(graph, (x,)), partitioner=[XnnpackPartitioner()])
    assert pte.non_delegated_ops(edge) == [], "conv + ReLU6 should run inside XNNPACK as int8 conv with a fused clamp"
    path = tmp_path / "fused.pte"
    path.write_bytes(edge.to_executorch().buffer)
    with torch.no_grad():
        error = float((open_runner(path, threads=1)(x) - graph(x)).abs().max())
    assert error < 2 * 6 / 255, f"the XNNPACK program should compute the fused graph to about one int8 step: {error}"


def _tiny_relu6():
    """tiny_cnn with ReLU6 instead of ReLU: a LoadedModel whose int8 program has conv → ReLU6 chains to fuse."""
    from labkit.model.models import load_model

    model = load_model("tiny_cnn", pretrained=False)
    model.module.features[2] = torch.nn.ReLU6()
    model.module.features[5] = torch.nn.ReLU6()
    return model


def test_int8_program_is_one_cached_program(tmp_path, monkeypatch):
    """Every caller of the kit's recipe (labs, checkers, export-android) gets the bytes of the calls by hand."""
    import subprocess
    import sys

    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    from labkit.deploy.android_export import _programs
    from labkit.model.data import calibration_set

    monkeypatch.setenv("LABKIT_BUILD_DIR", str(tmp_path / "build"))
    model = _tiny_relu6()
    x = model.example_input()
    # by hand: the recipe's quantizer, the calibration split one image at a time, convert, lower
    prepared = prepare_pt2e(torch.export.export(model.module.eval(), (x,)).module(), quant.relu6_fusing_quantizer())
    with torch.no_grad():
        for image in calibration_set(model.spec.preprocess).batches(1):
            prepared(image)
    by_hand = convert_pt2e(prepared)
    assert _quantize_ops_between_conv_and_clamp(by_hand) == 0 and _quantized_convs(by_hand) == 2
    by_hand_bytes = to_edge_transform_and_lower(torch.export.export(by_hand, (x,)),
                                                partitioner=[XnnpackPartitioner()]).to_executorch().buffer
    model.module.train()
    first = quant.int8_program(model, tmp_path / "lab.pte")
    assert model.module.training, "int8_program must leave the caller's module in the mode it was in"
    assert first.read_bytes() == by_hand_bytes
    shipped = _programs(model, ["int8"], tmp_path / "android")["int8"]
    assert shipped.read_bytes() == by_hand_bytes
    key = first.with_name("lab.pte.key.json").read_text()
    assert key == shipped.with_name("model_int8.pte.key.json").read_text() and "conv + ReLU6" in key
    # a fresh process with an empty cache makes the same bytes (quantization and lowering are deterministic)
    code = ("import sys, torch; from pathlib import Path; from labkit.deploy import quant; "
            "from labkit.model.models import load_model; "
            "m = load_model('tiny_cnn', pretrained=False); m.module.features[2] = torch.nn.ReLU6(); "
            "m.module.features[5] = torch.nn.ReLU6(); quant.int8_program(m, Path(sys.argv[1]))")
    env = {**__import__("os").environ, "LABKIT_BUILD_DIR": str(tmp_path / "other-build")}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "fresh.pte")], check=True, env=env, timeout=600)
    assert (tmp_path / "fresh.pte").read_bytes() == by_hand_bytes
    with pytest.raises(ValueError, match="LoadedModel"):
        quant.int8_program(model.module, tmp_path / "bad.pte")


def test_the_kit_recipe_also_fuses_conv_batchnorm_relu6_for_qat():
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_qat_pt2e

    class ConvBNReLU6(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
                                            torch.nn.ReLU6())

        def forward(self, x):
            return self.body(x)

    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    graph = torch.export.export(ConvBNReLU6().eval(), (x,)).module()
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config

    chains = quant.annotate_conv_clamp(copy.deepcopy(graph), get_symmetric_quantization_config(is_qat=True))
    assert [[str(n.target).split(".")[1] for n in chain] for chain in chains] == [["conv2d", "batch_norm", "hardtanh"]]
    prepared = prepare_qat_pt2e(graph, quant.relu6_fusing_quantizer(qat=True))
    prepared(x)
    converted = convert_pt2e(prepared)
    assert _quantize_ops_between_conv_and_clamp(converted) == 0
    assert _quantized_convs(converted) == 1


def test_calibration_is_fed_one_image_per_call_where_the_graph_allows():
    """Histogram observers can depend on how images are batched: ptq_xnnpack feeds one image per call if it can."""
    from torch.export import Dim

    module, static_four, x = _wide_relu6()
    assert not quant._takes_one_image(static_four)  # exported for batch 4: calibrated with the batches as given
    assert quant._takes_one_image(torch.export.export(module, (x[:1],)))
    assert quant._takes_one_image(torch.export.export(module, (x[:2],), dynamic_shapes=({0: Dim("batch", max=64)},)))


def test_the_relu6_fusing_quantizer_is_a_named_module_level_subclass():
    """The factory builds the named class (picklable, importable, its source part of the int8 recipe's key)."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer

    from labkit.deploy.relu6_quantizer import ReLU6FusingXNNPACKQuantizer

    quantizer = quant.relu6_fusing_quantizer()
    assert type(quantizer) is ReLU6FusingXNNPACKQuantizer and isinstance(quantizer, XNNPACKQuantizer)
    assert ReLU6FusingXNNPACKQuantizer.__qualname__ == "ReLU6FusingXNNPACKQuantizer"
    assert "class ReLU6FusingXNNPACKQuantizer" in quant._recipe_source()
