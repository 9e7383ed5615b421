"""What every exercise checker shares: ``None`` means "not attempted yet", a right answer passes,
a wrong one raises.

The checkers live in one module per lab topic (:mod:`labkit.exercises.fusion`, …), the list of
exercises and their worked solutions in :mod:`labkit.exercises.catalog`. Every check is recorded
in ``results/progress.jsonl`` (exercise id, pass/fail, time) so a learner can see their progress.
Checkers compute the expected answer themselves from the kit's data; they never trust the
notebook's other cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from labkit.errors import ExerciseCheckError
from labkit.paths import results_dir
from labkit.report.results import PROGRESS_NAME, append_jsonl


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check; ``passed`` is None when the exercise was not attempted."""

    exercise: str
    passed: bool | None
    message: str

    def __str__(self) -> str:
        mark = {True: "PASSED", False: "FAILED", None: "NOT ATTEMPTED"}[self.passed]
        return f"[{mark}] exercise {self.exercise}: {self.message}"

    def _repr_markdown_(self) -> str:
        icon = {True: "✅", False: "❌", None: "✏️"}[self.passed]
        return f"{icon} **Exercise {self.exercise}**: {self.message}"


NUMBERING = 2
"""The course's lab numbering: 2 since the labs were put in course order (issue 16); lines without it use 1."""

RENUMBERED: dict[int, dict[str, str]] = {
    1: {"01.1": "02.1", "02.1": "03.1", "02.2": "04.1", "03.1": "05.1", "04.1": "06.1", "05.1": "01.1",
        "05.2": "01.2", "06.1": "07.1", "06.2": "07.2", "07.1": "08.1", "07.2": "08.2"},
}
"""Per numbering, how its exercise ids became those of the next numbering (a renumbering adds one step)."""


def current_id(entry: dict[str, object]) -> object:
    """The exercise id of a ``progress.jsonl`` line in today's numbering, whichever numbering wrote it."""
    exercise, numbering = entry.get("exercise"), int(entry.get("numbering") or 1)  # type: ignore[call-overload]
    for step in range(numbering, NUMBERING):
        exercise = RENUMBERED[step].get(str(exercise), exercise)
    return exercise


def log_progress(entry: dict[str, object], root: Path | None = None) -> None:
    """Append ``entry`` (time-stamped, with the course's numbering) to the learner's ``progress.jsonl``."""
    append_jsonl((root or results_dir()) / PROGRESS_NAME,
                 {**entry, "numbering": NUMBERING, "timestamp": datetime.now(UTC).isoformat(timespec="seconds")})


def record(result: CheckResult, root: Path | None = None) -> CheckResult:
    """Log ``result`` and return it (the cell shows it)."""
    log_progress({"exercise": result.exercise, "passed": result.passed}, root)
    return result


def not_attempted(exercise: str) -> CheckResult:
    """The answer is still ``None``: say how to answer, record it."""
    return record(CheckResult(exercise, None, "not answered yet: replace the None in the cell above and run both cells"))


def fail(exercise: str, hint: str) -> None:
    """Record a failed check and raise :class:`ExerciseCheckError` with ``hint``."""
    record(CheckResult(exercise, False, hint))
    raise ExerciseCheckError(f"exercise {exercise}: {hint}")
