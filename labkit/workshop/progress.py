"""A learner's progress: which labs ran and which exercises passed, from their own ``results/`` folder.

Labs append measured rows to ``results.jsonl`` when they run; exercise checkers append one line
per check to ``progress.jsonl`` (see :mod:`labkit.exercises.core`). Nothing is sent anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.paths import PROJECT_ROOT, results_dir
from labkit.report.results import PROGRESS_NAME, ResultsStore, parse_jsonl


@dataclass(frozen=True)
class Progress:
    """Two tables: one row per lab, one row per exercise."""

    labs: pd.DataFrame
    exercises: pd.DataFrame

    @property
    def summary(self) -> str:
        """One line: labs executed, exercises passed."""
        ran = int((self.labs["runs"] > 0).sum())
        passed = int((self.exercises["status"] == "passed").sum())
        return f"{ran}/{len(self.labs)} labs executed, {passed}/{len(self.exercises)} exercises passed"

    def _repr_html_(self) -> str:
        return (f"<p><b>{self.summary}</b></p>" + self.labs.to_html(index=False)
                + self.exercises.to_html(index=False))


def check_events(root: Path) -> list[dict[str, object]]:
    """The lines of ``progress.jsonl`` (a damaged line is skipped with a warning)."""
    path = root / PROGRESS_NAME
    return parse_jsonl(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else []


def exercise_progress(root: Path) -> pd.DataFrame:
    """One row per exercise of the kit: passed (ever), failed (never passed), not attempted, or not reached."""
    from labkit.exercises.catalog import EXERCISES, exercise_title
    from labkit.exercises.core import current_id

    events = check_events(root)
    rows = []
    for exercise in EXERCISES:
        mine = [e for e in events if current_id(e) == exercise]
        checks = [e for e in mine if "passed" in e]
        outcomes = [e["passed"] for e in checks]
        if True in outcomes:
            status = "passed"
        elif False in outcomes:
            status = "failed"
        elif checks:
            status = "not attempted"
        else:
            status = "not reached"
        rows.append({"exercise": exercise, "lab": exercise.split(".")[0], "status": status,
                     "wrong answers": outcomes.count(False),
                     "solution viewed": any(e.get("solution_viewed") for e in mine),
                     "last check": max((str(e.get("timestamp", "")) for e in checks), default=""),
                     "asks": exercise_title(exercise)})
    return pd.DataFrame(rows)


def lab_progress(root: Path, notebook_dir: Path | None = None) -> pd.DataFrame:
    """One row per lab of the course: how often it ran (in a notebook or by ``make run``), when last, in which
    mode, exercises passed."""
    from labkit.workshop.course import lab_ids, load_course

    labs, _ = load_course(notebook_dir or PROJECT_ROOT / "notebooks")
    records = ResultsStore(root).records()
    for store in sorted(root.glob("kit*/*/*/results.jsonl")):  # labs executed by `make run` (labkit run-labs)
        records += ResultsStore(store.parent).records()
    exercises = exercise_progress(root)
    rows, ids = [], lab_ids(labs)  # rows of runs before a renumbering count for today's lab
    for lab in labs:
        mine = [r for r in records if ids.get(str(r.get("lab"))) == lab.id]
        runs = sorted({str(r["run_id"]) for r in mine})
        last = max(mine, key=lambda r: str(r.get("timestamp", ""))) if mine else None
        own = exercises[exercises["lab"] == lab.id]
        rows.append({"lab": lab.id, "title": lab.title, "runs": len(runs),
                     "last run": str(last["timestamp"]) if last else "",
                     "last mode": ("smoke" if last["config"].get("SMOKE") else "full") if last else "",
                     "exercises passed": f"{int((own['status'] == 'passed').sum())}/{len(own)}"})
    return pd.DataFrame(rows)


def progress(root: str | Path | None = None, notebook_dir: Path | None = None) -> Progress:
    """The learner's progress from ``root`` (default: the kit's ``results/``)."""
    root = Path(root) if root is not None else results_dir()
    return Progress(lab_progress(root, notebook_dir), exercise_progress(root))
