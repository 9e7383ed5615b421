"""The results store: every lab appends its measured rows, later labs and reports read them back.

The store is one JSON-lines file, ``results/results.jsonl``: one complete JSON object per line,
appended and flushed one line at a time, so an interrupted run loses at most the line it was
writing, and :meth:`ResultsStore.load` skips such a partial line with a warning.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError
from labkit.measure.env import environment
from labkit.paths import results_dir

STORE_NAME = "results.jsonl"
# Every row says what was measured, the same way in every lab, so `labkit collect` and the reports can put any lab's
# rows side by side: the model, the runtime that ran it, its precision, the thread count(s) and the lab's own variant name.
ROW_KEYS = ("model", "runtime", "precision", "threads", "variant")
RUNTIMES = ("eager", "pt2e-reference", "torchscript", "lite-interpreter", "executorch-portable", "executorch-xnnpack",
            "onnxruntime", "nnapi", "ethos-u-estimate", "tosa-reference")
"""``ethos-u-estimate``: Vela's performance model of an Ethos-U configuration (not a run); ``tosa-reference``: the
TOSA reference model (the NPU's integer arithmetic simulated on the host; its times are the simulator's)."""
PRECISIONS = ("fp32", "fp16", "int8", "int8+fp32")
PROGRESS_NAME = "progress.jsonl"  # exercise checks (labkit.exercises), read by workshop.progress and workshop.collect


class ResultsError(LabkitError, ValueError):
    """A results folder or rows that cannot be stored as they are."""


def parse_jsonl(text: str, where: str) -> list[dict[str, object]]:
    """One dict per complete JSON line; a damaged line (an interrupted write) is skipped with a warning."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            warnings.warn(f"{where}:{number} is not complete JSON (an interrupted write?); skipped", stacklevel=3)
    return records


def append_jsonl(path: Path, record: Mapping[str, object]) -> None:
    """Append one record as one JSON line."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def check_row(row: Mapping[str, object], number: int = 0) -> None:
    """Refuse a row without the shared keys (:data:`ROW_KEYS`) or with a runtime or precision outside the kit's words."""
    missing = [key for key in ROW_KEYS if row.get(key) is None or row.get(key) == ""]
    if missing:
        raise ResultsError(f"row {number} lacks {missing}: every row names its model, runtime, precision, threads and "
                           f"variant, e.g. {{'model': 'efficientnet_lite0', 'runtime': 'executorch-xnnpack', "
                           f"'precision': 'int8', 'threads': 2, 'variant': 'int8 per-channel', ...}}")
    if row["runtime"] not in RUNTIMES:
        raise ResultsError(f"row {number}: runtime {row['runtime']!r} is not one of {list(RUNTIMES)}")
    if row["precision"] not in PRECISIONS:
        raise ResultsError(f"row {number}: precision {row['precision']!r} is not one of {list(PRECISIONS)}")
    threads = row["threads"]
    counts = threads if isinstance(threads, (list, tuple)) else [threads]
    if not counts or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in counts):
        raise ResultsError(f"row {number}: threads must be a thread count ≥ 1 (or a list of them), got {threads!r}")


def new_run_id() -> str:
    """A short unique id grouping the rows one notebook run writes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


class ResultsStore:
    """Append-only store of measured rows (each with lab, run id, time, config and environment)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else results_dir()
        if self.root.exists() and not self.root.is_dir():
            raise ResultsError(f"{self.root} is a file, not a results folder; pass a folder (it is created if missing)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / STORE_NAME

    def append(self, lab: str, rows: Iterable[Mapping[str, object]], config: Mapping[str, object],
               run_id: str | None = None) -> list[dict[str, object]]:
        """Append ``rows`` (metric dicts) for ``lab``; returns the records as written."""
        if not isinstance(lab, str) or not lab:
            raise ResultsError(f"lab must be the lab's name, e.g. '00_baseline', got {lab!r}")
        if isinstance(rows, Mapping):
            raise ResultsError("rows must be a list of dicts, got one dict; wrap it: store.append(lab, [row], config)")
        rows = list(rows)
        bad = [row for row in rows if not isinstance(row, Mapping)]
        if bad:
            raise ResultsError(f"each row must be a dict of metric names to values, got {type(bad[0]).__name__}: "
                               f"{str(bad[0])[:80]}; e.g. latency.as_row()")
        if not isinstance(config, Mapping):
            raise ResultsError(f"config must be a dict of the run's parameters (e.g. {{'MODEL': MODEL}}), "
                               f"got {type(config).__name__}")
        for number, row in enumerate(rows):
            check_row(row, number)
        run_id = run_id or new_run_id()
        env = environment()
        timestamp = datetime.now(UTC).isoformat(timespec="seconds")
        records = [{"lab": lab, "run_id": run_id, "timestamp": timestamp, **dict(row),
                    "config": dict(config), "env": env} for row in rows]
        with open(self.path, "a+b") as fh:
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # an earlier run died mid-line: keep that line apart
                    fh.write(b"\n")
        with open(self.path, "a", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, default=str) + "\n")
                fh.flush()
            os.fsync(fh.fileno())
        return records

    def records(self) -> list[dict[str, object]]:
        """All complete records, oldest first; a damaged line is skipped with a warning."""
        if not self.path.is_file():
            return []
        return parse_jsonl(self.path.read_text(encoding="utf-8"), str(self.path))

    def load(self, lab: str | None = None) -> pd.DataFrame:
        """Records as a flat DataFrame (``config.*`` and ``env.*`` columns), optionally one lab's."""
        records = [r for r in self.records() if lab is None or r.get("lab") == lab]
        if not records:
            return pd.DataFrame(columns=["lab", "run_id", "timestamp"])
        return pd.json_normalize(records)

    def latest_run(self, lab: str) -> pd.DataFrame:
        """The rows of the most recent run of ``lab`` (empty if it never ran)."""
        frame = self.load(lab)
        if frame.empty:
            return frame
        last = frame["run_id"].iloc[-1]
        return frame[frame["run_id"] == last].reset_index(drop=True)
