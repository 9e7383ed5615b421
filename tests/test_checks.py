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
    lines = [json.loads(l) for l in (results_dir() / "progress.jsonl").read_text().splitlines()]
    assert [(l["exercise"], l["passed"]) for l in lines[-2:]] == [("00.2", None), ("00.2", False)]
