import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from labkit.errors import ImageInputError, ParameterError
from labkit.model.preprocessing import (
    ANDROID_ONLY,
    PreprocessSpec,
    center_crop_offsets,
    denormalize,
    preprocess,
    preprocess_steps,
    resized_size,
)

SPEC = PreprocessSpec()
JAVA_CORE = Path(__file__).resolve().parents[1] / "android_demo/app/src/main/java/org/edgelabkit/demo/core"


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


@pytest.mark.parametrize("field, wrong", [("channel_order", "BGR"), ("channel_order", "rgb"), ("layout", "NHWC"),
                                          ("dtype", "float16"), ("dtype", "uint8")])
def test_spec_refuses_what_the_pipeline_does_not_make(field, wrong):
    """channel_order / layout / dtype describe the pipeline's output: only RGB, NCHW, float32 (as the app)."""
    allowed = {"channel_order": "'RGB'", "layout": "'NCHW'", "dtype": "'float32'"}[field]
    with pytest.raises(ParameterError, match=f"{field} must be {allowed}, got '{wrong}'"):
        PreprocessSpec(**{field: wrong})
    data = json.loads(SPEC.to_json())
    data[field] = wrong
    with pytest.raises(ParameterError, match=f"{field} must be {allowed}"):
        PreprocessSpec.from_json(json.dumps(data))


def test_spec_mirrors_the_apps_other_checks():
    with pytest.raises(ParameterError, match=r"resize_short_side \(200\) must be at least crop_size \(224\)"):
        PreprocessSpec(resize_short_side=200)
    with pytest.raises(ParameterError, match="std must be positive"):
        PreprocessSpec(std=(0.5, -0.5, 0.5))
    data = json.loads(SPEC.to_json())
    data["input_shape"] = [1, 3, 200, 200]
    with pytest.raises(ParameterError, match="input_shape .* does not match crop_size 224"):
        PreprocessSpec.from_json(json.dumps(data))
    del data["input_shape"], data["value_scale"]
    with pytest.raises(ParameterError, match=r"has no \['value_scale'\]"):
        PreprocessSpec.from_json(json.dumps(data))


def test_bicubic_and_no_antialias_stay_python_only(tmp_path):
    """This pipeline implements them (lab 00 shows what no antialiasing does); the app does not, so a
    preprocess.json for it (save) refuses them."""
    for choice in ({"interpolation": "bicubic"}, {"antialias": False}):
        spec = PreprocessSpec(**choice)
        assert PreprocessSpec.from_json(spec.to_json()) == spec
        (name, value), = choice.items()
        with pytest.raises(ParameterError, match=f"implements {name}={ANDROID_ONLY[name]!r} only"):
            spec.check_android()
        with pytest.raises(ParameterError, match="the Android app"):
            spec.save(tmp_path / "preprocess.json")
        assert not (tmp_path / "preprocess.json").exists()
    with pytest.raises(ParameterError, match="antialias must be True or False"):
        PreprocessSpec(antialias=1)
    assert SPEC.check_android() is SPEC and SPEC.save(tmp_path / "ok.json").is_file()


def _java_verdicts(texts: list[str], tmp_path: Path) -> list[str]:
    """Each text through the app's own PreprocessSpec.fromJson (compiled here): "ok" or "refused: …"."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java):
        pytest.skip("no JDK: install one (Debian: apt-get install default-jdk-headless) to compare with the app's Java")
    probe = tmp_path / "Probe.java"
    probe.write_text(
        "import java.nio.charset.StandardCharsets;\nimport java.nio.file.*;\n"
        "import org.edgelabkit.demo.core.PreprocessSpec;\n"
        "public class Probe {\n  public static void main(String[] args) throws Exception {\n"
        "    for (String file : args) {\n"
        "      String text = new String(Files.readAllBytes(Paths.get(file)), StandardCharsets.UTF_8);\n"
        "      try { PreprocessSpec.fromJson(text); System.out.println(\"ok\"); }\n"
        "      catch (IllegalArgumentException e) { System.out.println(\"refused: \" + e.getMessage()); }\n"
        "    }\n  }\n}\n")
    classes = tmp_path / "classes"
    sources = [JAVA_CORE / "Json.java", JAVA_CORE / "PreprocessSpec.java", probe]
    subprocess.run([javac, "-nowarn", "-d", str(classes), *map(str, sources)], check=True, capture_output=True,
                   timeout=300)
    files = []
    for i, text in enumerate(texts):
        files.append(tmp_path / f"case{i}.json")
        files[-1].write_text(text, encoding="utf-8")
    done = subprocess.run([java, "-cp", str(classes), "Probe", *map(str, files)], check=True, capture_output=True,
                          text=True, timeout=300)
    return done.stdout.splitlines()


def test_python_refuses_exactly_what_the_android_app_refuses(tmp_path):
    """The same preprocess.json texts through the app's Java and through from_json + check_android."""
    base = json.loads(SPEC.to_json())
    changes = {"as written": {}, "channel_order BGR": {"channel_order": "BGR"}, "channel_order null": {"channel_order": None},
               "layout NHWC": {"layout": "NHWC"}, "dtype float16": {"dtype": "float16"}, "dtype 32": {"dtype": 32},
               "bicubic": {"interpolation": "bicubic"}, "nearest": {"interpolation": "nearest"},
               "no antialias": {"antialias": False}, "antialias 'true'": {"antialias": "true"},
               "resize below crop": {"resize_short_side": 200}, "crop 0": {"crop_size": 0},
               "crop 224.0": {"crop_size": 224.0}, "resize 256.5": {"resize_short_side": 256.5},
               "std with 0": {"std": [0.5, 0, 0.5]}, "negative std": {"std": [0.5, -0.5, 0.5]},
               "two means": {"mean": [0.5, 0.5]}, "mean a string": {"mean": "abc"}, "mean a number": {"mean": 5},
               "mean true": {"mean": [True, 0.5, 0.5]}, "integer mean": {"mean": [0, 1, 0]},
               "wrong input_shape": {"input_shape": [1, 3, 200, 200]}, "input_shape null": {"input_shape": None},
               "no input_shape": {"input_shape": ...}, "no notes": {"notes": ...}, "notes a number": {"notes": 5},
               "typo key": {"meen": [0, 0, 0]}, "no value_scale": {"value_scale": ...},
               "no channel_order": {"channel_order": ...}, "value_scale true": {"value_scale": True},
               "value_scale 0": {"value_scale": 0}, "negative value_scale": {"value_scale": -1.0}}
    texts = []
    for change in changes.values():
        data = {**base, **change}
        texts.append(json.dumps({k: v for k, v in data.items() if v is not ...}))
    java = dict(zip(changes, _java_verdicts(texts, tmp_path), strict=False))  # the assert below reports a short list
    assert len(java) == len(changes), java
    python = {}
    for name, text in zip(changes, texts, strict=True):
        try:
            PreprocessSpec.from_json(text).check_android()
            python[name] = "ok"
        except ParameterError as exc:
            python[name] = f"refused: {exc}"
    stricter = {"value_scale 0", "negative value_scale"}  # the app takes any number; a scale ≤ 0 makes no image
    for name in changes:
        if name in stricter:
            assert java[name] == "ok" and python[name].startswith("refused"), (name, java[name], python[name])
        else:
            assert java[name].split(":")[0] == python[name].split(":")[0], (name, java[name], python[name])
    assert java["as written"] == "ok" and java["crop 224.0"] == "ok" and java["layout NHWC"].startswith("refused")
