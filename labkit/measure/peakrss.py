"""Run a command and write the peak resident memory of it and of every process it waited for.

Usage: ``python -m labkit.measure.peakrss OUT.json -- COMMAND...``. ``labkit sweep`` and ``labkit run-labs``
wrap papermill in it, so the peak covers papermill and the notebook's kernel (a grandchild, which
papermill reaps). Exit status: the command's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """``getrusage(who).ru_maxrss`` in MB (Linux reports KiB, macOS bytes): the kit's one reading of it.

    ``RUSAGE_SELF``: this process's peak; ``RUSAGE_CHILDREN``: the largest of any finished, reaped descendant.
    """
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, write ``{"peak_rss_mb": ...}`` to OUT.json, return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m labkit.measure.peakrss OUT.json -- COMMAND...", file=sys.stderr)
        return 2
    returncode = subprocess.run(argv[2:]).returncode
    Path(argv[0]).write_text(json.dumps({"peak_rss_mb": round(maxrss_mb(resource.RUSAGE_CHILDREN), 1)}), encoding="utf-8")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
