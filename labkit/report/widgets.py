"""Interactive explorers (ipywidgets). Each has a static twin so headless runs show the default state."""

from __future__ import annotations

import html
import io

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from labkit.errors import ImageInputError, ParameterError
from labkit.measure.bench import Latency
from labkit.model.data import load_rgb, load_samples
from labkit.model.models import LoadedModel
from labkit.model.predictions import top_k
from labkit.model.preprocessing import preprocess_steps


def preprocessing_figure(image: np.ndarray, model: LoadedModel, k: int = 5) -> Figure:
    """Original → resized → cropped → normalized (channel R) → top-``k``, for one RGB image."""
    if not isinstance(model, LoadedModel):
        raise ParameterError(f"model must be a LoadedModel (labkit.model.models.load_model(name)), got {type(model).__name__}")
    spec = model.spec.preprocess
    steps = preprocess_steps(image, spec)
    with torch.no_grad():
        predictions = top_k(model.module(steps["normalized"][None].contiguous()), k)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), gridspec_kw={"width_ratios": [1, 1, 1, 1.15, 1.3]})
    pictures = {
        "original": steps["original"], "resized": steps["resized"], "cropped": steps["cropped"],
    }
    for ax, (name, chw) in zip(axes[:3], pictures.items(), strict=True):
        ax.imshow(chw.permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy())
        ax.set_title(f"{name}: {chw.shape[1]}×{chw.shape[2]}", fontsize=9)
        ax.axis("off")
    red = steps["normalized"][0].numpy()
    shown = axes[3].imshow(red, cmap="coolwarm", vmin=-1, vmax=1)
    axes[3].set_title(f"normalized R channel\n(x/255 − {spec.mean[0]}) / {spec.std[0]}", fontsize=9)
    axes[3].axis("off")
    fig.colorbar(shown, ax=axes[3], fraction=0.046)
    axes[4].barh([p.label[:20] for p in predictions][::-1], [p.probability for p in predictions][::-1])
    axes[4].set_xlim(0, 1)
    axes[4].set_xlabel("probability")
    axes[4].set_title(f"top-{k} ({model.label})", fontsize=9)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def preprocessing_explorer(model: LoadedModel):
    """Pick a bundled photo or upload one; see each preprocessing step and the top-5.

    The picture is a PNG in an ``ipywidgets.Image`` rather than an ``Output`` widget: headless
    executors (papermill, nbval) intermittently hang on Output widgets that redraw.
    """
    import ipywidgets as widgets

    if not isinstance(model, LoadedModel):
        raise ParameterError(f"model must be a LoadedModel (labkit.model.models.load_model(name)), got {type(model).__name__}")
    samples = {s.name: s for s in load_samples()}
    picker = widgets.Dropdown(options=list(samples), description="photo")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="upload")
    picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
    status = widgets.HTML()

    def show(image: np.ndarray, name: str) -> None:
        picture.value = figure_png(preprocessing_figure(image, model))
        status.value = f"<b>{html.escape(name)}</b>: {image.shape[0]}×{image.shape[1]} pixels"

    def on_pick(change: dict) -> None:
        show(samples[change["new"]].image(), change["new"])

    def on_upload(change: dict) -> None:
        files = change["new"]
        if not files:
            return
        entry = files[0]
        name = entry.get("name", "upload")
        try:
            show(load_rgb(Image.open(io.BytesIO(bytes(entry["content"])))), name)
        except (ImageInputError, OSError) as exc:
            status.value = f"<span style='color:red'>could not use {html.escape(name)}: {html.escape(str(exc))}</span>"

    picker.observe(on_pick, names="value")
    upload.observe(on_upload, names="value")
    show(samples[picker.value].image(), picker.value)
    return widgets.VBox([widgets.HBox([picker, upload]), status, picture])


def quantization_figure(weights: torch.Tensor, name: str, bits: int = 8, symmetric: bool = True,
                        per_channel: bool = False) -> Figure:
    """Channel ranges, value histogram before/after fake quantization, and the error histogram of one tensor."""
    from labkit.deploy import quant

    if not isinstance(weights, torch.Tensor) or weights.dim() < 1 or weights.numel() == 0:
        got = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ParameterError(f"weights must be a non-empty weight tensor (e.g. conv.weight), got {got}")
    params = quant.qparams(weights, bits=bits, symmetric=symmetric, per_channel=per_channel)
    approx = quant.fake_quantize(weights.detach(), params)
    error = (weights.detach() - approx).flatten().numpy()
    flat = weights.detach().reshape(weights.shape[0], -1)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.4))
    channels = np.arange(flat.shape[0])
    axes[0].fill_between(channels, flat.min(1).values.numpy(), flat.max(1).values.numpy(), step="mid", alpha=0.6)
    axes[0].set_xlabel("output channel")
    axes[0].set_title(f"{name}: range of each channel", fontsize=9)
    values = weights.detach().flatten().numpy()
    bins = np.linspace(values.min(), values.max(), 120)
    axes[1].hist(values, bins=bins, alpha=0.5, label="float")
    axes[1].hist(approx.flatten().numpy(), bins=bins, histtype="step", color="black", label=f"int{bits}, dequantized")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=8)
    axes[1].set_title("values (log count)", fontsize=9)
    axes[2].hist(error, bins=80, color="tab:red")
    scheme = f"{'symmetric' if symmetric else 'asymmetric'}, {'per channel' if per_channel else 'per tensor'}"
    axes[2].set_title(f"error x − dequant(quant(x)): SQNR {quant.sqnr_db(weights.detach(), approx):.1f} dB\n"
                      f"({bits} bits, {scheme})", fontsize=9)
    fig.tight_layout()
    return fig


def quantization_explorer(tensors: dict[str, torch.Tensor]):
    """Pick a weight tensor, bit width, symmetric or not, per channel or not; see the error it makes."""
    import ipywidgets as widgets

    if not isinstance(tensors, dict) or not tensors:
        raise ParameterError("pass a dict of at least one named weight tensor, e.g. {'stem.1.weight': conv.weight}")
    bad = [name for name, t in tensors.items() if not isinstance(t, torch.Tensor) or t.dim() < 1 or t.numel() == 0]
    if bad:
        raise ParameterError(f"{bad} are not non-empty weight tensors; pass e.g. {{'stem.1.weight': conv.weight}}")
    layer = widgets.Dropdown(options=list(tensors), description="tensor")
    bits = widgets.IntSlider(value=8, min=2, max=8, description="bits")
    symmetric = widgets.Checkbox(value=True, description="symmetric")
    per_channel = widgets.Checkbox(value=False, description="per channel")
    picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))

    def redraw(_change: object = None) -> None:
        picture.value = figure_png(quantization_figure(tensors[layer.value], layer.value, bits.value,
                                                       symmetric.value, per_channel.value))

    for control in (layer, bits, symmetric, per_channel):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([layer, bits, symmetric, per_channel]), picture])


def latency_explorer(latencies: dict[tuple[str, str, int], Latency]):
    """Pick runtime × precision × threads (and optionally a second one to compare); see the call-time distribution.

    ``latencies`` maps ``(runtime, precision, threads)`` to a :class:`labkit.measure.bench.Latency`.
    """
    import ipywidgets as widgets

    from labkit.report.plots import latency_distribution

    if not isinstance(latencies, dict) or not latencies:
        raise ParameterError("no latencies to explore: measure some first and pass "
                             "{(runtime, precision, threads): bench.measure_latency(...)}")
    bad = [k for k, v in latencies.items() if not (isinstance(k, tuple) and len(k) == 3) or not isinstance(v, Latency)]
    if bad:
        raise ParameterError(f"latencies must map (runtime, precision, threads) tuples to Latency results; "
                             f"these entries do not: {bad[:3]}")
    keys = list(latencies)
    runtime = widgets.Dropdown(options=sorted({k[0] for k in keys}), description="runtime")
    precision = widgets.Dropdown(options=sorted({k[1] for k in keys}), description="precision")
    threads = widgets.Dropdown(options=sorted({k[2] for k in keys}), description="threads")
    compare = widgets.Dropdown(options=["(none)"] + [" · ".join(map(str, k)) for k in keys], description="compare with")
    picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
    note = widgets.HTML()

    def redraw(_change: object = None) -> None:
        chosen = (runtime.value, precision.value, threads.value)
        shown = [latencies[chosen]] if chosen in latencies else []
        note.value = "" if shown else f"<i>{' · '.join(map(str, chosen))} was not measured in this run</i>"
        if compare.value != "(none)":
            shown.append(latencies[keys[[" · ".join(map(str, k)) for k in keys].index(compare.value)]])
        if shown:
            picture.value = figure_png(latency_distribution(shown))

    for control in (runtime, precision, threads, compare):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([runtime, precision, threads]), compare, note, picture])
