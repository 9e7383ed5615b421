import subprocess
import sys

from labkit.workshop import cli, doctor


def test_doctor_passes_here_and_reports_fixes(monkeypatch):
    results = {c.name: c for c in doctor.run_checks()}
    assert results["torch 2.14.1"].ok and results["ExecuTorch runtime with XNNPACK"].ok
    assert results["EfficientNet-Lite0 weights"].ok and "verified" in results["EfficientNet-Lite0 weights"].detail
    monkeypatch.setattr(doctor, "package_version", lambda name: "2.13.0")
    broken = doctor._pinned("torch")()
    assert not broken.ok and "make lab" in broken.fix
    text = doctor.report([broken])
    assert "[FAIL] torch 2.14.1: 2.13.0" in text and "fix: run `make lab`" in text and "1 check(s) failed" in text


def test_cli_classify_prints_the_top_class(capsys):
    from labkit.model.data import sample

    assert cli.main(["classify", str(sample("coffee").path), "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "espresso (967)" in out.splitlines()[1]


def test_cli_errors_are_one_line_with_exit_code_2(capsys):
    assert cli.main(["classify", "nowhere.jpg"]) == 2
    assert "no image file at nowhere.jpg" in capsys.readouterr().err
    assert cli.main(["classify", "x.jpg", "--model", "vgg"]) == 2


def test_cli_results_and_console_script(tmp_path, capsys):
    assert cli.main(["results", "--dir", str(tmp_path)]) == 0
    assert "no results" in capsys.readouterr().out
    done = subprocess.run([sys.executable, "-m", "labkit.workshop.cli", "env"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "torch: 2.14.1" in done.stdout


def test_cli_reports_user_errors_in_one_line_and_bugs_with_a_traceback(tmp_path):
    """Only LabkitError (a user error with its next step) becomes `labkit <command>: message`, exit 2; any other
    exception, a KeyError included, is a bug: the traceback reaches the terminal (exit 1)."""
    program = ("import sys\n"
               "from labkit.report import results\n"
               "from labkit.workshop import cli\n"
               "from labkit.errors import LabkitError\n"
               "def load(self, lab=None):\n"
               "    raise {error}\n"
               "results.ResultsStore.load = load\n"
               "sys.exit(cli.main(['results', '--dir', sys.argv[1]]))\n")
    cases = {"LabkitError('the store is unreadable: delete it and re-run')": 2, "KeyError('p50_ms')": 1,
             "ValueError('internal')": 1}
    for error, code in cases.items():
        done = subprocess.run([sys.executable, "-c", program.format(error=error), str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == code, (error, done.returncode, done.stderr[-500:])
        if code == 2:
            assert done.stderr.strip() == "labkit results: the store is unreadable: delete it and re-run"
        else:
            name = error.split("(")[0]
            assert "Traceback (most recent call last)" in done.stderr and f"{name}: " in done.stderr, done.stderr[-500:]
            assert "labkit results:" not in done.stderr, "a bug must not be reported as a user error"
