"""The kit's standard charts (matplotlib), each returning its ``Figure``."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labkit.errors import ParameterError
from labkit.model.predictions import Prediction


def _require_columns(frame: object, columns: Sequence[str], chart: str) -> None:
    """A DataFrame with every column in ``columns``, or a :class:`ParameterError` naming what it has."""
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{chart} takes a pandas DataFrame, got {type(frame).__name__}; e.g. pd.DataFrame(rows)")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{chart}: the table has no column(s) {missing}; it has {list(frame.columns)}. "
                             f"Rename them or pass the column names as arguments")


def latency_bars(frame: pd.DataFrame, label: str = "label", p50: str = "p50_ms", p90: str = "p90_ms",
                 title: str = "Latency (bar: median, whisker: p90)") -> Figure:
    """One bar per row at the median, with a whisker up to p90."""
    _require_columns(frame, [label, p50, p90], "latency_bars")
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(frame)), 3.5))
    positions = np.arange(len(frame))
    medians = frame[p50].to_numpy(dtype=float)
    upper = np.clip(frame[p90].to_numpy(dtype=float) - medians, 0, None)
    ax.bar(positions, medians, color="tab:blue", alpha=0.8)
    ax.errorbar(positions, medians, yerr=[np.zeros_like(upper), upper], fmt="none", ecolor="black", capsize=4)
    for x, y in zip(positions, medians, strict=True):
        ax.annotate(f"{y:.1f}", (x, y), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(positions, frame[label].astype(str), rotation=20, ha="right")
    ax.set_ylabel("latency per call (ms)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices of points not dominated when both coordinates are to be minimized."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ParameterError(f"pareto_front takes an N × 2 array of (x, y) points, got shape {points.shape}")
    order = np.lexsort((points[:, 1], points[:, 0]))
    front, best = [], np.inf
    for index in order:
        if points[index, 1] < best:
            front.append(index)
            best = points[index, 1]
    return np.asarray(front, dtype=int)


def size_latency_fidelity(frame: pd.DataFrame, label: str = "label", size: str = "size_mb",
                          latency: str = "p50_ms", fidelity: str = "top1_agreement") -> Figure:
    """Size vs latency, colour = fidelity, with the size–latency Pareto front drawn."""
    _require_columns(frame, [label, size, latency, fidelity], "size_latency_fidelity")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    points = frame[[size, latency]].to_numpy(dtype=float)
    scatter = ax.scatter(points[:, 0], points[:, 1], c=frame[fidelity].to_numpy(dtype=float), cmap="viridis", s=60)
    for (x, y), name in zip(points, frame[label].astype(str), strict=True):
        ax.annotate(name, (x, y), fontsize=8, xytext=(4, 4), textcoords="offset points")
    front = pareto_front(points)
    ax.plot(points[front, 0], points[front, 1], "--", color="grey", label="Pareto front")
    fig.colorbar(scatter, ax=ax, label=fidelity)
    ax.set_xlabel("model file size (MB)")
    ax.set_ylabel("median latency (ms)")
    ax.legend()
    fig.tight_layout()
    return fig


def predictions_grid(images: Sequence[np.ndarray], predictions: Sequence[Sequence[Prediction]],
                     titles: Sequence[str], correct: Sequence[bool | None] | None = None) -> Figure:
    """Each photo above a horizontal bar chart of its top-k probabilities."""
    count = len(images)
    lengths = {"images": count, "predictions": len(predictions), "titles": len(titles)}
    if correct is not None:
        lengths["correct"] = len(correct)
    if count == 0 or len(set(lengths.values())) != 1:
        raise ParameterError(f"predictions_grid needs one prediction list, title (and verdict) per image, "
                             f"at least one image; got {lengths}")
    fig, axes = plt.subplots(2, count, figsize=(3.2 * count, 5.6), gridspec_kw={"height_ratios": [3, 2]}, squeeze=False)
    for column, (image, preds, title) in enumerate(zip(images, predictions, titles, strict=True)):
        verdict = None if correct is None else correct[column]
        colour = {True: "tab:green", False: "tab:red", None: "tab:gray"}[verdict]
        axes[0, column].imshow(image)
        axes[0, column].set_title(title, color=colour, fontsize=10)
        axes[0, column].axis("off")
        bars = axes[1, column]
        names = [p.label[:18] for p in preds][::-1]
        bars.barh(names, [p.probability for p in preds][::-1], color=colour, alpha=0.8)
        bars.set_xlim(0, 1)
        bars.set_xlabel("probability")
        bars.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def preprocessing_steps(steps: dict[str, np.ndarray], titles: dict[str, str]) -> Figure:
    """The images of each preprocessing step side by side, titled with their sizes."""
    if not isinstance(steps, dict) or not steps:
        raise ParameterError("preprocessing_steps takes a non-empty dict {step name: image array}")
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.2))
    for ax, (name, image) in zip(np.atleast_1d(axes), steps.items(), strict=True):
        ax.imshow(image, cmap="coolwarm" if image.ndim == 2 else None)
        ax.set_title(titles.get(name, name), fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def latency_distribution(latencies: Sequence, title: str = "Per-call latency") -> Figure:
    """Histogram of every timed call of each :class:`labkit.measure.bench.Latency`, with its median and p90 marked."""
    from labkit.measure.bench import Latency

    latencies = list(latencies) if not isinstance(latencies, Latency) else [latencies]
    if not latencies or not all(isinstance(lat, Latency) and lat.times_ms for lat in latencies):
        raise ParameterError("latency_distribution takes a list of Latency results with timed calls, "
                             "e.g. [bench.measure_latency(model, x)]")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    everything = np.concatenate([np.asarray(lat.times_ms) for lat in latencies])
    bins = np.geomspace(max(everything.min() * 0.9, 1e-3), everything.max() * 1.1, 60)
    for lat, colour in zip(latencies, plt.cm.tab10.colors, strict=False):
        ax.hist(lat.times_ms, bins=bins, alpha=0.55, color=colour,
                label=f"{lat.label}, {lat.threads} thr: p50 {lat.p50_ms:.2f}, p90 {lat.p90_ms:.2f} ms ({lat.runs} calls)")
        ax.axvline(lat.p50_ms, color=colour, linestyle="-")
        ax.axvline(lat.p90_ms, color=colour, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("latency per call (ms, log scale); solid line p50, dotted p90")
    ax.set_ylabel("calls")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figure_html(fig: Figure) -> str:
    """The figure as an inline ``<img>`` (PNG, base64) for self-contained HTML reports; closes it."""
    if not isinstance(fig, Figure):
        raise ParameterError(f"figure_html takes a matplotlib Figure (e.g. fig, ax = plt.subplots()), got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"/>'


def speedup_bars(table: pd.DataFrame, variants: Sequence[str], group: str = "participant",
                 title: str = "Speed-up over eager fp32") -> Figure:
    """Grouped bars: for each variant, one bar per row of ``table`` (e.g. per machine), in ×."""
    if isinstance(variants, str):
        raise ParameterError(f"variants must be a list of column names, got the string {variants!r}; write [{variants!r}]")
    _require_columns(table, [group, *variants], "speedup_bars")
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(variants) * max(1, len(table))), 3.8))
    width = 0.8 / max(1, len(table))
    positions = np.arange(len(variants))
    for i, (_, row) in enumerate(table.iterrows()):
        ax.bar(positions + i * width, [row[v] for v in variants], width, label=str(row[group]))
    ax.set_xticks(positions + width * (len(table) - 1) / 2, variants, rotation=20, ha="right")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_ylabel("speed-up over eager fp32 (×)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
