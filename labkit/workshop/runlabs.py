"""``labkit run-labs`` (``make run``): every lab once, as a one-combination sweep each, then the kit-wide report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labkit.paths import results_dir
from labkit.workshop.sweep import SweepError, SweepSpec, run_sweep, write_report


def lab_notebooks(notebook_dir: Path, only: Sequence[str] = ()) -> list[Path]:
    """The numbered labs in ``notebook_dir`` (optionally only those whose name starts with one of ``only``)."""
    labs = sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in labs if not only or any(p.name.startswith(prefix) for prefix in only)]


def run_labs(notebook_dir: Path, out: str | Path | None = None, smoke: bool = False, only: Sequence[str] = (),
             kernel: str = "python3", retry_failed: bool = True) -> Path:
    """Run every lab once (a one-combination sweep per lab) and write the kit-wide report; returns its path."""
    out = Path(out) if out else results_dir() / ("kit-smoke" if smoke else "kit")
    labs = lab_notebooks(notebook_dir, only)
    if not labs:
        raise SweepError(f"no lab notebooks matching {list(only)} in {notebook_dir}")
    for lab in labs:
        spec = SweepSpec(lab.stem, lab.resolve(), {"SMOKE": smoke})
        run_sweep(spec, out / lab.stem, kernel=kernel, retry_failed=retry_failed, html_copy=True, progress=False)
    return write_report(out, title=f"Edge Lab Kit — every lab ({'smoke' if smoke else 'full'} mode)")
