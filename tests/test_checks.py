import json

import pytest
import torch

from labkit import checks
from labkit.data import sample
from labkit.errors import ExerciseCheckError
from labkit.models import REGISTRY
from labkit.paths import results_dir
from labkit.preprocessing import preprocess


def _right_answer() -> torch.Tensor:
    return preprocess(sample("coffee").image(), REGISTRY["efficientnet_lite0"].preprocess)


def test_not_attempted_is_not_an_error():
    result = checks.check_preprocessing(None)
    assert result.passed is None and "not answered" in result.message
    assert checks.check_size_estimate(None).passed is None


def test_preprocessing_checker_accepts_the_right_tensor_and_rejects_wrong_ones():
    right = _right_answer()
    assert checks.check_preprocessing(right).passed is True
    with pytest.raises(ExerciseCheckError, match="divide by 255"):
        checks.check_preprocessing(right * 0.5 * 255 + 0.5 * 255)  # forgot /255 and normalization
    with pytest.raises(ExerciseCheckError, match="shape"):
        checks.check_preprocessing(right[0])
    with pytest.raises(ExerciseCheckError, match="contiguous"):
        checks.check_preprocessing(right.to(memory_format=torch.channels_last))
    with pytest.raises(ExerciseCheckError, match="float32"):
        checks.check_preprocessing(right.double())
    with pytest.raises(ExerciseCheckError, match="check the order"):
        checks.check_preprocessing(torch.flip(right, dims=[3]))
    with pytest.raises(ExerciseCheckError, match="torch.Tensor"):
        checks.check_preprocessing(right.numpy())


def test_size_checker():
    parameters, size = checks.fp32_state_dict_bytes()
    assert parameters == 4_652_008 and 18.6e6 < size < 19.0e6
    assert checks.check_size_estimate(parameters * 4 / 1e6).passed is True
    with pytest.raises(ExerciseCheckError, match="1 byte per parameter"):
        checks.check_size_estimate(parameters / 1e6)
    with pytest.raises(ExerciseCheckError, match="2\\^20"):
        checks.check_size_estimate(parameters * 4 / 2**20)
    with pytest.raises(ExerciseCheckError, match="float64"):
        checks.check_size_estimate(parameters * 8 / 1e6)


def test_checks_record_progress():
    checks.check_size_estimate(None)
    with pytest.raises(ExerciseCheckError):
        checks.check_size_estimate(1.0)
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
    assert checks.check_fusion(None, None).passed is None
    right = fuse_modules(copy.deepcopy(original), [["conv", "bn", "relu"]])
    assert checks.check_fusion(original, right, example).passed is True
    deleted = copy.deepcopy(original)
    deleted.bn = torch.nn.Identity()  # dropped, not folded
    with pytest.raises(ExerciseCheckError, match="fold"):
        checks.check_fusion(original, deleted, example)
    with pytest.raises(ExerciseCheckError, match="still has BatchNorm"):
        checks.check_fusion(original, copy.deepcopy(original), example)
    with pytest.raises(ExerciseCheckError, match="no BatchNorm"):
        checks.check_fusion(right, right, example)
    with pytest.raises(ExerciseCheckError, match="example input"):
        checks.check_fusion(original, right)


def test_qparams_checker(lite0):
    from torch.ao.quantization.observer import MinMaxObserver

    assert checks.check_qparams(None).passed is None
    w = lite0.module.classifier.weight.detach()
    low, high = float(w.min()), float(w.max())
    scale = (high - low) / 255
    zero_point = round(-low / scale)
    assert checks.check_qparams((scale, zero_point)).passed is True
    observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    observer(w)
    assert int(observer.calculate_qparams()[1]) == zero_point
    with pytest.raises(ExerciseCheckError, match="255 steps"):
        checks.check_qparams(((high - low) / 256, zero_point))
    with pytest.raises(ExerciseCheckError, match="zero point"):
        checks.check_qparams((scale, zero_point + 1))
    with pytest.raises(ExerciseCheckError, match="pair"):
        checks.check_qparams(scale)


def test_keep_float_checker_rejects_bad_answers():
    assert checks.check_keep_float(None).passed is None
    with pytest.raises(ExerciseCheckError, match="list of module names"):
        checks.check_keep_float("stem")
    with pytest.raises(ExerciseCheckError, match="between 1 and 3"):
        checks.check_keep_float(["stem", "head", "classifier", "blocks.0.depthwise"])
    with pytest.raises(ExerciseCheckError, match=r"\['no.such.layer'\] are not layer units"):
        checks.check_keep_float(["stem", "no.such.layer"])
    for whole_or_part in ("blocks", "blocks.3", "stem.2"):  # the whole network, a block of three convs, a BatchNorm
        with pytest.raises(ExerciseCheckError, match="exactly one conv or linear"):
            checks.check_keep_float([whole_or_part])
    with pytest.raises(ExerciseCheckError, match="Keep 'blocks.1.expand' in float too"):
        checks.check_keep_float(["blocks.1.depthwise"])  # its padding would read int8: XNNPACK refuses


class _WhereHead(torch.nn.Module):
    def forward(self, x):
        return torch.where(x.mean() > 0, x * 2, -x).flatten(1)


class _WrongBranchHead(torch.nn.Module):
    def forward(self, x):
        return (x * 2).flatten(1)


def test_exportable_checker():
    assert checks.check_exportable(None).passed is None
    assert checks.check_exportable(_WhereHead()).passed is True
    with pytest.raises(ExerciseCheckError, match="torch.export failed"):
        checks.check_exportable(checks.GatedHead())
    with pytest.raises(ExerciseCheckError, match="negative mean"):
        checks.check_exportable(_WrongBranchHead())
    with pytest.raises(ExerciseCheckError, match="nn.Module"):
        checks.check_exportable(lambda x: x)


def test_nnapi_shapes_checker():
    right = {"input": (1, 40, 30, 3), "conv_weight": (16, 5, 3, 3), "depthwise_weight": (1, 3, 3, 16),
             "conv_output": (1, 20, 15, 16)}
    assert checks.check_nnapi_shapes(None).passed is None
    assert checks.check_nnapi_shapes(right).passed is True
    nchw_thinking = {**right, "input": (1, 3, 40, 30), "conv_output": (1, 16, 20, 15)}
    with pytest.raises(ExerciseCheckError, match=r"input, conv_output not right.*NHWC"):
        checks.check_nnapi_shapes(nchw_thinking)
    with pytest.raises(ExerciseCheckError, match="OHWI"):
        checks.check_nnapi_shapes({**right, "conv_weight": (16, 3, 5, 3)})  # PyTorch's OIHW
    with pytest.raises(ExerciseCheckError, match="exactly the keys"):
        checks.check_nnapi_shapes({"input": (1, 40, 30, 3)})


def test_peak_and_pareto_checkers():
    assert checks.check_peak_gflops(None).passed is None
    assert checks.check_peak_gflops(768.0).passed is True
    for wrong, hint in [(384, "two operations"), (1536, "8 fp32 lanes"), (96, "one core"), (500, "multiply cores")]:
        with pytest.raises(ExerciseCheckError, match=hint):
            checks.check_peak_gflops(wrong)
    assert checks.check_pareto(["int4 weights", "XNNPACK int8", "ORT int8"]).passed is True
    with pytest.raises(ExerciseCheckError, match=r"\['XNNPACK fp32'\] is beaten"):
        checks.check_pareto(["int4 weights", "XNNPACK int8", "ORT int8", "XNNPACK fp32"])
    with pytest.raises(ExerciseCheckError, match="1 variant"):
        checks.check_pareto(["XNNPACK int8", "ORT int8"])
    with pytest.raises(ExerciseCheckError, match="variant names"):
        checks.check_pareto("ORT int8")


def test_fine_tuning_checkers():
    assert checks.check_unfreeze(None).passed is None
    assert checks.check_unfreeze(["blocks.15", "head", "classifier"]).passed is True
    for wrong, hint in [(["head", "classifier"], "unfreeze more"), (["blocks.14", "blocks.15", "head", "classifier"], "over"),
                        (["blocks.15", "head"], "ends with 'classifier'"), ("head", "unit names")]:
        with pytest.raises(ExerciseCheckError, match=hint):
            checks.check_unfreeze(wrong)
    assert checks.check_sgd_step(None).passed is None
    assert checks.check_sgd_step(lambda p, g, lr: p - lr * g).passed is True
    with pytest.raises(ExerciseCheckError, match="against"):
        checks.check_sgd_step(lambda p, g, lr: p + lr * g)
    with pytest.raises(ExerciseCheckError, match="lr × gradient"):
        checks.check_sgd_step(lambda p, g, lr: p - 2 * lr * g)
