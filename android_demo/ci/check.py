"""Verify android_demo/ without Gradle: resources, a Java 8 compile against API 29, and the JUnit golden tests.

Usage: ``python3 android_demo/ci/check.py --golden DIR [--cache DIR] [--work DIR]``

1. ``aapt2 compile`` + ``aapt2 link -I framework-res.apk`` validate the manifest and resources and
   generate ``R.java`` (Debian's aapt2 and android-framework-res);
2. ``javac --release 8 -Xlint:all -Werror`` compiles the app's Java against the API-29 stubs
   (``android_api.py``, from AOSP's api/current.txt) and our signature-only ExecuTorch stub
   (``executorch-stub/``, same version as the pip package);
3. the plain-Java unit tests run under JUnit 4 with ``-Dgolden.dir=DIR`` (files from
   ``labkit export-android``), and a ``N passed, N failed`` line is printed.

Exit status: 0 all good, 1 a check failed, 3 the tools are missing or the API source cannot be fetched
(the message says what to install or reach).
What this cannot do: build an APK (no dexer, no Gradle, no Google Maven here) or run on a device.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "app"
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
JUNIT = [Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar")]
PACKAGE = "org.edgelabkit.demo"
INSTALL = ("apt-get install -y --no-install-recommends aapt android-framework-res junit4 default-jdk-headless "
           "(make android-tools does it when run as root)")


def missing_tools() -> list[str]:
    """The tools this check needs that are not installed."""
    missing = [tool for tool in ("aapt2", "javac", "java") if shutil.which(tool) is None]
    missing += [str(p) for p in (FRAMEWORK_RES, *JUNIT) if not p.is_file()]
    return missing


def run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a step; on failure print its output and stop with exit status 1."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        print(f"FAILED: {what}\n{done.stdout}{done.stderr}", file=sys.stderr)
        raise SystemExit(1)
    return done


def java_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*.java"))


def resources(work: Path) -> Path:
    """aapt2 compile + link (the manifest gets the package attribute Gradle's namespace supplies); returns gen/."""
    manifest = (APP / "src/main/AndroidManifest.xml").read_text(encoding="utf-8")
    manifest = manifest.replace('<manifest xmlns:android="http://schemas.android.com/apk/res/android"',
                                f'<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="{PACKAGE}"', 1)
    (work / "AndroidManifest.xml").write_text(manifest, encoding="utf-8")
    run(["aapt2", "compile", "--dir", str(APP / "src/main/res"), "-o", str(work / "res.zip")], "aapt2 compile (resources)")
    gen = work / "gen"
    gen.mkdir()
    run(["aapt2", "link", "-I", str(FRAMEWORK_RES), "--manifest", str(work / "AndroidManifest.xml"), "--java", str(gen),
         "--min-sdk-version", "24", "--target-sdk-version", "29", "-o", str(work / "resources.apk"), str(work / "res.zip")],
        "aapt2 link (manifest, resources → R.java)")
    return gen


def compile_app(work: Path, android_jar: Path, gen: Path) -> Path:
    """The ExecuTorch stub, then the app's sources (-Xlint:all -Werror), into work/classes."""
    stub = work / "executorch-stub"
    run(["javac", "--release", "8", "-Xlint:all", "-Werror", "-d", str(stub),
         *java_files(HERE / "executorch-stub")], "javac executorch-stub")
    classes = work / "classes"
    run(["javac", "--release", "8", "-Xlint:all", "-Werror", "-encoding", "UTF-8", "-cp", f"{android_jar}:{stub}",
         "-d", str(classes), *java_files(APP / "src/main/java"), *java_files(gen)],
        "javac --release 8 -Xlint:all -Werror of the app against API 29 + the ExecuTorch stub")
    return classes


def unit_tests(work: Path, golden: Path) -> tuple[int, int, str]:
    """Compile the plain-Java classes and their tests (no Android on the classpath) and run JUnit 4."""
    core = work / "core"
    run(["javac", "--release", "8", "-Xlint:all", "-Werror", "-encoding", "UTF-8", "-d", str(core),
         *java_files(APP / "src/main/java/org/edgelabkit/demo/core")],
        "javac of the plain-Java classes without Android (they must not need it)")
    tests = work / "tests"
    classpath = ":".join([str(core), *map(str, JUNIT)])
    sources = java_files(APP / "src/test/java")
    run(["javac", "--release", "8", "-Xlint:all", "-Werror", "-encoding", "UTF-8", "-cp", classpath, "-d", str(tests),
         *sources], "javac of the unit tests")
    names = [re.sub(r"\.java$", "", str(Path(s).relative_to(APP / "src/test/java"))).replace("/", ".")
             for s in sources if Path(s).name.endswith("Test.java")]
    done = subprocess.run(["java", f"-Dgolden.dir={golden}", "-cp", f"{classpath}:{tests}", "org.junit.runner.JUnitCore",
                           *names], capture_output=True, text=True)
    out = done.stdout + done.stderr
    ok = re.search(r"^OK \((\d+) tests?\)", out, re.M)
    if ok:
        return int(ok.group(1)), 0, out
    counts = re.search(r"Tests run: (\d+),\s+Failures: (\d+)", out)
    if not counts:
        return 0, 1, out
    run_count, failures = int(counts.group(1)), int(counts.group(2))
    return run_count - failures, failures, out


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=Path, required=True, help="golden files from labkit export-android")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "edge-lab-kit" / "android",
                        help="where the API-29 stub jar is kept between runs")
    parser.add_argument("--work", type=Path, help="keep the build here (default: a temporary folder)")
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"SKIPPED: the Android checks need {', '.join(missing)}: {INSTALL}")
        return 3
    if not (args.golden / "golden.json").is_file():
        print(f"FAILED: no golden files in {args.golden}: run `labkit export-android --golden {args.golden}` first")
        return 1
    started = time.perf_counter()
    made = subprocess.run([sys.executable, str(HERE / "android_api.py"), "--cache", str(args.cache)],
                          capture_output=True, text=True)
    if made.returncode == 2:  # no apt / no package source reachable / no JDK: say how, do not fail
        print(f"SKIPPED: the API-29 stubs cannot be built here: {(made.stdout + made.stderr).strip().splitlines()[-1]}")
        return 3
    if made.returncode != 0:
        print(f"FAILED: the API-29 stub jar\n{made.stdout}{made.stderr}", file=sys.stderr)
        return 1
    android_jar = Path(made.stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory(prefix="android-check-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        gen = resources(work)
        print(f"resources: aapt2 compile + link against framework-res.apk OK ({len(list(gen.rglob('R.java')))} R.java)")
        classes = compile_app(work, android_jar, gen)
        print(f"compile: {len(list(classes.rglob('*.class')))} classes, javac --release 8 -Xlint:all -Werror, API 29 + "
              f"executorch-android {(HERE / 'executorch-stub' / 'VERSION').read_text().strip()} stub: OK")
        passed, failed, output = unit_tests(work, args.golden.resolve())
    print(f"Java unit tests: {passed} passed, {failed} failed ({time.perf_counter() - started:.1f} s in all)")
    if failed:
        print(output[-4000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
