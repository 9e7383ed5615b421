import pytest
import torch

from labkit.deploy.runners import ExecuTorchRunner, open_runner
from labkit.errors import ImageInputError, ModelFileError


def test_every_runtime_agrees_with_eager(tiny, tiny_files):
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = tiny.module(x)
    kinds = {}
    for name, path in tiny_files.items():
        runner = open_runner(path, threads=1)
        kinds[name] = runner.kind
        out = runner(x)
        assert out.shape == (1, 10), name
        assert float((out - expected).abs().max()) < 1e-4, name
        assert runner.file_size_bytes > 0 and runner.load_seconds >= 0
    assert kinds == {"xnnpack": "executorch", "portable": "executorch", "torchscript": "torchscript",
                     "lite": "lite", "onnx": "onnxruntime"}
    assert open_runner(tiny.module).kind == "eager"


def test_pte_runner_makes_channels_last_input_safe(tiny, tiny_files):
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    channels_last = x.to(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = tiny.module(x)
    runner = open_runner(tiny_files["portable"])
    raw = runner.method.execute([channels_last])[0]  # what happens without the guard
    assert float((raw - expected).abs().max()) > 1e-2, "the runtime should misread a channels-last tensor"
    assert float((runner(channels_last) - expected).abs().max()) < 1e-4


def test_pte_runner_checks_metadata(tiny_files):
    runner = open_runner(tiny_files["xnnpack"])
    assert runner.input_sizes == (1, 3, 64, 64) and runner.input_dtype == torch.float32
    with pytest.raises(ImageInputError, match=r"exported for inputs shaped \(1, 3, 64, 64\)"):
        runner(torch.zeros(1, 3, 128, 128))
    with pytest.raises(ImageInputError, match="float64"):
        runner(torch.zeros(1, 3, 64, 64, dtype=torch.float64))
    with pytest.raises(ImageInputError, match="batch dimension"):
        runner(torch.zeros(3, 64, 64))
    with pytest.raises(ImageInputError, match="NotSupported"):
        runner(torch.zeros(1, 3, 32, 32))


def test_pte_runner_never_resizes_a_pool_a_program_uses(tiny_files):
    """The rule (labkit.deploy.etpool): once a program may be loaded the pool keeps its size; another thread
    count runs in a child process. (tests/test_etpool.py checks it from a fresh process.)"""
    from labkit.deploy import etpool
    from labkit.deploy.runners import ChildExecuTorchRunner
    from labkit.errors import LabkitError

    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    first = open_runner(tiny_files["xnnpack"], threads=1)
    expected = first(x)
    assert etpool.programs_may_be_loaded()
    size = etpool.pool_size()
    other = 2 if size == 1 else 1
    assert etpool.pin(other) == size and etpool.pool_size() == size  # refused: a program may use the pool
    with pytest.raises(LabkitError, match="open_runner"):
        ExecuTorchRunner(tiny_files["xnnpack"], threads=other)
    child = open_runner(tiny_files["xnnpack"], threads=other)
    try:
        assert isinstance(child, ChildExecuTorchRunner) and child.threads == other
        assert float((child(x) - expected).abs().max()) <= 1e-5
        assert etpool.pool_size() == size
        assert float((first(x) - expected).abs().max()) == 0.0  # the first program's pool is intact
        same = open_runner(tiny_files["portable"], threads=size)  # the pool's own size: in-process
        assert type(same) is ExecuTorchRunner and same(x).shape == (1, 10)
    finally:
        child.close()
    assert child._process.poll() is not None


def test_bad_pte_files_give_clear_errors(tiny_files, tmp_path):
    good = tiny_files["xnnpack"].read_bytes()
    cases = {
        "missing.pte": (None, "no ExecuTorch .pte file"),
        "empty.pte": (b"", "is empty"),
        "truncated.pte": (good[: len(good) // 2], "is truncated"),
        "onnx_renamed.pte": (tiny_files["onnx"].read_bytes(), "not an ExecuTorch program"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ModelFileError, match=message) as error:
            ExecuTorchRunner(path)
        assert name in str(error.value)


def test_corrupt_program_body_is_decoded(tiny_files, tmp_path):
    data = bytearray(tiny_files["xnnpack"].read_bytes())
    data[60:400] = b"\xff" * 340  # keep the header, break the flatbuffer
    path = tmp_path / "corrupt.pte"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupt.pte"):
        ExecuTorchRunner(path)(torch.zeros(1, 3, 64, 64))


def test_other_bad_files(tiny_files, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"garbage" * 10)
    with pytest.raises(ModelFileError, match="broken.onnx"):
        open_runner(broken)
    broken_ts = tmp_path / "broken.pt"
    broken_ts.write_bytes(tiny_files["torchscript"].read_bytes()[:300])
    with pytest.raises(ModelFileError, match="broken.pt"):
        open_runner(broken_ts)
    with pytest.raises(ModelFileError, match=r"\.pte, \.pt, \.ptl or \.onnx"):
        open_runner(tmp_path / "model.tflite")


def test_error_code_decoding():
    from labkit.deploy.executorch_errors import code_in_message, decode

    assert code_in_message("Failed to load program, error: 0x:23") == 0x23
    assert code_in_message("method->set_inputs() for method 'forward' failed with error 0x10") == 0x10
    assert decode(0x23).startswith("InvalidProgram (0x23)")
    assert decode(0x99).startswith("Unknown")


def test_a_hung_child_is_ended_with_a_clear_error(tiny, tiny_files):
    """A child that stops answering (here: stopped with SIGSTOP) is ended after answer_timeout, not waited on forever."""
    import os
    import signal
    import time

    from labkit.deploy.runners import ChildExecuTorchRunner
    from labkit.errors import LabkitError, ParameterError

    with pytest.raises(ParameterError, match=r"answer_timeout \(seconds\) must be a finite number > 0, got 0"):
        ChildExecuTorchRunner(tiny_files["xnnpack"], threads=1, answer_timeout=0)
    child = ChildExecuTorchRunner(tiny_files["xnnpack"], threads=1)
    child.answer_timeout = 3.0  # after the load (importing torch in the child can take longer on a busy machine)
    x = tiny.example_input()
    assert child(x).shape == (1, 10)  # answers while it runs
    os.kill(child._process.pid, signal.SIGSTOP)
    started = time.perf_counter()
    with pytest.raises(LabkitError, match=r"gave no answer within 3 s while running .*open the runner again"):
        child(x)
    assert time.perf_counter() - started < 30, "the watchdog did not end the child"
    assert child._process.poll() is not None, "the hung child is still there"
    with pytest.raises(LabkitError, match="has ended"):
        child(x)
    child.close()
