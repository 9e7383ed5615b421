"""The ``labkit`` command: ``doctor``, ``env``, ``results``, ``classify``."""

from __future__ import annotations

import argparse
import sys

from labkit.errors import LabkitError


def _doctor(args: argparse.Namespace) -> int:
    from labkit.doctor import report, run_checks

    checks = run_checks()
    print(report(checks))
    return 0 if all(c.ok for c in checks) else 1


def _env(args: argparse.Namespace) -> int:
    from labkit.env import environment

    for key, value in environment().items():
        print(f"{key}: {value}")
    return 0


def _results(args: argparse.Namespace) -> int:
    import pandas as pd

    from labkit.results import ResultsStore

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
    from labkit.models import load_model
    from labkit.predictions import classify

    model = load_model(args.model, pretrained=not args.untrained)
    for image in args.images:
        predictions = classify(model, image, k=args.k)
        print(f"{image} ({model.label}):")
        for p in predictions:
            print(f"  {p.probability:6.1%}  {p.label} ({p.class_id})")
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
    classify = commands.add_parser("classify", help="top-k classes of image files")
    classify.add_argument("images", nargs="+")
    classify.add_argument("--model", default="efficientnet_lite0")
    classify.add_argument("--untrained", action="store_true", help="random weights (for testing only)")
    classify.add_argument("-k", type=int, default=5)
    classify.set_defaults(func=_classify)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (LabkitError, KeyError) as exc:
        print(f"labkit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
