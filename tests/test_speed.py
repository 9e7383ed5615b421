"""labkit.measure.speed: noise-aware speed claims (constructed clear and noisy cases, a real one) and how errors render."""

import numpy as np
import pytest
import torch

from labkit.errors import ClaimError, ExerciseCheckError, LabkitError, ParameterError
from labkit.measure import speed
from labkit.measure.bench import Latency


def block(times_ms, label="x"):
    times = np.asarray(times_ms, dtype=float)
    return Latency(label=label, threads=1, warmup=0, runs=len(times), number_per_run=1, p50_ms=float(np.median(times)),
                   p90_ms=float(np.percentile(times, 90)), mean_ms=float(times.mean()), min_ms=float(times.min()),
                   iqr_ms=float(np.percentile(times, 75) - np.percentile(times, 25)), times_ms=tuple(times))


def rounds(medians, spread=0.02, label="x"):
    """One block of 9 calls per round around each median."""
    return [block(m * (1 + spread * np.linspace(-1, 1, 9)), label) for m in medians]


def test_clear_case_holds_and_reversed_does_not():
    fast = rounds([1.0, 1.1, 0.9, 1.05, 0.95], label="fast")
    slow = rounds([2.0, 2.2, 1.8, 2.1, 1.9], label="slow")  # twice as slow in every round, whatever the round's speed
    claim = speed.from_blocks("fast", "slow", fast, slow)
    assert claim.verdict == speed.HOLDS and claim.resolved
    assert claim.speedup == pytest.approx(2.0, rel=1e-6) and claim.low > 1.9 and claim.high < 2.1
    assert claim.rounds == 5 and claim.faster_ms == pytest.approx(1.0) and claim.slower_ms == pytest.approx(2.0)
    assert claim.check() is claim
    row = claim.as_row()
    assert row["verdict"] == "holds" and row["claim"] == "fast is faster than slow" and "×" in row["interval"]
    assert "holds" in str(claim) and "5 rotated rounds" in str(claim)

    reversed_claim = speed.from_blocks("slow", "fast", slow, fast)
    assert reversed_claim.verdict == speed.DOES_NOT_HOLD and reversed_claim.resolved
    with pytest.raises(ClaimError) as error:
        reversed_claim.check()
    message = str(error.value)
    assert "expected: slow is faster than fast" in message
    assert "measured: 0.50×" in message and "entirely below 1×" in message
    assert "re-run this cell" in message and "report it" in message  # what to do next


def test_noisy_case_is_not_resolved_and_check_only_prints(capsys):
    claim = speed.from_ratios("A", "B", [0.6, 1.9, 0.8, 1.7, 1.2], faster_ms=1.0, slower_ms=1.1)
    assert claim.verdict == speed.NOT_RESOLVED and not claim.resolved
    assert claim.low < 1.0 < claim.high
    assert claim.check() is claim  # printed, never raised
    assert "not resolved on this machine" in capsys.readouterr().out


def test_min_speedup_is_the_threshold_the_interval_must_clear():
    ratios = [1.48, 1.52, 1.50, 1.49, 1.51]
    assert speed.from_ratios("A", "B", ratios, 1, 1.5, min_speedup=1.2).verdict == speed.HOLDS
    assert speed.from_ratios("A", "B", ratios, 1, 1.5, min_speedup=2.0).verdict == speed.DOES_NOT_HOLD
    assert speed.from_ratios("A", "B", ratios, 1, 1.5, min_speedup=1.5).verdict == speed.NOT_RESOLVED
    claim = speed.from_ratios("A", "B", ratios, 1, 1.5, min_speedup=2.0)
    assert claim.claim == "A is at least 2× faster than B"
    with pytest.raises(ClaimError, match="entirely below 2×"):
        claim.check()


def test_bad_claims_say_what_to_do():
    with pytest.raises(LabkitError, match="at least 3 rounds, got 2: measure in more rounds"):
        speed.from_ratios("A", "B", [1.0, 2.0], 1, 1)
    with pytest.raises(LabkitError, match="pair them round by round"):
        speed.from_blocks("A", "B", rounds([1, 1, 1]), rounds([2, 2]))
    with pytest.raises(LabkitError, match="positive"):
        speed.from_ratios("A", "B", [1.0, -2.0, 1.0], 1, 1)
    with pytest.raises(LabkitError, match="confidence"):
        speed.from_ratios("A", "B", [1.0, 2.0, 1.5], 1, 1, confidence=1.5)
    with pytest.raises(LabkitError, match="min_speedup"):
        speed.from_ratios("A", "B", [1.0, 2.0, 1.5], 1, 1, min_speedup=0)
    with pytest.raises(LabkitError, match="rounds must be at least 3"):
        speed.rotated_rounds({"a": lambda x: x}, torch.zeros(1), rounds=2)


def test_real_case_a_big_matmul_is_slower_than_a_small_one():
    generator = torch.Generator().manual_seed(0)
    small, big = torch.rand(64, 64, generator=generator), torch.rand(512, 512, generator=generator)
    # 512² is 512× the work of 64²; even a busy 2-core machine cannot hide a 5× difference
    claim = speed.compare(("64² matmul", lambda _: small @ small), ("512² matmul", lambda _: big @ big),
                          torch.zeros(1), min_speedup=5.0, rounds=5, seconds=0.5, threads=1)
    assert claim.verdict == speed.HOLDS, str(claim)
    assert claim.rounds == 5 and len(claim.round_speedups) == 5
    claim.check()


def test_rotated_rounds_measures_each_callable_once_per_round():
    calls = []
    blocks = speed.rotated_rounds({"a": lambda x: calls.append("a"), "b": lambda x: calls.append("b")},
                                  torch.zeros(1), rounds=3, seconds=0.03)
    assert [len(b) for b in blocks.values()] == [3, 3]
    assert all(lat.label == name for name, lats in blocks.items() for lat in lats)
    assert calls[0] == "a" and "b" in calls


def test_rotated_rounds_alternate_who_goes_first(monkeypatch):
    """A B, B A, B A, A B: with two contenders neither always runs first (a first-mover bias would
    otherwise land on the same side in every round and tighten the interval around it)."""
    order = []
    real = speed.measure_latency

    def recording(fn, x, **kwargs):
        order.append(kwargs["label"])
        return real(fn, x, **kwargs)

    monkeypatch.setattr(speed, "measure_latency", recording)
    speed.rotated_rounds({"a": lambda x: x, "b": lambda x: x}, torch.zeros(1), rounds=4, seconds=0.02, min_runs=1)
    assert "".join(order) == "abbabaab", order


@pytest.mark.parametrize("error_type", [ClaimError, ExerciseCheckError, ParameterError])
def test_errors_render_as_their_message_without_a_traceback(error_type):
    error = error_type("expected: A\nmeasured: B\nwhat to do: C")
    lines = error._render_traceback_()
    assert lines == [f"\x1b[0;31m{error_type.__name__}\x1b[0m: expected: A", "measured: B", "what to do: C"]
    assert not any("Traceback" in line or "labkit/" in line for line in lines)
    assert isinstance(error, LabkitError)
    assert issubclass(error_type, AssertionError if error_type is not ParameterError else ValueError)
    assert error_type("")._render_traceback_() == [f"\x1b[0;31m{error_type.__name__}\x1b[0m: "]


def test_compare_and_from_blocks_name_the_expected_arguments():
    with pytest.raises(ParameterError, match=r"\(name, callable\) pairs, e.g. compare"):
        speed.compare(lambda x: x, ("B", lambda x: x), torch.zeros(1))
    with pytest.raises(ParameterError, match="from_ratios"):
        speed.from_blocks("A", "B", [1.0, 1.0, 1.0], [2.0, 2.0, 2.0])


def seed_claim(centre, spread, claimed_low=0.15):
    """A "fused saves ≥ claimed_low of the time" claim from 5 rounds spread log-evenly around ``centre``×."""
    ratios = centre * np.exp(np.array([-1, -0.5, 0, 0.5, 1]) * spread)
    return speed.from_ratios("fused", "unfused", ratios, 1.0, centre, min_speedup=1 / (1 - claimed_low))


@pytest.mark.parametrize("centre, spread, verdict, words", [
    (1.60, 0.02, speed.HOLDS, ["holds, and more than claimed", "time saved 38 %", "above the claimed 15–20 %",
                               "decided despite the noise", "whole interval lies above 20 %"]),
    (1.22, 0.01, speed.HOLDS, ["holds: time saved 18 %", "within the claimed 15–20 %", "decided despite the noise",
                               "inside it"]),
    (1.27, 0.05, speed.HOLDS, ["holds (at least the claimed 15 %)", "the estimate above the claimed 15–20 %",
                               "whether it saves more than 20 % is not resolved", "noise decided that part"]),
    (1.05, 0.02, speed.DOES_NOT_HOLD, ["does not hold: time saved 5 %", "less than the claimed 15–20 %",
                                       "decided despite the noise", "whole interval lies below 15 %"]),
    (0.90, 0.02, speed.DOES_NOT_HOLD, ["does not hold: time saved −11 % (95 % interval −13 % to −9 %"]),
    (1.20, 0.10, speed.NOT_RESOLVED, ["not resolved on this machine: time saved 17 %", "the noise decided",
                                      "reaches across the claimed 15 %", "estimate alone (which says it holds)"]),
    (1.15, 0.10, speed.NOT_RESOLVED, ["not resolved on this machine", "the noise decided",
                                      "estimate alone (which says it does not hold)"]),
])
def test_saving_verdict_words_every_outcome(centre, spread, verdict, words):
    claim = seed_claim(centre, spread)
    assert claim.verdict == verdict
    sentence = speed.saving_verdict(claim, (0.15, 0.20))
    assert sentence.startswith(verdict), sentence
    for part in words:
        assert part in sentence, (part, sentence)
    assert "95 % interval" in sentence and "5 rotated rounds" in sentence and ";" not in sentence
    if verdict != speed.HOLDS:
        assert "more than claimed" not in sentence and "within" not in sentence


def test_saving_verdict_refuses_a_claim_decided_elsewhere():
    with pytest.raises(ParameterError, match=r"make it with min_speedup=1 / \(1 - 0.15\)"):
        speed.saving_verdict(seed_claim(1.3, 0.02, claimed_low=0.0), (0.15, 0.20))
    with pytest.raises(ParameterError, match="e.g. \\(0.15, 0.20\\)"):
        speed.saving_verdict(seed_claim(1.3, 0.02), (0.20, 0.15))
    with pytest.raises(ParameterError, match="takes a SpeedClaim"):
        speed.saving_verdict(1.3, (0.15, 0.20))
    assert speed.time_saved(1.25) == pytest.approx(0.20) and speed.time_saved(0.8) == pytest.approx(-0.25)
    assert seed_claim(1.3, 0.02).claim == "fused is at least 1.18× faster than unfused"
