"""This CPU's theoretical peak (from what Linux reports) and a measured large matmul, for roofline comparisons."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils import benchmark

from labkit.errors import LabkitError, ParameterError


class PlatformError(LabkitError, RuntimeError):
    """This machine does not offer what a measurement needs (e.g. no ``/proc/cpuinfo`` outside Linux)."""


@dataclass(frozen=True)
class CpuFeatures:
    """What ``/proc/cpuinfo`` says about the cores this process may use."""

    model: str
    cores: int  # CPUs this process may run on (os.sched_getaffinity)
    mhz: float  # the clock Linux reports now; boost clocks are often hidden in VMs
    simd_bits: int  # widest vector unit with FMA: 512 (AVX-512F), 256 (AVX2/FMA), 128 (SSE/NEON)
    fma: bool
    vnni: bool  # int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI)
    flags: frozenset[str]


def _cpuinfo_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            fields.setdefault(key, value)  # the first processor's entry
    return fields


def cpu_features(cpuinfo: str | None = None, cores: int | None = None) -> CpuFeatures:
    """Parse ``/proc/cpuinfo`` (or the given text). Raises ``RuntimeError`` when it is not there (not Linux)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        if not path.is_file():
            raise PlatformError("no /proc/cpuinfo: the roofline section needs Linux; pass cpuinfo= text to try it")
        cpuinfo = path.read_text()
    if not isinstance(cpuinfo, str):
        raise ParameterError(f"cpuinfo must be the text of /proc/cpuinfo (a str), got {type(cpuinfo).__name__}")
    if cores is not None and (isinstance(cores, bool) or not isinstance(cores, int) or cores < 1):
        raise ParameterError(f"cores must be a whole number ≥ 1 (or None for this process's CPUs), got {cores!r}")
    fields = _cpuinfo_fields(cpuinfo)
    flags = frozenset((fields.get("flags") or fields.get("Features") or "").split())
    if "avx512f" in flags:
        simd = 512
    elif "avx2" in flags or "avx" in flags:
        simd = 256
    else:
        simd = 128
    fma = "fma" in flags or "asimd" in flags or "avx512f" in flags
    vnni = bool(flags & {"avx512_vnni", "avx_vnni", "asimddp"})
    mhz = float(re.sub(r"[^0-9.]", "", fields.get("cpu MHz", "0")) or 0)
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return CpuFeatures(fields.get("model name", "unknown CPU"), cores, mhz, simd, fma, vnni, flags)


def peak_gflops(cores: int, simd_bits: int, fma_units: int, ghz: float, element_bits: int = 32) -> float:
    """cores × lanes × FMA units × 2 (a fused multiply-add is two operations) × clock.

    ``element_bits=32`` gives fp32. For int8 dot-product instructions (VNNI: four int8 products summed
    into each 32-bit lane per instruction) pass ``element_bits=8``.
    """
    numbers = {"cores": cores, "simd_bits": simd_bits, "fma_units": fma_units, "ghz": ghz, "element_bits": element_bits}
    bad = {k: v for k, v in numbers.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0}
    if bad:
        raise ParameterError(f"cores, simd_bits, fma_units, ghz and element_bits must be positive numbers, got {bad}; "
                             f"e.g. peak_gflops(2, 512, 2, 2.6)")
    lanes = simd_bits // element_bits
    return cores * lanes * fma_units * 2 * ghz


@dataclass(frozen=True)
class MatmulSpeed:
    """A square fp32 matmul timed with ``torch.utils.benchmark``."""

    n: int
    threads: int
    median_ms: float
    gflops: float


def measure_matmul(n: int = 2048, threads: int | None = None, min_run_time: float = 1.0) -> MatmulSpeed:
    """GFLOP/s of ``a @ b`` for n × n fp32 matrices (2·n³ operations)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(f"n must be a whole number ≥ 1 (the matrix side, e.g. 2048), got {n!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ParameterError(f"threads must be a whole number ≥ 1 or None, got {threads!r}")
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, (int, float)) or not min_run_time > 0:
        raise ParameterError(f"min_run_time must be a number of seconds > 0, got {min_run_time!r}")
    threads = threads or torch.get_num_threads()
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(n, n, generator=generator), torch.rand(n, n, generator=generator)
    timer = benchmark.Timer(stmt="a @ b", globals={"a": a, "b": b}, num_threads=threads)
    median = timer.blocked_autorange(min_run_time=min_run_time).median
    return MatmulSpeed(n, threads, median * 1e3, 2 * n**3 / median / 1e9)
