"""Interactive explorers (ipywidgets). Each has a static twin so headless runs show the default state."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from labkit.data import load_rgb, load_samples
from labkit.errors import ImageInputError
from labkit.models import LoadedModel
from labkit.predictions import top_k
from labkit.preprocessing import preprocess_steps


def preprocessing_figure(image: np.ndarray, model: LoadedModel, k: int = 5) -> Figure:
    """Original → resized → cropped → normalized (channel R) → top-``k``, for one RGB image."""
    import torch

    spec = model.spec.preprocess
    steps = preprocess_steps(image, spec)
    with torch.no_grad():
        predictions = top_k(model.module(steps["normalized"][None].contiguous()), k)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), gridspec_kw={"width_ratios": [1, 1, 1, 1.15, 1.3]})
    pictures = {
        "original": steps["original"], "resized": steps["resized"], "cropped": steps["cropped"],
    }
    for ax, (name, chw) in zip(axes[:3], pictures.items()):
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


def preprocessing_explorer(model: LoadedModel):
    """Pick a bundled photo or upload one; see each preprocessing step and the top-5."""
    import ipywidgets as widgets
    from IPython.display import display

    samples = {s.name: s for s in load_samples()}
    picker = widgets.Dropdown(options=list(samples), description="photo")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="upload")
    output = widgets.Output()

    def show(image: np.ndarray) -> None:
        with output:
            output.clear_output(wait=True)
            fig = preprocessing_figure(image, model)
            display(fig)
            plt.close(fig)

    def on_pick(change: dict) -> None:
        show(samples[change["new"]].image())

    def on_upload(change: dict) -> None:
        files = change["new"]
        if not files:
            return
        entry = files[0]
        try:
            show(load_rgb(Image.open(io.BytesIO(bytes(entry["content"])))))
        except (ImageInputError, OSError) as exc:
            with output:
                output.clear_output()
                print(f"could not use {entry.get('name', 'the upload')}: {exc}")

    picker.observe(on_pick, names="value")
    upload.observe(on_upload, names="value")
    show(samples[picker.value].image())
    return widgets.VBox([widgets.HBox([picker, upload]), output])
