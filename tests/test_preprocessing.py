import json

import numpy as np
import pytest
import torch

from labkit.errors import ImageInputError
from labkit.preprocessing import (PreprocessSpec, center_crop_offsets, denormalize, preprocess,
                                  preprocess_steps, resized_size)

SPEC = PreprocessSpec()


def test_resized_size_keeps_aspect_and_truncates():
    assert resized_size(300, 451, 256) == (256, 384)  # 451 * 256 / 300 = 384.85 -> 384
    assert resized_size(640, 427, 256) == (383, 256)
    assert resized_size(256, 256, 256) == (256, 256)


def test_center_crop_offsets_round_half_to_even_like_torchvision():
    assert center_crop_offsets(256, 384, 224) == (16, 80)
    assert center_crop_offsets(225, 225, 224) == (0, 0)  # round(0.5) == 0
    with pytest.raises(ImageInputError, match="resize first"):
        center_crop_offsets(100, 300, 224)


def test_uniform_image_gives_hand_computed_value():
    image = np.zeros((256, 256, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 200, 100, 50
    x = preprocess(image, SPEC)
    expected = [(200 / 255 - 0.5) / 0.5, (100 / 255 - 0.5) / 0.5, (50 / 255 - 0.5) / 0.5]
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32 and x.is_contiguous()
    for channel, value in enumerate(expected):
        assert torch.allclose(x[0, channel], torch.full((224, 224), value), atol=1e-6)


def test_antialiased_halving_matches_hand_computed_triangle_filter():
    # 512 x 1024 -> short side 256 halves both axes. A PIL-style antialiased bilinear filter at
    # scale 2 averages 4 input columns with weights 1, 3, 3, 1 (/ 8) around each output column.
    columns = (np.arange(1024) * 37) % 256
    image = np.repeat(np.repeat(columns[None, :, None], 512, axis=0), 3, axis=2).astype(np.uint8)
    x = preprocess(image, SPEC)
    left = 144  # round((512 - 224) / 2)
    for out_col in (0, 17, 111, 223):
        c = 2 * (out_col + left)
        by_hand = (columns[c - 1] + 3 * columns[c] + 3 * columns[c + 1] + columns[c + 2]) / 8
        assert float(x[0, 0, 100, out_col]) == pytest.approx((by_hand / 255 - 0.5) / 0.5, abs=1e-5)


def test_spec_json_round_trip_and_unknown_keys():
    text = SPEC.to_json()
    data = json.loads(text)
    assert data["input_shape"] == [1, 3, 224, 224] and data["mean"] == [0.5, 0.5, 0.5]
    assert PreprocessSpec.from_json(text) == SPEC
    data["meen"] = [0, 0, 0]
    with pytest.raises(ValueError, match="meen"):
        PreprocessSpec.from_json(json.dumps(data))


def test_steps_and_denormalize_round_trip():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    steps = preprocess_steps(image, SPEC)
    assert tuple(steps["resized"].shape) == (3, 256, 341)
    assert tuple(steps["cropped"].shape) == (3, 224, 224)
    back = denormalize(steps["normalized"], SPEC)
    assert np.abs(back.astype(int) - steps["cropped"].round().permute(1, 2, 0).numpy().astype(int)).max() <= 1


def test_preprocess_rejects_channels_first_and_float():
    with pytest.raises(ImageInputError, match="height × width × 3"):
        preprocess(np.zeros((3, 256, 256), dtype=np.uint8), SPEC)
    with pytest.raises(ImageInputError):
        preprocess(np.zeros((256, 256, 3), dtype=np.float32), SPEC)
