"""labkit progress, solutions on request, labkit share and labkit collect — on fixture result stores."""

import json
import re
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from labkit.errors import ExerciseCheckError
from labkit.exercises import catalog
from labkit.workshop.cli import main
from labkit.workshop.collect import CollectError, collect, latencies, load_participant, machines, recorded, share, speedup_table
from labkit.workshop.progress import progress

ROOT = Path(__file__).resolve().parents[1]


def _row(lab, run_id, runtime, precision, threads, p50, cpu="CPU A", smoke=False, model="efficientnet_lite0"):
    return {"lab": lab, "run_id": run_id, "timestamp": f"2026-11-20T10:{run_id[-2:]}:00+00:00", "model": model,
            "runtime": runtime, "precision": precision, "threads": threads, "p50_ms": p50,
            "config": {"SMOKE": smoke}, "env": {"cpu": cpu, "cores": 4, "platform": "Linux x86_64",
                                                 "torch": "2.14.1", "executorch": "1.5.1"}}


def _store(folder: Path, rows, events=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "progress.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


@pytest.fixture
def learner(tmp_path):
    rows = [_row("00_baseline", "run-01", "eager", "fp32", 1, 30.0, smoke=True),
            _row("08_benchmarking", "run-02", "eager", "fp32", 2, 24.0),
            _row("08_benchmarking", "run-02", "executorch-xnnpack", "fp32", 2, 8.0),
            _row("08_benchmarking", "run-03", "eager", "fp32", 2, 20.0),  # the latest run counts
            _row("08_benchmarking", "run-03", "executorch-xnnpack", "int8", 2, 4.0),
            _row("08_benchmarking", "run-03", "executorch-xnnpack", "int8", 1, 8.0)]
    events = [{"exercise": "00.1", "passed": False, "timestamp": "2026-11-20T10:01:00+00:00"},
              {"exercise": "00.1", "passed": True, "timestamp": "2026-11-20T10:02:00+00:00"},
              {"exercise": "00.1", "passed": None, "timestamp": "2026-11-20T10:03:00+00:00"},  # re-run: stays passed
              {"exercise": "00.2", "passed": None, "timestamp": "2026-11-20T10:01:00+00:00"},
              {"exercise": "08.1", "passed": False, "timestamp": "2026-11-20T10:05:00+00:00"},
              {"exercise": "08.1", "solution_viewed": True, "timestamp": "2026-11-20T10:06:00+00:00"}]
    folder = _store(tmp_path / "alice", rows, [{**e, "numbering": 2} for e in events])
    with open(folder / "progress.jsonl", "a") as fh:
        fh.write('{"exercise": "08.2", "pas')  # a line cut by an interrupted write
    return folder


def test_progress_of_labs_and_exercises(learner):
    _store(learner / "kit-smoke" / "05_torchscript" / "SMOKE=True",
           [_row("05_torchscript", "run-11", "eager", "fp32", 1, 9.0, smoke=True)])
    with pytest.warns(UserWarning, match="not complete JSON"):
        state = progress(learner)
    labs = state.labs.set_index("lab")
    assert labs.loc["00", "runs"] == 1 and labs.loc["00", "last mode"] == "smoke"
    assert labs.loc["08", "runs"] == 2 and labs.loc["08", "last mode"] == "full"
    assert labs.loc["05", "runs"] == 1 and labs.loc["05", "last mode"] == "smoke", "a `make run SMOKE=1` run counts"
    assert labs.loc["06", "runs"] == 0 and labs.loc["06", "last run"] == ""
    assert labs.loc["00", "exercises passed"] == "1/2" and labs.loc["08", "exercises passed"] == "0/2"
    exercises = state.exercises.set_index("exercise")
    assert exercises.loc["00.1", "status"] == "passed" and exercises.loc["00.1", "wrong answers"] == 1
    assert exercises.loc["00.2", "status"] == "not attempted"
    assert exercises.loc["08.1", "status"] == "failed" and exercises.loc["08.1", "solution viewed"]
    assert exercises.loc["08.2", "status"] == "not reached"
    assert list(state.exercises["exercise"]) == list(catalog.EXERCISES)
    assert state.summary == f"3/{len(state.labs)} labs executed, 1/{len(catalog.EXERCISES)} exercises passed"
    assert "<table" in state._repr_html_()


def test_progress_cli(learner, capsys):
    with pytest.warns(UserWarning):
        assert main(["progress", "--dir", str(learner)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s*00\.1\s+00\s+passed", out, re.M) and "2/10 labs executed" in out


def test_every_exercise_is_registered_and_every_lab_check_is_known():
    source = "".join(p.read_text() for p in (ROOT / "labkit" / "exercises").glob("*.py"))
    assert sorted(re.findall(r'exercise = "(\d\d\.\d)"', source)) == sorted(catalog.EXERCISES)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        used = set(re.findall(r"checks\.(check_\w+)\(", code))
        mine = {f.__name__ for e, f in catalog.EXERCISES.items() if e.startswith(path.name[:2])}
        assert used == mine, f"{path.name} checks {used}, the registry says {mine}"
        assert all(catalog.exercise_title(e) for e in catalog.EXERCISES)


def test_solution_is_shown_on_request_and_noted(tmp_path):
    shown = catalog.solution("08.1", root=tmp_path)
    assert "check_peak_gflops(" in shown.code and "my_peak =" in shown.code, "the answer's cells come with the check"
    assert shown.notebook.name == "08_benchmarking_solutions.ipynb" and "```python" in shown._repr_markdown_()
    assert json.loads((tmp_path / "progress.jsonl").read_text())["solution_viewed"] is True
    with pytest.raises(ExerciseCheckError, match="no exercise '9.9'; the kit has 00.1"):
        catalog.solution("9.9", root=tmp_path)


def test_share_and_collect_two_machines(learner, tmp_path):
    bob = _store(tmp_path / "bob", [_row("08_benchmarking", "run-09", "eager", "fp32", 4, 12.0, cpu="CPU B"),
                                    _row("08_benchmarking", "run-09", "executorch-xnnpack", "int8", 4, 2.0, cpu="CPU B"),
                                    _row("06_legacy_int8_nnapi", "run-10", None, None, None, None, cpu="CPU B")])
    zipped = share("Bob Smith", bob, tmp_path / "bob.zip")
    assert load_participant(zipped).name == "Bob Smith"
    report = collect([learner, zipped], tmp_path / "workshop")
    assert report.is_file() and "<img" in report.read_text()
    machines = pd.read_csv(tmp_path / "workshop" / "machines.csv").set_index("participant")
    assert machines.loc["alice", "cpu"] == "CPU A" and machines.loc["Bob Smith", "cpu"] == "CPU B"
    assert machines.loc["alice", "labs run"] == "00, 08" and machines.loc["Bob Smith", "labs run"] == "06, 08"
    assert machines.loc["alice", "exercises passed"] == 1
    latency = latencies([load_participant(learner), load_participant(zipped)])
    table = speedup_table(latency).set_index("participant")
    assert table.loc["alice", "threads"] == 2 and table.loc["alice", "executorch-xnnpack int8"] == 5.0
    assert table.loc["Bob Smith", "threads"] == 4 and table.loc["Bob Smith", "executorch-xnnpack int8"] == 6.0
    assert "executorch-xnnpack fp32" not in table.columns or pd.isna(table.loc["alice", "executorch-xnnpack fp32"]), \
        "rows of an older run of the same lab must not count"


def test_machines_show_every_environment_a_participant_recorded(tmp_path):
    one = _store(tmp_path / "one", [_row("00_baseline", "run-01", "eager", "fp32", 1, 30.0, cpu="CPU A"),
                                    _row("08_benchmarking", "run-02", "eager", "fp32", 2, 20.0, cpu="CPU A")])
    rows = [_row("00_baseline", "run-01", "eager", "fp32", 1, 30.0, cpu="CPU A"),
            _row("08_benchmarking", "run-02", "eager", "fp32", 2, 20.0, cpu="CPU B"),
            _row("08_benchmarking", "run-03", "eager", "fp32", 2, 19.0, cpu="CPU A")]
    rows[1]["env"]["torch"] = rows[2]["env"]["torch"] = "2.15.0"
    two = _store(tmp_path / "two", rows)
    table = machines([load_participant(one), load_participant(two)]).set_index("participant")
    assert table.loc["one", "cpu"] == "CPU A" and table.loc["one", "torch"] == "2.14.1"
    assert table.loc["one", "cores"] == 4, "a single value keeps its type"
    assert table.loc["two", "cpu"] == "CPU A → CPU B", "several values in the order first recorded, not only one"
    assert table.loc["two", "torch"] == "2.14.1 → 2.15.0" and table.loc["two", "executorch"] == "1.5.1"
    assert recorded(pd.DataFrame({"env.cpu": [None, "CPU C"]}), "env.cpu") == "CPU C"
    assert recorded(pd.DataFrame({"lab": ["00"]}), "env.cpu") == "?"

def test_collect_refuses_bad_input_clearly(tmp_path, learner):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CollectError, match="not a zip made by `labkit share`"):
        load_participant(broken)
    with pytest.raises(CollectError, match="has no results.jsonl"):
        load_participant(tmp_path)
    with pytest.raises(CollectError, match="does not exist"):
        load_participant(tmp_path / "nope")
    copy = tmp_path / "copy" / "alice"
    copy.parent.mkdir()
    copy.mkdir()
    (copy / "results.jsonl").write_text((learner / "results.jsonl").read_text())
    with pytest.raises(CollectError, match=r"share the participant name\(s\) \['alice'\]"):
        collect([learner, copy], tmp_path / "out")
    (tmp_path / "empty-results").mkdir()
    with pytest.raises(CollectError, match="no results.jsonl in"):
        share("x", tmp_path / "empty-results", tmp_path / "x.zip")
    with pytest.raises(CollectError, match="cannot name a participant"):
        share("///", learner)


def test_share_and_collect_cli(learner, tmp_path, capsys):
    assert main(["share", "--name", "seat-12", "--dir", str(learner)]) == 0
    zipped = learner / "share-seat-12.zip"
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["participant.json", "progress.jsonl", "results.jsonl"]
    assert main(["collect", str(zipped), "--out", str(tmp_path / "w")]) == 0
    assert "report:" in capsys.readouterr().out
    assert main(["collect", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "w")]) == 2


def test_latency_table_shows_every_lab_that_measured_latency(tmp_path):
    rows = [_row("00_baseline", "run-01", "eager", "fp32", 2, 30.0),
            _row("02_fusion", "run-02", "executorch-xnnpack", "fp32", 2, 10.0),
            _row("03_quantization", "run-03", "executorch-xnnpack", "int8", 2, 6.0),
            _row("01_executorch", "run-04", "executorch-xnnpack", "fp32", 2, 12.0),
            _row("01_executorch", "run-04", "executorch-portable", "fp32", [1, 2], 900.0)]  # a list of counts: no row
    table = latencies([load_participant(_store(tmp_path / "one", rows))]).set_index(["runtime", "precision"])
    assert table.loc[("executorch-xnnpack", "fp32"), "labs"] == "01, 02"
    assert table.loc[("executorch-xnnpack", "fp32"), "p50_ms"] == 11.0  # the median over both labs
    assert table.loc[("executorch-xnnpack", "int8"), "speedup_vs_eager"] == 5.0  # beside lab 00's baseline
    assert table.loc[("eager", "fp32"), "labs"] == "00" and ("executorch-portable", "fp32") not in table.index


def test_progress_written_before_the_renumbering_counts_under_todays_ids(tmp_path):
    # numbering 1 (no "numbering" field): 05.1 was the ExecuTorch lab's exercise, 02.2 the keep-float one; rows of
    # the old 05_executorch notebook count for today's lab 01
    old = [{"exercise": "05.1", "passed": True, "timestamp": "2026-11-20T10:01:00+00:00"},
           {"exercise": "02.2", "passed": False, "timestamp": "2026-11-20T10:02:00+00:00"},
           {"exercise": "01.1", "passed": False, "timestamp": "2026-11-20T10:03:00+00:00"},  # the fusion exercise then
           {"exercise": "01.1", "passed": False, "timestamp": "2026-12-01T10:00:00+00:00", "numbering": 2}]
    folder = _store(tmp_path / "carol", [_row("05_executorch", "run-01", "eager", "fp32", 1, 30.0)], old)
    state = progress(folder)
    exercises = state.exercises.set_index("exercise")
    assert exercises.loc["01.1", "status"] == "passed" and exercises.loc["01.1", "wrong answers"] == 1, \
        "the old 05.1 line (passed) and today's 01.1 line (failed) are the same exercise"
    assert exercises.loc["05.1", "status"] == "not reached", "an old 05.1 line must not count for today's 05.1"
    assert exercises.loc["04.1", "status"] == "failed"
    assert exercises.loc["02.1", "status"] == "failed", "an old 01.1 line is today's 02.1 (fusion)"
    assert state.labs.set_index("lab").loc["01", "runs"] == 1


def test_collect_counts_old_lines_under_todays_ids_and_labs(tmp_path):
    old = [{"exercise": "05.1", "passed": True, "timestamp": "2026-11-20T10:01:00+00:00"},
           {"exercise": "01.1", "passed": True, "timestamp": "2026-12-01T10:00:00+00:00", "numbering": 2}]
    folder = _store(tmp_path / "dan", [_row("05_executorch", "run-01", "eager", "fp32", 1, 30.0),
                                       _row("07_benchmarking", "run-02", "eager", "fp32", 1, 20.0)], old)
    table = machines([load_participant(folder)]).set_index("participant")
    assert table.loc["dan", "exercises passed"] == 1, "old 05.1 and new 01.1 are one exercise"
    assert table.loc["dan", "labs run"] == "01, 08", "rows of a former notebook name count for today's lab"
