"""The course is one path: labs numbered in course order, nothing taken from a later lab.

`notebooks/course.yaml` names, per lab, the kit helpers it *introduces* (makes the framework calls by
hand, then shows the helper agrees). These tests read every lab and its solutions notebook and fail
when a lab uses such a helper before the lab that introduces it, when a prerequisite is a later lab,
or when a lab claims to introduce a helper it never uses.
"""

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
COURSE = yaml.safe_load((NOTEBOOKS / "course.yaml").read_text(encoding="utf-8"))
LABS = COURSE["labs"]
ORDER = {entry["notebook"][:2]: index for index, entry in enumerate(LABS)}


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:
        return False


def helpers_used(path: Path) -> set[str]:
    """``module.name`` of every labkit attribute a notebook uses (module = the last part of its dotted path)."""
    used: set[str] = set()
    aliases: dict[str, str] = {}  # a module imported in one cell is used in the later ones
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "labkit":
                for name in node.names:
                    if _is_module(f"{node.module}.{name.name}"):
                        aliases[name.asname or name.name] = name.name
                    else:
                        used.add(f"{node.module.rsplit('.', 1)[-1]}.{name.name}")
            elif isinstance(node, ast.Import):
                for name in node.names:
                    if name.name.startswith("labkit.") and name.asname:
                        aliases[name.asname] = name.name.rsplit(".", 1)[-1]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                used.add(f"{aliases[node.value.id]}.{node.attr}")
    return used


INTRODUCED = {helper: entry["notebook"][:2] for entry in LABS for helper in entry.get("introduces", [])}


def _notebooks_of(entry: dict) -> list[Path]:
    lab = NOTEBOOKS / entry["notebook"]
    solutions = NOTEBOOKS / "solutions" / f"{lab.stem}_solutions.ipynb"
    return [lab] + ([solutions] if solutions.exists() else [])


def test_labs_are_numbered_in_course_order():
    numbers = [entry["notebook"][:2] for entry in LABS]
    assert numbers == [f"{i:02d}" for i in range(len(LABS))], f"course.yaml lists the labs out of order: {numbers}"
    for entry in LABS:
        title = nbformat.read(NOTEBOOKS / entry["notebook"], as_version=4).cells[0].source.splitlines()[0]
        assert title.startswith(f"# Lab {entry['notebook'][:2]} — "), f"{entry['notebook']}: title {title!r}"


def test_prerequisites_come_earlier_and_nothing_reads_ahead():
    for entry in LABS:
        lab = entry["notebook"][:2]
        later = [p for p in entry.get("prerequisites", []) if ORDER[str(p)] >= ORDER[lab]]
        assert not later, f"{entry['notebook']}: prerequisites {later} are not earlier labs"
        assert not entry.get("read_ahead"), f"{entry['notebook']}: read_ahead is a forward reference; reorder instead"
    half_day = [str(i) for i in COURSE.get("half_day", [])]
    assert half_day == sorted(half_day, key=ORDER.__getitem__), f"the half-day schedule is out of course order: {half_day}"


def test_every_introduced_helper_exists_and_is_used_where_it_is_introduced():
    assert INTRODUCED, "course.yaml names no introduced helpers"
    for entry in LABS:
        used = helpers_used(NOTEBOOKS / entry["notebook"])
        missing = [h for h in entry.get("introduces", []) if h not in used]
        assert not missing, f"{entry['notebook']} introduces {missing} (course.yaml) but never uses them"


@pytest.mark.parametrize("entry", LABS, ids=[entry["notebook"] for entry in LABS])
def test_no_lab_uses_a_helper_before_the_lab_that_introduces_it(entry):
    lab = entry["notebook"][:2]
    for path in _notebooks_of(entry):
        early = sorted(h for h in helpers_used(path) if h in INTRODUCED and ORDER[INTRODUCED[h]] > ORDER[lab])
        assert not early, (f"{path.relative_to(ROOT)} uses {early}, introduced later in "
                           f"{sorted({INTRODUCED[h] for h in early})}: move the lab or show the calls here")


def test_the_checker_finds_a_forward_use(tmp_path):
    # a lab 00 that calls the int8 helper of the quantization lab is caught
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from labkit.deploy import quant as q"),
                nbformat.v4.new_code_cell("path = q.int8_program(None, 'x.pte')")]
    nbformat.write(nb, tmp_path / "00_bad.ipynb")
    used = helpers_used(tmp_path / "00_bad.ipynb")
    assert "quant.int8_program" in used
    assert ORDER[INTRODUCED["quant.int8_program"]] > ORDER["00"]


def test_text_names_no_later_lab_as_needed():
    # "lab NN" of a later lab may appear only in what comes next / further reading, never as something to use now
    for entry in LABS:
        lab = entry["notebook"][:2]
        first = nbformat.read(NOTEBOOKS / entry["notebook"], as_version=4).cells[0].source
        needed = first.split("**Prerequisites**", 1)[1].split("**Where it runs**", 1)[0]
        later = [n for n in re.findall(r"lab (\d\d)", needed) if n in ORDER and ORDER[n] > ORDER[lab]]
        assert not later, f"{entry['notebook']}: prerequisites name later labs {later}"
