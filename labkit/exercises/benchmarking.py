"""Lab exercises on benchmarking: a CPU's theoretical peak, the Pareto front of variants.

Checked as ``checks.<name>`` in the lab: ``from labkit.exercises import benchmarking as checks``.
"""

from __future__ import annotations

from collections.abc import Sequence

from labkit.exercises.core import CheckResult, fail, not_attempted, record

PEAK_EXERCISE_CPU = {"cores": 8, "simd_bits": 256, "fma_units": 2, "ghz": 3.0}
"""Exercise 08.1's CPU: 8 cores with AVX2 (256-bit vectors), two FMA units per core, 3.0 GHz."""


def check_peak_gflops(answer: float | None) -> CheckResult:
    """Exercise 08.1: the fp32 peak of :data:`PEAK_EXERCISE_CPU` in GFLOP/s (within 1 %)."""
    from labkit.measure.roofline import peak_gflops

    exercise = "08.1"
    if answer is None:
        return not_attempted(exercise)
    right = peak_gflops(**PEAK_EXERCISE_CPU)
    if not isinstance(answer, (int, float)) or answer != answer:
        fail(exercise, "answer with a number of GFLOP/s")
    if abs(answer - right) <= 0.01 * right:
        return record(CheckResult(exercise, True, f"{right:.0f} GFLOP/s = 8 cores × 8 fp32 lanes × 2 FMA units × "
                                                   f"2 operations per FMA × 3.0 GHz"))
    hints = {right / 2: "an FMA is a multiply *and* an add: two operations", right * 2: "AVX2 vectors are 256 bits: "
             "8 fp32 lanes, not 16", right / 8: "that is one core; the peak counts all of them",
             right / 4: "two FMA units per core, and two operations per FMA"}
    hint = next((h for value, h in hints.items() if abs(answer - value) <= 0.01 * value),
                "multiply cores × lanes (vector bits / 32) × FMA units × 2 × GHz")
    fail(exercise, f"{answer:g} GFLOP/s is not it — {hint}")


PARETO_EXERCISE = (  # (variant, file MB, median ms) measured on another machine; exercise 08.2
    ("eager fp32", 18.6, 41.0), ("XNNPACK fp32", 18.6, 5.1), ("XNNPACK int8", 5.0, 3.9),
    ("ORT int8", 5.1, 3.4), ("int4 weights", 2.7, 7.9), ("portable fp32", 18.6, 240.0), ("TorchScript fp32", 19.3, 14.0),
)
"""Exercise 08.2's table: which variants are on the size–latency Pareto front?"""


def check_pareto(answer: Sequence[str] | None) -> CheckResult:
    """Exercise 08.2: the variants of :data:`PARETO_EXERCISE` that no other variant beats on both size and latency."""
    import numpy as np

    from labkit.report.plots import pareto_front

    exercise = "08.2"
    if answer is None:
        return not_attempted(exercise)
    names = [name for name, _, _ in PARETO_EXERCISE]
    if isinstance(answer, str) or any(a not in names for a in answer):
        fail(exercise, f"answer with a list of variant names from {names}")
    points = np.array([[size, ms] for _, size, ms in PARETO_EXERCISE])
    right = {names[i] for i in pareto_front(points)}
    chosen = set(answer)
    if chosen == right:
        return record(CheckResult(exercise, True, f"the front is {sorted(right)}: each is the smallest for its speed"))
    dominated = sorted(chosen - right)
    missing = sorted(right - chosen)
    parts = []
    if dominated:
        parts.append(f"{dominated} {'is' if len(dominated) == 1 else 'are'} beaten on both size and latency by another variant")
    if missing:
        parts.append(f"{len(missing)} variant(s) on the front are missing — nothing is both smaller and faster than them")
    fail(exercise, "; ".join(parts))
