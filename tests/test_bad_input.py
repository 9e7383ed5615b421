"""Bad input to labkit's public entry points ends in a LabkitError whose message says what to do next."""

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from labkit import paths
from labkit.deploy import export, quant
from labkit.errors import ImageInputError, LabkitError, ModelFileError, ParameterError
from labkit.measure import bench, parity, roofline
from labkit.model import data, predictions, preprocessing
from labkit.report import plots, widgets

ROOT = Path(__file__).resolve().parents[1]
SPEC = preprocessing.PreprocessSpec()


def expect(error_type, call, *next_step):
    """``call()`` raises ``error_type`` (a LabkitError) whose message contains every ``next_step`` fragment."""
    with pytest.raises(error_type) as error:
        call()
    assert isinstance(error.value, LabkitError), type(error.value)
    message = str(error.value)
    for fragment in next_step:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return error.value


def test_images(tmp_path):
    for empty in (np.zeros((0, 0, 3), np.uint8), np.zeros((4, 0, 3), np.uint8), np.zeros((0,), np.uint8)):
        expect(ImageInputError, lambda empty=empty: data.load_rgb(empty), "no pixels", "H, W ≥ 1")
        error = expect(ImageInputError, lambda empty=empty: preprocessing.preprocess(empty, SPEC))
        assert "pass an image with at least one pixel" in str(error) or "load_rgb" in str(error), error
    expect(ImageInputError, lambda: data.load_rgb(Image.new("RGB", (0, 5))), "empty", "at least one pixel")
    expect(ImageInputError, lambda: data.load_rgb(tmp_path), "is a folder", "pass the path of one image")
    expect(ImageInputError, lambda: data.load_rgb(None), "pass a file path, a PIL image or")
    expect(ImageInputError, lambda: data.load_rgb([[1, 2], [3, 4]]), "pass a file path")
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    expect(ImageInputError, lambda: data.load_rgb(bad), "notes.png is not an image", "convert this one")
    assert isinstance(expect(ImageInputError, lambda: data.load_rgb(np.zeros((0, 0, 3), np.uint8))), ValueError)


def test_samples_and_augmented_sets():
    expect(ParameterError, lambda: data.sample("dog"), "choose from", "chelsea")
    expect(ParameterError, lambda: data.augmented_set(0, SPEC), "n (number of inputs) must be a whole number ≥ 1")
    expect(ParameterError, lambda: data.augmented_set(2, "spec"), "model.spec.preprocess")
    small = data.augmented_set(1, preprocessing.PreprocessSpec(resize_short_side=40, crop_size=32))
    expect(ParameterError, lambda: small.batches(0), "batch_size must be a whole number ≥ 1")


def test_preprocessing_spec_and_steps():
    expect(ParameterError, lambda: preprocessing.PreprocessSpec(crop_size=0), "crop_size", "≥ 1")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec(resize_short_side=256.0), "whole number")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec(mean=(0.5, 0.5)), "three numbers")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec(std=(0.5, 0, 0.5)), "must be positive", "e.g. std=")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec(interpolation="nearest"), "['bilinear', 'bicubic']")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec(value_scale=0), "1/255")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec.from_json("{not json"), "spec.save(path)")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec.from_json("[1, 2]"), "spec.save(path)")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec.from_json(SPEC.to_json().replace('"crop_size": 224',
                                                                                  '"crop_size": -1')), "crop_size")
    expect(ParameterError, lambda: preprocessing.PreprocessSpec.from_json('{"crop_size": 224}'), "has no", "spec.save")
    expect(ImageInputError, lambda: preprocessing.resized_size(0, 10, 256), "at least one pixel")
    chw = torch.rand(3, 20, 30) * 255
    expect(ImageInputError, lambda: preprocessing.resize_short_side(chw[None], SPEC), "3 × H × W", "rgb_to_chw_float")
    expect(ImageInputError, lambda: preprocessing.normalize(chw.to(torch.uint8), SPEC), ".float()")
    expect(ImageInputError, lambda: preprocessing.center_crop(np.zeros((3, 4, 4)), 2), "3 × H × W")
    expect(ParameterError, lambda: preprocessing.center_crop(chw, 0), "crop must be a whole number")
    expect(ImageInputError, lambda: preprocessing.center_crop(chw, 25), "resize first")
    expect(ParameterError, lambda: preprocessing.preprocess(np.zeros((8, 8, 3), np.uint8), None), "model.spec.preprocess")
    expect(ImageInputError, lambda: preprocessing.denormalize(torch.zeros(2, 3, 8, 8), SPEC), "x[i]")
    # valid input is untouched
    assert preprocessing.denormalize(torch.zeros(1, 3, 8, 8), SPEC).shape == (8, 8, 3)
    assert preprocessing.PreprocessSpec.from_json(SPEC.to_json()) == SPEC


def test_predictions(tiny):
    expect(ImageInputError, lambda: predictions.top_k([0.1, 0.9]), "logits", "first element")
    expect(ImageInputError, lambda: predictions.top_k(torch.zeros(2, 10)), "ONE image", "per row")
    expect(ImageInputError, lambda: predictions.top_k(torch.zeros(0)), "ONE image")
    expect(ParameterError, lambda: predictions.top_k(torch.zeros(1, 10), k=0), "from 1 to the number of classes (10)")
    expect(ParameterError, lambda: predictions.top_k(torch.zeros(10), k=11), "from 1 to the number of classes (10)")
    expect(ParameterError, lambda: predictions.top_k(torch.zeros(10), labels=("a", "b")), "one label per class")
    expect(ParameterError, lambda: predictions.classify(tiny.module, np.zeros((8, 8, 3), np.uint8)), "load_model(name)")
    expect(ImageInputError, lambda: predictions.classify(tiny, np.zeros((0, 8, 3), np.uint8)), "no pixels")
    assert len(predictions.top_k(torch.zeros(1, 10), k=10)) == 10


def test_parity(tiny):
    x = tiny.example_input()
    expect(ParameterError, lambda: parity.compare(tiny.module, tiny.module, x), "pass [x]")
    expect(ParameterError, lambda: parity.compare(tiny.module, tiny.module, []), "pass at least one input batch")
    expect(ImageInputError, lambda: parity.compare(tiny.module, tiny.module, [x[0, 0, 0]]), "x[None]")
    expect(ImageInputError, lambda: parity.compare(tiny.module, tiny.module, [x[0]]), "(3, 64, 64)",
           "model.example_input()")
    expect(ParameterError, lambda: parity.compare(tiny.module, lambda b: (tiny.module(b),), [x]), "model(x)[0]")
    error = expect(ParameterError, lambda: parity.compare(tiny.module, lambda b: tiny.module(b)[:, :5], [x]),
                   "output shapes differ", "same classes")
    assert isinstance(error, ValueError)  # callers that caught ValueError still do
    expect(ParameterError, lambda: parity.compare([x], tiny.module, [x]), "two callables")


def test_bench(tiny, tmp_path):
    x = tiny.example_input()
    expect(ParameterError, lambda: bench.pooled([]), "at least one Latency block")
    assert isinstance(expect(ParameterError, lambda: bench.pooled([]), "no measurements"), ValueError)
    expect(ParameterError, lambda: bench.pooled([1.0, 2.0]), "list of Latency blocks")
    expect(ParameterError, lambda: bench.measure_latency("model", x), "a module or a runner")
    expect(ParameterError, lambda: bench.measure_latency(tiny.module, x, min_runs=0), "min_runs must be")
    expect(ParameterError, lambda: bench.measure_latency(tiny.module, x, threads=0), "threads must be")
    expect(ParameterError, lambda: bench.measure_latency(tiny.module, x, min_run_time=-1), "seconds ≥ 0")
    wrong = torch.zeros(1, 5, 64, 64)
    for warmup in (0, 2):
        expect(ImageInputError, lambda warmup=warmup: bench.measure_latency(tiny.module, wrong, warmup=warmup, min_run_time=0.01),
               "(1, 5, 64, 64)", "model.example_input()")
    expect(ImageInputError, lambda: bench.count_flops(tiny.module, wrong), "model.example_input()")
    expect(ParameterError, lambda: bench.measure_cold_start(tiny.module(x), x), "lambda: open_runner(path)")
    expect(ParameterError, lambda: bench.measure_cold_start(lambda: None, x), "lambda: open_runner(path)")
    expect(ModelFileError, lambda: bench.file_size_mb(tmp_path / "none.pte"), "missing", "re-run the cell")
    expect(ModelFileError, lambda: bench.file_size_mb(tmp_path), "a folder")
    latency = bench.measure_latency(tiny.module, x, warmup=0, min_runs=2, min_run_time=0)
    assert latency.runs == 2  # valid input is untouched


def test_quant():
    w = torch.randn(4, 3, 3, 3)
    expect(ParameterError, lambda: quant.integer_range(1, True), "between 2 and 16 (8 for int8)")
    assert isinstance(expect(ParameterError, lambda: quant.integer_range(8.0, True), "whole number"), ValueError)
    expect(ParameterError, lambda: quant.qparams([1.0, 2.0]), "non-empty torch.Tensor", "conv.weight")
    expect(ParameterError, lambda: quant.qparams(torch.zeros(0)), "empty tensor")
    expect(ParameterError, lambda: quant.qparams(w, per_channel=True, axis=4), "axis=0")
    per_channel = quant.qparams(w, per_channel=True)
    expect(ParameterError, lambda: quant.quantize(torch.randn(5, 3), per_channel), "compute qparams from this tensor")
    expect(ParameterError, lambda: quant.dequantize(torch.zeros(4, 3), {"scale": 1}), "QParams")
    expect(ParameterError, lambda: quant.sqnr_db(w, w[:2]), "differ in shape", "fake_quantize")
    expect(ParameterError, lambda: quant.keep_float_filter("stem"), "['stem']")
    expect(ParameterError, lambda: quant.ptq_xnnpack(torch.nn.Linear(2, 2), []), "torch.export.export(model.eval()")
    assert quant.sqnr_db(w, quant.fake_quantize(w, per_channel)) > 30  # valid input is untouched


def test_widgets(tiny):
    expect(ParameterError, lambda: widgets.quantization_explorer({}), "{'stem.1.weight': conv.weight}")
    expect(ParameterError, lambda: widgets.quantization_explorer({"w": [1.0]}), "not non-empty weight tensors")
    expect(ParameterError, lambda: widgets.latency_explorer({}), "measure some first")
    expect(ParameterError, lambda: widgets.latency_explorer({("eager", "fp32", 1): 3.2}), "(runtime, precision, threads)")
    expect(ParameterError, lambda: widgets.quantization_figure(torch.tensor(1.0), "scalar"), "conv.weight")
    expect(ParameterError, lambda: widgets.preprocessing_figure(np.zeros((8, 8, 3), np.uint8), tiny.module), "load_model")
    assert isinstance(expect(ParameterError, lambda: widgets.latency_explorer({}), "measure"), ValueError)


def test_nnapi():
    from labkit.deploy import nnapi

    expect(nnapi.NnapiModelError, lambda: nnapi.decode([1, 2, 3]), "process_for_nnapi")
    expect(nnapi.NnapiModelError, lambda: nnapi.decode(torch.zeros(6, dtype=torch.int32), weights=torch.zeros(2)),
           "used_weights list")
    header = struct.pack("<6i", 1, 1, 1, 0, 0, 0)
    operand = struct.pack("<iifi", 0, 0, 0.0, 0)
    value = struct.pack("<3i", 5, 0, 4) + b"\0" * 4  # points at operand 5 of 1
    error = expect(nnapi.NnapiModelError, lambda: nnapi.decode(header + operand + value), "corrupt",
                   "re-run process_for_nnapi")
    assert isinstance(error, ValueError) and isinstance(error, ModelFileError)
    empty = nnapi.NnapiModel(1, (), (), (), ())
    expect(nnapi.NnapiModelError, lambda: nnapi.run_reference("model", [torch.zeros(1)]), "decode() returns")
    expect(nnapi.NnapiModelError, lambda: nnapi.run_reference(empty, torch.zeros(1)), "e.g. [x]")
    expect(nnapi.NnapiModelError, lambda: nnapi.run_reference(empty, [torch.zeros(1)]), "one tensor per input")
    assert issubclass(nnapi.NnapiUnsupportedError, NotImplementedError)


def test_roofline():
    expect(ParameterError, lambda: roofline.peak_gflops(0, 512, 2, 2.6), "positive", "e.g. peak_gflops(2, 512, 2, 2.6)")
    expect(ParameterError, lambda: roofline.cpu_features(123), "text of /proc/cpuinfo")
    expect(ParameterError, lambda: roofline.cpu_features("flags: avx2", cores=0), "cores must be")
    expect(ParameterError, lambda: roofline.measure_matmul(0), "e.g. 2048")
    expect(ParameterError, lambda: roofline.measure_matmul(8, threads=0), "threads must be")
    assert issubclass(roofline.PlatformError, RuntimeError) and issubclass(roofline.PlatformError, LabkitError)


def test_plots():
    frame = pd.DataFrame({"label": ["a"], "p50_ms": [1.0], "p90_ms": [2.0]})
    expect(ParameterError, lambda: plots.latency_bars(frame.drop(columns="p90_ms")), "no column(s) ['p90_ms']",
           "pass the column names")
    expect(ParameterError, lambda: plots.latency_bars(frame.to_dict()), "pd.DataFrame(rows)")
    expect(ParameterError, lambda: plots.size_latency_fidelity(frame), "size_mb")
    expect(ParameterError, lambda: plots.pareto_front(np.zeros((3, 3))), "N × 2")
    expect(ParameterError, lambda: plots.predictions_grid([np.zeros((4, 4, 3))], [], ["t"]), "one prediction list")
    expect(ParameterError, lambda: plots.predictions_grid([], [], []), "at least one image")
    expect(ParameterError, lambda: plots.latency_distribution([]), "bench.measure_latency(model, x)")
    expect(ParameterError, lambda: plots.preprocessing_steps({}, {}), "non-empty dict")
    expect(ParameterError, lambda: plots.figure_html(None), "plt.subplots()")
    table = pd.DataFrame({"participant": ["me"], "xnnpack": [3.0]})
    expect(ParameterError, lambda: plots.speedup_bars(table, "xnnpack"), "['xnnpack']")
    expect(ParameterError, lambda: plots.speedup_bars(table, ["onnx"]), "no column(s) ['onnx']")
    import matplotlib.pyplot as plt

    plt.close(plots.latency_bars(frame))  # valid input is untouched
    plt.close(plots.latency_bars(frame.iloc[:0]))  # an empty table draws an empty chart, as before


def test_results(tmp_path):
    from labkit.report.results import ResultsError, ResultsStore

    not_a_folder = tmp_path / "results.txt"
    not_a_folder.write_text("x")
    expect(ResultsError, lambda: ResultsStore(not_a_folder), "is a file", "pass a folder")
    store = ResultsStore(tmp_path / "results")
    expect(ResultsError, lambda: store.append("00_baseline", {"p50_ms": 1.0}, {}), "store.append(lab, [row], config)")
    expect(ResultsError, lambda: store.append("00_baseline", ["p50_ms"], {}), "latency.as_row()")
    expect(ResultsError, lambda: store.append("00_baseline", [{"a": 1}], "tiny_cnn"), "{'MODEL': MODEL}")
    expect(ResultsError, lambda: store.append("", [{"a": 1}], {}), "'00_baseline'")
    assert store.records() == []  # nothing half-written
    expect(ResultsError, lambda: store.append("00_baseline", [{"a": 1}], {}), "lacks", "'runtime'")
    row = {"model": "m", "runtime": "eager", "precision": "fp32", "threads": 1, "variant": "v"}
    assert len(store.append("00_baseline", ({**row, "a": i} for i in range(2)), {})) == 2


def test_export(tiny, tmp_path):
    x = tiny.example_input()
    expect(ParameterError, lambda: export.export_pte(tiny.module, x, tmp_path / "m.pte"), "write (x,) for one input")
    expect(ParameterError, lambda: export.export_pte(tiny.module, (), tmp_path / "m.pte"), "e.g. (x,)")
    expect(ParameterError, lambda: export.export_pte(tiny, (x,), tmp_path / "m.pte"), "model.module")
    expect(ParameterError, lambda: export.export_pte(tiny.module, (x,), tmp_path / "m.pte", backend="gpu"),
           "'xnnpack' or 'portable'")
    expect(ParameterError, lambda: export.lower_to_pte(tiny.module, (x,), backend="vulkan"), "'xnnpack' or 'portable'")
    expect(ModelFileError, lambda: export.export_pte(tiny.module, (x,), tmp_path), "is a folder", "model.pte")
    expect(ModelFileError, lambda: paths.write_atomically(tmp_path, b"x"), "is a folder")
    expect(ParameterError, lambda: paths.write_atomically(tmp_path / "f.bin", "text"), "bytes")


def test_runners(tiny, tiny_files, tmp_path):
    from labkit.deploy.runners import open_runner

    x = tiny.example_input()
    expect(ModelFileError, lambda: open_runner(5), "nn.Module or the path of a .pte")
    expect(ParameterError, lambda: open_runner(tiny.module, threads=0), "whole number ≥ 1")
    expect(ParameterError, lambda: open_runner(tiny_files["xnnpack"], threads="2"), "whole number ≥ 1")
    folder = tmp_path / "model.pte"
    folder.mkdir()
    expect(ModelFileError, lambda: open_runner(folder), "is a folder", "pass the path of the file")
    for kind in ("torchscript", "lite", "onnx"):
        runner = open_runner(tiny_files[kind], threads=1)
        expect(ImageInputError, lambda runner=runner: runner(torch.zeros(1, 3, 32)), "(1, 3, 32)", "shape")
        expect(ImageInputError, lambda runner=runner: runner(x.numpy()), "torch.Tensor")
        assert runner(x).shape == (1, 10)
    eager = open_runner(tiny.module)
    expect(ImageInputError, lambda: eager(torch.zeros(1, 5, 64, 64)), "model.example_input()")


def test_cli(capsys, tmp_path):
    from labkit.workshop import cli

    photo = str(ROOT / "data" / "samples" / "coffee.png")
    cases = [
        (["classify", str(tmp_path / "missing.jpg"), "--model", "tiny_cnn", "--untrained"], "check the path"),
        (["classify", str(tmp_path), "--model", "tiny_cnn", "--untrained"], "is a folder"),
        (["classify", photo, "--model", "vgg16"], "choose one of"),
        (["classify", photo, "--model", "tiny_cnn", "--untrained", "-k", "0"], "k must be a whole number from 1"),
    ]
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes((ROOT / "data" / "samples" / "coffee.png").read_bytes()[:3000])
    cases.append((["classify", str(corrupt), "--model", "tiny_cnn", "--untrained"], "copy it again"))
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("labkit classify: ") and message in err, (argv, err)
    assert cli.main(["classify", photo, "--model", "tiny_cnn", "--untrained", "-k", "2"]) == 0
    assert "coffee.png" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stopped:
        cli.main(["frobnicate"])
    assert stopped.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_cli_does_not_hide_a_bug_as_a_user_error(monkeypatch):
    from labkit.workshop import cli

    def broken(*args, **kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(predictions, "classify", broken)
    with pytest.raises(KeyError, match="internal"):  # a traceback to report, not "labkit classify: 'internal'"
        cli.main(["classify", str(ROOT / "data" / "samples" / "coffee.png"), "--model", "tiny_cnn", "--untrained"])
