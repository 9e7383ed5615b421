"""``make wheelhouse``: download every pinned wheel into one folder, for installs with no network.

Usage (standard library only, so it runs before any venv exists)::

    python -m labkit.workshop.wheelhouse --requirements requirements.txt \
        --no-deps-requirements requirements-npu.txt --dest wheelhouse [--platform linux-aarch64] [--platform macos-arm64]

The machine's own platform is always included. A ``--no-deps-requirements`` file (the NPU toolchain,
which ``make install`` installs with ``--no-deps``) is downloaded as listed, without its dependencies.
pip reads its index from the machine's own configuration; nothing about the index is written here.
Participants then install with ``make lab OFFLINE=wheelhouse/`` (``pip install --no-index --find-links
wheelhouse/``, then the --no-deps file the same way).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON_VERSION = "3.11"


def platform_tags(name: str) -> list[str]:
    """pip ``--platform`` tags for a machine kind: ``linux-x86_64``, ``linux-aarch64`` or ``macos-arm64``.

    pip does not widen an explicit tag the way it does for its own machine, so every manylinux level
    (glibc 2.17 to 2.39) or macOS release (11 to 15) is listed.
    """
    if name in ("linux-x86_64", "linux-aarch64"):
        arch = name.split("-", 1)[1]
        tags = [f"manylinux_2_{minor}_{arch}" for minor in range(39, 16, -1)] + [f"manylinux2014_{arch}"]
        return tags + ([f"manylinux2010_{arch}", f"manylinux1_{arch}"] if arch == "x86_64" else [])
    if name == "macos-arm64":
        return [f"macosx_{major}_0_{arch}" for major in range(15, 10, -1) for arch in ("arm64", "universal2")]
    raise SystemExit(f"unknown platform {name!r}: use linux-x86_64, linux-aarch64 or macos-arm64")


UV_TARGETS = {  # uv's --python-platform, and the macOS release the wheels need (torch: macOS 14)
    "linux-x86_64": ("x86_64-manylinux_2_28", None),
    "linux-aarch64": ("aarch64-manylinux_2_28", None),
    "macos-arm64": ("aarch64-apple-darwin", "14.0"),
}


def download_command(requirements: Path, dest: Path, platform: str | None, no_deps: bool = False) -> list[str]:
    """The ``pip download`` call for one platform (None: this machine's, which may fetch source archives);
    ``no_deps``: the listed packages only, as ``make install`` installs a --no-deps file.

    For another platform ``requirements`` must be that platform's full resolution (see
    :func:`resolve_for`): pip evaluates environment markers for the machine it runs on, so it is
    told not to resolve (``--no-deps``), accepts wheels only (its rule for ``--platform``) and finds
    the pure-Python wheels built from source archives for this machine in ``dest``.
    """
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
               "--dest", str(dest), "-r", str(requirements)]
    if platform is None:
        return command + ["--prefer-binary"] + (["--no-deps"] if no_deps else [])
    return command + ["--no-deps", "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp",
                      "--find-links", str(dest)] + [arg for tag in platform_tags(platform) for arg in ("--platform", tag)]


def uv_executable(scratch: Path) -> str:
    """``uv`` (it resolves for another platform with that platform's markers); installed into ``scratch`` if absent."""
    found = shutil.which("uv")
    if found:
        return found
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
                           "--target", str(scratch), "uv"], capture_output=True, text=True)
    if done.returncode != 0 or not (scratch / "bin" / "uv").is_file():
        raise SystemExit(f"wheelhouse: other platforms need uv to resolve their dependencies; `pip install uv` failed:\n"
                         f"{done.stderr[-1500:]}")
    return str(scratch / "bin" / "uv")


def resolve_for(platform: str, requirements: Path, out: Path, uv: str) -> Path:
    """Every package ``platform`` needs, pinned (``uv pip compile --python-platform``), written to ``out``."""
    if platform not in UV_TARGETS:
        platform_tags(platform)  # raises with the list of known names
    target, macos = UV_TARGETS[platform]
    env = {**os.environ, **({"MACOSX_DEPLOYMENT_TARGET": macos} if macos else {})}
    done = subprocess.run([uv, "pip", "compile", str(requirements), "--python-version", PYTHON_VERSION,
                           "--python-platform", target, "--no-header", "--no-annotate", "--quiet", "-o", str(out)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wheelhouse: cannot resolve the requirements for {platform}:\n{done.stderr[-2000:]}")
    return out


def build_wheels_from_sources(dest: Path) -> list[str]:
    """Turn every source archive in ``dest`` into a wheel (e.g. antlr4-python3-runtime ships no wheel), so an
    offline install never has to build; returns the wheels' names."""
    built = []
    for archive in sorted([*dest.glob("*.tar.gz"), *dest.glob("*.zip")]):
        before = set(dest.glob("*.whl"))
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-input",
                               "--no-deps", "--wheel-dir", str(dest), str(archive)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"wheelhouse: could not build a wheel from {archive.name}:\n{done.stderr[-2000:]}")
        built += [w.name for w in set(dest.glob("*.whl")) - before]
        archive.unlink()
    return built


def write_checksums(dest: Path) -> Path:
    """``SHA256SUMS`` (``sha256sum -c`` format) over every wheel in ``dest``."""
    lines = []
    for wheel in sorted(dest.glob("*.whl")):
        digest = hashlib.sha256()
        with open(wheel, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {wheel.name}")
    path = dest / "SHA256SUMS"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Download the wheels for this machine and each ``--platform``; write checksums; print the size."""
    parser = argparse.ArgumentParser(prog="python -m labkit.workshop.wheelhouse", description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=Path("requirements.txt"))
    parser.add_argument("--dest", type=Path, default=Path("wheelhouse"))
    parser.add_argument("--no-deps-requirements", type=Path, action="append", default=[],
                        help="a requirements file installed with --no-deps (requirements-npu.txt): its wheels only (repeatable)")
    parser.add_argument("--platform", action="append", default=[],
                        help="also download for linux-x86_64, linux-aarch64 or macos-arm64 (repeatable)")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != (3, 11):
        print(f"wheelhouse: run this with Python {PYTHON_VERSION} (make wheelhouse PYTHON=python3.11): this "
              f"machine's wheels are chosen for the running Python, {sys.version.split()[0]}", file=sys.stderr)
        return 2
    args.dest.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="wheelhouse-uv-"))
    for platform in [None, *args.platform]:
        print(f"wheelhouse: downloading for {platform or 'this machine'} …", flush=True)
        requirements = args.requirements if platform is None else resolve_for(
            platform, args.requirements, args.dest / f"requirements-{platform}.txt", uv_executable(scratch))
        commands = [download_command(requirements, args.dest, platform)]
        commands += [download_command(path, args.dest, platform, no_deps=True) for path in args.no_deps_requirements]
        failed = 0
        for command in commands:
            failed = subprocess.run(command).returncode
            if failed:
                break
        if failed:
            print(f"wheelhouse: pip download failed for {platform or 'this machine'} (see above): a package may have no "
                  "wheel for that platform, or the package index is unreachable", file=sys.stderr)
            return failed
        if platform is None:
            for name in build_wheels_from_sources(args.dest):
                print(f"wheelhouse: built {name} from its source archive (no wheel published)")
    shutil.rmtree(scratch, ignore_errors=True)
    write_checksums(args.dest)
    wheels = list(args.dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 1e9
    print(f"wheelhouse: {len(wheels)} wheels, {size:.2f} GB in {args.dest}; install with: make lab OFFLINE={args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
