"""labkit — the plumbing shared by the Edge Lab Kit's notebooks.

The lessons themselves — the real torch / executorch calls — stay visible in the notebooks; these
modules hold what the labs share (every module of the package, one line each):

Models, data and preprocessing
  ``models``             registry of the kit's models: how to build them, their input, their weights
  ``efficientnet_lite``  EfficientNet-Lite0 written for export, loading the real pretrained weights
  ``data``               images in any mode → RGB, the sample photos, ImageNet labels, calibration crops
  ``datasets``           small labelled image sets for fine-tuning (lab 06), with a leakage-free split
  ``preprocessing``      the preprocessing spec the labs and the Android app both follow
  ``predictions``        from logits to named classes

Converting and running
  ``export``             model files written atomically and reused while nothing that matters changed
  ``quant``              quantization arithmetic spelled out, and the PT2E / XNNPACK int8 helpers
  ``nnapi``              reading the model PyTorch's (deprecated) NNAPI converter serializes
  ``runners``            one call for eager, TorchScript, lite, ExecuTorch and ONNX Runtime models
  ``etpool``             the ExecuTorch runtime's one process-wide thread pool, sized once per process
  ``etworker``           child process running one ExecuTorch program with a thread pool of its own
  ``executorch_errors``  the ExecuTorch runtime's hex error codes, decoded
  ``pte``                ExecuTorch files: header, memory plan, per-operator profiles (ETDump)
  ``ondevice``           training inside the ExecuTorch runtime, as an app would on the phone (lab 06)
  ``android_export``     ``labkit export-android``: the Android demo's assets and golden files

Measuring and judging
  ``bench``              latency, cold start, FLOPs, file size, peak memory
  ``speed``              noise-aware speed claims: holds / does not hold / not resolved on this machine
  ``parity``             does a converted model compute what the original computes
  ``roofline``           this CPU's theoretical peak and a measured matmul, for roofline comparisons
  ``memprobe``           child process that loads and runs one model and reports its memory
  ``peakrss``            peak resident memory of a command and of every process it waited for
  ``env``                which machine and versions a measurement came from

Results, reports and the course
  ``results``            the results store every lab appends to and later labs read
  ``tables``             tables a learner can read: whole sentences, aligned, rounded numbers
  ``plots``              the kit's standard matplotlib charts
  ``widgets``            ipywidgets explorers, each with a static twin for headless runs
  ``sweep``              a notebook run once per parameter combination (papermill), with a report
  ``course``             the course map: labs in order, what each teaches, measured run times
  ``progress``           a learner's progress: labs run, exercises passed
  ``collect``            workshop results: ``labkit share`` and ``labkit collect``

Lab plumbing and tools
  ``params``             the parameter contract every lab checks in its first cells
  ``checks``             exercise checkers that compute the truth and hint
  ``errors``             exceptions whose messages say what to do next
  ``paths``              where data, build artifacts and results go (environment overrides)
  ``quiet``              keeps runtime log spam off the learner's screen, and only that
  ``kernel``             the kit's Jupyter kernel (reports Python as major.minor)
  ``doctor``             ``labkit doctor``: is this machine ready for the labs, and how to fix it
  ``wheelhouse``         ``make wheelhouse``: every pinned wheel in one folder for offline installs
  ``cli``                the ``labkit`` command
"""

__version__ = "0.1.0"
