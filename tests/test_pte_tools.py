import pytest
import torch

from labkit.deploy import pte
from labkit.errors import ExerciseCheckError, ModelFileError
from labkit.exercises import executorch as checks
from labkit.measure import parity


def test_pte_header_fields(tiny_files):
    header = pte.pte_header(tiny_files["xnnpack"])
    assert header["magic"] == "ET12" and header["format_version"] == 12 and header["extended_header"] == "eh00"
    assert header["segment_base_offset"] + header["segment_data_bytes"] == header["file_bytes"]
    with pytest.raises(ModelFileError):
        pte.pte_header(tiny_files["onnx"])


def test_memory_plan_of_a_portable_program(tiny):
    from executorch.exir import to_edge_transform_and_lower

    program = to_edge_transform_and_lower(torch.export.export(tiny.module, (tiny.example_input(),))).to_executorch()
    plan = pte.memory_plan(program)
    assert plan.arena_bytes == sum(program.executorch_program.execution_plan[0].non_const_buffer_sizes[1:])
    assert 0 < plan.arena_bytes <= plan.naive_bytes and plan.reuse_factor >= 1
    tensors = plan.tensors
    assert (tensors["first_use"] <= tensors["last_use"]).all()
    assert (tensors["offset_bytes"] + tensors["size_bytes"] <= plan.arena_bytes).all()
    assert tensors["size_bytes"].iloc[0] == 1 * 3 * 64 * 64 * 4  # the input x, float32
    # tensors alive at the same time never overlap in the arena (views alias their base on purpose)
    rows = [r for r in tensors.itertuples() if "view" not in r.tensor]
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            live_together = a.first_use <= b.last_use and b.first_use <= a.last_use
            overlap = a.offset_bytes < b.offset_bytes + b.size_bytes and b.offset_bytes < a.offset_bytes + a.size_bytes
            assert not (live_together and overlap), (a.tensor, b.tensor)


def test_profile_reports_delegated_xnnpack_ops(tiny, tmp_path):
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    x = tiny.example_input()
    edge = to_edge_transform_and_lower(torch.export.export(tiny.module, (x,)), partitioner=[XnnpackPartitioner()],
                                       generate_etrecord=True)
    program = edge.to_executorch()
    (tmp_path / "t.pte").write_bytes(program.buffer)
    program.get_etrecord().save(str(tmp_path / "t.etrecord"))
    events = pte.profile(tmp_path / "t.pte", tmp_path / "t.etrecord", x, runs=3, workdir=tmp_path / "dump")
    delegated = events[events["delegated"]]
    assert len(delegated) > 0 and set(delegated["backend"]) == {"XnnpackBackend"}
    assert (events["p50_ms"] >= 0).all() and "#" not in "".join(delegated["op"])


def test_parity_numbers():
    linear = torch.nn.Linear(4, 3)
    batches = [torch.randn(2, 4, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    same = parity.compare(linear, linear, batches)
    assert same.inputs == 6 and same.max_abs_diff == 0 and same.top1_agreement == 1 and abs(same.mean_kl) < 1e-7
    shifted = parity.compare(linear, lambda t: linear(t) + 0.25, batches)
    assert shifted.max_abs_diff == pytest.approx(0.25) and shifted.top1_agreement == 1.0
    flipped = parity.compare(linear, lambda t: -linear(t), batches)
    assert flipped.top1_agreement < 1 and flipped.mean_kl > 0
    with pytest.raises(ValueError, match="shapes differ"):
        parity.compare(linear, lambda t: linear(t)[:, :2], batches)
    with pytest.raises(ValueError, match="no inputs"):
        parity.compare(linear, linear, [])


def test_delegation_checker():
    assert checks.check_fully_delegated(None).passed is None
    with pytest.raises(ExerciseCheckError, match="aten_erf_default"):
        checks.check_fully_delegated(checks.ErfGeluHead())

    class ReluHead(checks.ErfGeluHead):
        def activation(self, x):
            return torch.relu(x)

    class GeluHead(checks.ErfGeluHead):
        def activation(self, x):
            return torch.nn.functional.gelu(x)

    with pytest.raises(ExerciseCheckError, match="outputs differ"):
        checks.check_fully_delegated(ReluHead())
    assert checks.check_fully_delegated(GeluHead()).passed is True


def test_arena_checker():
    assert checks.check_arena_prediction(None).passed is None
    with pytest.raises(ExerciseCheckError, match="batch 2"):
        checks.check_arena_prediction(9_936_896)  # the batch-1 arena: forgot that activations scale
    assert checks.check_arena_prediction(2 * 9_936_896).passed is True


def test_export_pte_reuses_a_program_lowered_by_another_lab(tiny, tmp_path, monkeypatch):
    from labkit.deploy import export

    x = tiny.example_input()
    first = export.export_pte(tiny.module, (x,), tmp_path / "lab_a" / "tiny.pte")
    monkeypatch.setattr(export, "lower_to_pte", lambda *a, **k: (_ for _ in ()).throw(AssertionError("lowered again")))
    second = export.export_pte(tiny.module, (x,), tmp_path / "lab_b" / "tiny.pte")
    assert second != first and second.read_bytes() == first.read_bytes()
    with pytest.raises(AssertionError, match="lowered again"):  # another backend is another program
        export.export_pte(tiny.module, (x,), tmp_path / "lab_b" / "tiny_portable.pte", backend="portable")
