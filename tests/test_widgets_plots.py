from datetime import UTC, datetime

import numpy as np
import pandas as pd

from labkit.report import plots
from labkit.report.widgets import preprocessing_explorer


def test_pareto_front_keeps_only_undominated_points():
    points = np.array([[1.0, 10.0], [2.0, 5.0], [3.0, 6.0], [4.0, 1.0], [5.0, 1.0]])
    assert sorted(plots.pareto_front(points).tolist()) == [0, 1, 3]


def test_standard_charts_label_their_axes():
    frame = pd.DataFrame({"label": ["a", "b"], "p50_ms": [2.0, 1.0], "p90_ms": [3.0, 1.5],
                          "size_mb": [10.0, 3.0], "top1_agreement": [1.0, 0.97]})
    bars = plots.latency_bars(frame)
    assert bars.axes[0].get_ylabel() == "latency per call (ms)"
    scatter = plots.size_latency_fidelity(frame)
    assert scatter.axes[0].get_xlabel() == "model file size (MB)"


def test_explorer_shows_a_picture_and_reports_bad_uploads(lite0):
    box = preprocessing_explorer(lite0)
    (picker, upload), status, picture = box.children[0].children, box.children[1], box.children[2]
    assert picture.value[:8] == b"\x89PNG\r\n\x1a\n" and "chelsea" in status.value
    picker.value = "coffee"
    assert "coffee" in status.value
    upload.set_trait("value", ({"name": "broken.jpg", "content": memoryview(b"not an image"),
                                "type": "image/jpeg", "size": 12,
                                "last_modified": datetime.now(UTC)},))
    assert "could not use broken.jpg" in status.value


def test_quantization_explorer_redraws_with_its_controls():
    import torch

    from labkit.report.widgets import quantization_explorer, quantization_figure

    generator = torch.Generator().manual_seed(0)
    weights = {"wide": torch.randn(8, 1, 3, 3, generator=generator) * torch.logspace(-3, 0, 8).view(8, 1, 1, 1)}
    per_tensor = quantization_figure(weights["wide"], "wide", bits=8, per_channel=False)
    per_channel = quantization_figure(weights["wide"], "wide", bits=8, per_channel=True)
    sqnr = [float(f.axes[2].get_title().split("SQNR ")[1].split(" dB")[0]) for f in (per_tensor, per_channel)]
    assert sqnr[1] > sqnr[0] + 6  # per channel wins on channels of very different ranges
    box = quantization_explorer(weights)
    (_layer, bits, _symmetric, _per_channel_box), picture = box.children[0].children, box.children[1]
    before = picture.value
    assert before[:8] == b"\x89PNG\r\n\x1a\n"
    bits.value = 4
    assert picture.value != before


def test_latency_explorer_and_distribution():
    from labkit.measure.bench import Latency
    from labkit.report.widgets import latency_explorer

    def latency(label, threads, base):
        times = tuple(base * (1 + 0.1 * np.sin(np.arange(30))))
        return Latency(label, threads, 3, 30, 1, float(np.median(times)), float(np.percentile(times, 90)),
                       float(np.mean(times)), min(times), 0.1, times)

    measured = {("xnnpack", "fp32", 1): latency("xnnpack fp32", 1, 9.0), ("xnnpack", "int8", 2): latency("int8", 2, 3.0)}
    figure = plots.latency_distribution(list(measured.values()))
    legend = " ".join(t.get_text() for t in figure.axes[0].get_legend().get_texts())
    assert f"xnnpack fp32, 1 thr: p50 {measured[('xnnpack', 'fp32', 1)].p50_ms:.2f}" in legend and "(30 calls)" in legend
    box = latency_explorer(measured)
    (_runtime, precision, threads), compare, note, picture = box.children[0].children, *box.children[1:]
    assert picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    precision.value, threads.value = "fp32", 2
    assert "was not measured" in note.value
    threads.value = 1
    before = picture.value
    compare.value = "xnnpack · int8 · 2"
    assert note.value == "" and picture.value != before
