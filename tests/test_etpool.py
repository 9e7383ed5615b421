"""labkit.deploy.etpool + runners: the ExecuTorch pool is sized once, never reset under a loaded program.

Each scenario runs in a fresh interpreter (the pool is process-wide, and a use-after-free would be a
segfault, exit -11, not an exception): the test asserts the exit code and every step's output.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PINNED_FIRST = textwrap.dedent("""
    import sys
    import torch
    from labkit.deploy import etpool
    from labkit.measure import bench
    from labkit.errors import LabkitError, ModelFileError
    from labkit.deploy.runners import ChildExecuTorchRunner, ExecuTorchRunner, open_runner

    pte, corrupt = sys.argv[1], sys.argv[2]
    assert not etpool.programs_may_be_loaded(), "fresh process: nothing may have loaded"
    assert etpool.pin(2) == 2 and etpool.pool_size() == 2
    print("pinned 2")

    from executorch.runtime import Runtime

    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    raw = Runtime.get().load_program(pte).load_method("forward")  # a raw cell, as labs have
    expected = raw.execute([x])[0].clone()
    same = open_runner(pte, threads=2)
    assert type(same) is ExecuTorchRunner, same
    assert torch.equal(same(x), expected)
    print("in-process at 2 threads")

    child = open_runner(pte, threads=1)
    assert isinstance(child, ChildExecuTorchRunner), child
    assert child.threads == 1 and child.input_sizes == (1, 3, 64, 64) and child.load_seconds > 0
    diff = float((child(x) - expected).abs().max())
    assert diff <= 1e-5, diff
    print(f"child at 1 thread, max diff {diff:.1e}")

    assert etpool.pool_size() == 2
    assert torch.equal(raw.execute([x])[0], expected), "the raw method must still run on its pool"
    print("raw method still runs")

    try:
        ExecuTorchRunner(pte, threads=1)
        raise SystemExit("ExecuTorchRunner at another thread count must refuse")
    except LabkitError as error:
        assert "open_runner" in str(error) and "child process" in str(error), error
    print("direct runner at 1 thread refused")

    assert etpool.pin(1) == 2 and etpool.pool_size() == 2, "pin after a load must not reset"
    assert torch.equal(raw.execute([x])[0], expected) and torch.equal(same(x), expected)
    print("pin(1) after loads kept 2")

    latency = bench.measure_latency(child, x, threads=1, min_run_time=0.2, warmup=2, min_runs=5, label="child")
    assert latency.label == "child" and latency.runs >= 5 and latency.threads == 1, latency
    assert 0 < latency.min_ms <= latency.p50_ms <= latency.p90_ms < 1000, latency
    assert len(latency.times_ms) == latency.runs
    cold = bench.measure_cold_start(lambda: child, x)  # the child times a fresh load of its program
    assert cold.load_ms > 0 and cold.first_run_ms > 0 and 0 < cold.second_run_ms < 1000, cold
    print(f"child timed itself: p50 {latency.p50_ms:.3f} ms, cold load {cold.load_ms:.1f} ms")

    try:
        ChildExecuTorchRunner(corrupt, threads=1)
        raise SystemExit("a corrupt program must not load in the child")
    except ModelFileError as error:
        assert "corrupt.pte" in str(error), error
    print("corrupt program: ModelFileError")

    process = child._process
    child.close()
    assert process.poll() is not None, "close() must end the child process"
    try:
        child(x)
        raise SystemExit("a closed child runner must refuse to run")
    except LabkitError as error:
        assert "open the runner again" in str(error), error
    assert torch.equal(raw.execute([x])[0], expected)
    print("closed; ALL OK")
""")

UNPINNED = textwrap.dedent("""
    import sys
    import torch
    from labkit.deploy import etpool
    from labkit.deploy.runners import ChildExecuTorchRunner, ExecuTorchRunner, open_runner, set_executorch_threads

    pte = sys.argv[1]
    x = torch.zeros(1, 3, 64, 64)
    first = open_runner(pte, threads=1)  # nothing loaded yet: the pool may still be sized to 1
    assert type(first) is ExecuTorchRunner and etpool.pool_size() == 1, (first, etpool.pool_size())
    expected = first(x)
    second = open_runner(pte, threads=2)
    assert isinstance(second, ChildExecuTorchRunner) and etpool.pool_size() == 1
    assert float((second(x) - expected).abs().max()) <= 1e-5
    assert set_executorch_threads(2) == 1
    assert torch.equal(first(x), expected)
    print("ALL OK")
""")


def run_script(script: str, *args: object) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert done.returncode == 0, (f"exit {done.returncode} (-11 is a segfault)\nstdout:\n{done.stdout}\n"
                                  f"stderr:\n{done.stderr[-3000:]}")
    assert "ALL OK" in done.stdout, done.stdout
    return done


def test_pool_pinned_before_loading_and_other_thread_counts_in_a_child(tiny_files, tmp_path):
    data = bytearray(tiny_files["xnnpack"].read_bytes())
    data[60:400] = b"\xff" * 340  # header intact, flatbuffer broken
    corrupt = tmp_path / "corrupt.pte"
    corrupt.write_bytes(bytes(data))
    done = run_script(PINNED_FIRST, tiny_files["xnnpack"], corrupt)
    assert "pin(1) after loads kept 2" in done.stdout


def test_first_open_runner_sizes_the_pool_later_ones_use_a_child(tiny_files):
    run_script(UNPINNED, tiny_files["xnnpack"])


RAW_BINDINGS_FIRST = textwrap.dedent("""
    import sys
    import torch
    from executorch.extension.pybindings import portable_lib  # a lab's BundledProgram / legacy loader cell
    from labkit.deploy import etpool
    from labkit.deploy.runners import ChildExecuTorchRunner, open_runner

    pte = sys.argv[1]
    x = torch.zeros(1, 3, 64, 64)
    legacy = portable_lib._load_for_executorch(pte)  # invisible to Runtime.get(): labkit must not resize now
    expected = legacy.forward([x])[0].clone()
    size = etpool.pool_size()
    assert etpool.programs_may_be_loaded(), "bindings imported before labkit: a program may hold the pool"
    other = open_runner(pte, threads=1 if size != 1 else 2)
    assert isinstance(other, ChildExecuTorchRunner) and etpool.pool_size() == size, (other, etpool.pool_size())
    assert etpool.pin(1 if size != 1 else 2) == size
    assert torch.equal(legacy.forward([x])[0], expected)  # the legacy program's pool was never replaced
    print("ALL OK")
""")


def test_programs_loaded_through_the_raw_bindings_keep_their_pool(tiny_files):
    run_script(RAW_BINDINGS_FIRST, tiny_files["xnnpack"])
