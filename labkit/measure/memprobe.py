"""Child process for :func:`labkit.measure.bench.measure_peak_memory`: load one model, run it, print RSS as JSON.

Usage: ``python -m labkit.measure.memprobe SOURCE --shape 1,3,224,224 [--threads N] [--iterations K] [--untrained]``
where SOURCE is a registry model name or a ``.pte`` / ``.pt`` / ``.ptl`` / ``.onnx`` file.
"""

from __future__ import annotations

import argparse
import json
import resource
import warnings
from pathlib import Path

from labkit.measure.peakrss import maxrss_mb

STATUS = Path("/proc/self/status")


def _status_mb(field: str) -> float | None:
    if not STATUS.is_file():
        return None
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6  # the kernel reports kB
    return None


def current_rss_mb() -> float:
    """Resident memory now, in MB (Linux: VmRSS; elsewhere the peak so far, an upper bound)."""
    return _status_mb("VmRSS") or peak_rss_mb()


def reset_peak() -> bool:
    """Start a new peak measurement (Linux: writing 5 to clear_refs resets VmHWM). False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory since the last :func:`reset_peak` (or process start), in MB."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    return maxrss_mb(resource.RUSAGE_SELF)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source")
    parser.add_argument("--shape", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--untrained", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from labkit.deploy.runners import open_runner
    from labkit.model.models import REGISTRY, load_model

    is_file = Path(args.source).suffix in (".pte", ".pt", ".ptl", ".onnx")
    if is_file and Path(args.source).suffix == ".pte":
        import executorch.runtime  # noqa: F401  (count the runtime's import in the baseline)
    if is_file and Path(args.source).suffix == ".onnx":
        import onnxruntime  # noqa: F401
    shape = tuple(int(s) for s in args.shape.split(","))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    imports_mb = current_rss_mb()
    peak_reset = reset_peak()  # the imports' own transient peak must not hide the model's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the parent reports on the model; this child only measures
        if is_file:
            runner = open_runner(args.source, threads=args.threads)
        elif args.source in REGISTRY:
            runner = open_runner(load_model(args.source, pretrained=not args.untrained).module, threads=args.threads)
        else:
            parser.error(f"{args.source} is neither a model file nor one of {sorted(REGISTRY)}")
        after_load_mb = current_rss_mb()
        for _ in range(args.iterations):
            runner(x)
    print(json.dumps({"imports_mb": imports_mb, "after_load_mb": after_load_mb, "peak_mb": peak_rss_mb(),
                      "peak_reset": peak_reset}))


if __name__ == "__main__":
    main()
