"""labkit.workshop.sweep: grid files, resumable papermill sweeps, failures recorded, reports."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.report.results import ResultsStore
from labkit.workshop import cli
from labkit.workshop.sweep import SweepError, SweepSpec, combination_id, load_grid, read_results, run_sweep, write_report


@pytest.fixture()
def probe_notebook(tmp_path):
    """A notebook with a parameters cell that writes one results row, or raises when FAIL is true."""
    nb = new_notebook(cells=[
        new_code_cell("A = 1\nLABEL = 'x'\nFAIL = False", metadata={"tags": ["parameters"]}),
        new_code_cell("if FAIL:\n    raise RuntimeError(f'probe failed on purpose with A={A}')"),
        new_code_cell("from labkit.report.results import ResultsStore\n"
                      "ResultsStore().append('probe', [{'a': A, 'label': LABEL, 'p50_ms': 10.0 * A, 'p90_ms': 12.0 * A,"
                      " 'model': 'probe', 'runtime': 'eager', 'precision': 'fp32', 'threads': 1, 'variant': LABEL}],"
                      " config={'A': A})"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def test_grid_files_are_validated(tmp_path, probe_notebook):
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"name: demo\nnotebook: {probe_notebook.name}\nparameters: {{LABEL: y}}\n"
                    f"grid: {{A: [1, 2], FAIL: [false]}}\n")
    spec = load_grid(grid)
    assert spec.name == "demo" and spec.notebook == probe_notebook.resolve()
    assert spec.combinations() == [{"LABEL": "y", "A": 1, "FAIL": False}, {"LABEL": "y", "A": 2, "FAIL": False}]
    for text, message in [("grid: {A: 1}\nnotebook: x.ipynb", "non-empty list"), ("grid: {A: [1]}", "no notebook"),
                          ("notebook: x.ipynb\ngrids: {A: [1]}", "unknown keys"),
                          ("notebook: x.ipynb\ngrid: {1A: [1]}", "Python identifiers"), ("[1, 2]", "mapping")]:
        grid.write_text(text)
        with pytest.raises(SweepError, match=message):
            load_grid(grid)


def test_combination_ids_are_readable_stable_and_distinct():
    a = combination_id({"THREADS": 1, "SMOKE": True}, ["THREADS"])
    assert a.startswith("THREADS-1_") and a == combination_id({"SMOKE": True, "THREADS": 1}, ["THREADS"])
    assert a != combination_id({"THREADS": 1, "SMOKE": False}, ["THREADS"])  # fixed parameters count too
    assert combination_id({}, []).startswith("default_")
    assert combination_id({"RUNTIMES": ["eager", "onnxruntime"]}, ["RUNTIMES"]).startswith("RUNTIMES-eager+onnxruntime_")


def test_sweep_records_failures_resumes_and_reports(tmp_path, probe_notebook):
    out = tmp_path / "sweep"
    spec = SweepSpec("probe", probe_notebook, {"LABEL": "z"}, {"A": [1, 2], "FAIL": [False, True]})
    outcomes = run_sweep(spec, out, jobs=2, timeout=300, progress=False)
    assert [o.status for o in outcomes] == ["ok", "failed", "ok", "failed"]
    assert "probe failed on purpose with A=1" in outcomes[1].error
    status, rows = read_results(out)
    assert sorted(rows["a"]) == [1, 2] and set(rows["label"]) == {"z"} and set(rows["param.FAIL"]) == {False}
    assert (status["status"] == "failed").sum() == 2 and (out / status["combination"][1] / "failed.ipynb").is_file()
    report = write_report(out).read_text()
    assert "2 combination(s) ok, 2 failed; 2 result rows" in report and "<img" in report

    # a second run (failures not retried) does no work and rewrites nothing
    before = {p: p.stat().st_mtime_ns for p in out.rglob("status.json")}
    assert cli.main(["sweep", str(probe_notebook), "--grid", str(_grid_file(tmp_path, spec)), "--out", str(out),
                     "--skip-failed"]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("status.json")} == before

    # an interrupted combination (no status.json, a partial row) is re-run once, without double rows
    interrupted = out / outcomes[0].combination
    (interrupted / "status.json").unlink()
    ResultsStore(interrupted).append("probe", [{"a": 99, "model": "probe", "runtime": "eager", "precision": "fp32",
                                                "threads": 1, "variant": "x"}], config={})
    again = run_sweep(spec, out, retry_failed=False, progress=False)
    assert [o.status for o in again] == ["ok", "done before", "done before", "done before"]
    _, rows = read_results(out)
    assert sorted(rows["a"]) == [1, 2]


def _grid_file(tmp_path, spec: SweepSpec):
    path = tmp_path / "again.yaml"
    path.write_text(json.dumps({"name": spec.name, "parameters": dict(spec.fixed), "grid": dict(spec.grid)}))
    return path


def test_report_needs_a_finished_sweep(tmp_path):
    with pytest.raises(SweepError, match="run the sweep first"):
        write_report(tmp_path)


def test_shipped_grids_name_real_parameters():
    """Every grid in sweeps/ loads, points at a lab, and only sets parameters that lab's parameters cell defines."""
    import re
    from pathlib import Path

    grids = sorted((Path(__file__).resolve().parents[1] / "sweeps").glob("*.yaml"))
    assert {g.name for g in grids} >= {"03_calibration.yaml", "08_threads_precision.yaml"}
    for grid in grids:
        spec = load_grid(grid)
        assert spec.notebook.is_file(), spec.notebook
        cell = next(c for c in nbformat.read(spec.notebook, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
        defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*) = ", cell.source, re.M))
        used = set(spec.fixed) | set(spec.grid)
        assert used <= defined, f"{grid.name}: {sorted(used - defined)} not in {spec.notebook.name}'s parameters"
        assert len(spec.combinations()) >= 2


def test_run_labs_runs_each_lab_once_and_reports(tmp_path, probe_notebook):
    import shutil

    from labkit.workshop.runlabs import run_labs

    labs = tmp_path / "labs"
    labs.mkdir()
    shutil.copy(probe_notebook, labs / "00_probe.ipynb")
    shutil.copy(probe_notebook, labs / "01_probe.ipynb")
    shutil.copy(probe_notebook, labs / "README_not_a_lab.ipynb")
    report = run_labs(labs, tmp_path / "kit", smoke=True)
    status, rows = read_results(tmp_path / "kit")
    assert sorted(status["notebook"]) == ["00_probe.ipynb", "01_probe.ipynb"] and (status["status"] == "ok").all()
    assert list(rows["param.SMOKE"]) == [True, True] and report.name == "report.html"
    assert all((tmp_path / "kit" / c / "executed.html").is_file() for c in status["combination"])
    assert status["peak_rss_mb"].between(20, 5000).all(), "papermill + the kernel's peak resident memory"
    with pytest.raises(SweepError, match="no lab notebooks"):
        run_labs(labs, tmp_path / "none", only=["99"])


def test_peakrss_measures_the_largest_descendant(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "peak.json"
    grandchild = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'b = bytearray(300_000_000)'])"
    done = subprocess.run([sys.executable, "-m", "labkit.measure.peakrss", str(out), "--", sys.executable, "-c", grandchild])
    assert done.returncode == 0
    assert 300 <= json.loads(out.read_text())["peak_rss_mb"] < 1000, "a 300 MB buffer in a grandchild"
    failed = subprocess.run([sys.executable, "-m", "labkit.measure.peakrss", str(out), "--",
                             sys.executable, "-c", "raise SystemExit(3)"])
    assert failed.returncode == 3 and json.loads(out.read_text())["peak_rss_mb"] < 300


def test_report_of_labs_whose_rows_fill_different_columns(tmp_path):
    import json

    from labkit.workshop.sweep import write_report

    for lab, row in (("00_a", {"runtime": "eager", "precision": "fp32", "p50_ms": 20.0}),
                     ("05_b", {"variant": "xnnpack", "p50_ms": 5.0})):  # no runtime/precision: missing values
        folder = tmp_path / lab / "SMOKE=True"
        folder.mkdir(parents=True)
        (folder / "status.json").write_text(json.dumps({"status": "ok", "seconds": 1.0, "notebook": f"{lab}.ipynb",
                                                        "params": {"SMOKE": True}}))
        (folder / "results.jsonl").write_text(json.dumps({"lab": lab, "run_id": "r", "timestamp": "t", **row}) + "\n")
    report = write_report(tmp_path).read_text()
    assert "<img" in report and "00_a" in report and "05_b" in report
