import numpy as np
import pytest
import torch
from PIL import Image

from labkit.errors import ImageInputError, ParameterError
from labkit.model import data
from labkit.model.preprocessing import PreprocessSpec


def test_samples_and_labels():
    samples = data.load_samples()
    assert [s.name for s in samples] == ["chelsea", "coffee", "rocket", "china", "astronaut"]
    assert len(data.load_samples(labelled_only=True)) == 4
    assert data.sample("coffee").accepted_labels == ("espresso",)
    labels = data.imagenet_labels()
    assert len(labels) == 1000 and labels[0] == "tench" and labels[967] == "espresso"
    image = data.sample("chelsea").image()
    assert image.shape == (300, 451, 3) and image.dtype == np.uint8
    with pytest.raises(ParameterError, match="choose from"):
        data.sample("dog")


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "1", "LA"])
def test_load_rgb_converts_modes(mode):
    image = Image.new("RGB", (40, 30), (120, 60, 30)).convert(mode)
    rgb = data.load_rgb(image)
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8


def test_transparent_pixels_composite_over_white(tmp_path):
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[:5, :, :] = (255, 0, 0, 255)  # opaque red top half, fully transparent bottom half
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    rgb = data.load_rgb(path)
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[9, 9]) == (255, 255, 255)


def test_sixteen_bit_grey_scales_to_eight_bit():
    grey16 = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    assert data.load_rgb(grey16).max() == 255


def test_arrays():
    assert data.load_rgb(np.zeros((5, 6), dtype=np.uint8)).shape == (5, 6, 3)
    assert data.load_rgb(np.zeros((5, 6, 1), dtype=np.uint8)).shape == (5, 6, 3)
    assert data.load_rgb(np.zeros((5, 6, 4), dtype=np.uint8)).shape == (5, 6, 3)
    with pytest.raises(ImageInputError, match="channels-first"):
        data.load_rgb(np.zeros((3, 50, 60), dtype=np.uint8))
    with pytest.raises(ImageInputError, match="uint8"):
        data.load_rgb(np.zeros((50, 60, 3), dtype=np.float32))
    with pytest.raises(ImageInputError, match="torch.Tensor"):
        data.load_rgb(torch.zeros(3, 50, 60))


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ImageInputError, match="no image file"):
        data.load_rgb(tmp_path / "missing.jpg")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ImageInputError, match="notes.jpg is not an image"):
        data.load_rgb(text)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data.sample("coffee").path.read_bytes()[:5000])
    with pytest.raises(ImageInputError, match="truncated.png .*truncated or corrupt"):
        data.load_rgb(truncated)


def test_augmented_set_is_deterministic_real_and_varied():
    spec = PreprocessSpec()
    a = data.augmented_set(8, spec, seed=3)
    b = data.augmented_set(8, spec, seed=3)
    c = data.augmented_set(8, spec, seed=4)
    assert a.inputs.shape == (8, 3, 224, 224) and a.inputs.is_contiguous()
    assert torch.equal(a.inputs, b.inputs) and a.source == b.source
    assert not torch.equal(a.inputs, c.inputs)
    assert set(a.source) == {"chelsea", "coffee", "rocket", "china"}
    assert len(a.batches(3)) == 3
    assert -1.0 - 1e-5 <= float(a.inputs.min()) and float(a.inputs.max()) <= 1.0 + 1e-5


def test_calibration_set_is_one_split_with_prefixes():
    from labkit.model.data import CALIBRATION_SIZE, calibration_set
    from labkit.model.models import model_spec

    spec = model_spec("tiny_cnn").preprocess
    recipe = calibration_set(spec)
    assert len(recipe) == CALIBRATION_SIZE == 64
    assert torch.equal(calibration_set(spec, 8).inputs, recipe.inputs[:8])  # smaller: a prefix
    assert torch.equal(calibration_set(spec, 80).inputs[:64], recipe.inputs)  # larger: an extension
    with pytest.raises(ValueError, match="number of crops"):
        calibration_set(spec, 0)
