"""labkit — the plumbing shared by the Edge Lab Kit's notebooks.

Modules, one job each: ``models`` (registry, real EfficientNet-Lite0 weights), ``data`` (images,
sample photos, calibration crops), ``preprocessing`` (the spec the Android app follows), ``bench``
(latency, cold start, FLOPs, size, peak memory), ``runners`` (one call for eager, TorchScript,
ExecuTorch and ONNX), ``export``, ``pte`` (ExecuTorch file, memory plan, profile), ``parity``,
``results``, ``plots``, ``widgets``, ``checks`` (exercises), ``doctor`` and ``cli``. The lessons
themselves — the real torch / executorch calls — stay visible in the notebooks.
"""

__version__ = "0.1.0"
