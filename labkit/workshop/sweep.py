"""Run a notebook once per parameter combination (papermill), resumably, and report the rows it measured.

A sweep folder holds one sub-folder per combination: ``params.json``, the executed notebook, the
results store the notebook wrote (``LABKIT_RESULTS_DIR`` points there) and, written last,
``status.json``. A combination counts as done when its ``status.json`` says ``ok``; everything
else is (re-)run, after its partial rows are removed, so an interrupted sweep loses nothing that
had finished and never double-counts what had not.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from labkit.errors import LabkitError
from labkit.paths import results_dir, write_atomically
from labkit.report.results import PROGRESS_NAME, STORE_NAME, ResultsStore

STATUS = "status.json"
MEMORY = "peak_memory.json"  # written by labkit.measure.peakrss around papermill
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SweepError(LabkitError):
    """A grid file or sweep folder that cannot be used as it is."""


@dataclass(frozen=True)
class SweepSpec:
    """What to run: a notebook, fixed parameters, and a grid whose every combination is one run."""

    name: str
    notebook: Path
    fixed: Mapping[str, object] = field(default_factory=dict)
    grid: Mapping[str, Sequence[object]] = field(default_factory=dict)

    def combinations(self) -> list[dict[str, object]]:
        """Every combination of the grid (in the grid's key order), each merged over ``fixed``."""
        keys = list(self.grid)
        return [{**self.fixed, **dict(zip(keys, values, strict=True))}
                for values in itertools.product(*(self.grid[k] for k in keys))]


def load_grid(path: str | Path, notebook: str | Path | None = None) -> SweepSpec:
    """Read a grid file (YAML): ``name``, ``notebook``, ``parameters`` (fixed) and ``grid`` (name → list).

    ``notebook`` given here overrides the file's. Errors say which key is wrong.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SweepError(f"cannot read grid file {path}: {exc}; check the path, or copy one of sweeps/*.yaml") from exc
    if not isinstance(data, dict):
        raise SweepError(f"{path}: expected a mapping with keys name, notebook, parameters, grid")
    unknown = set(data) - {"name", "notebook", "parameters", "grid", "description"}
    if unknown:
        raise SweepError(f"{path}: unknown keys {sorted(unknown)}; use name, notebook, parameters, grid, description")
    chosen = notebook or data.get("notebook")
    if not chosen:
        raise SweepError(f"{path}: no notebook: add `notebook: notebooks/NN_lab.ipynb` or pass one on the command line")
    notebook_path = Path(chosen)
    if not notebook_path.is_absolute() and not notebook_path.is_file():
        notebook_path = (path.parent / notebook_path)
    fixed, grid = data.get("parameters") or {}, data.get("grid") or {}
    for label, mapping in (("parameters", fixed), ("grid", grid)):
        if not isinstance(mapping, dict) or any(not _NAME.match(str(k)) for k in mapping):
            raise SweepError(f"{path}: `{label}` must map parameter names (Python identifiers) to values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{path}: grid.{key} must be a non-empty list, e.g. {key}: [1, 2]")
    return SweepSpec(str(data.get("name") or path.stem), notebook_path.resolve(), fixed, grid)


def combination_id(params: Mapping[str, object], varying: Sequence[str]) -> str:
    """A readable, stable folder name: the varying parameters, plus a short hash of all parameters."""
    def shown(value: object) -> str:
        return "+".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)

    readable = "_".join(f"{k}-{shown(params[k])}" for k in varying) or "default"
    readable = re.sub(r"[^A-Za-z0-9_.=+-]+", "-", readable)[:80]
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{readable}_{digest}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one combination in this invocation."""

    combination: str
    params: Mapping[str, object]
    status: str  # "ok", "failed", or "done before" (skipped)
    seconds: float
    error: str = ""


def _write_json(path: Path, data: object) -> None:
    write_atomically(path, json.dumps(data, indent=1, default=str).encode("utf-8"))


def read_status(folder: Path) -> dict[str, object] | None:
    """The ``status.json`` of a combination folder, or None when it never finished."""
    try:
        return json.loads((folder / STATUS).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _error_summary(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    for i, line in enumerate(lines):  # papermill prints the failing cell's exception after this marker
        if "Exception encountered" in line:
            tail = [entry for entry in lines[i + 1:] if not set(entry.strip()) <= set("-")]
            return "\n".join(tail[-3:])[-1500:]
    return "\n".join(lines[-5:])[-1500:]


def _run_one(spec: SweepSpec, params: dict[str, object], folder: Path, kernel: str, timeout: float,
             html_copy: bool) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (STATUS, STORE_NAME, PROGRESS_NAME, "executed.ipynb", "executed.html", "failed.ipynb", MEMORY):
        (folder / stale).unlink(missing_ok=True)  # rows of an interrupted or failed attempt must not count twice
    _write_json(folder / "params.json", params)
    partial = folder / "running.ipynb"
    env = {**os.environ, "LABKIT_RESULTS_DIR": str(folder)}
    command = [sys.executable, "-m", "labkit.measure.peakrss", str(folder / MEMORY), "--",
               sys.executable, "-m", "papermill", "--cwd", str(spec.notebook.parent), "-k", kernel,
               "--execution-timeout", str(int(timeout)), "--no-progress-bar", str(spec.notebook), str(partial),
               "-y", yaml.safe_dump(params, default_flow_style=True)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout * 2)
        returncode, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, stderr = -1, f"papermill did not finish within {timeout * 2:.0f} s: {exc}"
    seconds = time.perf_counter() - started
    combination = folder.name
    if returncode == 0:
        os.replace(partial, folder / "executed.ipynb")
        if html_copy:
            subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--log-level", "WARN",
                            str(folder / "executed.ipynb")], capture_output=True, text=True)
        outcome = Outcome(combination, params, "ok", seconds)
    else:
        if partial.exists():
            os.replace(partial, folder / "failed.ipynb")
        outcome = Outcome(combination, params, "failed", seconds, _error_summary(stderr))
    try:
        peak = json.loads((folder / MEMORY).read_text(encoding="utf-8"))["peak_rss_mb"]
    except (OSError, ValueError, KeyError):
        peak = None  # killed by the timeout: no measurement
    _write_json(folder / STATUS, {**asdict(outcome), "peak_rss_mb": peak, "notebook": spec.notebook.name,
                                  "sweep": spec.name})
    return outcome


def run_sweep(spec: SweepSpec, out: str | Path | None = None, jobs: int = 1, kernel: str = "python3",
              timeout: float = 1800, retry_failed: bool = True, html_copy: bool = False,
              progress: bool = True) -> list[Outcome]:
    """Run every combination not yet done; returns one :class:`Outcome` per combination.

    ``jobs`` > 1 runs combinations in parallel (each its own kernel) — never for sweeps that time
    things, since parallel runs share the cores. ``retry_failed=False`` also skips combinations that
    failed before. A failure is recorded (``status.json`` with the error) and the sweep goes on.
    """
    if not spec.notebook.is_file():
        raise SweepError(f"notebook {spec.notebook} not found")
    out = Path(out) if out else results_dir() / spec.name
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "sweep.json", {"name": spec.name, "notebook": str(spec.notebook), "fixed": dict(spec.fixed),
                                     "grid": {k: list(v) for k, v in spec.grid.items()}})
    varying = [k for k, v in spec.grid.items() if len(v) > 1]
    plan: list[tuple[dict[str, object], Path]] = []
    outcomes: dict[str, Outcome] = {}
    for params in spec.combinations():
        folder = out / combination_id(params, varying)
        status = read_status(folder)
        if status and (status["status"] == "ok" or (status["status"] == "failed" and not retry_failed)):
            outcomes[folder.name] = Outcome(folder.name, params, "done before", 0.0, str(status.get("error", "")))
        else:
            plan.append((params, folder))
    bar = None
    if progress and plan:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(plan), desc=f"sweep {spec.name}", unit="run")

    def run(item: tuple[dict[str, object], Path]) -> Outcome:
        outcome = _run_one(spec, item[0], item[1], kernel, timeout, html_copy)
        if bar is not None:
            bar.update(1)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for outcome in pool.map(run, plan):
            outcomes[outcome.combination] = outcome
    if bar is not None:
        bar.close()
    return [outcomes[combination_id(p, varying)] for p in spec.combinations()]


def read_results(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(status of every combination folder under ``out``, every results row they wrote with its parameters)."""
    out = Path(out)
    statuses, frames = [], []
    for status_path in sorted(out.rglob(STATUS)):
        folder = status_path.parent
        status = read_status(folder)
        if status is None:
            continue
        relative = folder.relative_to(out).as_posix()
        params = status.get("params", {})
        statuses.append({"combination": relative, "notebook": status.get("notebook", ""), "status": status["status"],
                         "seconds": status.get("seconds"),
                         "peak_rss_mb": status.get("peak_rss_mb"), "error": status.get("error", ""), **params})
        rows = ResultsStore(folder).load()
        if not rows.empty:
            rows.insert(0, "combination", relative)
            for key, value in params.items():
                rows[f"param.{key}"] = value if not isinstance(value, (list, dict)) else json.dumps(value)
            frames.append(rows)
    status_frame = pd.DataFrame(statuses)
    rows_frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["combination"])
    return status_frame, rows_frame


def _latency_plot(rows: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from labkit.report.plots import figure_html, latency_bars

    if "p50_ms" not in rows or rows["p50_ms"].dropna().empty:
        return ""
    label_parts = [c for c in ("lab", "variant", "runtime", "precision", "combination") if c in rows]
    frame = rows.dropna(subset=["p50_ms"]).copy()
    frame["label"] = frame[label_parts].apply(  # rows of different labs fill different columns
        lambda row: " · ".join(str(v) for v in row if pd.notna(v) and str(v)), axis=1)
    if "p90_ms" not in frame:
        frame["p90_ms"] = frame["p50_ms"]
    return figure_html(latency_bars(frame.sort_values("p50_ms").tail(24), title="latency of every row that has one "
                                                                              "(bar: median, whisker: p90)"))


def write_report(out: str | Path, title: str | None = None) -> Path:
    """Write ``report.html`` and ``rows.csv`` for the sweep (or kit run) in ``out``; returns the HTML path."""
    out = Path(out)
    status, rows = read_results(out)
    if status.empty:
        raise SweepError(f"no finished combinations under {out}: run the sweep first")
    rows.to_csv(out / "rows.csv", index=False)
    shown = [c for c in rows.columns if not c.startswith(("env.", "config.")) and c not in ("run_id",)]
    environment = [c for c in ("env.cpu", "env.cores", "env.torch", "env.executorch") if c in rows]
    ok, failed = int((status["status"] == "ok").sum()), int((status["status"] == "failed").sum())
    parts = [f"<html><head><meta charset='utf-8'><title>{html.escape(title or out.name)}</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px}pre{white-space:pre-wrap}</style></head><body>",
             f"<h1>{html.escape(title or out.name)}</h1>",
             f"<p>{ok} combination(s) ok, {failed} failed; {len(rows)} result rows. Folder: {html.escape(out.name)}</p>",
             "<h2>Combinations</h2>", status.to_html(index=False, escape=True, na_rep="")]
    if environment:
        parts += ["<h2>Machines</h2>", rows[environment].drop_duplicates().to_html(index=False)]
    parts += ["<h2>Latency</h2>", _latency_plot(rows), "<h2>All rows</h2>",
              rows[shown].to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""), "</body></html>"]
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
