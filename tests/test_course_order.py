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


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"] when the expression is a chain of names, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def helpers_used(path: Path) -> set[str]:
    """Every labkit attribute a notebook uses, as its dotted path inside labkit (``deploy.quant.int8_program``).

    Follows ``from labkit.x import module [as alias]``, ``import labkit.x.y [as alias]`` and attribute chains across
    cells; a star import of labkit is refused (nothing could be checked).
    """
    used: set[str] = set()
    aliases: dict[str, str] = {}  # a name bound to a labkit module (a module imported in one cell is used later)
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "labkit":
                inside = node.module.removeprefix("labkit").lstrip(".")
                for name in node.names:
                    assert name.name != "*", f"{path.name}: `from {node.module} import *` hides which helpers it uses"
                    dotted = f"{inside}.{name.name}".lstrip(".")
                    if _is_module(f"labkit.{dotted}"):
                        aliases[name.asname or name.name] = dotted
                    else:
                        used.add(dotted)
            elif isinstance(node, ast.Import):
                for name in node.names:
                    if name.name.split(".")[0] == "labkit":
                        inside = name.name.removeprefix("labkit").lstrip(".")
                        if name.asname:
                            aliases[name.asname] = inside
                        else:
                            aliases["labkit"] = ""
        for node in ast.walk(tree):
            chain = _dotted(node) if isinstance(node, ast.Attribute) else None
            if chain and chain[0] in aliases:
                # the longest prefix that is still a module, then the attribute after it
                parts = [p for p in (aliases[chain[0]], *chain[1:]) if p]
                for cut in range(len(parts) - 1, 0, -1):
                    if _is_module("labkit." + ".".join(parts[:cut])):
                        used.add(".".join(parts[:cut + 1]))
                        break
    return used


INTRODUCED = {helper: entry["notebook"][:2] for entry in LABS for helper in entry.get("introduces", [])}


def _needs(lab: str) -> set[str]:
    """Every lab ``lab`` builds on: its prerequisites and theirs."""
    entry = next(e for e in LABS if e["notebook"][:2] == lab)
    found = set()
    for p in map(str, entry.get("prerequisites", [])):
        found |= {p} | _needs(p)
    return found


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
    listed = [h for entry in LABS for h in entry.get("introduces", [])]
    assert len(listed) == len(set(listed)), f"a helper is introduced twice: {sorted({h for h in listed if listed.count(h) > 1})}"
    for entry in LABS:
        used = helpers_used(NOTEBOOKS / entry["notebook"])
        missing = [h for h in entry.get("introduces", []) if h not in used]
        assert not missing, f"{entry['notebook']} introduces {missing} (course.yaml) but never uses them"


@pytest.mark.parametrize("entry", LABS, ids=[entry["notebook"] for entry in LABS])
def test_no_lab_uses_a_helper_before_the_lab_that_introduces_it(entry):
    lab = entry["notebook"][:2]
    for path in _notebooks_of(entry):
        used = [h for h in helpers_used(path) if h in INTRODUCED and INTRODUCED[h] != lab]
        early = sorted(h for h in used if ORDER[INTRODUCED[h]] > ORDER[lab])
        assert not early, (f"{path.relative_to(ROOT)} uses {early}, introduced later in "
                           f"{sorted({INTRODUCED[h] for h in early})}: move the lab or show the calls here")
        unlisted = sorted(h for h in used if INTRODUCED[h] not in _needs(lab))
        assert not unlisted, (f"{path.relative_to(ROOT)} uses {unlisted} of labs "
                              f"{sorted({INTRODUCED[h] for h in unlisted})}, which are not among its prerequisites")


@pytest.mark.parametrize("cells", [
    ["from labkit.deploy import quant as q", "path = q.int8_program(None, 'x.pte')"],
    ["from labkit.deploy.quant import int8_program as make", "make(None, 'x.pte')"],
    ["import labkit.deploy.quant", "labkit.deploy.quant.int8_program(None, 'x.pte')"],
    ["import labkit.deploy.quant as q", "print(f'{q.int8_program(None, 1)}')"],
    ["from labkit import deploy", "deploy.quant.int8_program(None, 'x.pte')"],
])
def test_the_checker_finds_a_use_in_every_import_form(tmp_path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, tmp_path / "00_bad.ipynb")
    assert "deploy.quant.int8_program" in helpers_used(tmp_path / "00_bad.ipynb")
    assert ORDER[INTRODUCED["deploy.quant.int8_program"]] > ORDER["00"], "a lab 00 using it would be caught"


def test_a_star_import_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from labkit.deploy.quant import *")]
    nbformat.write(nb, tmp_path / "00_star.ipynb")
    with pytest.raises(AssertionError, match="hides which helpers"):
        helpers_used(tmp_path / "00_star.ipynb")


def test_text_names_no_later_lab_as_needed():
    # "lab NN" of a later lab may appear only in what comes next / further reading, never as something to use now
    for entry in LABS:
        lab = entry["notebook"][:2]
        first = nbformat.read(NOTEBOOKS / entry["notebook"], as_version=4).cells[0].source
        needed = first.split("**Prerequisites**", 1)[1].split("**Where it runs**", 1)[0]
        named = [n for group in re.findall(r"labs? ((?:\d\d(?:,\s*|\s+and\s+|\s+or\s+)?)+)", needed, re.I)
                 for n in re.findall(r"\d\d", group)]
        later = [n for n in named if n in ORDER and ORDER[n] > ORDER[lab]]
        assert not later, f"{entry['notebook']}: prerequisites name later labs {later}"
