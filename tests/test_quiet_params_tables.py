"""labkit.quiet (native stderr captured, noise dropped), labkit.params (the parameter contract), labkit.report.tables."""

import logging
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from labkit import params, quiet
from labkit.errors import ParameterError
from labkit.report import tables

# ---------------------------------------------------------------- quiet


def test_native_output_is_captured_and_only_meaningful_lines_echoed(capfd):
    capfd.readouterr()
    with quiet.native_output_captured() as captured:
        os.write(2, b"[cpuinfo_utils.cpp:71] CPU info and manual query on # of cpus dont match.\n")
        os.write(2, b"E 12:00:00.000 a real runtime error\n")
        subprocess.run([sys.executable, "-c", "import os; os.write(2, b'[threadpool.cpp:66] Resetting threadpool "
                        "to 2 threads.\\nfrom the child process\\n')"], check=True)
    assert captured.lines == ["[cpuinfo_utils.cpp:71] CPU info and manual query on # of cpus dont match.",
                              "E 12:00:00.000 a real runtime error",
                              "[threadpool.cpp:66] Resetting threadpool to 2 threads.", "from the child process"]
    assert captured.meaningful == ["E 12:00:00.000 a real runtime error", "from the child process"]
    assert "from the child process" in captured.text
    err = capfd.readouterr().err
    assert "a real runtime error" in err and "from the child process" in err  # echoed: never lost
    assert "cpuinfo_utils" not in err and "Resetting threadpool" not in err  # noise: dropped
    os.write(2, b"after the block\n")
    assert "after the block" in capfd.readouterr().err  # descriptor 2 restored


def test_native_output_captured_restores_fd_on_error_and_can_stay_silent(capfd):
    capfd.readouterr()
    with pytest.raises(RuntimeError, match="boom"):
        with quiet.native_output_captured():
            os.write(2, b"written before the error\n")
            raise RuntimeError("boom")
    os.write(2, b"restored\n")
    err = capfd.readouterr().err
    assert "restored" in err and "written before the error" in err
    with quiet.native_output_captured(echo_meaningful=False) as captured:
        os.write(2, b"kept for the lab to show\n")
    assert captured.meaningful == ["kept for the lab to show"]
    assert "kept for the lab" not in capfd.readouterr().err


def test_runtime_noise_pattern():
    assert quiet.RUNTIME_NOISE.search("[cpuinfo_utils.cpp:71] anything")
    assert quiet.RUNTIME_NOISE.search("[threadpool.cpp:66] Resetting threadpool to 1 threads.")
    assert quiet.RUNTIME_NOISE.search("I 00:00:01.234567 executorch: something informative")
    assert not quiet.RUNTIME_NOISE.search("[method.cpp:123] Failed to load method")
    assert not quiet.RUNTIME_NOISE.search("RuntimeError: see [cpuinfo_utils.cpp:71]")


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_hide_import_noise_is_idempotent_and_drops_only_the_known_records():
    quiet.hide_import_noise()
    quiet.hide_import_noise()
    for name, fragment in quiet.IMPORT_NOISE:
        logger = logging.getLogger(name)
        ours = [f for f in logger.filters if isinstance(f, quiet._DropRecords)]
        assert len(ours) == 1 and ours[0].fragments == (fragment,), name
        handler = _Collect()
        logger.addHandler(handler)
        try:
            logger.warning("prefix: %s (suffix)", fragment)
            logger.warning("a different warning that teaches something")
        finally:
            logger.removeHandler(handler)
        assert handler.messages == ["a different warning that teaches something"], name


# ---------------------------------------------------------------- params


@pytest.mark.parametrize("value", ["True", 1, None, [True]])
def test_check_bool(value):
    with pytest.raises(ParameterError, match="SMOKE must be True or False.*-p SMOKE True"):
        params.check_bool("SMOKE", value)
    assert params.check_bool("SMOKE", False) is False


def test_check_int_and_float():
    assert params.check_int("BATCH", 4, 1, 64) == 4
    for bad in (0, 65, 2.0, "4", True, None):
        with pytest.raises(ParameterError, match=r"BATCH must be a whole number ≥ 1 and ≤ 64"):
            params.check_int("BATCH", bad, 1, 64)
    with pytest.raises(ParameterError, match=r"STEPS must be a whole number ≥ 1, got 0$"):
        params.check_int("STEPS", 0, 1)
    assert params.check_float("LR", 1, 0) == 1.0 and params.check_float("P", 0, 0, 1, low_inclusive=True) == 0.0
    for bad in (0, -1.0, 1.5, "0.1", True):
        with pytest.raises(ParameterError, match=r"LR must be a finite number > 0 and ≤ 1"):
            params.check_float("LR", bad, 0, 1)


def test_check_ints():
    assert params.check_ints("CALIBRATION_SWEEP", (32, 1, 8), 1, 1024) == [1, 8, 32]  # sorted, a list
    cases = {"8": "non-empty list", "'8, 32'": "non-empty list", "[]": "non-empty list", "None": "non-empty list",
             "[8, 0]": r"has \[0\]", "[8, 2000]": r"has \[2000\]", "[8.0]": r"has \[8.0\]", "[True]": r"has \[True\]",
             "[8, 8]": "lists a value twice", "[8, 2048]": r"each entry must be a whole number from 1 to 1024"}
    for text, message in cases.items():
        value = eval(text)
        with pytest.raises(ParameterError, match=message) as error:
            params.check_ints("CALIBRATION_SWEEP", value, 1, 1024)
        assert "CALIBRATION_SWEEP" in str(error.value)


def test_check_choice_and_choices():
    assert params.check_choice("BACKEND", "xnnpack", ["xnnpack", "portable"]) == "xnnpack"
    with pytest.raises(ParameterError, match=r"BACKEND must be one of \['xnnpack', 'portable'\], got 'XNNPACK'"):
        params.check_choice("BACKEND", "XNNPACK", ["xnnpack", "portable"])
    allowed = ["eager", "onnx", "pte"]
    assert params.check_choices("RUNTIMES", ("pte", "eager"), allowed) == ["pte", "eager"]
    cases = {"'eager, pte'": "must be a list drawn from", "['tflite']": "not among the allowed",
             "['pte', 'pte']": "lists a value twice", "[]": "needs at least 1"}
    for text, message in cases.items():
        value = eval(text)
        with pytest.raises(ParameterError, match=message) as error:
            params.check_choices("RUNTIMES", value, allowed)
        assert "RUNTIMES" in str(error.value)
    with pytest.raises(ParameterError, match=r"\['eager', 'onnx', 'pte'\]"):
        params.check_choices("RUNTIMES", "eager", allowed)


def test_check_threads():
    cores = params.max_threads()
    assert cores >= 1
    assert params.check_threads(1, as_list=False) == 1
    assert params.check_threads(list(range(cores, 0, -1)), as_list=True) == list(range(1, cores + 1))  # sorted
    assert params.check_threads((1,), as_list=True) == [1]
    for bad in ("[1, 2]", "1", [], 0, [0], [cores + 1], [1.0], [True], None):
        with pytest.raises(ParameterError, match=f"THREADS .*from 1 to {cores}"):  # the allowed range is named
            params.check_threads(bad, as_list=True)
    with pytest.raises(ParameterError, match=r"THREADS lists a value twice: \[1, 1\]; give each once"):
        params.check_threads([1, 1], as_list=True)
    for bad in ([1], "2", 0, cores + 1, True, 1.0):
        with pytest.raises(ParameterError, match=f"THREADS must be one whole number from 1 to {cores}"):
            params.check_threads(bad, as_list=False)


def test_check_common(monkeypatch, tmp_path):
    common = params.check_common(True, "tiny_cnn", False, [1], threads_as_list=True)
    assert common == params.Common(True, "tiny_cnn", False, [1])
    assert params.check_common(False, "efficientnet_lite0", True, 1, threads_as_list=False).pretrained
    with pytest.raises(ParameterError, match=r"MODEL must be one of \['efficientnet_lite0', 'mobilenet_v2'"):
        params.check_common(True, "vgg16", False, 1, threads_as_list=False)
    with pytest.raises(ParameterError, match=r"MODEL must be one of \['tiny_cnn'\], got 'resnet18'"):
        params.check_common(True, "resnet18", False, 1, threads_as_list=False, models=["tiny_cnn"])
    with pytest.raises(ParameterError, match="PRETRAINED must be True or False"):
        params.check_common(True, "tiny_cnn", "False", 1, threads_as_list=False)
    with pytest.raises(ParameterError, match="tiny_cnn has no trained weights.*PRETRAINED = False") as error:
        params.check_common(True, "tiny_cnn", True, 1, threads_as_list=False)
    assert "efficientnet_lite0" in str(error.value)  # a model that has weights here
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # nothing cached
    for name in ("resnet18", "mobilenet_v2", "mobilenet_v3_small"):
        with pytest.raises(ParameterError, match=f"PRETRAINED=True needs {name}'s real weights.*LABKIT_OFFLINE") as error:
            params.check_common(True, name, True, [1], threads_as_list=True)
        assert "['efficientnet_lite0']" in str(error.value)
    with pytest.raises(ParameterError, match="THREADS"):
        params.check_common(True, "tiny_cnn", False, "[1]", threads_as_list=True)


# ---------------------------------------------------------------- tables

LONG = ("XNNPACK fp32 is faster than portable fp32 on this machine, measured in five rotated rounds "
        "with a 99% interval on the ratio — a sentence longer than pandas' fifty characters")


def frame():
    return pd.DataFrame({"claim": [LONG, "short"], "verdict": ["holds", "not resolved on this machine"],
                         "speedup": [123.456789, 1.23456], "rounds": [5, 5]})


def test_show_keeps_text_whole_and_left_aligned():
    html = tables.show(frame()).to_html()
    assert LONG in html and "not resolved on this machine" in html
    assert "text-align: left" in html and "white-space: normal" in html
    assert "123" in html and "123.456789" not in html and "1.23" in html  # floats rounded to 3 digits
    assert ">0<" not in html  # no index column
    assert ">0<" in tables.show(frame(), index=True).to_html()


def test_plain_keeps_text_whole_and_left_aligned():
    text = tables.plain(frame())
    lines = text.splitlines()
    assert len(lines) == 3 and LONG in text
    header, first, second = lines
    assert header.startswith("claim") and first.startswith(LONG) and second.startswith("short ")
    assert header.index("verdict") == first.index("holds") == second.index("not resolved")  # left-aligned column
