"""Compile for Arm's Ethos-U NPU on this host: ExecuTorch's Arm backend, Vela's estimates, the TOSA reference model.

The chain (lab 09 makes each call by hand first): PT2E with ``EthosUQuantizer`` (int8, per channel) →
``to_edge_transform_and_lower`` with ``EthosUPartitioner`` → the supported part becomes a TOSA graph
(the NPU's integer operator set, NHWC) → Arm's Vela compiler schedules it for one Ethos-U configuration
and writes a command stream into the ``.pte``, plus its *estimates* (cycles, memory traffic, time at the
configuration's clock) as CSV files. No NPU runs here: the estimates are a compiler's performance model,
and :class:`TosaReference` runs the TOSA graph in Arm's reference model (bit-accurate integer semantics,
about a second per image) to check the numbers the NPU is specified to produce.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from labkit.deploy.quant import QParams
from labkit.errors import LabkitError, ParameterError

TARGETS = ("ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u65-512",
           "ethos-u85-128", "ethos-u85-256", "ethos-u85-512", "ethos-u85-1024", "ethos-u85-2048")
"""Every Ethos-U configuration Vela compiles for: family and MACs per cycle (``ethos-u55-128``: 128)."""

VELA_FLAGS = ("--verbose-cycle-estimate", "--verbose-performance")  # per-layer CSV and cycle report (in vela.log)
"""Extra Vela flags the kit passes: Vela then writes its per-operator report (``out_per-layer.csv``)."""

MEMORY_AREAS = ("sram", "dram", "on_chip_flash", "off_chip_flash")
CACHE_VERSION = 4  # bump when what is cached changes


def _require(module: str) -> None:
    """Import ``module`` of the NPU toolchain, or say how to install it."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as error:
        raise LabkitError(f"{module} is missing ({error}): the NPU toolchain is installed by `make lab` / `make install` "
                          f"(pip install --no-deps -r requirements-npu.txt); `make doctor` checks it") from error


def check_targets(name: str, values: object) -> list[str]:
    """``values``: a list of distinct Ethos-U configurations from :data:`TARGETS`; the first is the main one."""
    from labkit.params import check_choices

    return check_choices(name, values, TARGETS)


def family(target: str) -> str:
    """``"ethos-u55-128"`` → ``"U55"``."""
    return target.split("-")[1].upper()


def macs_per_cycle(target: str) -> int:
    """``"ethos-u55-128"`` → 128: the configuration's MAC units (its peak int8 MACs per cycle)."""
    return int(target.rsplit("-", 1)[1])


def compile_spec(target: str, folder: Path | None = None) -> object:
    """ExecuTorch's ``EthosUCompileSpec`` for ``target`` (the backend's default system configuration and
    memory mode for its family), keeping the TOSA graph and Vela's reports in ``folder`` if given."""
    from executorch.backends.arm.ethosu import EthosUCompileSpec

    if target not in TARGETS:
        raise ParameterError(f"unknown Ethos-U configuration {target!r}; choose one of {list(TARGETS)}")
    spec = EthosUCompileSpec(target, extra_flags=list(VELA_FLAGS))
    if folder is not None:
        spec.dump_intermediate_artifacts_to(str(folder))
    return spec


def system_config(spec: object) -> tuple[str, str]:
    """(Vela system configuration, memory mode) that ``spec`` compiles for."""
    flags = dict(f[2:].split("=", 1) for f in spec.compiler_flags if f.startswith("--") and "=" in f)  # type: ignore[attr-defined]
    return flags["system-config"], flags["memory-mode"]


def quantizer(target: str) -> object:
    """ExecuTorch's ``EthosUQuantizer`` for ``target``: symmetric int8, per-channel weights (the Arm backend's recipe)."""
    from executorch.backends.arm.quantizer import get_symmetric_quantization_config
    from executorch.backends.arm.util._factory import create_quantizer

    arm_quantizer = create_quantizer(compile_spec(target))
    arm_quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
    return arm_quantizer


def quantize(exported: torch.export.ExportedProgram, calibration: Iterable[torch.Tensor], target: str) -> torch.fx.GraphModule:
    """PT2E int8 for the NPU: ``prepare_pt2e`` with :func:`quantizer`, one call per calibration batch, ``convert_pt2e``.

    ``exported.module(check_guards=False)``: the Arm quantizer refuses the guard submodule torch.export adds.
    """
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    if not isinstance(exported, torch.export.ExportedProgram):
        raise ParameterError(f"quantize takes a torch.export.ExportedProgram, got {type(exported).__name__}")
    prepared = prepare_pt2e(exported.module(check_guards=False), quantizer(target))
    seen = 0
    with torch.no_grad():
        for batch in calibration:
            prepared(batch.contiguous())
            seen += 1
    if not seen:
        raise ParameterError("quantize needs at least one calibration batch: the observers have seen nothing")
    return convert_pt2e(prepared)


@dataclass(frozen=True)
class VelaReport:
    """What Vela wrote for one compilation: its summary (one row) and its per-operator report.

    Every time and cycle count here is Vela's performance model of the configuration, not a measurement.
    """

    target: str
    summary: dict[str, object]
    per_layer: object  # pandas DataFrame, one row per NPU operation ("Original Operator", "Op Cycles", …)

    @property
    def clock_mhz(self) -> float:
        return float(self.summary["core_clock"]) / 1e6  # type: ignore[arg-type]

    @property
    def estimated_ms(self) -> float:
        """Vela's estimated time per inference at the configuration's clock (ms)."""
        return float(self.summary["inference_time"]) * 1e3  # type: ignore[arg-type]

    @property
    def npu_operations(self) -> int:
        return int((self.per_layer["Target"] == "NPU").sum())  # type: ignore[index]

    @property
    def cpu_operations(self) -> int:
        return int((self.per_layer["Target"] != "NPU").sum())  # type: ignore[index]

    def traffic_mb(self, area: str) -> float:
        """Bytes moved per inference to and from one memory area (MB, 1e6 bytes)."""
        return float(self.summary[f"{area}_total_bytes"]) / 1e6  # type: ignore[arg-type]

    def as_row(self) -> dict[str, object]:
        """One results row: configuration, operations, MACs, cycles, estimated time, memory use and traffic."""
        s = self.summary
        row: dict[str, object] = {
            "target": self.target, "system_config": s["system_config"], "memory_mode": s["memory_mode"],
            "clock_mhz": self.clock_mhz, "npu_ops": self.npu_operations, "cpu_ops": self.cpu_operations,
            "macs_m": float(s["nn_macs"]) / 1e6, "npu_cycles_m": float(s["cycles_npu"]) / 1e6,  # type: ignore[arg-type]
            "total_cycles_m": float(s["cycles_total"]) / 1e6, "estimated_ms": self.estimated_ms,  # type: ignore[arg-type]
            "sram_used_kb": float(s["sram_memory_used"]),  # type: ignore[arg-type]
            "weights_in": s["weights_storage_area"], "feature_maps_in": s["feature_map_storage_area"],
        }
        row.update({f"{area}_traffic_mb": self.traffic_mb(area) for area in MEMORY_AREAS})
        return row


def read_vela_output(folder: Path, target: str) -> VelaReport:
    """Vela's ``*_summary_*.csv`` and ``*_per-layer.csv`` in ``folder`` (its ``--output-dir``)."""
    import pandas as pd

    folder = Path(folder)
    summaries = sorted(folder.glob("*_summary_*.csv"))
    layers = sorted(folder.glob("*_per-layer.csv"))
    if not summaries or not layers:
        raise LabkitError(f"no Vela summary/per-layer CSV in {folder}: did Vela run with {' '.join(VELA_FLAGS)}? "
                          f"Delete the folder and compile again")
    summary = pd.read_csv(summaries[0]).iloc[0].to_dict()
    return VelaReport(target, summary, pd.read_csv(layers[0]))


def run_vela(tosa_path: Path, target: str, folder: Path) -> VelaReport:
    """Compile the TOSA graph at ``tosa_path`` for ``target`` with Vela, as ``EthosUPartitioner`` does
    (same flags, system configuration and memory mode), into ``folder``; Vela's printout goes to ``vela.log``.

    About a second per configuration, against half a minute for the lowering that made the TOSA graph.
    """
    _require("ethosu.vela")
    from ethosu.vela import vela

    from labkit.quiet import compiler_output_captured

    spec = compile_spec(target)
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    arguments = [*spec.compiler_flags, f"--output-dir={folder}", str(tosa_path)]  # type: ignore[attr-defined]
    with compiler_output_captured() as printed:
        try:
            status = vela.main(arguments)
        except SystemExit as stop:  # Vela's command-line errors exit
            status = stop.code
    (folder / "vela.log").write_text(printed.text)
    if status not in (0, None):
        raise LabkitError(f"Vela failed for {target} (status {status}); its output is in {folder / 'vela.log'}")
    return read_vela_output(folder, target)


def estimate(program: EthosUProgram, target: str) -> VelaReport:
    """Vela's estimate of ``program``'s TOSA graph for ``target`` (:func:`run_vela`), kept beside the program:
    the program's own report for its own target, a folder ``vela-<target>`` for the others."""
    if target == program.target:
        return program.vela
    if tosa_profile(target) != tosa_profile(program.target):
        raise ParameterError(f"{program.target}'s TOSA graph ({tosa_profile(program.target)}) is not what the partitioner "
                             f"makes for {target} ({tosa_profile(target)}): lower the model for {target} and estimate that")
    folder = program.folder / f"vela-{target}"
    if (folder / "vela.log").is_file():
        try:
            return read_vela_output(folder, target)
        except LabkitError:
            pass
    return run_vela(program.tosa, target, folder)


def tosa_transposes(tosa_path: Path) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input shape, output shape) of every ``TRANSPOSE`` in the TOSA graph: where the layout changes."""
    from tosa.Op import Op
    from tosa.TosaGraph import TosaGraph

    graph = TosaGraph.GetRootAs(Path(tosa_path).read_bytes(), 0)
    found = []
    for r in range(graph.RegionsLength()):
        region = graph.Regions(r)
        for b in range(region.BlocksLength()):
            block = region.Blocks(b)
            shapes = {}
            for t in range(block.TensorsLength()):
                tensor = block.Tensors(t)
                shapes[tensor.Name()] = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
            for o in range(block.OperatorsLength()):
                op = block.Operators(o)
                if op.Op() == Op.TRANSPOSE:
                    found.append((shapes.get(op.Inputs(0), ()), shapes.get(op.Outputs(0), ())))
    return found


def tosa_operators(tosa_path: Path) -> Counter[str]:
    """How many of each TOSA operator the graph at ``tosa_path`` has (``CONV2D``, ``RESCALE``, … ``CONST``)."""
    from tosa.Op import Op
    from tosa.TosaGraph import TosaGraph

    names = {value: name for name, value in vars(Op).items() if not name.startswith("_")}
    graph = TosaGraph.GetRootAs(Path(tosa_path).read_bytes(), 0)
    counts: Counter[str] = Counter()
    for r in range(graph.RegionsLength()):
        region = graph.Regions(r)
        for b in range(region.BlocksLength()):
            block = region.Blocks(b)
            for o in range(block.OperatorsLength()):
                counts[names.get(block.Operators(o).Op(), "?")] += 1
    return counts


def _int8_params(scale: float, zero_point: int) -> QParams:
    return QParams(torch.tensor(float(scale)), torch.tensor(int(zero_point)), -128, 127, None)


@dataclass(frozen=True)
class EthosUProgram:
    """One model compiled for one Ethos-U configuration: the ``.pte``, the TOSA graph Vela compiled, Vela's
    report, what stayed on the CPU, and the int8 boundary (input quantize, output dequantize)."""

    target: str
    folder: Path
    pte: Path
    tosa: Path
    vela: VelaReport
    delegated_nodes: int
    cpu_nodes: int
    cpu_ops: tuple[str, ...]
    sequence: tuple[str, ...]  # the lowered program's calls in order: CPU operators and "NPU" (each delegate call)
    rejected: str
    input_q: QParams | None
    output_q: QParams | None
    lower_seconds: float
    partitions: int = 1  # NPU partitions (TOSA graphs); Vela's report and the TOSA graph here are of the first only
    cached: bool = field(default=False)


def _fingerprint(graph: torch.fx.GraphModule) -> str:
    from labkit.deploy.export import state_fingerprint

    return hashlib.sha256((state_fingerprint(graph) + graph.code).encode()).hexdigest()[:20]


@contextmanager
def _partition_report() -> Iterator[list[logging.LogRecord]]:
    """Collect the Arm partitioner's "rejected nodes" table (logged at INFO) without printing it. The partitioner
    also adds a file handler (``partition_report.txt``) to its logger on every call at INFO: removed and closed here."""
    from labkit.quiet import logs_captured

    logger = logging.getLogger("executorch.backends.arm.tosa.partitioner")
    level, handlers = logger.level, list(logger.handlers)
    logger.setLevel(logging.INFO)
    try:
        with logs_captured() as records:
            yield records
    finally:
        logger.setLevel(level)
        for added in [h for h in logger.handlers if h not in handlers]:
            logger.removeHandler(added)
            added.close()


def operator_name(target: object) -> str:
    """An operator's short name, however it is written: an ``OpOverload`` or ``EdgeOpOverload``
    (``aten.upsample_bilinear2d.vec``), ``aten::gt.Tensor``, ``quantized_decomposed.quantize_per_tensor.default``,
    a node-style ``aten_gt_scalar`` or a bare ``gt`` → ``upsample_bilinear2d``, ``gt``, ``quantize_per_tensor``;
    a delegate call → ``NPU``."""
    import re

    text = str(getattr(target, "__name__", target)).strip()
    if "call_delegate" in text:
        return "NPU"
    found = re.search(r"(?:aten|quantized_decomposed)(?:::|\.)(\w+)", text)  # a qualified overload name
    if found:
        return found.group(1).lower()
    text = text.lower().replace(".", "_")
    for prefix in ("aten_", "quantized_decomposed_"):
        text = text[len(prefix):] if text.startswith(prefix) else text
    for suffix in ("_default", "_vec", "_tensor", "_scalar", "_self", "_dim", "_int"):
        text = text[: -len(suffix)] if text.endswith(suffix) else text
    return text


def boundary_qparams(edge_graph: torch.fx.GraphModule) -> tuple[QParams | None, QParams | None]:
    """(input, output) int8 parameters of the lowered program: the first ``quantize_per_tensor`` fed by an input,
    the last ``dequantize_per_tensor`` before the output — the CPU-side edges of the NPU's int8 graph."""
    placeholders = {n for n in edge_graph.graph.nodes if n.op == "placeholder"}
    first = last = None
    for node in edge_graph.graph.nodes:
        name = str(node.target)
        if first is None and "quantize_per_tensor" in name and "dequantize" not in name and node.args[0] in placeholders:
            first = _int8_params(float(node.args[1]), int(node.args[2]))
        if "dequantize_per_tensor" in name:
            last = _int8_params(float(node.args[1]), int(node.args[2]))
    return first, last


def tosa_profile(target: str) -> str:
    """The TOSA profile the backend lowers to for ``target`` (U55 and U65 share one; U85 has its own)."""
    return str(compile_spec(target).tosa_spec)  # type: ignore[attr-defined]


def cache_folder(quantized: torch.fx.GraphModule, example: torch.Tensor, target: str, name: str) -> tuple[Path, dict]:
    """Where :func:`lower` keeps ``quantized`` compiled for ``target`` — ``build/ethosu/<name>-<target>-<key>/`` — and
    the key: the quantized graph (weights and code), the example's shape, the target, Vela's flags and the
    versions of torch, executorch and Vela."""
    from labkit.measure.env import package_version
    from labkit.paths import build_dir

    if not isinstance(quantized, torch.fx.GraphModule):
        raise ParameterError(f"pass the quantized graph from quantize(...), got {type(quantized).__name__}")
    compile_spec(target)  # checks the target
    key = {"cache": CACHE_VERSION, "graph": _fingerprint(quantized), "shape": list(example.shape), "target": target,
           "flags": list(VELA_FLAGS), **{p: package_version(p) for p in ("torch", "executorch", "ethos-u-vela", "tosa-tools")}}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return build_dir("ethosu") / f"{name}-{target}-{digest}", key


def cached_program(folder: Path, key: dict) -> EthosUProgram | None:
    """The program compiled into ``folder`` with this ``key``, or None (none yet, another key, or interrupted)."""
    meta_path = Path(folder) / "program.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        return _program_from_meta(Path(folder), meta, cached=True) if meta["key"] == key else None
    except (json.JSONDecodeError, KeyError, IndexError, ValueError, LabkitError):  # ValueError: pandas' EmptyDataError
        return None  # an interrupted or older compile: make it again


def record(edge: object, folder: Path, key: dict, seconds: float, rejected: str = "", log: str = "") -> EthosUProgram:
    """Finish a lowering made with ``compile_spec(target, folder)``: count what was delegated (``get_delegation_info``),
    read the int8 boundary and the call sequence, ``to_executorch`` → ``folder/model.pte``, and read Vela's reports.

    ``edge``: what ``to_edge_transform_and_lower`` returned (not yet ``to_executorch``-ed).
    """
    from executorch.devtools.backend_debug import get_delegation_info

    from labkit.deploy.pte import BOOKKEEPING_OPS
    from labkit.paths import write_atomically
    from labkit.quiet import compiler_output_captured

    folder = Path(folder)
    graph = edge.exported_program().graph_module  # type: ignore[attr-defined]
    info = get_delegation_info(graph)
    input_q, output_q = boundary_qparams(graph)
    sequence = [operator_name(n.target) for n in graph.graph.nodes if n.op == "call_function"]
    sequence = [op for op in sequence if op not in BOOKKEEPING_OPS]
    cpu_ops = sorted(set(sequence) - {"NPU"})
    tosa = sorted(folder.glob("output_tag*.tosa"))
    if not tosa:
        raise LabkitError(f"the Arm backend delegated nothing to {key.get('target')} (no TOSA graph in {folder}); "
                          f"operators left on the CPU: {', '.join(cpu_ops) or 'none'}. An integer NPU takes no float "
                          f"graph: pass the graph from ethosu.quantize(...)")
    with compiler_output_captured():
        buffer = edge.to_executorch().buffer  # type: ignore[attr-defined]
    write_atomically(folder / "model.pte", buffer)
    if log:
        (folder / "vela.log").write_text(log)
    meta = {"key": key, "target": key["target"], "tosa": [p.name for p in tosa], "delegated": int(info.num_delegated_nodes),
            "cpu_nodes": int(info.num_non_delegated_nodes), "cpu_ops": cpu_ops, "sequence": sequence, "rejected": rejected,
            "input_q": None if input_q is None else [float(input_q.scale), int(input_q.zero_point)],
            "output_q": None if output_q is None else [float(output_q.scale), int(output_q.zero_point)],
            "partitions": len(tosa), "seconds": seconds}
    write_atomically(folder / "program.json", json.dumps(meta, indent=1).encode())  # last: marks a finished compile
    return _program_from_meta(folder, meta, cached=False)


def lower(quantized: torch.fx.GraphModule, example: torch.Tensor, target: str, name: str) -> EthosUProgram:
    """``to_edge_transform_and_lower`` with ``EthosUPartitioner`` for ``target``, then :func:`record`: the ``.pte``,
    the TOSA graph and Vela's reports in :func:`cache_folder`. Cached: a second call with the same graph takes
    milliseconds instead of ~30 s. The partitioner's table of rejected nodes is kept in ``.rejected``.
    """
    from executorch.backends.arm.util._factory import create_partitioner
    from executorch.exir import to_edge_transform_and_lower

    from labkit.quiet import compiler_output_captured

    folder, key = cache_folder(quantized, example, target, name)
    found = cached_program(folder, key)
    if found is not None:
        return found
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spec = compile_spec(target, folder)
    started = time.perf_counter()
    try:
        with _partition_report() as report, compiler_output_captured() as printed:
            edge = to_edge_transform_and_lower(torch.export.export(quantized, (example.contiguous(),)),
                                               partitioner=[create_partitioner(spec)])
    except Exception as error:  # keep what the compiler printed: it says why
        (folder / "vela.log").write_text(printed.text)
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise LabkitError(f"lowering {name} for {target} failed ({type(error).__name__}: {first}); what the compiler "
                          f"printed is in {folder / 'vela.log'}") from error
    rejected = next((r.getMessage().strip("\n") for r in report if "│" in r.getMessage()), "")  # the reasons, as a table
    return record(edge, folder, key, time.perf_counter() - started, rejected, printed.text)


def _program_from_meta(folder: Path, meta: dict, cached: bool) -> EthosUProgram:
    tosa = folder / meta["tosa"][0]
    if not (folder / "model.pte").is_file() or not tosa.is_file():
        raise LabkitError(f"{folder} lacks model.pte or {tosa.name}")
    q = [None if meta[k] is None else _int8_params(meta[k][0], meta[k][1]) for k in ("input_q", "output_q")]
    return EthosUProgram(meta["target"], folder, folder / "model.pte", tosa, read_vela_output(folder / "output", meta["target"]),
                         meta["delegated"], meta["cpu_nodes"], tuple(meta["cpu_ops"]), tuple(meta["sequence"]),
                         meta["rejected"], q[0], q[1], float(meta["seconds"]), int(meta.get("partitions", 1)), cached)


class TosaReference:
    """The TOSA graph of an :class:`EthosUProgram` run in Arm's TOSA reference model, as a callable:
    ``reference(x)`` takes float NCHW images and returns float logits, quantizing the input and dequantizing
    the output with the program's own boundary parameters (the two operators that stay on the CPU).
    ``reference.int8(q)`` runs the int8 graph itself. About a second per image on this host.
    """

    def __init__(self, program: EthosUProgram):
        _require("tosa_reference_model")
        if program.sequence != ("quantize_per_tensor", "NPU", "dequantize_per_tensor"):
            raise LabkitError(f"{program.folder.name} runs {' → '.join(program.sequence)}: TosaReference simulates a "
                              f"program that is one NPU graph between the input's quantize and the output's dequantize; "
                              f"the CPU part of this one would have to run beside it")
        self.program = program
        self.graph = program.tosa.read_bytes()

    def int8(self, q: torch.Tensor) -> torch.Tensor:
        """Run the graph on one int8 input batch (NCHW, as exported); the int8 output."""
        import tosa_reference_model as reference_model

        from labkit.quiet import compiler_output_captured

        if q.dtype != torch.int8:
            raise ParameterError(f"the TOSA graph takes int8, got {q.dtype}; quantize with program.input_q "
                                 f"(labkit.deploy.quant.quantize(x, program.input_q).to(torch.int8))")
        with compiler_output_captured():  # the simulator's TOSA-version notice, printed on every run
            outputs, status = reference_model.run(self.graph, [q.contiguous().numpy()], verbosity="NONE",
                                                  initialize_variable_tensor_from_numpy=True)
        if "VALID" not in str(status):
            raise LabkitError(f"the TOSA reference model returned {status} for {self.program.tosa.name}")
        return torch.from_numpy(outputs[0].copy())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from labkit.deploy.quant import dequantize, quantize

        rows = [self.int8(quantize(x[i:i + 1], self.program.input_q).to(torch.int8))  # type: ignore[arg-type]
                for i in range(x.shape[0])]
        return dequantize(torch.cat(rows), self.program.output_q)  # type: ignore[arg-type]
