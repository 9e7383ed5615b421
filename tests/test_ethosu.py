"""labkit.deploy.ethosu: quantize and lower for the Ethos-U NPU, Vela's reports, the cache, the TOSA reference model;
and the NPU lab's exercise checkers. Small models only: a lowering takes seconds, not the half-minute of Lite0."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest
import torch
import torch.nn.functional as F

from labkit.deploy import ethosu, quant
from labkit.deploy.pte import pte_header
from labkit.errors import ExerciseCheckError, LabkitError, ParameterError
from labkit.exercises import npu
from labkit.measure import parity
from labkit.quiet import compiler_output_captured, logs_captured

TARGET = "ethos-u55-128"


class SmallNet(torch.nn.Module):
    """Two convolutions with ReLU6 (modules, as EfficientNet-Lite0 has them), a residual add, a pool, a classifier."""

    def __init__(self, seed: int = 0, functional_relu6: bool = False):
        super().__init__()
        torch.manual_seed(seed)
        self.a = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.b = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.act = F.relu6 if functional_relu6 else torch.nn.ReLU6()
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.a(x))
        y = y + self.act(self.b(y))
        return self.fc(y.mean(dim=(2, 3)))


def _inputs(n: int, seed: int = 1) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(1, 3, 12, 12, generator=generator) for _ in range(n)]


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("ethosu-build")


@pytest.fixture(scope="module")
def small(build_root):
    """SmallNet quantized and lowered for the U55 (one lowering for the module's tests)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LABKIT_BUILD_DIR", str(build_root))
        net = SmallNet().eval()
        x = _inputs(1)[0]
        quantized = ethosu.quantize(torch.export.export(net, (x,)), _inputs(4), TARGET)
        program = ethosu.lower(quantized, x, TARGET, "small")
    return net, quantized, x, program


@pytest.fixture
def compiled(small, build_root, monkeypatch):
    """The module's program, with the build folder it was compiled into (so the cache finds it)."""
    monkeypatch.setenv("LABKIT_BUILD_DIR", str(build_root))
    return small


def test_targets_and_names():
    assert ethosu.check_targets("T", ["ethos-u85-256", "ethos-u55-32"]) == ["ethos-u85-256", "ethos-u55-32"]
    for bad in (["ethos-u55-100"], "ethos-u55-128", [], ["ethos-u55-128", "ethos-u55-128"]):
        with pytest.raises(ParameterError):
            ethosu.check_targets("T", bad)
    assert (ethosu.family("ethos-u65-512"), ethosu.macs_per_cycle("ethos-u65-512")) == ("U65", 512)
    with pytest.raises(ParameterError, match="unknown Ethos-U configuration"):
        ethosu.compile_spec("ethos-u99-1")
    assert ethosu.tosa_profile("ethos-u55-64") == ethosu.tosa_profile("ethos-u65-256") != ethosu.tosa_profile("ethos-u85-256")
    assert ethosu.system_config(ethosu.compile_spec("ethos-u65-256")) == ("Ethos_U65_High_End", "Dedicated_Sram_384KB")


def test_lowered_program_is_all_npu_but_the_int8_boundary(compiled):
    net, quantized, x, program = compiled
    assert program.sequence == ("quantize_per_tensor", "NPU", "dequantize_per_tensor")
    assert all("quantize" in op for op in program.cpu_ops) and program.delegated_nodes > 0
    report = program.vela
    assert report.npu_operations > 0 and report.cpu_operations == 0
    macs = 12 * 12 * (8 * 3 * 9 + 8 * 8 * 9)  # the two convolutions
    assert abs(report.summary["nn_macs"] - macs) <= 0.02 * macs + 8 * 5  # + the classifier
    row = report.as_row()
    assert row["target"] == TARGET and row["clock_mhz"] == 500 and row["estimated_ms"] > 0
    assert row["memory_mode"] == "Shared_Sram" and set(ethosu.MEMORY_AREAS) <= {k[:-11] for k in row if k.endswith("_traffic_mb")}
    ops = ethosu.tosa_operators(program.tosa)
    # the classifier becomes a 1×1 convolution; each ReLU6 became its convolution's int8 output range
    assert ops["CONV2D"] == 3 and ops["RESCALE"] > 0 and ops.get("CLAMP", 0) == 0
    (into, out), = ethosu.tosa_transposes(program.tosa)
    assert into[1] == 3 and out[-1] == 3  # NCHW → NHWC at the entry
    assert int(program.input_q.zero_point) in range(-128, 128) and float(program.output_q.scale) > 0
    assert program.cpu_ops == ("dequantize_per_tensor", "quantize_per_tensor") and program.partitions == 1
    assert pte_header(program.pte)["magic"].startswith("ET")


def test_functional_relu6_is_left_on_the_cpu():
    """A trap worth knowing (executorch 1.5.1): ``F.relu6`` is not annotated by the Arm quantizer, so each one stays on
    the CPU in float, with a dequantize/quantize pair around it; ``nn.ReLU6`` modules go to the NPU."""
    x = _inputs(1)[0]
    quantized = ethosu.quantize(torch.export.export(SmallNet(functional_relu6=True).eval(), (x,)), _inputs(4), TARGET)
    program = ethosu.lower(quantized, x, TARGET, "functional-relu6")
    assert program.sequence.count("NPU") == 3 and program.sequence.count("hardtanh") == 2
    assert "not marked as quantized" in program.rejected and program.partitions == 3
    with pytest.raises(LabkitError, match="one NPU graph"):
        ethosu.TosaReference(program)  # the CPU's ReLU6 would have to run between the graphs
    partitioner_logger = logging.getLogger("executorch.backends.arm.tosa.partitioner")
    assert not any(isinstance(h, logging.FileHandler) for h in partitioner_logger.handlers)  # its report file, closed


def test_cache_reuses_and_remakes(compiled):
    net, quantized, x, program = compiled
    started = time.perf_counter()
    again = ethosu.lower(quantized, x, TARGET, "small")
    assert again.cached and time.perf_counter() - started < 2 and again.pte == program.pte
    other = ethosu.quantize(torch.export.export(SmallNet(seed=5).eval(), (x,)), _inputs(4), TARGET)
    assert ethosu.cache_folder(other, x, TARGET, "small")[0] != program.folder  # other weights, other folder
    meta = program.folder / "program.json"
    saved = meta.read_text()
    try:
        meta.write_text(saved[: len(saved) // 2])  # an interrupted write
        assert ethosu.cached_program(program.folder, ethosu.cache_folder(quantized, x, TARGET, "small")[1]) is None
    finally:
        meta.write_text(saved)
    assert json.loads(meta.read_text())["key"]["target"] == TARGET


def test_estimates_for_other_configurations_are_vela_runs_kept_beside(compiled):
    *_, program = compiled
    assert ethosu.estimate(program, TARGET) is program.vela
    direct = ethosu.run_vela(program.tosa, TARGET, program.folder / "direct")
    assert direct.summary["cycles_total"] == program.vela.summary["cycles_total"]
    u65 = ethosu.estimate(program, "ethos-u65-512")
    assert (program.folder / "vela-ethos-u65-512" / "vela.log").is_file()
    assert u65.summary["accelerator_configuration"] == "Ethos_U65_512" and u65.clock_mhz == 1000
    with pytest.raises(LabkitError, match="no Vela summary"):
        ethosu.read_vela_output(program.folder / "nowhere", TARGET)
    with pytest.raises(ParameterError, match="lower the model for ethos-u85-256"):
        ethosu.estimate(program, "ethos-u85-256")  # another TOSA profile: not this graph


def test_tosa_reference_runs_the_npu_arithmetic(compiled):
    net, quantized, x, program = compiled
    reference = ethosu.TosaReference(program)
    images = _inputs(3, seed=7)
    batch = torch.cat(images)
    got = reference(batch)
    with torch.no_grad():
        expected = torch.cat([quantized(image) for image in images])  # exported for one image
    steps = (quant.quantize(got, program.output_q) - quant.quantize(expected, program.output_q)).abs()
    assert int(steps.max()) <= 2, f"TOSA and the PT2E graph should be within a couple of int8 steps, got {steps.max()}"
    assert torch.equal(reference(batch), got)  # deterministic
    assert parity.from_logits(expected, got).top1_agreement >= 2 / 3
    with pytest.raises(ParameterError, match="int8"):
        reference.int8(batch[:1])


def test_a_float_graph_or_a_module_is_refused():
    x = _inputs(1)[0]
    with pytest.raises(ParameterError):
        ethosu.lower(SmallNet(), x, TARGET, "bad")  # an nn.Module, not the quantized graph
    with pytest.raises(LabkitError, match="delegated nothing"):
        ethosu.lower(torch.export.export(SmallNet().eval(), (x,)).module(), x, TARGET, "float")
    with pytest.raises(ParameterError, match="calibration"):
        ethosu.quantize(torch.export.export(SmallNet().eval(), (x,)), [], TARGET)


def test_from_logits_matches_compare():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 10, generator=generator), torch.randn(6, 10, generator=generator)
    batches = [torch.zeros(2, 1), torch.ones(2, 1), torch.full((2, 1), 2.0)]
    lookup = {float(batch[0, 0]): i for i, batch in enumerate(batches)}
    compared = parity.compare(lambda t: a[2 * lookup[float(t[0, 0])]:2 * lookup[float(t[0, 0])] + 2],
                              lambda t: b[2 * lookup[float(t[0, 0])]:2 * lookup[float(t[0, 0])] + 2], batches)
    assert compared == parity.from_logits(a, b)
    assert parity.from_logits(a, a).max_abs_diff == 0 and parity.from_logits(a, a).top1_agreement == 1
    with pytest.raises(ParameterError):
        parity.from_logits(a, b[:3])


def test_cpu_operators_checker():
    assert npu.check_cpu_operators(None).passed is None
    truth = npu.quiz_cpu_operators()
    assert truth == {"upsample_bilinear2d", "gt", "where"}
    assert npu.check_cpu_operators({f"aten.{op}.default" for op in truth}).passed
    for wrong, hint in ((truth | {"sigmoid"}, "the U55 takes these"), (truth - {"where"}, "1 more of the model's"),
                        (truth | {"torch.where"}, "not operators of CameraQuiz"), ("gt", "a set of operator names"),
                        (truth | {"quantize_per_tensor"}, "leave out the int8 boundary"), (set(), "3 more")):
        with pytest.raises(ExerciseCheckError, match=hint) as caught:
            npu.check_cpu_operators(wrong)
        assert "upsample_bilinear2d" not in str(caught.value) or "upsample_bilinear2d" in str(wrong)  # no answer leaks


def test_smallest_target_checker(compiled):
    *_, program = compiled
    covered = [t for t in ethosu.TARGETS if ethosu.family(t) != "U85"]
    slowest = max(ethosu.estimate(program, t).estimated_ms for t in covered)
    assert npu.smallest_target([program], covered, slowest + 1) == "ethos-u55-32"  # all meet it: the fewest MACs
    assert npu.check_smallest_target([program], covered, slowest + 1, "ethos-u55-32").passed
    table = ["ethos-u55-128", "ethos-u65-512"]  # the lab's table may hold only some configurations
    assert npu.check_smallest_target([program], table, slowest + 1, "ethos-u55-128").passed
    assert npu.smallest_target([program], covered, 1e-9) is None
    assert npu.check_smallest_target([program], covered, 1e-9, "none").passed
    for wrong in ("ethos-u55-64", "none", "ethos-u85-2048", "u55", 3):
        with pytest.raises(ExerciseCheckError):
            npu.check_smallest_target([program], covered, slowest + 1, wrong)
    with pytest.raises(ExerciseCheckError, match="ethos-u55-128"):
        npu.check_smallest_target([program], table, slowest + 1, "ethos-u55-32")  # not in the table
    with pytest.raises(ExerciseCheckError):
        npu.check_smallest_target([], covered, slowest + 1, "ethos-u55-32")
    with pytest.raises(ParameterError, match="no program lowered"):
        npu.smallest_target([program], ["ethos-u85-256"], 1.0)


def test_logs_and_compiler_output_are_captured_and_restored(capfd):
    logger, root = logging.getLogger("labkit.test.converter"), logging.getLogger()
    own = logging.StreamHandler()
    logger.addHandler(own)
    before = (list(root.handlers), list(logger.handlers), logger.propagate)
    with logs_captured() as records:
        logger.warning("a warning that teaches")
        logger.addHandler(logging.FileHandler(os.devnull))  # a library adding a handler inside the block
    assert [r.getMessage() for r in records] == ["a warning that teaches"]
    assert (list(root.handlers), list(logger.handlers), logger.propagate) == before
    with pytest.raises(RuntimeError), logs_captured():
        logger.error("why it failed")
        raise RuntimeError("boom")
    assert "why it failed" in capfd.readouterr().err  # an error's explanation is not swallowed
    assert (list(root.handlers), list(logger.handlers)) == before[:2]
    logger.removeHandler(own)
    with compiler_output_captured() as printed:
        print("Vela: Batch Inference time 1 ms")
        os.write(1, b"native line\n")
    assert "Batch Inference time" in printed.text and "native line" in printed.text
    assert "native line" not in capfd.readouterr().out
