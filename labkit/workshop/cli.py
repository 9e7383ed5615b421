"""The ``labkit`` command: ``doctor``, ``env``, ``results``, ``progress``, ``solution``, ``classify``, ``sweep``,
``report``, ``run-labs``, ``course``, ``share``, ``collect``, ``export-android``.

A :class:`~labkit.errors.LabkitError` is a user error: one line naming the next step, exit code 2. Any other
exception is a bug and keeps its traceback."""

from __future__ import annotations

import argparse
import sys

from labkit.errors import LabkitError


def _doctor(args: argparse.Namespace) -> int:
    from labkit.workshop.doctor import report, run_checks

    checks = run_checks()
    print(report(checks))
    return 0 if all(c.ok for c in checks) else 1


def _env(args: argparse.Namespace) -> int:
    from labkit.measure.env import environment

    for key, value in environment().items():
        print(f"{key}: {value}")
    return 0


def _results(args: argparse.Namespace) -> int:
    import pandas as pd

    from labkit.report.results import ResultsStore

    store = ResultsStore(args.dir)
    frame = store.latest_run(args.lab) if args.lab else store.load()
    if frame.empty:
        print(f"no results in {store.path}" + (f" for lab {args.lab}" if args.lab else ""))
        return 0
    columns = [c for c in frame.columns if not c.startswith(("env.", "config."))]
    with pd.option_context("display.max_columns", 30, "display.width", 200):
        print(frame[columns].to_string(index=False))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from labkit.errors import WeightsUnavailableError
    from labkit.model.models import load_model
    from labkit.model.predictions import classify

    try:
        model = load_model(args.model, pretrained=not args.untrained)
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError(f"{exc} (on the command line: labkit classify --untrained …)") from exc
    for image in args.images:
        predictions = classify(model, image, k=args.k)
        print(f"{image} ({model.label}):")
        for p in predictions:
            print(f"  {p.probability:6.1%}  {p.label} ({p.class_id})")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from labkit.workshop.sweep import load_grid, run_sweep, write_report

    spec = load_grid(args.grid, notebook=args.notebook)
    if args.name:
        spec = type(spec)(args.name, spec.notebook, spec.fixed, spec.grid)
    out = args.out or None
    outcomes = run_sweep(spec, out, jobs=args.jobs, kernel=args.kernel, retry_failed=not args.skip_failed)
    for outcome in outcomes:
        line = f"{outcome.status:>11}  {outcome.combination}"
        if outcome.status == "ok":
            line += f"  ({outcome.seconds:.0f} s)"
        elif outcome.error:
            line += "  " + outcome.error.splitlines()[-1][:150]
        print(line)
    from labkit.paths import results_dir

    report = write_report(out or results_dir() / spec.name, title=f"sweep {spec.name}: {spec.notebook.name}")
    failed = sum(o.status == "failed" for o in outcomes)
    ran = sum(o.status in ("ok", "failed") for o in outcomes)
    print(f"{len(outcomes)} combination(s): {ran} run now, {failed} failed; report: {report}")
    return 1 if failed else 0


def _report(args: argparse.Namespace) -> int:
    from labkit.workshop.sweep import write_report

    print(write_report(args.folder))
    return 0


def _run_labs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labkit.workshop.runlabs import run_labs
    from labkit.workshop.sweep import read_results

    report = run_labs(Path(args.notebooks), args.out, smoke=args.smoke, only=args.only, kernel=args.kernel)
    status, _ = read_results(report.parent)
    print(status[["combination", "status", "seconds"]].to_string(index=False))
    print(f"report: {report}")
    return 0 if (status["status"] == "ok").all() else 1


def _progress(args: argparse.Namespace) -> int:
    import pandas as pd

    from labkit.workshop.progress import progress

    state = progress(args.dir)
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(state.labs.to_string(index=False))
        print()
        print(state.exercises.drop(columns=["asks"]).to_string(index=False))
    print(f"\n{state.summary}")
    return 0


def _solution(args: argparse.Namespace) -> int:
    from labkit.exercises.catalog import solution

    shown = solution(args.exercise)
    print(f"# worked solution of exercise {shown.exercise} (notebooks/solutions/{shown.notebook.name})\n{shown.code}")
    return 0


def _course(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labkit.workshop.course import (
        course_map_markdown,
        load_course,
        load_durations,
        record_durations,
        stale_files,
        write_generated,
    )

    for folder, mode in ((args.record_full, "full"), (args.record_smoke, "smoke")):
        if folder:
            record_durations(Path(folder), mode)
    if args.write:
        changed = write_generated()
        print("\n".join(f"updated {p}" for p in changed) or "the course map was up to date")
        return 0
    if args.check:
        stale = stale_files()
        print("\n".join(f"stale: {p} (run `make course`)" for p in stale) or "the course map is up to date")
        return 1 if stale else 0
    labs, _ = load_course()
    print(course_map_markdown(labs, load_durations()))
    return 0


def _share(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labkit.paths import results_dir
    from labkit.workshop.collect import share

    path = share(args.name, Path(args.dir) if args.dir else results_dir(), Path(args.out) if args.out else None)
    print(f"{path}: hand this file to the workshop host")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from labkit.workshop.collect import collect

    print(f"report: {collect(args.sources, args.out, model=args.model)}")
    return 0


def _export_android(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labkit.deploy.android_export import ASSETS_DIR, GOLDEN_DIR, export_android

    done = export_android(Path(args.assets) if args.assets else ASSETS_DIR, Path(args.golden) if args.golden else GOLDEN_DIR,
                          precisions=args.precisions)
    for entry in done.manifest["models"]:
        print(f"{done.assets / entry['file']}: {entry['bytes'] / 1e6:.1f} MB ({entry['precision']})")
    print(f"labels, preprocess.json, manifest.json and {len(done.manifest['samples'])} sample photos in {done.assets}")
    print("training screen: " + ("lab 07's programs included" if "training" in done.manifest
                                 else "not included (run lab 07 first, then export again)"))
    print(f"golden files for the app's unit tests: {done.golden}")
    print("next: open android_demo/ in Android Studio and press Run (android_demo/README.md)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="labkit", description="Edge Lab Kit helper commands")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check the environment and print fixes").set_defaults(func=_doctor)
    commands.add_parser("env", help="print versions, CPU and threads").set_defaults(func=_env)
    results = commands.add_parser("results", help="show the results store")
    results.add_argument("--lab", help="only the latest run of this lab (e.g. 00_baseline)")
    results.add_argument("--dir", help="results folder (default: results/ or $LABKIT_RESULTS_DIR)")
    results.set_defaults(func=_results)
    prog = commands.add_parser("progress", help="which labs you ran and which exercises passed")
    prog.add_argument("--dir", help="results folder (default: results/ or $LABKIT_RESULTS_DIR)")
    prog.set_defaults(func=_progress)
    sol = commands.add_parser("solution", help="show the worked solution of one exercise (try it first!)")
    sol.add_argument("exercise", help="e.g. 02.1")
    sol.set_defaults(func=_solution)
    classify = commands.add_parser("classify", help="top-k classes of image files")
    classify.add_argument("images", nargs="+")
    classify.add_argument("--model", default="efficientnet_lite0")
    classify.add_argument("--untrained", action="store_true", help="random weights (for testing only)")
    classify.add_argument("-k", type=int, default=5)
    classify.set_defaults(func=_classify)
    sweep = commands.add_parser("sweep", help="run a notebook once per grid combination (papermill), then report")
    sweep.add_argument("notebook", nargs="?", help="the notebook (default: the grid file's `notebook`)")
    sweep.add_argument("--grid", required=True, help="YAML: name, notebook, parameters (fixed), grid (name: [values])")
    sweep.add_argument("--name", help="sweep name (default: the grid's name); results go to results/<name>/")
    sweep.add_argument("--out", help="sweep folder (default: results/<name>/)")
    sweep.add_argument("--jobs", type=int, default=1, help="parallel runs (only for sweeps that do not time things)")
    sweep.add_argument("--kernel", default="python3")
    sweep.add_argument("--skip-failed", action="store_true", help="do not retry combinations that failed before")
    sweep.set_defaults(func=_sweep)
    report = commands.add_parser("report", help="(re)build report.html and rows.csv of a sweep folder")
    report.add_argument("folder")
    report.set_defaults(func=_report)
    labs = commands.add_parser("run-labs", help="run every lab once and build the kit-wide report")
    labs.add_argument("--notebooks", default="notebooks")
    labs.add_argument("--out", help="default: results/kit/ (results/kit-smoke/ with --smoke)")
    labs.add_argument("--smoke", action="store_true")
    labs.add_argument("--only", nargs="*", default=(), help="lab prefixes, e.g. 00 04")
    labs.add_argument("--kernel", default="python3")
    labs.set_defaults(func=_run_labs)
    course = commands.add_parser("course", help="print the course map; --write regenerates it everywhere")
    course.add_argument("--record-full", metavar="DIR", help="record the run times of a full `make run` (results/kit)")
    course.add_argument("--record-smoke", metavar="DIR", help="record the run times of `make run SMOKE=1` (results/kit-smoke)")
    course.add_argument("--write", action="store_true",
                        help="regenerate README.md, notebooks/README.md, docs/instructor.md, lab time lines")
    course.add_argument("--check", action="store_true", help="exit 1 if a generated text is stale")
    course.set_defaults(func=_course)
    share_cmd = commands.add_parser("share", help="zip your results for the workshop host")
    share_cmd.add_argument("--name", required=True, help="your name or seat number, shown in the host's report")
    share_cmd.add_argument("--dir", help="results folder (default: results/)")
    share_cmd.add_argument("--out", help="zip path (default: results/share-NAME.zip)")
    share_cmd.set_defaults(func=_share)
    coll = commands.add_parser("collect", help="merge several machines' results into one comparison report")
    coll.add_argument("sources", nargs="+", help="results folders or zips from `labkit share`")
    coll.add_argument("--out", default="results/workshop", help="report folder (default: results/workshop)")
    coll.add_argument("--model", default="efficientnet_lite0", help="model whose speed-ups to compare")
    coll.set_defaults(func=_collect)
    android = commands.add_parser("export-android", help="write android_demo's assets (.pte fp32/int8, labels, "
                                                         "preprocess.json, manifest) and golden files")
    android.add_argument("--assets", help="default: android_demo/app/src/main/assets")
    android.add_argument("--golden", help="default: android_demo/app/src/test/resources/golden")
    android.add_argument("--precisions", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    android.set_defaults(func=_export_android)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LabkitError as exc:  # a user error with its next step; anything else is a bug: keep its traceback
        print(f"labkit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
