import time
from dataclasses import replace

import pytest
import torch

from labkit.measure import bench


def test_latency_of_a_known_delay():
    def sleeper(x):
        time.sleep(0.002)

    result = bench.measure_latency(sleeper, torch.zeros(1), threads=1, min_run_time=0.2, warmup=1, label="sleep")
    assert 1.9 <= result.p50_ms <= 20 and result.p90_ms >= result.p50_ms >= result.min_ms
    assert result.runs >= 5 and result.number_per_run == 1 and result.threads == 1
    row = result.as_row()
    assert "times_ms" not in row and row["label"] == "sleep"


def test_latency_sets_torch_threads_during_the_measurement():
    seen = []
    bench.measure_latency(lambda x: seen.append(torch.get_num_threads()), torch.zeros(1), threads=1,
                          min_run_time=0.05, warmup=0)
    assert set(seen) == {1}


def test_cold_start_times_load_and_first_calls():
    calls = []

    def load():
        time.sleep(0.01)
        return lambda x: calls.append(x)

    cold = bench.measure_cold_start(load, torch.zeros(1))
    assert cold.load_ms >= 9 and len(calls) == 2


def test_flop_counts_are_exact_for_known_layers():
    linear = torch.nn.Linear(10, 20)
    assert bench.count_flops(linear, torch.zeros(3, 10)) == 2 * 3 * 10 * 20
    conv = torch.nn.Conv2d(4, 8, 3, padding=1, bias=False)
    assert bench.count_flops(conv, torch.zeros(1, 4, 16, 16)) == 2 * 8 * 16 * 16 * 4 * 9


def test_file_size(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 2_500_000)
    assert bench.file_size_mb(path) == pytest.approx(2.5)


def test_peak_memory_in_a_child_process(tiny_files):
    eager = bench.measure_peak_memory("tiny_cnn", (1, 3, 64, 64), pretrained=False, iterations=2)
    assert 50 < eager.imports_mb <= eager.after_load_mb <= eager.peak_mb
    pte = bench.measure_peak_memory(tiny_files["xnnpack"], (1, 3, 64, 64), iterations=2)
    assert pte.peak_mb >= pte.imports_mb > 50 and pte.model_mb >= 0


def test_peak_memory_reports_child_failures(tmp_path):
    from labkit.errors import LabkitError

    with pytest.raises(LabkitError, match="memory probe failed"):
        bench.measure_peak_memory(tmp_path / "nothing.pte", (1, 3, 64, 64))


def test_pooled_latency_takes_percentiles_over_all_blocks():
    blocks = [bench.measure_latency(lambda x: None, torch.zeros(1), threads=1, min_run_time=0.01, warmup=1,
                                    min_runs=n, label="noop") for n in (10, 20)]
    blocks = [replace(b, times_ms=tuple(float(v) for v in values)) for b, values in
              zip(blocks, (range(1, 11), range(11, 31)), strict=True)]
    pooled = bench.pooled(blocks)
    assert pooled.runs == 30 and pooled.p50_ms == 15.5 and pooled.min_ms == 1.0 and pooled.label == "noop"
    assert pooled.p90_ms == pytest.approx(27.1)
    with pytest.raises(ValueError, match="no measurements"):
        bench.pooled([])


def test_latency_is_timed_by_perf_counter_with_no_hidden_calls(monkeypatch):
    """What bench's docstrings say: single calls timed with time.perf_counter, fn called warmup + runs times."""
    import torch.utils.benchmark as tub

    class NoTimer:
        def __init__(self, *args, **kwargs):
            raise AssertionError("measure_latency must not time with torch.utils.benchmark.Timer")

    monkeypatch.setattr(tub, "Timer", NoTimer)
    monkeypatch.setattr(tub.utils.timer, "Timer", NoTimer)
    clock = [0.0]

    def fake_clock() -> float:
        clock[0] += 0.001
        return clock[0]

    monkeypatch.setattr(bench.time, "perf_counter", fake_clock)
    for warmup in (0, 3):
        calls = []
        result = bench.measure_latency(calls.append, torch.zeros(1), threads=1, min_run_time=0.0, warmup=warmup,
                                       min_runs=7)
        assert len(calls) == warmup + result.runs and result.runs == 7
        assert result.p50_ms == pytest.approx(1.0), "each call timed by its own pair of perf_counter readings"


def test_timer_timeit_discards_the_warm_up_calls_our_docs_describe():
    """bench.measure_latency's docstring and lab 00 say Timer.timeit(n) first makes max(n // 100, 2) calls."""
    from torch.utils.benchmark import Timer

    calls = []
    timer = Timer("f()", globals={"f": lambda: calls.append(1)})
    for number, expected in ((1, 3), (10, 12), (1000, 1010)):
        calls.clear()
        timer.timeit(number)
        assert len(calls) == expected, (f"Timer.timeit({number}) called the statement {len(calls)} times: update "
                                        f"labkit/measure/bench.py and lab 00's section 5 to what torch does now")
