"""The Arm Ethos-U NPU toolchain (requirements-npu.txt, installed with --no-deps): the doctor vouches for it, Vela
compiles a tiny int8 model for the Ethos-U55 through ExecuTorch's Arm backend, and the TOSA reference model runs
the compiled graph bit-exactly — all with the kit's numpy, ml_dtypes, flatbuffers and jsonschema, not the older
versions tosa-tools declares. This is the proof the doctor's check names (doctor.NPU_TEST)."""

from __future__ import annotations

import csv
import importlib
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch

from labkit.workshop import doctor

ROOT = Path(__file__).resolve().parents[1]
TARGET = "ethos-u55-128"


def _missing_modules() -> list[str]:
    missing = []
    for module in ("ethosu.vela", "tosa_reference_model"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


MISSING = _missing_modules()
needs_npu = pytest.mark.skipif(bool(MISSING), reason=f"the NPU toolchain is missing ({', '.join(MISSING)}): `make install` "
                               "installs requirements-npu.txt (with --no-deps)")

KNOWN_LINES = [  # pip check in the kit's venv, verbatim
    "tosa-tools 2026.8.0 has requirement flatbuffers==25.2.10, but you have flatbuffers 25.12.19.",
    "tosa-tools 2026.8.0 has requirement jsonschema==4.24.0, but you have jsonschema 4.26.0.",
    "tosa-tools 2026.8.0 has requirement ml-dtypes==0.5.3, but you have ml-dtypes 0.6.0.",
    'tosa-tools 2026.8.0 has requirement numpy<2.2,>=1.26; python_version < "3.14", but you have numpy 2.4.6.',
]


def test_pip_check_classifier_accepts_only_the_known_declared_pins_of_tosa_tools():
    assert doctor.KNOWN_PIP_CONFLICTS == {"tosa-tools": frozenset({"flatbuffers", "jsonschema", "ml-dtypes", "numpy"})}
    assert doctor.unexpected_pip_check_lines("\n".join(KNOWN_LINES) + "\n") == []
    assert doctor.unexpected_pip_check_lines("No broken requirements found.\n") == []
    assert doctor.unexpected_pip_check_lines(
        "tosa_tools 2026.8.0 has requirement ml_dtypes==0.5.3, but you have ml_dtypes 0.6.0.") == [], "PEP 503 names"
    unknown = [
        "tosa-tools 2026.8.0 requires semver, which is not installed.",  # a missing dependency, even of tosa-tools
        "tosa-tools 2026.8.0 has requirement protobuf==5.29.0, but you have protobuf 6.33.0.",  # another of its pins
        "onnx 1.23.2 has requirement ml_dtypes>=0.5.4, but you have ml-dtypes 0.5.3.",  # a known name, another package
        "executorch 1.5.1 has requirement numpy>=2.0, but you have numpy 1.26.4.",
        "ethos-u-vela 5.2.0 requires flatbuffers, which is not installed.",
        "torch 2.14.1 is not supported on this platform",
    ]
    for line in unknown:
        assert doctor.unexpected_pip_check_lines("\n".join([*KNOWN_LINES, line])) == [line], line


def test_npu_pins_are_the_requirements_file_and_named_test_exists():
    assert doctor.NPU_REQUIREMENTS == ROOT / "requirements-npu.txt"
    assert doctor._npu_pins() == {"ethos-u-vela": "5.2.0", "tosa-tools": "2026.8.0"}
    assert doctor.NPU_TEST == f"tests/{Path(__file__).name}" and (ROOT / doctor.NPU_TEST).is_file()
    assert doctor._npu_toolchain in doctor.CHECKS


@needs_npu
def test_only_the_known_pins_of_tosa_tools_are_overridden():
    """Every requirement Vela and tosa-tools declare holds in this venv, except exactly KNOWN_PIP_CONFLICTS."""
    from packaging.requirements import Requirement

    for dist in doctor._npu_pins():
        broken = set()
        for text in metadata.requires(dist) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            installed = metadata.version(requirement.name)  # raises if a dependency is missing
            if not requirement.specifier.contains(installed, prereleases=True):
                broken.add(doctor._normalized(requirement.name))
        assert broken == doctor.KNOWN_PIP_CONFLICTS.get(dist, frozenset()), dist


@needs_npu
def test_doctor_vouches_for_the_npu_toolchain(monkeypatch):
    check = doctor._npu_toolchain()
    assert check.ok, doctor.report([check])
    assert check.name == "NPU toolchain (Arm Ethos-U)"
    assert "ethos-u-vela 5.2.0" in check.detail and "tosa-tools 2026.8.0" in check.detail
    assert "overridden on purpose" in check.detail and doctor.NPU_TEST in check.detail

    stdout = "\n".join([*KNOWN_LINES, "executorch 1.5.1 requires ruamel.yaml, which is not installed."]) + "\n"
    monkeypatch.setattr(doctor, "_pip_check", lambda: subprocess.CompletedProcess(["pip", "check"], 1, stdout, ""))
    broken = doctor._npu_toolchain()
    assert not broken.ok and "ruamel.yaml" in broken.detail and "tosa-tools 2026.8.0" not in broken.detail
    assert "pip install --no-deps -r requirements-npu.txt" in broken.fix and "-r requirements.txt" in broken.fix

    monkeypatch.setattr(doctor, "package_version", lambda name: "2026.2.0" if name == "tosa-tools" else "5.2.0")
    old = doctor._npu_toolchain()
    assert not old.ok and "tosa-tools 2026.2.0 (pinned 2026.8.0)" in old.detail and "make install" in old.fix


@pytest.fixture(scope="module")
def ethos_u55(tmp_path_factory):
    """A tiny int8 conv net (3→8, ReLU, 8→8 on 1×3×16×16) quantized and lowered for the Ethos-U55-128, with
    Vela's artifacts in a folder. Returns (folder, the quantized torch model, its input, the edge program, .pte)."""
    from executorch.backends.arm.ethosu import EthosUCompileSpec
    from executorch.backends.arm.quantizer import get_symmetric_quantization_config
    from executorch.backends.arm.util._factory import create_partitioner, create_quantizer
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    folder = tmp_path_factory.mktemp("ethos_u55")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                    torch.nn.Conv2d(8, 8, 3, padding=1)).eval()
        x = torch.randn(1, 3, 16, 16)
        calibration = [torch.randn(1, 3, 16, 16) for _ in range(4)]
    spec = EthosUCompileSpec(TARGET, extra_flags=["--verbose-performance"])  # + Vela's per-layer CSV
    spec.dump_intermediate_artifacts_to(str(folder))
    quantizer = create_quantizer(spec)
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
    graph = prepare_pt2e(torch.export.export(model, (x,)).module(check_guards=False), quantizer)
    for sample in calibration:
        graph(sample)
    graph = convert_pt2e(graph)
    edge = to_edge_transform_and_lower(torch.export.export(graph, (x,)), partitioner=[create_partitioner(spec)])
    return folder, graph, x, edge, edge.to_executorch().buffer


@needs_npu
def test_vela_compiles_a_tiny_int8_model_for_ethos_u55(ethos_u55):
    folder, _, _, edge, pte = ethos_u55
    module = edge.exported_program().graph_module
    assert [m.backend_id for _, m in module.named_children()] == ["EthosUBackend"]
    left = [str(n.target) for n in module.graph.nodes if n.op == "call_function"]
    assert not any("convolution" in op or "relu" in op for op in left), f"left outside the NPU delegate: {left}"
    assert b"EthosUBackend" in pte

    summaries = list((folder / "output").glob("out_summary_*.csv"))
    assert len(summaries) == 1, sorted(p.name for p in folder.rglob("*"))
    [summary] = list(csv.DictReader(summaries[0].open()))
    assert summary["accelerator_configuration"] == "Ethos_U55_128"
    macs = 16 * 16 * 8 * (3 * 9) + 16 * 16 * 8 * (8 * 9)  # output pixels × channels × inputs per output, per conv
    assert int(summary["nn_macs"]) == macs
    assert float(summary["cycles_npu"]) > 0 and float(summary["cycles_total"]) >= float(summary["cycles_npu"])
    layers = list(csv.DictReader((folder / "output" / "out_per-layer.csv").open()))
    assert layers and {row["Target"] for row in layers} == {"NPU"}, "every operator runs on the NPU"
    assert [int(row["MAC Count"]) for row in layers if row["NNG Operator"] == "Conv2D"] == [16 * 16 * 8 * 27, 16 * 16 * 8 * 72]


@needs_npu
def test_tosa_reference_model_runs_the_compiled_graph_like_the_quantized_model(ethos_u55):
    import tosa_reference_model as trm

    folder, graph, x, _, _ = ethos_u55
    q_in = next(n for n in graph.graph.nodes if n.op == "call_function" and "quantize_per_tensor" in str(n.target)
                and n.args[0].op == "placeholder")
    dq_out = next(n for n in graph.graph.nodes if n.op == "output").args[0][0]
    (scale_in, zero_in), (scale_out, zero_out) = q_in.args[1:3], dq_out.args[1:3]
    x_int8 = torch.clamp(torch.round(x / scale_in) + zero_in, -128, 127).to(torch.int8).numpy()
    outputs, status = trm.run((folder / "out.tosa").read_bytes(), [x_int8], verbosity="NONE",
                              initialize_variable_tensor_from_numpy=True)
    assert status == trm.GraphStatus.TOSA_VALID, status
    [y] = outputs
    assert y.shape == (1, 8, 16, 16) and y.dtype == np.int8
    with torch.no_grad():
        expected = torch.clamp(torch.round(graph(x) / scale_out) + zero_out, -128, 127).to(torch.int8).numpy()
    diff = np.abs(y.astype(np.int16) - expected.astype(np.int16))
    assert diff.max() <= 1, f"TOSA reference vs quantized torch model: {int(diff.max())} int8 steps apart"
