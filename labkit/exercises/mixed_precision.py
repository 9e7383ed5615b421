"""Lab exercise on mixed precision: which layers to keep in float.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import mixed_precision as checks``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from labkit.exercises.core import CheckResult, fail, not_attempted, record


def check_keep_float(names: Sequence[str] | None, model_name: str = "efficientnet_lite0", max_layers: int = 3,
                     target_ratio: float = 1 / 3, inputs: int = 32) -> CheckResult:
    """Exercise 04.1: keep at most ``max_layers`` layers in float so that int8 fidelity improves enough.

    Passes when XNNPACK can lower the mixed-precision model and its mean KL divergence from fp32 on
    ``inputs`` augmented photos is at most ``target_ratio`` × the all-int8 model's (the kit's int8
    recipe on its calibration split; the checker quantizes and measures both itself). A layer is a
    module with exactly one conv or linear in it (``"stem"``, ``"blocks.3.expand"``), so that
    "three layers" cannot mean "the whole network".
    """
    from torch.export import Dim

    from labkit.deploy.quant import float_pads_after_int8, layer_names, ptq_xnnpack
    from labkit.measure.parity import compare
    from labkit.model.data import augmented_set, calibration_set
    from labkit.model.models import load_model

    exercise = "04.1"
    if names is None:
        return not_attempted(exercise)
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        fail(exercise, "answer with a list of module names, e.g. ['stem', 'blocks.0.depthwise']")
    names = list(names)
    if not names or len(names) > max_layers:
        fail(exercise, f"name between 1 and {max_layers} layers; you named {len(names)}")
    model = load_model(model_name)
    modules = dict(model.module.named_modules())
    layers = (torch.nn.Conv2d, torch.nn.Linear)
    known = {n for n in layer_names(model.module) if sum(isinstance(m, layers) for m in modules[n].modules()) == 1}
    unknown = [n for n in names if n not in known]
    if unknown:
        fail(exercise, f"{unknown} are not layers of {model_name} (a module holding exactly one conv or linear "
                        f"layer, e.g. 'stem' or 'blocks.0.depthwise'); see section 3's ranking")
    spec = model.spec.preprocess
    calibration = calibration_set(spec).batches(32)
    evaluation = augmented_set(inputs, spec, seed=2).batches(16)
    exported = torch.export.export(model.module.eval(), (calibration[0][:2],),
                                   dynamic_shapes=({0: Dim("batch", max=256)},))
    mixed_graph = ptq_xnnpack(exported, calibration, keep_float=names)
    conflicts = float_pads_after_int8(mixed_graph)
    if conflicts:
        pad, producer = next(iter(conflicts.items()))
        fail(exercise, f"XNNPACK could not lower this: the padding {pad!r} reads the int8 output of {producer!r}, so "
                        f"lowering re-quantizes it and its float conv would get an int8 input. "
                        f"Keep {producer.rsplit('.', 1)[0]!r} in float too, or choose other layers")
    all_int8 = compare(model.module, ptq_xnnpack(exported, calibration), evaluation).mean_kl
    mixed = compare(model.module, mixed_graph, evaluation).mean_kl
    ratio = mixed / all_int8
    if ratio > target_ratio:
        fail(exercise, f"mean KL {mixed:.4f} vs all-int8 {all_int8:.4f} (ratio {ratio:.2f}, target ≤ {target_ratio:.2f}): "
                        f"pick the layers at the top of the sensitivity ranking")
    return record(CheckResult(exercise, True, f"keeping {names} in float: mean KL {mixed:.4f} vs all-int8 "
                                               f"{all_int8:.4f} ({ratio:.2f}×, target ≤ {target_ratio:.2f}×)"))
