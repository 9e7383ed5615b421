"""Workshop results: each participant shares their ``results/``, the host merges them into one report.

``labkit share`` packs a learner's result store and exercise log into one zip (with the name they
choose); ``labkit collect`` takes folders or zips from several machines and writes the comparison —
who ran what, on which CPU, and which speed-ups each machine measured. Nothing goes over a network:
participants hand the zip over however the room does (shared folder, USB stick, chat upload).
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError
from labkit.exercises.core import current_id
from labkit.report.results import PROGRESS_NAME, STORE_NAME, parse_jsonl
from labkit.workshop.course import lab_ids, load_course

PARTICIPANT_NAME = "participant.json"
LATENCY_KEYS = ["model", "runtime", "precision", "threads"]


class CollectError(LabkitError):
    """A shared result folder or zip that cannot be read."""


@dataclass(frozen=True)
class Participant:
    """One machine's results: its name, its rows and its exercise log."""

    name: str
    source: Path
    rows: pd.DataFrame
    progress: list[dict[str, object]]


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-.")
    if not slug:
        raise CollectError(f"{name!r} cannot name a participant: use letters, digits, '-' or '_'")
    return slug


def share(name: str, results: Path, out: Path | None = None) -> Path:
    """Zip ``results/results.jsonl`` and ``progress.jsonl`` with the participant's name; returns the zip."""
    slug = _slug(name)
    store = results / STORE_NAME
    if not store.is_file():
        raise CollectError(f"no {STORE_NAME} in {results}: run at least one lab first (make run, or open a lab and run all)")
    out = out or results / f"share-{slug}.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(PARTICIPANT_NAME, json.dumps({"name": name}))
        archive.write(store, STORE_NAME)
        if (results / PROGRESS_NAME).is_file():
            archive.write(results / PROGRESS_NAME, PROGRESS_NAME)
    return out


def load_participant(source: str | Path) -> Participant:
    """Read one shared folder (a copy of someone's ``results/``) or a zip made by :func:`share`."""
    source = Path(source)
    if source.is_dir():
        files = {name: (source / name).read_text(encoding="utf-8") for name in (STORE_NAME, PROGRESS_NAME, PARTICIPANT_NAME)
                 if (source / name).is_file()}
    elif source.is_file():
        try:
            with zipfile.ZipFile(source) as archive:
                files = {name: archive.read(name).decode("utf-8") for name in (STORE_NAME, PROGRESS_NAME, PARTICIPANT_NAME)
                         if name in archive.namelist()}
        except zipfile.BadZipFile as exc:
            raise CollectError(f"{source} is not a zip made by `labkit share` ({exc}); ask for it again") from None
    else:
        raise CollectError(f"{source} does not exist: name a share zip (labkit share) or a results folder, e.g. results/")
    if STORE_NAME not in files:
        raise CollectError(f"{source} has no {STORE_NAME}: pass a participant's results/ folder or their share zip")
    default = source.stem.removeprefix("share-") if source.is_file() else source.name
    name = json.loads(files[PARTICIPANT_NAME]).get("name", default) if PARTICIPANT_NAME in files else default
    records = parse_jsonl(files[STORE_NAME], f"{source}/{STORE_NAME}")
    rows = pd.json_normalize(records) if records else pd.DataFrame(columns=["lab", "run_id", "timestamp"])
    return Participant(str(name), source, rows, parse_jsonl(files.get(PROGRESS_NAME, ""), f"{source}/{PROGRESS_NAME}"))


def recorded(frame: pd.DataFrame, column: str) -> object:
    """What ``column`` says across a participant's rows: its one value, ``"A → B"`` when the rows recorded
    several (in the order first seen: e.g. torch upgraded between runs, or results merged from two machines),
    ``"?"`` when no row has it."""
    values = pd.unique(frame[column].dropna()) if column in frame else []
    if len(values) == 0:
        return "?"
    return values[0] if len(values) == 1 else " → ".join(str(v) for v in values)


def machines(participants: Sequence[Participant]) -> pd.DataFrame:
    """Who ran what on which machine: one row per participant (every environment their rows recorded)."""
    rows, ids = [], lab_ids(load_course()[0])
    for p in participants:
        frame = p.rows
        passed = sorted({str(current_id(e)) for e in p.progress if e.get("passed") is True})
        env = {key: recorded(frame, f"env.{key}") for key in ("cpu", "cores", "platform", "torch", "executorch")}
        rows.append({"participant": p.name, **env,
                     "labs run": ", ".join(sorted({ids.get(str(lab), str(lab)[:2]) for lab in frame.get("lab", [])})) or "none",
                     "rows": len(frame), "exercises passed": len(passed)})
    return pd.DataFrame(rows)


def latencies(participants: Sequence[Participant]) -> pd.DataFrame:
    """Median latency per participant, model, runtime, precision and threads over every lab that measured it
    (each lab's latest run only; ``labs`` names them), with the speed-up over eager fp32 (lab 00's baseline)."""
    frames, ids = [], lab_ids(load_course()[0])
    for p in participants:
        frame = p.rows
        if not set(LATENCY_KEYS + ["p50_ms", "lab", "run_id"]) <= set(frame.columns):
            continue
        latest = frame.groupby("lab")["run_id"].transform("last")
        frame = frame[(frame["run_id"] == latest) & frame["p50_ms"].notna()].dropna(subset=LATENCY_KEYS)
        if frame.empty:
            continue
        frame = frame[frame["threads"].map(lambda t: isinstance(t, (int, float)) and t == t)]  # one count, not a list
        frame = frame.assign(threads=frame["threads"].astype(int))
        medians = frame.groupby(LATENCY_KEYS, as_index=False).agg(
            p50_ms=("p50_ms", "median"), labs=("lab", lambda labs: ", ".join(sorted({ids.get(str(lab), str(lab)[:2])
                                                                        for lab in labs}))))
        medians.insert(0, "participant", p.name)
        frames.append(medians)
    if not frames:
        return pd.DataFrame(columns=["participant", *LATENCY_KEYS, "p50_ms", "labs", "speedup_vs_eager"])
    table = pd.concat(frames, ignore_index=True)
    eager = table[(table["runtime"] == "eager") & (table["precision"] == "fp32")]
    base = eager.set_index(["participant", "model", "threads"])["p50_ms"]
    keys = list(zip(table["participant"], table["model"], table["threads"], strict=True))
    table["speedup_vs_eager"] = [base.get(k) / ms if k in base.index else None
                                 for k, ms in zip(keys, table["p50_ms"], strict=True)]
    return table


def speedup_table(latency: pd.DataFrame, model: str = "efficientnet_lite0") -> pd.DataFrame:
    """Participants × variants: speed-up over eager fp32 at each participant's highest thread count."""
    frame = latency[(latency["model"] == model) & latency["speedup_vs_eager"].notna()]
    if frame.empty:
        return pd.DataFrame()
    top = frame.groupby("participant")["threads"].transform("max")
    frame = frame[frame["threads"] == top]
    frame = frame.assign(variant=frame["runtime"] + " " + frame["precision"])
    table = frame.pivot_table(index=["participant", "threads"], columns="variant", values="speedup_vs_eager")
    return table.round(2).reset_index()


def _figure(latency: pd.DataFrame, model: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from labkit.report.plots import figure_html, speedup_bars

    table = speedup_table(latency, model)
    variants = [c for c in table.columns if c not in ("participant", "threads", "eager fp32")]
    if table.empty or not variants:
        return "<p>No machine has eager fp32 and another runtime measured for this model yet (lab 08 measures both).</p>"
    labelled = table.assign(participant=table["participant"] + " (" + table["threads"].astype(str) + " threads)")
    return figure_html(speedup_bars(labelled, variants, title=f"{model}: the speed-up each machine measured"))


def collect(sources: Sequence[str | Path], out: str | Path, model: str = "efficientnet_lite0") -> Path:
    """Merge several participants' results into ``out/`` (report.html, machines.csv, latency.csv, rows.csv)."""
    if not sources:
        raise CollectError("name at least one results folder or share zip")
    participants = [load_participant(s) for s in sources]
    names = [p.name for p in participants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CollectError(f"two sources share the participant name(s) {duplicates}: rename a folder or re-share with --name")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    who = machines(participants)
    latency = latencies(participants)
    speedups = speedup_table(latency, model)
    rows = pd.concat([p.rows.assign(participant=p.name) for p in participants], ignore_index=True)
    who.to_csv(out / "machines.csv", index=False)
    latency.to_csv(out / "latency.csv", index=False)
    rows.to_csv(out / "rows.csv", index=False)
    parts = [f"<h1>Workshop results: {len(participants)} machine(s)</h1>",
             "<h2>Who ran what, where</h2>", who.to_html(index=False),
             f"<h2>Speed-ups over eager fp32 ({html.escape(model)}, each machine at its highest thread count)</h2>",
             _figure(latency, model), speedups.to_html(index=False) if not speedups.empty else "",
             "<h2>Median latency per machine (ms)</h2>", latency.round(3).to_html(index=False)]
    report = out / "report.html"
    report.write_text("<!doctype html><meta charset='utf-8'><title>Workshop results</title>"
                      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                      "td,th{border:1px solid #ccc;padding:2px 6px}</style>" + "\n".join(parts), encoding="utf-8")
    return report
