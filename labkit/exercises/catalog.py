"""Every exercise of the kit by id, what each asks, and its worked solution (shown only when asked for)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import ExerciseCheckError
from labkit.exercises import (baseline, benchmarking, executorch, fine_tuning, fusion, mixed_precision, nnapi, npu, ptq,
                              torchscript)
from labkit.exercises.core import CheckResult, log_progress

EXERCISES: dict[str, Callable[..., CheckResult]] = {
    "00.1": baseline.check_preprocessing, "00.2": baseline.check_size_estimate,
    "01.1": executorch.check_fully_delegated, "01.2": executorch.check_arena_prediction,
    "02.1": fusion.check_fusion, "03.1": ptq.check_qparams, "04.1": mixed_precision.check_keep_float,
    "05.1": torchscript.check_exportable, "06.1": nnapi.check_nnapi_shapes,
    "07.1": fine_tuning.check_unfreeze, "07.2": fine_tuning.check_sgd_step,
    "08.1": benchmarking.check_peak_gflops, "08.2": benchmarking.check_pareto,
    "09.1": npu.check_cpu_operators, "09.2": npu.check_smallest_target,
}
"""Every exercise of the kit, by id ("lab.number"), with its checker."""


def exercise_title(exercise: str) -> str:
    """What exercise ``exercise`` asks, from its checker's docstring."""
    import re

    first = " ".join((EXERCISES[exercise].__doc__ or "").strip().split("\n\n")[0].split())
    first = re.sub(r":\w+:`([^`]+)`", r"\1", first).replace("``", "`")
    first = first.split(": ", 1)[1] if ": " in first else first
    return first.split(". ")[0].rstrip(".")


@dataclass(frozen=True)
class Solution:
    """A worked solution, shown only when asked for with :func:`solution`."""

    exercise: str
    notebook: Path
    code: str

    def __str__(self) -> str:
        return self.code

    def _repr_markdown_(self) -> str:
        return (f"**Worked solution of exercise {self.exercise}** (from `notebooks/solutions/{self.notebook.name}`, "
                f"executed by the kit's tests)\n\n```python\n{self.code}\n```")


def solution(exercise: str, root: Path | None = None) -> Solution:
    """The worked solution of ``exercise`` (e.g. ``"03.1"``); asking is recorded in ``progress.jsonl``.

    Try the exercise first: the checker's hints usually get you there.
    """
    import nbformat

    from labkit.paths import PROJECT_ROOT

    if exercise not in EXERCISES:
        raise ExerciseCheckError(f"no exercise {exercise!r}; the kit has {', '.join(EXERCISES)}")
    lab = exercise.split(".")[0]
    found = sorted((PROJECT_ROOT / "notebooks" / "solutions").glob(f"{lab}_*_solutions.ipynb"))
    if not found:
        raise ExerciseCheckError(f"no solutions notebook for lab {lab} in notebooks/solutions/: is the checkout complete?")
    call = f"{EXERCISES[exercise].__name__}("
    cells = nbformat.read(found[0], as_version=4).cells
    at = next((i for i, c in enumerate(cells) if c.cell_type == "code" and call in c.source), None)
    if at is None:
        raise ExerciseCheckError(f"{found[0].name} has no cell calling {call}…): the solutions notebook is out of date")
    start = at
    while start > 0 and cells[start - 1].cell_type == "code":  # the answer's cells run up to the check
        start -= 1
    log_progress({"exercise": exercise, "solution_viewed": True}, root)
    return Solution(exercise, found[0], "\n\n".join(c.source for c in cells[start:at + 1]))
