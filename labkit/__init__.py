"""labkit — the plumbing shared by the Edge Lab Kit's notebooks, in subpackages named by role.

The lessons themselves — the real torch / executorch calls — stay visible in the notebooks; these
modules hold what the labs share (every module of the package, one line each):

Lab plumbing every notebook uses (``from labkit import params``)
  ``params``                     the parameter contract every lab checks in its first cells
  ``errors``                     exceptions whose messages say what to do next
  ``paths``                      where data, build artifacts and results go (environment overrides); atomic writes
  ``quiet``                      keeps runtime log spam off the learner's screen, and only that

The models and the images they see: ``labkit.model``
  ``model.models``               registry of the kit's models: how to build them, their input, their weights
  ``model.efficientnet_lite``    EfficientNet-Lite0 written for export, loading the real pretrained weights
  ``model.data``                 images in any mode → RGB, the sample photos, ImageNet labels, calibration crops
  ``model.training_sets``        small labelled image sets for fine-tuning, with a leakage-free split
  ``model.preprocessing``        the preprocessing spec the labs and the Android app both follow
  ``model.predictions``          from logits to named classes

Converting and running: ``labkit.deploy``
  ``deploy.export``              model files written atomically and reused while nothing that matters changed
  ``deploy.quant``               quantization arithmetic spelled out, and the PT2E / XNNPACK int8 helpers
  ``deploy.relu6_quantizer``     the kit's int8 quantizer class: XNNPACKQuantizer + conv → ReLU6 as one pattern
  ``deploy.nnapi``               reading the model PyTorch's (deprecated) NNAPI converter serializes
  ``deploy.runners``             one call for eager, TorchScript, lite, ExecuTorch and ONNX Runtime models
  ``deploy.etpool``              the ExecuTorch runtime's one process-wide thread pool, sized once per process
  ``deploy.etworker``            child process running one ExecuTorch program with a thread pool of its own
  ``deploy.executorch_errors``   the ExecuTorch runtime's hex error codes, decoded
  ``deploy.pte``                 ExecuTorch files: header, memory plan, delegation, per-operator profiles (ETDump)
  ``deploy.ondevice``            training inside the ExecuTorch runtime, as an app would on the phone
  ``deploy.android_export``      ``labkit export-android``: the Android demo's assets and golden files
  ``deploy.ethosu``              compiling for Arm's Ethos-U NPU: Vela's estimates, the cache, the TOSA reference model

Measuring and judging: ``labkit.measure``
  ``measure.bench``              latency, cold start, FLOPs, file size, peak memory
  ``measure.speed``              noise-aware speed claims: holds / does not hold / not resolved on this machine
  ``measure.parity``             does a converted model compute what the original computes
  ``measure.roofline``           this CPU's theoretical peak and a measured matmul, for roofline comparisons
  ``measure.memprobe``           child process that loads and runs one model and reports its memory
  ``measure.peakrss``            peak resident memory of a process, or of a command and every process it waited for
  ``measure.env``                which machine and versions a measurement came from

Results and how they are shown: ``labkit.report``
  ``report.results``             the results store every lab appends to and later labs read
  ``report.tables``              tables a learner can read: whole sentences, aligned, rounded numbers
  ``report.plots``               the kit's standard matplotlib charts
  ``report.widgets``             ipywidgets explorers, each with a static twin for headless runs

Exercise checkers that compute the truth and hint, one module per lab topic: ``labkit.exercises``
  ``exercises.core``             what every checker shares: the result, recording it in progress.jsonl, failing with a hint
  ``exercises.catalog``          every exercise by id, what it asks, and its worked solution on request
  ``exercises.baseline``         the model input by hand; the size of the fp32 weights
  ``exercises.executorch``       a head that delegates fully to XNNPACK; the memory arena predicted
  ``exercises.fusion``           conv + BatchNorm folded into one conv
  ``exercises.ptq``              scale and zero point computed by hand
  ``exercises.mixed_precision``  which layers to keep in float so int8 fidelity improves
  ``exercises.torchscript``      a data-dependent head rewritten so that it exports
  ``exercises.nnapi``            the operand shapes NNAPI's converter writes
  ``exercises.fine_tuning``      which units to unfreeze within a budget; one SGD step as ExecuTorch does it
  ``exercises.benchmarking``     a CPU's theoretical peak; the Pareto front of measured variants
  ``exercises.npu``              what an Ethos-U55 leaves on the CPU; the smallest NPU that meets a latency budget

The course, workshop and kit tooling (instructors, CI, installs): ``labkit.workshop``
  ``workshop.cli``               the ``labkit`` command
  ``workshop.course``            the course map: labs in order, what each teaches, measured run times
  ``workshop.progress``          a learner's progress: labs run, exercises passed
  ``workshop.sweep``             a notebook run once per parameter combination (papermill), with a report
  ``workshop.runlabs``           ``labkit run-labs``: every lab once, then the kit-wide report
  ``workshop.collect``           workshop results: ``labkit share`` and ``labkit collect``
  ``workshop.doctor``            ``labkit doctor``: is this machine ready for the labs, and how to fix it
  ``workshop.wheelhouse``        ``make wheelhouse``: every pinned wheel in one folder for offline installs
  ``workshop.kernel``            the kit's Jupyter kernel (reports Python as major.minor)
"""

__version__ = "0.1.0"
