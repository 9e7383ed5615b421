"""``labkit export-android``: the assets ``android_demo/`` loads, and golden files that prove it preprocesses as we do.

Assets (``android_demo/app/src/main/assets/`` by default, not committed): the model as ``.pte`` in
fp32 and int8 (XNNPACK), ``labels.txt``, ``preprocess.json`` (the spec this kit's preprocessing
follows), ``manifest.json`` (versions, input shape, files with sizes and SHA-256) and the sample
photos. Lab 07's training programs are added when lab 07 has made them.

Golden files (``android_demo/app/src/test/resources/golden/``): for a few sample photos, the RGB
pixels as decoded here, the exact input tensor :func:`labkit.model.preprocessing.preprocess` makes, and
the logits and top-5 each ``.pte`` gives in the ExecuTorch runtime. The app's JUnit tests
preprocess the same pixels in Java and must match within 1e-5.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from labkit.errors import LabkitError
from labkit.model.efficientnet_lite import sha256_of
from labkit.paths import PROJECT_ROOT, build_dir

ASSETS_DIR = PROJECT_ROOT / "android_demo" / "app" / "src" / "main" / "assets"
GOLDEN_DIR = PROJECT_ROOT / "android_demo" / "app" / "src" / "test" / "resources" / "golden"
GOLDEN_PHOTOS = ("coffee", "chelsea", "rocket")
PRECISIONS = ("fp32", "int8")
TRAINING_FILES = ("head_training.pte", "backbone_features.pte")
DIGIT_SIZE = 96  # lab 07's IMAGE_SIZE: the backbone input the training screen uses


class AndroidExportError(LabkitError):
    """The assets cannot be made as asked."""


@dataclass(frozen=True)
class AndroidExport:
    """Where the assets and golden files went, and the manifest written."""

    assets: Path
    golden: Path
    manifest: dict[str, object]


def _programs(model, precisions: Sequence[str], out: Path) -> dict[str, Path]:
    """fp32 and/or int8 XNNPACK programs of ``model``: the int8 one is the kit's recipe (``quant.int8_program``)."""
    from labkit.deploy.export import export_pte
    from labkit.deploy.quant import int8_program

    programs: dict[str, Path] = {}
    for precision in precisions:
        target = out / f"model_{precision}.pte"
        if precision == "fp32":
            programs[precision] = export_pte(model.module, (model.example_input(),), target)
        elif precision == "int8":
            programs[precision] = int8_program(model, target)
        else:
            raise AndroidExportError(f"precision {precision!r}: choose from {PRECISIONS}")
    return programs


def export_android(assets: Path = ASSETS_DIR, golden: Path = GOLDEN_DIR, model_name: str = "efficientnet_lite0",
                   precisions: Sequence[str] = PRECISIONS, photos: Sequence[str] = GOLDEN_PHOTOS,
                   programs: Mapping[str, Path] | None = None,
                   training_dir: Path | None = None, training_count: int = 320, training_steps: int = 50,
                   training_lr: float = 0.05) -> AndroidExport:
    """Write the app's assets and the golden files; ``programs`` reuses ``.pte`` files a lab already made."""
    from labkit.deploy.executorch_errors import ERROR_CODES
    from labkit.deploy.runners import open_runner
    from labkit.measure.env import package_version
    from labkit.model import training_sets
    from labkit.model.data import imagenet_labels, load_rgb, load_samples
    from labkit.model.models import load_model
    from labkit.model.predictions import top_k
    from labkit.model.preprocessing import preprocess

    model = load_model(model_name)
    if not model.trained:
        raise AndroidExportError(f"{model_name} has no trained weights here: the app would show random classes")
    if model.spec.num_classes != 1000:
        raise AndroidExportError(f"{model_name} has {model.spec.num_classes} classes; the app's labels are ImageNet's 1000")
    assets, golden = Path(assets), Path(golden)
    for folder in (assets, golden):
        folder.mkdir(parents=True, exist_ok=True)
    made = dict(programs or {})
    missing = [p for p in precisions if p not in made]
    made.update(_programs(model, missing, build_dir("android")))
    files = []
    for precision in precisions:
        source = Path(made[precision])
        target = assets / f"model_{precision}.pte"
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        files.append({"precision": precision, "file": target.name, "bytes": target.stat().st_size,
                      "sha256": sha256_of(target)})
    spec = model.spec.preprocess
    spec.save(assets / "preprocess.json")
    labels = imagenet_labels()
    (assets / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    (assets / "samples").mkdir(exist_ok=True)
    samples = {s.name: s for s in load_samples()}
    for name in samples:
        shutil.copyfile(samples[name].path, assets / "samples" / samples[name].path.name)

    runners = {p: open_runner(assets / f"model_{p}.pte", threads=1) for p in precisions}
    golden_index = []
    for name in photos:
        if name not in samples:
            raise AndroidExportError(f"no sample photo {name!r}; choose from {sorted(samples)}")
        rgb = load_rgb(samples[name].path)
        x = preprocess(rgb, spec)
        (golden / f"{name}.rgb").write_bytes(np.ascontiguousarray(rgb).tobytes())
        (golden / f"{name}.input.f32").write_bytes(x.numpy().astype("<f4").tobytes())
        with torch.no_grad():
            eager = model.module(x)
        entry = {"name": name, "file": samples[name].path.name, "height": int(rgb.shape[0]),
                 "width": int(rgb.shape[1]), "input_shape": list(x.shape),
                 "top5": {"eager": [[p.class_id, p.probability] for p in top_k(eager, 5)]}}
        for precision, runner in runners.items():
            logits = runner(x).reshape(-1).to(torch.float32)
            (golden / f"{name}.{precision}.logits.f32").write_bytes(logits.numpy().astype("<f4").tobytes())
            entry["top5"][precision] = [[p.class_id, p.probability] for p in top_k(logits, 5)]
        golden_index.append(entry)
    digit = training_sets.digits().images[0]  # upsampling 8 × 8 → 96 × 96: the other branch of the resize
    digit_spec = dataclasses.replace(spec, resize_short_side=DIGIT_SIZE, crop_size=DIGIT_SIZE)
    digit_spec.save(golden / "digit_preprocess.json")
    (golden / "digit0.rgb").write_bytes(np.ascontiguousarray(digit).tobytes())
    (golden / "digit0.input.f32").write_bytes(preprocess(digit, digit_spec).numpy().astype("<f4").tobytes())
    (golden / "golden.json").write_text(json.dumps({"photos": golden_index, "digit": {
        "height": int(digit.shape[0]), "width": int(digit.shape[1]), "size": DIGIT_SIZE}}, indent=1) + "\n",
        encoding="utf-8")
    (golden / "error_codes.json").write_text(json.dumps({f"0x{k:02x}": list(v) for k, v in ERROR_CODES.items()},
                                                        indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(assets / "preprocess.json", golden / "preprocess.json")
    shutil.copyfile(assets / "labels.txt", golden / "labels.txt")

    manifest: dict[str, object] = {
        "kit": f"edge-lab-kit {package_version('edge-lab-kit')}",
        "executorch": str(package_version("executorch")).split("+")[0], "torch": torch.__version__.split("+")[0],
        "model": model_name, "trained": model.trained, "weights": model.weights,
        "input_shape": list(spec.input_shape), "input_dtype": "float32", "num_classes": model.spec.num_classes,
        "labels": "labels.txt", "preprocess": "preprocess.json", "models": files,
        "samples": [f"samples/{s.path.name}" for s in samples.values()],
    }
    training_dir = Path(training_dir) if training_dir else build_dir("07_fine_tuning")
    if all((training_dir / f).is_file() for f in TRAINING_FILES):
        manifest["training"] = _training_assets(training_dir, assets, spec, training_count, training_steps, training_lr)
    (assets / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(assets / "manifest.json", golden / "manifest.json")
    return AndroidExport(assets, golden, manifest)


def _input_sizes(path: Path) -> list[tuple[tuple[int, ...], int]]:
    """(shape, dtype code) of every input of a program's ``forward``, read with the ExecuTorch runtime."""
    from executorch.runtime import Runtime

    meta = Runtime.get().load_program(path).metadata("forward")
    return [(tuple(meta.input_tensor_meta(i).sizes()), int(meta.input_tensor_meta(i).dtype()))
            for i in range(meta.num_inputs())]


def _training_assets(training_dir: Path, assets: Path, spec, count: int, steps: int, lr: float) -> dict[str, object]:
    """Lab 07's programs, digits to train on (uint8) and the backbone's preprocessing, for the training screen."""
    from labkit.model import training_sets

    folder = assets / "training"
    folder.mkdir(exist_ok=True)
    for f in TRAINING_FILES:
        shutil.copyfile(training_dir / f, folder / f)
    (features_shape, _), (labels_shape, _) = _input_sizes(folder / "head_training.pte")
    (backbone_shape, _), = _input_sizes(folder / "backbone_features.pte")
    if backbone_shape[-1] != backbone_shape[-2]:
        raise AndroidExportError(f"backbone_features.pte takes {backbone_shape}: the app crops squares only")
    data = training_sets.digits()
    if count > len(data.images) or count < features_shape[0]:
        raise AndroidExportError(f"training_count must be between the batch ({features_shape[0]}) and {len(data.images)}")
    images = np.stack(data.images[:count])
    (folder / "digits.rgb").write_bytes(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    (folder / "digits_labels.u8").write_bytes(data.labels[:count].astype(np.uint8).tobytes())
    dataclasses.replace(spec, resize_short_side=backbone_shape[-1], crop_size=backbone_shape[-1]).save(
        folder / "preprocess.json")
    return {"program": "training/head_training.pte", "program_bytes": (folder / "head_training.pte").stat().st_size,
            "features": "training/backbone_features.pte",
            "features_bytes": (folder / "backbone_features.pte").stat().st_size,
            "images": "training/digits.rgb", "labels": "training/digits_labels.u8",
            "preprocess": "training/preprocess.json", "count": count, "height": int(images.shape[1]),
            "width": int(images.shape[2]), "batch": int(features_shape[0]), "feature_dim": int(features_shape[1]),
            "num_classes": len(data.class_names), "steps": steps, "lr": lr}
