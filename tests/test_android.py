"""android_demo/: versions agree, labkit export-android writes what the app reads, and the app's checks pass.

The Java checks (aapt2, javac against API 29, JUnit golden tests) run through android_demo/ci/check.py;
without its Debian packages they are skipped with the install command (`make test` installs them as root).
"""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labkit.deploy.android_export import export_android
from labkit.errors import LabkitError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "android_demo"
CHECK = DEMO / "ci" / "check.py"


def _pin(text: str, pattern: str) -> str:
    match = re.search(pattern, text, re.M)
    assert match, pattern
    return match.group(1)


def test_executorch_versions_agree_everywhere():
    pip = _pin((ROOT / "requirements.txt").read_text(), r"^executorch==(\S+)")
    gradle = _pin((DEMO / "app" / "build.gradle.kts").read_text(), r'"org\.pytorch:executorch-android:([^"]+)"')
    stub = (DEMO / "ci" / "executorch-stub" / "VERSION").read_text().strip()
    java = _pin((DEMO / "app/src/main/java/org/edgelabkit/demo/core/Versions.java").read_text(),
                r'EXECUTORCH = "([^"]+)"')
    assert pip == gradle == stub == java, f"pip {pip}, Gradle {gradle}, stub {stub}, Versions.java {java}"


def test_the_app_uses_framework_apis_only_and_java_8():
    build = (DEMO / "app" / "build.gradle.kts").read_text()
    assert "androidx" not in build.lower() and "appcompat" not in build.lower()
    assert "JavaVersion.VERSION_1_8" in build and "minSdk = 24" in build
    assert 'listOf("arm64-v8a", "x86_64")' in build
    sources = list((DEMO / "app" / "src").rglob("*.java"))
    assert sources and not list((DEMO / "app" / "src").rglob("*.kt"))
    for path in sources:
        assert "import androidx" not in path.read_text(), path
    core = DEMO / "app/src/main/java/org/edgelabkit/demo/core"
    for path in core.glob("*.java"):
        assert "import android." not in path.read_text(), f"{path.name}: core classes must run without Android"


def test_export_refuses_a_model_without_trained_weights(tmp_path):
    with pytest.raises(LabkitError, match="no trained weights"):
        export_android(tmp_path / "assets", tmp_path / "golden", model_name="tiny_cnn", precisions=("fp32",))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("android")
    return export_android(folder / "assets", folder / "golden", precisions=("fp32",), photos=("coffee", "chelsea"))


@pytest.mark.slow
def test_export_writes_what_the_app_reads(exported):
    manifest = json.loads((exported.assets / "manifest.json").read_text())
    assert manifest["executorch"] == "1.5.1" and manifest["input_shape"] == [1, 3, 224, 224]
    assert manifest["num_classes"] == 1000 and manifest["trained"] is True
    model = manifest["models"][0]
    pte = exported.assets / model["file"]
    assert model["precision"] == "fp32" and pte.stat().st_size == model["bytes"] > 10_000_000
    assert hashlib.sha256(pte.read_bytes()).hexdigest() == model["sha256"]
    assert pte.read_bytes()[4:8] == b"ET12", "an ExecuTorch program"
    assert len((exported.assets / "labels.txt").read_text().splitlines()) == 1000
    assert all((exported.assets / s).is_file() for s in manifest["samples"])
    spec = json.loads((exported.assets / "preprocess.json").read_text())
    assert spec["crop_size"] == 224 and spec["input_shape"] == [1, 3, 224, 224]
    golden = json.loads((exported.golden / "golden.json").read_text())
    for photo in golden["photos"]:
        rgb = np.fromfile(exported.golden / f"{photo['name']}.rgb", dtype=np.uint8)
        assert rgb.size == photo["height"] * photo["width"] * 3
        x = np.fromfile(exported.golden / f"{photo['name']}.input.f32", dtype="<f4")
        assert x.size == 3 * 224 * 224 and -1.001 <= x.min() < x.max() <= 1.001  # [0, 255] → [-1, 1], float rounding
        assert photo["top5"]["fp32"][0][0] == photo["top5"]["eager"][0][0], "the .pte agrees with eager on top-1"
    coffee = next(p for p in golden["photos"] if p["name"] == "coffee")
    assert coffee["top5"]["fp32"][0][0] == 967, "espresso"


def _check(golden: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), "--golden", str(golden)], capture_output=True, text=True,
                          timeout=900, cwd=tmp_path)


@pytest.mark.slow
def test_resources_compile_and_java_golden_tests_pass(exported, tmp_path):
    done = _check(exported.golden, tmp_path)
    if done.returncode == 3:
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "aapt2 compile + link" in done.stdout and "-Xlint:all -Werror" in done.stdout
    passed = re.search(r"Java unit tests: (\d+) passed, 0 failed", done.stdout)
    assert passed and int(passed.group(1)) >= 15, done.stdout


@pytest.mark.slow
def test_java_golden_tests_catch_a_preprocessing_difference(exported, tmp_path):
    import shutil

    golden = tmp_path / "golden"
    shutil.copytree(exported.golden, golden)
    x = np.fromfile(golden / "coffee.input.f32", dtype="<f4")
    x[12345] += 1e-4  # ten times the tolerance, in one value of one photo
    x.astype("<f4").tofile(golden / "coffee.input.f32")
    done = _check(golden, tmp_path)
    if done.returncode == 3:
        pytest.skip(done.stdout.strip())
    assert done.returncode == 1 and re.search(r"Java unit tests: \d+ passed, 1 failed", done.stdout), done.stdout[-3000:]
    assert "coffee: max |Java − Python|" in done.stdout


def test_export_makes_int8_programs_that_run(tmp_path, tiny):
    from labkit.deploy.android_export import _programs
    from labkit.deploy.runners import open_runner

    made = _programs(tiny, ["fp32", "int8"], tmp_path)
    x = tiny.example_input()
    fp32, int8 = (open_runner(made[p], threads=1)(x) for p in ("fp32", "int8"))
    assert made["int8"].stat().st_size < made["fp32"].stat().st_size
    assert fp32.shape == int8.shape and float((fp32 - int8).abs().max()) < 0.5 * float(fp32.abs().max())
