"""Measurements: latency (single calls timed with ``time.perf_counter``, threads set by
``torch.utils.benchmark``'s context manager), cold start, FLOPs, file size, peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from labkit.errors import ImageInputError, LabkitError, ModelFileError, ParameterError
from labkit.params import check_int


def _check_count(name: str, value: object, low: int) -> None:
    check_int(name, value, low)


def _first_call(fn: Callable[[torch.Tensor], object], x: torch.Tensor, name: str) -> object:
    """Call ``fn(x)``; an error that is not labkit's own becomes an :class:`ImageInputError` naming the input."""
    try:
        return fn(x)
    except LabkitError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError, AttributeError) as exc:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ImageInputError(f"{name} failed on an input shaped {shape} "
                              f"({type(exc).__name__}: {first}); check that the input has the shape, dtype and "
                              f"batch dimension the model takes (e.g. model.example_input()), then re-run") from exc


@dataclass(frozen=True)
class Latency:
    """Steady-state latency of one callable; times in milliseconds."""

    label: str
    threads: int
    warmup: int
    runs: int
    number_per_run: int
    p50_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    iqr_ms: float
    times_ms: tuple[float, ...] = field(repr=False)

    def as_row(self) -> dict[str, object]:
        """The summary numbers, for a results table (without the raw times)."""
        row = asdict(self)
        row.pop("times_ms")
        return row


def measure_latency(fn: Callable[[torch.Tensor], object], x: torch.Tensor, threads: int | None = None,
                    min_run_time: float = 1.0, warmup: int = 3, min_runs: int = 10, label: str = "") -> Latency:
    """Per-call latency of ``fn(x)``: ``warmup`` untimed calls, then single calls, each timed with
    ``time.perf_counter``, until ``min_run_time`` seconds and ``min_runs`` calls.

    Single calls (not blocks, as ``Timer.blocked_autorange`` would time) give a real p90 for anything
    slower than ~50 µs. ``threads`` sets torch's intra-op threads during the measurement with
    ``torch.utils.benchmark``'s own context manager; runners for other runtimes apply their own
    thread setting. (``Timer.timeit(number)`` is not used: each call first runs ``max(number // 100, 2)``
    warm-up calls whose time it discards, so ``timeit(1)`` makes three calls per timed one and triples
    the wall time of a measurement.) ``fn`` is called exactly ``warmup + runs`` times.
    """
    from torch.utils.benchmark.utils.common import set_torch_threads  # the context manager Timer uses

    name = label or getattr(fn, "name", "model")
    if not callable(fn):
        raise ParameterError(f"measure_latency(fn, x) times a callable (a module or a runner), got {type(fn).__name__}")
    if threads is not None:
        _check_count("threads", threads, 1)
    _check_count("warmup", warmup, 0)
    _check_count("min_runs", min_runs, 1)
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, (int, float)) or not min_run_time >= 0:
        raise ParameterError(f"min_run_time must be a number of seconds ≥ 0, got {min_run_time!r}")
    if getattr(fn, "measures_itself", False):  # a runner in a child process times itself there
        fields = fn.measure_latency(x, threads=threads, min_run_time=min_run_time, warmup=warmup, min_runs=min_runs,
                                    label=name)
        return Latency(**{**fields, "times_ms": tuple(fields["times_ms"])})
    threads = threads or torch.get_num_threads()
    times: list[float] = []
    with set_torch_threads(threads), torch.no_grad():
        for done in range(warmup):
            if done == 0:
                _first_call(fn, x, name)
            else:
                fn(x)
        if not warmup:
            started = time.perf_counter()
            _first_call(fn, x, name)
            times.append(time.perf_counter() - started)
        total = sum(times)  # a running total: summing the list each call is quadratic for µs-fast callables
        while total < min_run_time or len(times) < min_runs:
            started = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - started)
            total += times[-1]
    ms = np.asarray(times) * 1e3
    return Latency(
        label=name, threads=threads, warmup=warmup, runs=len(ms), number_per_run=1,
        p50_ms=float(np.median(ms)), p90_ms=float(np.percentile(ms, 90)), mean_ms=float(ms.mean()),
        min_ms=float(ms.min()), iqr_ms=float(np.percentile(ms, 75) - np.percentile(ms, 25)),
        times_ms=tuple(float(t) for t in ms),
    )


def pooled(blocks: Sequence[Latency]) -> Latency:
    """One :class:`Latency` from several blocks of the same callable (e.g. rounds that rotate variants):
    percentiles over all calls pooled, so no single block's machine state decides the result."""
    blocks = list(blocks) if not isinstance(blocks, Latency) else blocks
    if isinstance(blocks, Latency) or not all(isinstance(b, Latency) for b in blocks):
        raise ParameterError("pooled takes a list of Latency blocks (from measure_latency), e.g. pooled([a, b]); "
                             f"got {type(blocks).__name__}")
    if not blocks:
        raise ParameterError("no measurements to pool: pass at least one Latency block from measure_latency")
    times = np.concatenate([np.asarray(b.times_ms) for b in blocks])
    return replace(blocks[0], warmup=sum(b.warmup for b in blocks), runs=len(times),
                   p50_ms=float(np.median(times)), p90_ms=float(np.percentile(times, 90)), mean_ms=float(times.mean()),
                   min_ms=float(times.min()), iqr_ms=float(np.percentile(times, 75) - np.percentile(times, 25)),
                   times_ms=tuple(float(t) for t in times))


@dataclass(frozen=True)
class ColdStart:
    """Load time and the first call (which pays for lazy initialization, allocation, caches)."""

    load_ms: float
    first_run_ms: float
    second_run_ms: float


def measure_cold_start(load: Callable[[], Callable[[torch.Tensor], object]], x: torch.Tensor) -> ColdStart:
    """Time ``load()`` and the first two calls of what it returns (one sample each: noisy).

    A runner in a child process (``measures_itself``) is timed there, on a fresh load of its program.
    """
    if not callable(load):
        raise ParameterError(f"measure_cold_start takes a function that loads the model, e.g. "
                             f"lambda: open_runner(path); got {type(load).__name__}")
    start = time.perf_counter()
    fn = load()
    loaded = time.perf_counter()
    if not callable(fn):
        raise ParameterError(f"load() must return the loaded model (a callable), got {type(fn).__name__}; "
                             f"e.g. lambda: open_runner(path)")
    if getattr(fn, "measures_itself", False):
        return ColdStart(**fn.measure_cold_start(x))
    with torch.no_grad():
        _first_call(fn, x, getattr(fn, "name", "model"))
        first = time.perf_counter()
        fn(x)
    second = time.perf_counter()
    return ColdStart((loaded - start) * 1e3, (first - loaded) * 1e3, (second - first) * 1e3)


def count_flops(module: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass (``FlopCounterMode``: a multiply-add counts as 2)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        _first_call(module, x, type(module).__name__)
    return int(counter.get_total_flops())


def file_size_mb(path: str | Path) -> float:
    """File size in MB (10^6 bytes)."""
    if not Path(path).is_file():
        what = "a folder" if Path(path).is_dir() else "missing"
        raise ModelFileError(f"{path} is {what}, not a model file; pass the path of the exported file "
                             f"(re-run the cell that saves it if it is missing)")
    return Path(path).stat().st_size / 1e6


@dataclass(frozen=True)
class PeakMemory:
    """Resident memory of a fresh child process that loads a model and runs it."""

    source: str
    imports_mb: float
    after_load_mb: float
    peak_mb: float
    iterations: int

    @property
    def model_mb(self) -> float:
        """Peak minus what the imports alone took: the model's own cost."""
        return self.peak_mb - self.imports_mb


def measure_peak_memory(source: str | Path, input_shape: tuple[int, ...], threads: int = 1, iterations: int = 5,
                        pretrained: bool = True, timeout: float = 300) -> PeakMemory:
    """Peak RSS of ``python -m labkit.measure.memprobe`` running ``source`` (a registry name or a model file).

    A child process is the only honest way: the notebook's own process already holds other
    models, caches and allocator pools.
    """
    command = [sys.executable, "-m", "labkit.measure.memprobe", str(source), "--shape", ",".join(map(str, input_shape)),
               "--threads", str(threads), "--iterations", str(iterations)]
    if not pretrained:
        command.append("--untrained")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise LabkitError(f"the memory probe failed for {source} (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return PeakMemory(str(source), result["imports_mb"], result["after_load_mb"], result["peak_mb"], iterations)
