"""The course map: every lab on it with measured run times, generated texts current, schedules that fit."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from labkit.workshop.course import (
    CourseError,
    course_map_markdown,
    course_table,
    format_duration,
    load_course,
    load_durations,
    record_durations,
    schedule,
    solutions_notebook,
    solutions_time_line,
    stale_files,
    time_line,
    write_generated,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def test_every_lab_is_on_the_map_with_both_run_times():
    labs, half_day = load_course()
    assert [lab.notebook for lab in labs] == sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    table = course_table(labs, load_durations())  # raises when a lab has no measured full or smoke time
    assert (table["full_s"] > 0).all() and (table["smoke_s"] > 0).all()
    assert (table[["peak_full_mb", "peak_smoke_mb"]] > 100).all().all(), "a kernel that imports torch takes hundreds of MB"
    assert set(half_day) <= set(table["lab"])


def test_generated_texts_are_current():
    stale = stale_files()
    assert not stale, f"run `make course` (labkit course --write): stale {[str(p.relative_to(ROOT)) for p in stale]}"


def test_prerequisites_agree_with_each_labs_title_cell():
    labs, _ = load_course()
    for lab in labs:
        first = nbformat.read(NOTEBOOKS / lab.notebook, as_version=4).cells[0].source
        said = first.split("**Prerequisites**", 1)[1].split("**Where it runs**", 1)[0]
        for needed in lab.prerequisites:
            assert f"lab {needed}" in said or f"lab{needed}" in said, f"{lab.notebook}: course.yaml needs lab {needed}"
        assert time_line(lab, load_durations()) in first


def _copy_course(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in [*NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"), NOTEBOOKS / "course.yaml", NOTEBOOKS / "durations.json"]:
        shutil.copy(path, folder / path.name)
    return folder


def test_a_lab_missing_from_the_map_fails(tmp_path):
    folder = _copy_course(tmp_path)
    nb = nbformat.read(folder / "08_benchmarking.ipynb", as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("# Lab 08", "# Lab 08", 1)
    nbformat.write(nb, folder / "08_new_lab.ipynb")
    with pytest.raises(CourseError, match=r"labs missing from .*course.yaml: \['08_new_lab.ipynb'\]"):
        load_course(folder)


def test_a_lab_without_measured_time_fails(tmp_path):
    folder = _copy_course(tmp_path)
    durations = json.loads((folder / "durations.json").read_text())
    del durations["06_legacy_int8_nnapi"]["smoke"]
    (folder / "durations.json").write_text(json.dumps(durations))
    labs, _ = load_course(folder)
    with pytest.raises(CourseError, match="no measured smoke run time for 06_legacy_int8_nnapi.ipynb.*make run SMOKE=1 ONLY=06"):
        course_table(labs, load_durations(folder))


def _status(folder: Path, notebook: str, status: str, seconds: float, cpu: str = "Test CPU") -> None:
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"status": status, "seconds": seconds, "peak_rss_mb": 812.5,
                                                    "notebook": notebook}))
    row = {"lab": Path(notebook).stem, "run_id": "r1", "timestamp": "t", "env": {"cpu": cpu, "cores": 4}, "config": {}}
    (folder / "results.jsonl").write_text(json.dumps(row) + "\n")


def test_record_durations_keeps_finished_runs_only(tmp_path):
    folder = _copy_course(tmp_path)
    before = load_durations(folder)
    kit = tmp_path / "kit"
    _status(kit / "00_baseline" / "SMOKE=False", "00_baseline.ipynb", "ok", 61.24)
    _status(kit / "02_fusion" / "SMOKE=False", "02_fusion.ipynb", "failed", 5.0)
    after = record_durations(kit, "full", folder)
    assert after["00_baseline"]["full"]["seconds"] == 61.2
    assert after["00_baseline"]["full"]["peak_rss_mb"] == 812.5
    assert after["00_baseline"]["full"]["cpu"] == "Test CPU" and after["00_baseline"]["full"]["cores"] == 4
    assert after["00_baseline"]["smoke"] == before["00_baseline"]["smoke"]
    assert after["02_fusion"] == before["02_fusion"], "a failed run must not replace a measured time"
    assert load_durations(folder) == after
    with pytest.raises(CourseError, match="no finished lab runs"):
        record_durations(tmp_path / "empty", "smoke", folder)


def test_schedules_fit_or_say_why():
    labs, _ = load_course()
    durations = load_durations()
    first, second = [lab for lab in labs if lab.day == 1], [lab for lab in labs if lab.day == 2]
    assert first and [lab.id for lab in first + second] == [lab.id for lab in labs]  # day 2 comes last
    for later in (second,) if second else ():
        assert schedule(later, durations, "full", "09:00", "17:30")["start"].iloc[-1] <= "17:30"
    day = schedule(first, durations, "full", "09:00", "17:30")
    titles = list(day["block"])
    assert sum(t.startswith("Lab ") for t in titles) == len(first) and "Lunch" in titles
    assert day["start"].iloc[-1] <= "17:30"
    work = {f"Lab {lab.id} — {lab.title}": lab.work_minutes for lab in labs}
    for row in day.itertuples():
        if row.block in work:
            assert row.minutes >= work[row.block] and row.minutes % 5 == 0
    with pytest.raises(CourseError, match="ends at .* after 10:00"):
        schedule(labs, durations, "full", "09:00", "10:00")


@pytest.mark.parametrize("seconds, text", [(42.4, "42 s"), (60, "1 min 00 s"), (192.6, "3 min 13 s"), (3900, "1 h 05 min")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_the_map_has_no_typed_run_times_left_in_title_cells():
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        time_paragraph = first.split("**Time**", 1)[1].split("**Prerequisites**", 1)[0]
        assert "≈" not in time_paragraph and "make run" in time_paragraph
        assert re.search(r"took \d", time_paragraph)


def test_course_cli_prints_the_map_and_checks(capsys):
    from labkit.workshop.cli import main

    assert main(["course"]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^\| \[\d\d ", out, re.M)) == len(load_course()[0]) and "All labs:" in out
    assert main(["course", "--check"]) == 0 and "up to date" in capsys.readouterr().out


def _copy_kit(tmp_path: Path) -> Path:
    """The files ``labkit course --write`` reads and writes, copied (labs, solutions, course map sources)."""
    root = tmp_path / "kit"
    for relative in ["README.md", "docs/instructor.md", "notebooks/README.md", "notebooks/course.yaml",
                     "notebooks/durations.json", *(p.relative_to(ROOT).as_posix() for p in NOTEBOOKS.glob("*.ipynb")),
                     *(p.relative_to(ROOT).as_posix() for p in (NOTEBOOKS / "solutions").glob("*.ipynb"))]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, root / relative)
    return root


def test_course_write_generates_each_solutions_notebooks_time_line(tmp_path):
    root = _copy_kit(tmp_path)
    labs, _ = load_course(root / "notebooks")
    durations = load_durations(root / "notebooks")
    solved = [lab for lab in labs if solutions_notebook(root / "notebooks", lab).is_file()]
    assert len(solved) == len(labs), "every lab has a solutions notebook (tests/test_notebooks.py)"
    before = {lab.id: nbformat.read(solutions_notebook(root / "notebooks", lab), as_version=4) for lab in solved}
    write_generated(root)
    for lab in solved:
        after = nbformat.read(solutions_notebook(root / "notebooks", lab), as_version=4)
        first, old = after.cells[0].source, before[lab.id].cells[0].source
        line = solutions_time_line(lab, durations)
        assert first.count("**Time**:") == 1 and line in first.split("\n"), f"{lab.notebook}: no time line in {first!r}"
        assert f"`../{lab.notebook}`" in line and f"about {lab.work_minutes} minutes" in line
        assert first.startswith(old.split("\n\n")[0] + "\n\n" + line), "the line follows the title paragraph"
        if "**Time**:" not in old:
            assert first.replace("\n\n" + line, "", 1) == old, "the line is added, nothing else changes"
        assert [c.source for c in after.cells[1:]] == [c.source for c in before[lab.id].cells[1:]], "only cell 1 changes"
    assert stale_files(root) == [] and write_generated(root) == [], "a second write changes nothing"
    # a stale line (new measurements) is replaced in place, not added twice
    durations[solved[0].notebook.removesuffix(".ipynb")]["full"]["seconds"] = 61.0
    (root / "notebooks" / "durations.json").write_text(json.dumps(durations))
    path = solutions_notebook(root / "notebooks", solved[0])
    assert path in stale_files(root)
    write_generated(root)
    first = nbformat.read(path, as_version=4).cells[0].source
    assert first.count("**Time**:") == 1 and "took 1 min 01 s to execute in full mode" in first


def test_a_second_day_lab_before_a_first_day_lab_is_refused(tmp_path):
    folder = _copy_course(tmp_path)
    spec = (folder / "course.yaml").read_text(encoding="utf-8")
    (folder / "course.yaml").write_text(spec.replace('    prerequisites: ["00", "01"]\n',
                                                     '    prerequisites: ["00", "01"]\n    day: 2\n', 1), encoding="utf-8")
    with pytest.raises(CourseError, match="day-2 labs come after every day-1 lab"):
        load_course(folder)


def test_read_ahead_is_refused_and_former_names_stay_on_the_map(tmp_path):
    folder = _copy_course(tmp_path)
    spec = (folder / "course.yaml").read_text(encoding="utf-8")
    (folder / "course.yaml").write_text(spec.replace('    prerequisites: ["00", "01"]\n',
                                                     '    prerequisites: ["00", "01"]\n    read_ahead: {"08": "section 1"}\n', 1),
                                        encoding="utf-8")
    with pytest.raises(CourseError, match="read_ahead names later labs — a forward reference"):
        load_course(folder)
    labs, _ = load_course()
    assert "`05_executorch.ipynb` → [01_executorch.ipynb](notebooks/01_executorch.ipynb)" in \
        course_map_markdown(labs, load_durations(), link_prefix="notebooks/")
