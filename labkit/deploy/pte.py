"""Reading ExecuTorch programs: file header, memory plan, and per-op profiles (ETDump + Inspector).

Thin on purpose: the labs make the real calls (``torch.export.export``,
``to_edge_transform_and_lower``, ``Runtime.load_program(..., enable_etdump=True)``); these helpers
turn what those calls return into tables.
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from labkit.errors import ModelFileError, ParameterError, require_file

if TYPE_CHECKING:
    import pandas as pd


def pte_header(path: str | Path) -> dict[str, object]:
    """The fields at the start of a ``.pte`` (magic/version, the extended header's sizes), checked: the kit's one
    reader of the header, also what every runner calls before loading a program.

    A ``.pte`` starts with a 4-byte offset, the magic ``ET`` + 2-digit version (``ET12``), and an
    extended header ``eh00`` giving the program size and where the data segments end; a file
    shorter than that was truncated (an interrupted copy or export): :class:`ModelFileError`.
    """
    path = Path(path)
    how = "re-run the export (labkit.deploy.export.export_pte or the lab's export cell)"
    require_file(path, "ExecuTorch .pte", how)
    with open(path, "rb") as fh:
        head = fh.read(40)
    size = path.stat().st_size
    magic = head[4:8]
    if not (magic[:2] == b"ET" and magic[2:4].isdigit()):
        raise ModelFileError(
            f"{path} is not an ExecuTorch program (bytes 4–8 are {magic!r}, expected b'ET..'); "
            f"is it a TorchScript/ONNX file with the wrong extension? {how}"
        )
    header: dict[str, object] = {
        "file": path.name, "file_bytes": size,
        "flatbuffer_root_offset": struct.unpack("<I", head[:4])[0],
        "magic": magic.decode("ascii"), "format_version": int(magic[2:4]),
    }
    if head[8:12] == b"eh00":
        if len(head) < 40:
            raise ModelFileError(f"{path} is truncated: {size:,} bytes end inside the header; {how}")
        _, program_size, segment_base, segment_size = struct.unpack("<IQQQ", head[12:40])
        header.update(extended_header="eh00", program_bytes=program_size,
                      segment_base_offset=segment_base, segment_data_bytes=segment_size)
        expected = segment_base + segment_size if segment_size else program_size
        if size < expected:
            raise ModelFileError(f"{path} is truncated: {size:,} of {expected:,} bytes; {how}")
    return header


@dataclass(frozen=True)
class MemoryPlan:
    """What ExecuTorch's memory planning decided for one method.

    ``arena_bytes`` is the activation arena the runtime allocates (``non_const_buffer_sizes``,
    buffer 0 is reserved); ``tensors`` lists every planned tensor with its lifetime (first and
    last instruction using it) and its offset in the arena; ``naive_bytes`` is what giving each
    tensor its own buffer would take.
    """

    arena_bytes: int
    tensors: pd.DataFrame

    @property
    def naive_bytes(self) -> int:
        """Sum of all planned tensor sizes."""
        return int(self.tensors["size_bytes"].sum()) if len(self.tensors) else 0

    @property
    def reuse_factor(self) -> float:
        """How many times smaller the arena is than one buffer per tensor."""
        return self.naive_bytes / self.arena_bytes if self.arena_bytes else float("nan")


def memory_plan(executorch_program_manager) -> MemoryPlan:
    """Read the plan of ``forward`` from what ``.to_executorch()`` returned."""
    plan = executorch_program_manager.executorch_program.execution_plan[0]
    arena = int(sum(plan.non_const_buffer_sizes[1:]))
    rows, seen = [], set()
    graph = executorch_program_manager.exported_program().graph_module.graph
    for node in graph.nodes:
        specs = node.meta.get("spec")
        for spec in specs if isinstance(specs, (list, tuple)) else [specs]:
            if spec is None or not hasattr(spec, "lifetime") or getattr(spec, "const", False):
                continue
            if id(spec) in seen:  # an out-variant op writes into its memory.alloc's tensor: count it once
                continue
            seen.add(id(spec))
            if getattr(spec, "mem_id", None) is None or spec.mem_offset is None or spec.lifetime[0] is None:
                continue
            rows.append({"tensor": node.name, "size_bytes": int(spec.allocated_memory),
                         "first_use": int(spec.lifetime[0]), "last_use": int(spec.lifetime[1]),
                         "offset_bytes": int(spec.mem_offset), "shape": tuple(spec.shape), "dtype": str(spec.dtype)})
    import pandas as pd  # here, not at the top: every runner reads headers with this module

    tensors = pd.DataFrame(rows, columns=["tensor", "size_bytes", "first_use", "last_use", "offset_bytes", "shape", "dtype"])
    return MemoryPlan(arena, tensors)


BOOKKEEPING_OPS = frozenset({"Total", "alloc", "getitem"})  # summary row, memory allocation, tuple unpacking


def non_delegated_ops(program, example: torch.Tensor | None = None) -> list[str]:
    """Operators left outside every delegate (bookkeeping excluded).

    ``program``: what ``to_edge_transform_and_lower`` returned, or an ``nn.Module`` that is first exported
    with ``example`` and lowered to XNNPACK (the ExecuTorch exercise's shortcut).
    """
    from executorch.devtools.backend_debug import get_delegation_info

    if isinstance(program, torch.nn.Module):
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        if example is None:
            raise ParameterError("non_delegated_ops(module, example): a module needs an example input to be exported")
        program = to_edge_transform_and_lower(torch.export.export(program.eval(), (example,)),
                                              partitioner=[XnnpackPartitioner()])
    table = get_delegation_info(program.exported_program().graph_module).get_operator_delegation_dataframe()
    left = table[table["occurrences_in_non_delegated_graphs"] > 0]["op_type"]
    return sorted(set(left) - BOOKKEEPING_OPS)


def events_table(inspector_frame: pd.DataFrame) -> pd.DataFrame:
    """Tidy the DataFrame of ``Inspector.to_dataframe()``.

    Columns: block, event, op (the event name without its ``#n`` counter), delegated, backend,
    p50_ms, avg_ms, count (how many runs the event was recorded in).
    """
    import pandas as pd

    frame = inspector_frame
    return pd.DataFrame({
        "block": frame["event_block_name"],
        "event": frame["event_name"],
        "op": frame["event_name"].map(lambda name: re.sub(r"\s*#\d+$", "", str(name))),
        "delegated": frame["is_delegated_op"].fillna(False).astype(bool),
        "backend": frame["delegate_backend_name"].fillna(""),
        "p50_ms": frame["p50 (ms)"].astype(float),
        "avg_ms": frame["avg (ms)"].astype(float),
        "count": frame["raw"].map(len),
    })


def profile(pte: str | Path, etrecord: str | Path | None, x: torch.Tensor, runs: int, workdir: Path) -> pd.DataFrame:
    """Run a ``.pte`` ``runs`` times with ETDump enabled and return :func:`events_table` of the
    Inspector's events. Lab 01 makes these calls itself; later labs use this shortcut.

    The program runs in this process, on its ExecuTorch thread pool as it is (:func:`labkit.deploy.etpool.pool_size`
    threads): profiling never resizes the pool.
    """
    from executorch.devtools import Inspector
    from executorch.runtime import Runtime

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    etdump_path = workdir / (Path(pte).stem + ".etdp")
    program = Runtime.get().load_program(Path(pte), enable_etdump=True)
    method = program.load_method("forward")
    for _ in range(runs):
        method.execute([x.contiguous()])
    program.write_etdump_result_to_file(str(etdump_path), str(workdir / "debug.bin"))
    if not etdump_path.is_file():
        raise ModelFileError(f"no ETDump was written to {etdump_path}: this executorch build lacks devtools support")
    with warnings.catch_warnings():  # "Output Buffer not found" for every output ETDump did not record: noise
        warnings.filterwarnings("ignore", "Output Buffer not found")
        inspector = Inspector(etdump_path=str(etdump_path), etrecord=str(etrecord) if etrecord else None)
        return events_table(inspector.to_dataframe())
