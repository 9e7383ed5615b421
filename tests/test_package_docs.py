"""The package's own documentation names what is really there."""

import re
from pathlib import Path

import labkit
from labkit.workshop import cli

ROOT = Path(__file__).resolve().parents[1]


def test_package_docstring_gives_every_module_a_role():
    modules = sorted(".".join(p.relative_to(ROOT / "labkit").with_suffix("").parts)
                     for p in (ROOT / "labkit").rglob("*.py") if p.stem != "__init__")
    listed = dict(re.findall(r"^\s*``([\w.]+)``\s+(\S.*)$", labkit.__doc__, re.M))
    missing = [m for m in modules if m not in listed]
    assert not missing, f"labkit/__init__.py's docstring does not name {missing}: add one line each (module, role)"
    stale = sorted(set(listed) - set(modules))
    assert not stale, f"labkit/__init__.py's docstring names modules that do not exist: {stale}"
    assert all(len(role) > 10 for role in listed.values()), "each module needs a role, not just its name"


def test_cli_docstring_names_every_command():
    commands = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    undocumented = [c for c in commands if f"``{c}``" not in cli.__doc__]
    assert not undocumented, f"labkit/workshop/cli.py's docstring does not name {undocumented}"


def test_no_text_says_executorch_has_no_windows_wheel():
    """executorch 1.5.1 publishes a win_amd64 wheel (runtime with XNNPACK built into its pybindings, but no
    training bindings and no LLM runner), checked on its file listing: the kit says why WSL2, not "no wheel"."""
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "labkit").rglob("*.py")]
    pattern = re.compile(r"no (native )?Windows( or [\w-]+)? wheels?|wheels for [^.;\n]*only; on Windows", re.I)
    wrong = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in texts for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert not wrong, wrong
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "without the on-device training bindings" in readme, "README must say what the Windows wheel lacks"


def test_every_subpackage_says_what_lives_there():
    packages = [p.parent for p in (ROOT / "labkit").glob("*/__init__.py")]
    assert {p.name for p in packages} == {"model", "deploy", "measure", "report", "exercises", "workshop"}
    for package in packages:
        doc = (package / "__init__.py").read_text(encoding="utf-8")
        assert doc.startswith('"""') and len(doc) > 40, f"labkit/{package.name}/__init__.py needs a docstring"
    top = {p.stem for p in (ROOT / "labkit").glob("*.py")} - {"__init__"}
    assert top == {"params", "errors", "paths", "quiet"}, f"only the lab plumbing stays at the top: {sorted(top)}"
