import json

import pytest
import torch

from labkit.errors import ExerciseCheckError
from labkit.exercises import baseline, benchmarking, fine_tuning, fusion, mixed_precision, nnapi, ptq, torchscript
from labkit.model.data import sample
from labkit.model.models import REGISTRY
from labkit.model.preprocessing import preprocess
from labkit.paths import results_dir


def _right_answer() -> torch.Tensor:
    return preprocess(sample("coffee").image(), REGISTRY["efficientnet_lite0"].preprocess)


def test_not_attempted_is_not_an_error():
    result = baseline.check_preprocessing(None)
    assert result.passed is None and "not answered" in result.message
    assert baseline.check_size_estimate(None).passed is None


def test_preprocessing_checker_accepts_the_right_tensor_and_rejects_wrong_ones():
    right = _right_answer()
    assert baseline.check_preprocessing(right).passed is True
    with pytest.raises(ExerciseCheckError, match="divide by 255"):
        baseline.check_preprocessing(right * 0.5 * 255 + 0.5 * 255)  # forgot /255 and normalization
    with pytest.raises(ExerciseCheckError, match="shape"):
        baseline.check_preprocessing(right[0])
    with pytest.raises(ExerciseCheckError, match="contiguous"):
        baseline.check_preprocessing(right.to(memory_format=torch.channels_last))
    with pytest.raises(ExerciseCheckError, match="float32"):
        baseline.check_preprocessing(right.double())
    with pytest.raises(ExerciseCheckError, match="check the order"):
        baseline.check_preprocessing(torch.flip(right, dims=[3]))
    with pytest.raises(ExerciseCheckError, match="torch.Tensor"):
        baseline.check_preprocessing(right.numpy())


def test_size_checker():
    parameters, size = baseline.fp32_state_dict_bytes()
    assert parameters == 4_652_008 and 18.6e6 < size < 19.0e6
    assert baseline.check_size_estimate(parameters * 4 / 1e6).passed is True
    with pytest.raises(ExerciseCheckError, match="1 byte per parameter"):
        baseline.check_size_estimate(parameters / 1e6)
    with pytest.raises(ExerciseCheckError, match="2\\^20"):
        baseline.check_size_estimate(parameters * 4 / 2**20)
    with pytest.raises(ExerciseCheckError, match="float64"):
        baseline.check_size_estimate(parameters * 8 / 1e6)


def test_checks_record_progress():
    baseline.check_size_estimate(None)
    with pytest.raises(ExerciseCheckError):
        baseline.check_size_estimate(1.0)
    lines = [json.loads(line) for line in (results_dir() / "progress.jsonl").read_text().splitlines()]
    assert [(line["exercise"], line["passed"]) for line in lines[-2:]] == [("00.2", None), ("00.2", False)]


class _ConvBn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


def _conv_bn() -> torch.nn.Module:
    torch.manual_seed(0)
    model = _ConvBn()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-1, 1)
        model.bn.running_var.uniform_(0.5, 2)
    return model.eval()


def test_fusion_checker():
    import copy

    from torch.ao.quantization import fuse_modules

    example = torch.randn(1, 3, 16, 16)
    original = _conv_bn()
    assert fusion.check_fusion(None, None).passed is None
    right = fuse_modules(copy.deepcopy(original), [["conv", "bn", "relu"]])
    assert fusion.check_fusion(original, right, example).passed is True
    deleted = copy.deepcopy(original)
    deleted.bn = torch.nn.Identity()  # dropped, not folded
    with pytest.raises(ExerciseCheckError, match="fold"):
        fusion.check_fusion(original, deleted, example)
    with pytest.raises(ExerciseCheckError, match="still has BatchNorm"):
        fusion.check_fusion(original, copy.deepcopy(original), example)
    with pytest.raises(ExerciseCheckError, match="no BatchNorm"):
        fusion.check_fusion(right, right, example)
    with pytest.raises(ExerciseCheckError, match="example input"):
        fusion.check_fusion(original, right)


def test_qparams_checker(lite0):
    from torch.ao.quantization.observer import MinMaxObserver

    assert ptq.check_qparams(None).passed is None
    w = lite0.module.classifier.weight.detach()
    low, high = float(w.min()), float(w.max())
    scale = (high - low) / 255
    zero_point = round(-low / scale)
    assert ptq.check_qparams((scale, zero_point)).passed is True
    observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    observer(w)
    assert int(observer.calculate_qparams()[1]) == zero_point
    with pytest.raises(ExerciseCheckError, match="255 steps"):
        ptq.check_qparams(((high - low) / 256, zero_point))
    with pytest.raises(ExerciseCheckError, match="zero point"):
        ptq.check_qparams((scale, zero_point + 1))
    with pytest.raises(ExerciseCheckError, match="pair"):
        ptq.check_qparams(scale)


def test_keep_float_checker_rejects_bad_answers():
    assert mixed_precision.check_keep_float(None).passed is None
    with pytest.raises(ExerciseCheckError, match="list of module names"):
        mixed_precision.check_keep_float("stem")
    with pytest.raises(ExerciseCheckError, match="between 1 and 3"):
        mixed_precision.check_keep_float(["stem", "head", "classifier", "blocks.0.depthwise"])
    with pytest.raises(ExerciseCheckError, match=r"\['no.such.layer'\] are not layers"):
        mixed_precision.check_keep_float(["stem", "no.such.layer"])
    for whole_or_part in ("blocks", "blocks.3", "stem.2"):  # the whole network, a block of three convs, a BatchNorm
        with pytest.raises(ExerciseCheckError, match="exactly one conv or linear"):
            mixed_precision.check_keep_float([whole_or_part])
    with pytest.raises(ExerciseCheckError, match="Keep 'blocks.1.expand' in float too"):
        mixed_precision.check_keep_float(["blocks.1.depthwise"])  # its padding would read int8: XNNPACK refuses


class _WhereHead(torch.nn.Module):
    def forward(self, x):
        return torch.where(x.mean() > 0, x * 2, -x).flatten(1)


class _WrongBranchHead(torch.nn.Module):
    def forward(self, x):
        return (x * 2).flatten(1)


def test_exportable_checker():
    assert torchscript.check_exportable(None).passed is None
    assert torchscript.check_exportable(_WhereHead()).passed is True
    with pytest.raises(ExerciseCheckError, match="torch.export failed"):
        torchscript.check_exportable(torchscript.GatedHead())
    with pytest.raises(ExerciseCheckError, match="negative mean"):
        torchscript.check_exportable(_WrongBranchHead())
    with pytest.raises(ExerciseCheckError, match="nn.Module"):
        torchscript.check_exportable(lambda x: x)


def test_nnapi_shapes_checker():
    right = {"input": (1, 40, 30, 3), "conv_weight": (16, 5, 3, 3), "depthwise_weight": (1, 3, 3, 16),
             "conv_output": (1, 20, 15, 16)}
    assert nnapi.check_nnapi_shapes(None).passed is None
    assert nnapi.check_nnapi_shapes(right).passed is True
    nchw_thinking = {**right, "input": (1, 3, 40, 30), "conv_output": (1, 16, 20, 15)}
    with pytest.raises(ExerciseCheckError, match=r"input, conv_output not right.*NHWC"):
        nnapi.check_nnapi_shapes(nchw_thinking)
    with pytest.raises(ExerciseCheckError, match="OHWI"):
        nnapi.check_nnapi_shapes({**right, "conv_weight": (16, 3, 5, 3)})  # PyTorch's OIHW
    with pytest.raises(ExerciseCheckError, match="exactly the keys"):
        nnapi.check_nnapi_shapes({"input": (1, 40, 30, 3)})


def test_peak_and_pareto_checkers():
    assert benchmarking.check_peak_gflops(None).passed is None
    assert benchmarking.check_peak_gflops(768.0).passed is True
    for wrong, hint in [(384, "two operations"), (1536, "8 fp32 lanes"), (96, "one core"), (500, "multiply cores")]:
        with pytest.raises(ExerciseCheckError, match=hint):
            benchmarking.check_peak_gflops(wrong)
    assert benchmarking.check_pareto(["int4 weights", "XNNPACK int8", "ORT int8"]).passed is True
    with pytest.raises(ExerciseCheckError, match=r"\['XNNPACK fp32'\] is beaten"):
        benchmarking.check_pareto(["int4 weights", "XNNPACK int8", "ORT int8", "XNNPACK fp32"])
    with pytest.raises(ExerciseCheckError, match="1 variant"):
        benchmarking.check_pareto(["XNNPACK int8", "ORT int8"])
    with pytest.raises(ExerciseCheckError, match="variant names"):
        benchmarking.check_pareto("ORT int8")


def test_fine_tuning_checkers():
    assert fine_tuning.check_unfreeze(None).passed is None
    assert fine_tuning.check_unfreeze(["blocks.15", "head", "classifier"]).passed is True
    for wrong, hint in [(["head", "classifier"], "unfreeze more"), (["blocks.14", "blocks.15", "head", "classifier"], "over"),
                        (["blocks.15", "head"], "ends with 'classifier'"), ("head", "unit names")]:
        with pytest.raises(ExerciseCheckError, match=hint):
            fine_tuning.check_unfreeze(wrong)
    assert fine_tuning.check_sgd_step(None).passed is None
    assert fine_tuning.check_sgd_step(lambda p, g, lr: p - lr * g).passed is True
    with pytest.raises(ExerciseCheckError, match="against"):
        fine_tuning.check_sgd_step(lambda p, g, lr: p + lr * g)
    with pytest.raises(ExerciseCheckError, match="lr × gradient"):
        fine_tuning.check_sgd_step(lambda p, g, lr: p - 2 * lr * g)
