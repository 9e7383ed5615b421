"""Noise-aware speed claims: "A is faster than B" decided from one run's measurements and their spread.

A shared, busy machine (a workshop server, a laptop compiling in the background, two test runs at
once) changes speed from second to second. Comparing two medians measured minutes apart then
decides nothing. :func:`compare` measures A and B in *rotated rounds* (A B, B A, B A, A B, …), takes the
ratio of the two medians in each round — both saw the same machine — and puts a confidence
interval on the mean log-ratio across rounds (Student's t, like a paired t-test). The claim

* **holds** when the whole interval lies above the claimed speed-up,
* **does not hold** when the whole interval lies below it,
* is **not resolved** on this machine otherwise: printed with its numbers, never asserted.

:func:`from_blocks` does the same for blocks a lab already measured in rotated rounds;
:func:`saving_verdict` words the verdict on a claim stated as a range of time saved ("15–20 % faster").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from labkit.errors import ClaimError, LabkitError, ParameterError
from labkit.measure.bench import Latency, measure_latency

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
NOT_RESOLVED = "not resolved on this machine"


@dataclass(frozen=True)
class SpeedClaim:
    """The verdict on "``faster`` is at least ``min_speedup``× faster than ``slower``", with its numbers.

    ``speedup`` is the geometric mean over rounds of (median time of ``slower``) / (median time of
    ``faster``); ``low``–``high`` its ``confidence`` interval.
    """

    faster: str
    slower: str
    min_speedup: float
    speedup: float
    low: float
    high: float
    confidence: float
    rounds: int
    faster_ms: float
    slower_ms: float
    round_speedups: tuple[float, ...]

    @property
    def claim(self) -> str:
        """The claim in words."""
        if self.min_speedup == 1.0:
            return f"{self.faster} is faster than {self.slower}"
        return f"{self.faster} is at least {self.min_speedup:.3g}× faster than {self.slower}"

    @property
    def verdict(self) -> str:
        """``holds``, ``does not hold`` or ``not resolved on this machine``."""
        if self.low > self.min_speedup:
            return HOLDS
        if self.high < self.min_speedup:
            return DOES_NOT_HOLD
        return NOT_RESOLVED

    @property
    def resolved(self) -> bool:
        """True when the interval decided the claim either way."""
        return self.verdict != NOT_RESOLVED

    def __str__(self) -> str:
        return (f"{self.claim}: {self.verdict} — {self.speedup:.2f}× "
                f"({self.confidence:.0%} interval {self.low:.2f}–{self.high:.2f}×, {self.rounds} rotated rounds; "
                f"medians {self.faster_ms:.3g} ms vs {self.slower_ms:.3g} ms)")

    def as_row(self) -> dict[str, object]:
        """Claim, verdict and numbers, for a results or claims table."""
        return {"claim": self.claim, "verdict": self.verdict, "speedup": round(self.speedup, 3),
                "interval": f"{self.low:.2f}–{self.high:.2f}×", "rounds": self.rounds,
                "faster_ms": round(self.faster_ms, 4), "slower_ms": round(self.slower_ms, 4)}

    def check(self) -> SpeedClaim:
        """Print the verdict; raise :class:`ClaimError` only when the run resolved the claim as false.

        An unresolved claim is printed, not asserted: the machine was too noisy to decide it.
        """
        print(self)
        if self.verdict == DOES_NOT_HOLD:
            raise ClaimError(
                f"expected: {self.claim}; measured: {self.speedup:.2f}× (interval {self.low:.2f}–{self.high:.2f}×, "
                f"entirely below {self.min_speedup:g}×). Check that nothing else ran the same model or changed "
                f"its threads, then re-run this cell; if it repeats, the claim is wrong for this machine: report it."
            )
        return self


def time_saved(speedup: float) -> float:
    """The fraction of the slower one's time that a speed-up saves: 1.25× saves 0.20, 0.8× saves −0.25."""
    return 1.0 - 1.0 / speedup


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f} %".replace("-", "−")


def saving_verdict(claim: SpeedClaim, claimed: tuple[float, float]) -> str:
    """One sentence on "saves ``claimed[0]``–``claimed[1]`` of the time" (fractions, e.g. ``(0.15, 0.20)``).

    ``claim`` is the noise-aware comparison made with ``min_speedup=1 / (1 - claimed[0])``: its verdict
    decides the lower end. The sentence says whether the time saved is above, within or below the
    claimed range, or not resolved, and whether the noise interval decided it or left it open.
    """
    if not isinstance(claim, SpeedClaim):
        raise ParameterError(f"saving_verdict takes a SpeedClaim (from speed.from_blocks or speed.compare), "
                             f"got {type(claim).__name__}")
    if (not isinstance(claimed, (tuple, list)) or len(claimed) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in claimed)
            or not 0 <= claimed[0] <= claimed[1] < 1):
        raise ParameterError(f"claimed must be (lowest, highest) fraction of time saved, 0 ≤ lowest ≤ highest < 1, "
                             f"e.g. (0.15, 0.20) for '15–20 % faster'; got {claimed!r}")
    low, high = claimed
    if abs(time_saved(claim.min_speedup) - low) > 0.005:
        raise ParameterError(f"the claim was decided at {claim.min_speedup:.3g}× (time saved "
                             f"{_percent(time_saved(claim.min_speedup))}), not at the claimed {_percent(low)}: make it "
                             f"with min_speedup=1 / (1 - {low:g})")
    saved, saved_low, saved_high = time_saved(claim.speedup), time_saved(claim.low), time_saved(claim.high)
    span = f"{_percent(low)}" if low == high else f"{low * 100:.0f}–{_percent(high)}"
    measured = (f"time saved {_percent(saved)} ({_percent(claim.confidence)} interval {_percent(saved_low)} to "
                f"{_percent(saved_high)}, {claim.rounds} rotated rounds)")
    if claim.verdict == DOES_NOT_HOLD:
        return (f"{DOES_NOT_HOLD}: {measured}, less than the claimed {span} — decided despite the noise: "
                f"the whole interval lies below {_percent(low)}")
    if claim.verdict == NOT_RESOLVED:
        estimate_says = HOLDS if claim.speedup > claim.min_speedup else DOES_NOT_HOLD
        return (f"{NOT_RESOLVED}: {measured} — the noise decided: the interval reaches across the claimed "
                f"{_percent(low)}, so the estimate alone (which says it {estimate_says}) settles nothing")
    if saved_low > high:
        return (f"{HOLDS}, and more than claimed: {measured}, above the claimed {span} — decided despite the "
                f"noise: the whole interval lies above {_percent(high)}")
    if saved_high <= high:
        return (f"{HOLDS}: {measured}, within the claimed {span} — decided despite the noise: the whole "
                f"interval lies inside it")
    where = "above" if saved > high else "within"
    return (f"{HOLDS} (at least the claimed {_percent(low)}): {measured}, the estimate {where} the claimed {span} — "
            f"whether it saves more than {_percent(high)} is not resolved: the interval reaches across it, so the "
            f"noise decided that part")


def _t_quantile(confidence: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, dof))


def from_ratios(faster: str, slower: str, round_speedups: Sequence[float], faster_ms: float, slower_ms: float,
                min_speedup: float = 1.0, confidence: float = 0.95) -> SpeedClaim:
    """A :class:`SpeedClaim` from per-round speed-ups (slower's median / faster's median in each round)."""
    ratios = np.asarray(round_speedups, dtype=float)
    if ratios.size < 3:
        raise LabkitError(f"a speed claim needs at least 3 rounds, got {ratios.size}: measure in more rounds")
    if not np.all(np.isfinite(ratios)) or np.any(ratios <= 0):
        raise LabkitError(f"per-round speed-ups must be positive numbers, got {ratios.tolist()}")
    if not 0.5 < confidence < 1:
        raise LabkitError(f"confidence must be between 0.5 and 1 (e.g. 0.95), got {confidence}")
    if not min_speedup > 0:
        raise LabkitError(f"min_speedup must be > 0 (1.0 means 'faster at all'), got {min_speedup}")
    logs = np.log(ratios)
    centre = float(logs.mean())
    half = _t_quantile(confidence, logs.size - 1) * float(logs.std(ddof=1)) / math.sqrt(logs.size)
    return SpeedClaim(faster, slower, float(min_speedup), math.exp(centre), math.exp(centre - half),
                      math.exp(centre + half), confidence, int(logs.size), float(faster_ms), float(slower_ms),
                      tuple(float(r) for r in ratios))


def from_blocks(faster: str, slower: str, faster_blocks: Sequence[Latency], slower_blocks: Sequence[Latency],
                min_speedup: float = 1.0, confidence: float = 0.95) -> SpeedClaim:
    """Decide a claim from latency blocks measured in rotated rounds: block ``i`` of each in round ``i``."""
    if not all(isinstance(b, Latency) for b in [*faster_blocks, *slower_blocks]):
        raise ParameterError("from_blocks takes lists of Latency blocks (one per round, e.g. from rotated_rounds); "
                             "for per-round ratios use from_ratios")
    if len(faster_blocks) != len(slower_blocks):
        raise LabkitError(f"{len(faster_blocks)} blocks of {faster} but {len(slower_blocks)} of {slower}: "
                          f"pair them round by round (one block of each per round)")
    ratios = [s.p50_ms / f.p50_ms for f, s in zip(faster_blocks, slower_blocks, strict=True)]
    pooled_f = float(np.median(np.concatenate([b.times_ms for b in faster_blocks])))
    pooled_s = float(np.median(np.concatenate([b.times_ms for b in slower_blocks])))
    return from_ratios(faster, slower, ratios, pooled_f, pooled_s, min_speedup, confidence)


def rotated_rounds(callables: dict[str, Callable[[torch.Tensor], object]], x: torch.Tensor, rounds: int = 5,
                   seconds: float = 1.0, threads: int | None = None, warmup: int = 2,
                   min_runs: int = 5) -> dict[str, list[Latency]]:
    """Measure every callable once per round, rotating the order each round; ``seconds`` per callable in all.

    Returns each callable's blocks, round by round (feed two of them to :func:`from_blocks`).
    """
    if rounds < 3:
        raise LabkitError(f"rounds must be at least 3 (got {rounds}): fewer cannot bound the noise")
    names = list(callables)
    blocks: dict[str, list[Latency]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else names[::-1]  # A B, B A, …: no side always goes first
        shift = (round_number // 2) % len(names)  # with more than two, each also takes every place in turn
        order = order[shift:] + order[:shift]
        for name in order:
            blocks[name].append(measure_latency(callables[name], x, threads=threads, min_run_time=seconds / rounds,
                                                warmup=warmup, min_runs=min_runs, label=name))
    return blocks


def compare(faster: tuple[str, Callable[[torch.Tensor], object]], slower: tuple[str, Callable[[torch.Tensor], object]],
            x: torch.Tensor, min_speedup: float = 1.0, rounds: int = 5, seconds: float = 1.0,
            threads: int | None = None, confidence: float = 0.95) -> SpeedClaim:
    """Measure ``(name, callable)`` pairs in rotated rounds and decide "the first is faster than the second"."""
    for pair in (faster, slower):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and callable(pair[1])):
            raise ParameterError(f"compare takes (name, callable) pairs, e.g. compare(('XNNPACK', runner), "
                                 f"('eager', model), x); got {pair!r}")
    (fast_name, fast_fn), (slow_name, slow_fn) = faster, slower
    blocks = rotated_rounds({fast_name: fast_fn, slow_name: slow_fn}, x, rounds, seconds, threads)
    return from_blocks(fast_name, slow_name, blocks[fast_name], blocks[slow_name], min_speedup, confidence)
