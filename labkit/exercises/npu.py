"""Lab exercises on the NPU lab: predict what an Ethos-U55 refuses; pick the smallest configuration for a budget.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import npu as checks``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labkit.exercises.core import CheckResult, fail, not_attempted, record

QUIZ_TARGET = "ethos-u55-128"


class CameraQuiz(torch.nn.Module):
    """Exercise 09.1's model: a small camera-frame classifier with operators an Ethos-U55 may or may not take."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.body = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # upscale ×2, nearest neighbour
        x = x * torch.sigmoid(self.body(x))  # a gate
        x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)  # to a fixed size, bilinear
        x = F.max_pool2d(x, 2)
        x = torch.where(x > 0.5, x, torch.zeros_like(x))  # keep strong activations
        return self.head(x.mean(dim=(2, 3)))

    @staticmethod
    def example_input() -> torch.Tensor:
        return torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))


def operator_name(name: object) -> str:
    """An operator's short name, however it is written: ``aten.upsample_bilinear2d.vec`` (an ``OpOverload``),
    ``<EdgeOpOverload: aten.gt.Tensor>: schema = …``, ``aten::gt.Tensor``, ``aten_gt_scalar`` (a node name) or
    ``upsample_bilinear2d`` → ``upsample_bilinear2d`` / ``gt``."""
    import re

    text = str(name).strip()
    found = re.search(r"aten(?:::|\.)(\w+)", text)  # an overload's qualified name
    if found:
        return found.group(1).lower()
    text = text.lower().replace(".", "_")
    text = text[5:] if text.startswith("aten_") else text
    for suffix in ("_default", "_vec", "_tensor", "_scalar", "_self", "_dim", "_int"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


def quiz_cpu_operators() -> set[str]:
    """What the Ethos-U55 leaves on the CPU of :class:`CameraQuiz` (besides quantize/dequantize), compiled here."""
    from labkit.deploy import ethosu

    with torch.random.fork_rng():  # the same weights every time: the compiled program is cached
        torch.manual_seed(0)
        model = CameraQuiz().eval()
    x = CameraQuiz.example_input()
    calibration = [torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(s)) for s in range(4)]
    quantized = ethosu.quantize(torch.export.export(model, (x,)), calibration, QUIZ_TARGET)
    program = ethosu.lower(quantized, x, QUIZ_TARGET, "exercise-09.1")
    return {operator_name(op) for op in program.cpu_ops if "quantize" not in op}


def check_cpu_operators(answer: object) -> CheckResult:
    """Exercise 09.1: the operators of :class:`CameraQuiz` an Ethos-U55 leaves on the CPU, besides quantize/dequantize.

    Answer with a set of operator names (``"upsample_nearest2d"`` or ``"aten.upsample_nearest2d.vec"`` both
    count). The checker quantizes and lowers the model for ``ethos-u55-128`` itself (a few seconds).
    """
    exercise = "09.1"
    if answer is None:
        return not_attempted(exercise)
    if isinstance(answer, str) or not isinstance(answer, (set, list, tuple, frozenset)):
        fail(exercise, f"answer with a set of operator names, e.g. {{'upsample_nearest2d'}}, not {type(answer).__name__}")
    named = {operator_name(op) for op in answer}  # type: ignore[union-attr]
    truth = quiz_cpu_operators()
    wrong, missing = named - truth, truth - named
    if wrong:
        fail(exercise, f"{sorted(wrong)} run(s) on the NPU: the U55 takes them. Read the refusal list "
                       f"(EthosU55NotSupported.unsupported_ops) and the resize checks beside it")
    if missing:
        fail(exercise, f"{len(missing)} more operator(s) stay on the CPU. Which operations of forward() are comparisons, "
                       f"selections or a resize the U55 lacks? (section 4's refusal list)")
    return record(CheckResult(exercise, True, f"exactly these stay on the CPU of a U55: {sorted(truth)}"))


def smallest_target(programs: object, budget_ms: float) -> str | None:
    """The configuration with the fewest MACs per cycle whose Vela estimate meets ``budget_ms`` (ties: the earlier
    one in ``ethosu.TARGETS``), among those whose TOSA profile one of ``programs`` was lowered for; None if none."""
    from labkit.deploy import ethosu

    by_profile = {ethosu.tosa_profile(p.target): p for p in programs}  # type: ignore[attr-defined, union-attr]
    candidates = [t for t in ethosu.TARGETS if ethosu.tosa_profile(t) in by_profile]
    meeting = [t for t in candidates if ethosu.estimate(by_profile[ethosu.tosa_profile(t)], t).estimated_ms <= budget_ms]
    return min(meeting, key=lambda t: (ethosu.macs_per_cycle(t), ethosu.TARGETS.index(t)), default=None)


def check_smallest_target(programs: object, budget_ms: float, answer: object) -> CheckResult:
    """Exercise 09.2: the smallest Ethos-U configuration (fewest MACs per cycle) whose estimate meets the budget.

    ``programs``: the lab's lowered programs (one per TOSA profile); ``answer``: a target name such as
    ``"ethos-u65-256"``, or ``"none"`` if no configuration meets ``budget_ms``. The checker runs Vela for every
    configuration those programs cover.
    """
    from labkit.deploy import ethosu

    exercise = "09.2"
    if answer is None:
        return not_attempted(exercise)
    if not isinstance(answer, str) or (answer != "none" and answer not in ethosu.TARGETS):
        fail(exercise, f"answer with one of {list(ethosu.TARGETS)} or 'none', got {answer!r}")
    try:
        programs = list(programs)  # type: ignore[call-overload]
    except TypeError:
        fail(exercise, "pass the lab's programs as a list, e.g. list(profiles.values())")
    if not programs or not all(isinstance(p, ethosu.EthosUProgram) for p in programs):
        fail(exercise, "pass the lab's lowered programs (ethosu.lower(...) results), e.g. list(profiles.values())")
    truth = smallest_target(programs, float(budget_ms))
    if answer == "none":
        if truth is not None:
            fail(exercise, f"at least one configuration meets {budget_ms} ms: look at the estimates table again")
    elif truth is None:
        fail(exercise, f"no configuration these programs cover meets {budget_ms} ms: answer 'none'")
    elif answer != truth:
        covering = next((p for p in programs if ethosu.tosa_profile(p.target) == ethosu.tosa_profile(answer)), None)
        if covering is None:
            fail(exercise, f"{answer} is not covered by these programs (another TOSA profile): pick among the table's rows")
        estimate = ethosu.estimate(covering, answer).estimated_ms
        if estimate > budget_ms:
            fail(exercise, f"{answer} is estimated at {estimate:.2f} ms, over the {budget_ms} ms budget")
        fail(exercise, f"{answer} meets the budget ({estimate:.2f} ms), but a configuration with fewer MACs per cycle "
                       f"does too")
    return record(CheckResult(exercise, True, f"{truth or 'none'}: the fewest MACs per cycle that meet {budget_ms} ms"))
