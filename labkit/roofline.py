"""This CPU's theoretical peak (from what Linux reports) and a measured large matmul, for roofline comparisons."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils import benchmark


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
            raise RuntimeError("no /proc/cpuinfo: the roofline section needs Linux; pass cpuinfo= text to try it")
        cpuinfo = path.read_text()
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
    if min(cores, simd_bits, fma_units) <= 0 or ghz <= 0:
        raise ValueError("cores, simd_bits, fma_units and ghz must be positive")
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
    threads = threads or torch.get_num_threads()
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(n, n, generator=generator), torch.rand(n, n, generator=generator)
    timer = benchmark.Timer(stmt="a @ b", globals={"a": a, "b": b}, num_threads=threads)
    median = timer.blocked_autorange(min_run_time=min_run_time).median
    return MatmulSpeed(n, threads, median * 1e3, 2 * n**3 / median / 1e9)
