"""Lab exercises on the NPU lab: predict what an Ethos-U55 refuses; pick the smallest configuration for a budget.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import npu as checks``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labkit.deploy.ethosu import operator_name
from labkit.errors import ParameterError
from labkit.exercises.core import CheckResult, fail, not_attempted, record

__all__ = ["CameraQuiz", "check_cpu_operators", "check_smallest_target", "operator_name", "quiz_cpu_operators",
           "smallest_target"]

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


def _quiz_program() -> tuple[set[str], object]:
    """CameraQuiz's exported operators, and the program compiled for :data:`QUIZ_TARGET` (cached after the first call)."""
    from labkit.deploy import ethosu

    with torch.random.fork_rng():  # the same weights every time: the compiled program is cached
        torch.manual_seed(0)
        model = CameraQuiz().eval()
    x = CameraQuiz.example_input()
    calibration = [torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(s)) for s in range(4)]
    exported = torch.export.export(model, (x,))
    operators = {operator_name(n.target) for n in exported.graph.nodes if n.op == "call_function"}
    program = ethosu.lower(ethosu.quantize(exported, calibration, QUIZ_TARGET), x, QUIZ_TARGET, "exercise-09.1")
    return operators, program


def quiz_cpu_operators() -> set[str]:
    """What the Ethos-U55 leaves on the CPU of :class:`CameraQuiz` (besides quantize/dequantize), compiled here."""
    return {op for op in _quiz_program()[1].cpu_ops if "quantize" not in op}  # type: ignore[attr-defined]


def check_cpu_operators(answer: object) -> CheckResult:
    """Exercise 09.1: the operators of :class:`CameraQuiz` an Ethos-U55 leaves on the CPU, besides quantize/dequantize.

    Answer with a set of operator names as ``torch.export`` writes them (``"upsample_nearest2d"`` or
    ``"aten.upsample_nearest2d.vec"`` both count). The checker quantizes and lowers the model for ``ethos-u55-128``
    itself (a few seconds).
    """
    exercise = "09.1"
    if answer is None:
        return not_attempted(exercise)
    if isinstance(answer, str) or not isinstance(answer, (set, list, tuple, frozenset)):
        fail(exercise, f"answer with a set of operator names, e.g. {{'upsample_nearest2d'}}, not {type(answer).__name__}")
    named = {operator_name(op) for op in answer}  # type: ignore[union-attr]
    if any("quantize" in op for op in named):
        fail(exercise, "leave out the int8 boundary (quantize/dequantize): the question is which of the model's own "
                       "operators the U55 refuses")
    operators, program = _quiz_program()
    truth = {op for op in program.cpu_ops if "quantize" not in op}  # type: ignore[attr-defined]
    foreign = named - operators
    if foreign:
        fail(exercise, f"{sorted(foreign)}: not operators of CameraQuiz's exported graph; print "
                       f"torch.export.export(CameraQuiz(), (CameraQuiz.example_input(),)).graph for their names")
    if named - truth:
        fail(exercise, f"{sorted(named - truth)}: the U55 takes these; look each one up in "
                       f"EthosU55NotSupported.unsupported_ops and the resize checks beside it")
    if truth - named:
        fail(exercise, f"{len(truth - named)} more of the model's operators stay on the CPU: look up every operator of "
                       f"the exported graph in EthosU55NotSupported.unsupported_ops")
    return record(CheckResult(exercise, True, f"exactly these stay on the CPU of a U55: {sorted(truth)}"))


def smallest_target(programs: object, candidates: object, budget_ms: float) -> str | None:
    """Among ``candidates``, the configuration with the fewest MACs per cycle whose Vela estimate meets ``budget_ms``
    (ties: the earlier one in ``ethosu.TARGETS``), each estimated from the one of ``programs`` lowered for its TOSA
    profile; None if none meets it."""
    from labkit.deploy import ethosu

    by_profile = {ethosu.tosa_profile(p.target): p for p in programs}  # type: ignore[attr-defined, union-attr]
    uncovered = [t for t in candidates if ethosu.tosa_profile(t) not in by_profile]  # type: ignore[union-attr]
    if uncovered:
        raise ParameterError(f"no program lowered for the TOSA profile of {uncovered}: pass one (ethosu.lower(...))")
    meeting = [t for t in candidates  # type: ignore[union-attr]
               if ethosu.estimate(by_profile[ethosu.tosa_profile(t)], t).estimated_ms <= budget_ms]
    return min(meeting, key=lambda t: (ethosu.macs_per_cycle(t), ethosu.TARGETS.index(t)), default=None)


def check_smallest_target(programs: object, candidates: object, budget_ms: float, answer: object) -> CheckResult:
    """Exercise 09.2: of the lab's configurations, the smallest (fewest MACs per cycle) whose estimate meets the budget.

    ``programs``: the lab's lowered programs (one per TOSA profile); ``candidates``: the configurations of the lab's
    estimates table; ``answer``: one of them, such as ``"ethos-u65-256"``, or ``"none"`` if none meets ``budget_ms``.
    The checker runs Vela for every candidate itself.
    """
    from labkit.deploy import ethosu

    exercise = "09.2"
    if answer is None:
        return not_attempted(exercise)
    try:
        programs, candidates = list(programs), list(candidates)  # type: ignore[call-overload]
    except TypeError:
        fail(exercise, "pass the lab's programs and configurations as lists, e.g. list(profiles.values()), TARGETS")
    if not programs or not all(isinstance(p, ethosu.EthosUProgram) for p in programs) or not candidates:
        fail(exercise, "pass the lab's lowered programs (ethosu.lower(...) results) and its configurations (TARGETS)")
    if not isinstance(answer, str) or (answer != "none" and answer not in candidates):
        fail(exercise, f"answer with one of {candidates} or 'none', got {answer!r}")
    truth = smallest_target(programs, candidates, float(budget_ms))
    if answer == "none":
        if truth is not None:
            fail(exercise, f"at least one configuration meets {budget_ms} ms: look at the estimates table again")
    elif truth is None:
        fail(exercise, f"none of {candidates} meets {budget_ms} ms: answer 'none'")
    elif answer != truth:
        covering = next(p for p in programs if ethosu.tosa_profile(p.target) == ethosu.tosa_profile(answer))
        estimate = ethosu.estimate(covering, answer).estimated_ms
        if estimate > budget_ms:
            fail(exercise, f"{answer} is estimated at {estimate:.2f} ms, over the {budget_ms} ms budget")
        fail(exercise, f"{answer} meets the budget ({estimate:.2f} ms), but a configuration with fewer MACs per cycle "
                       f"does too")
    return record(CheckResult(exercise, True, f"{truth or 'none'}: the fewest MACs per cycle that meet {budget_ms} ms"))
