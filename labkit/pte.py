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

import pandas as pd
import torch

from labkit.errors import ModelFileError
from labkit.runners import check_pte_header


def pte_header(path: str | Path) -> dict[str, object]:
    """The fields at the start of a ``.pte``: magic/version and the extended header's sizes."""
    path = Path(path)
    check_pte_header(path)
    head = path.read_bytes()[:40]
    header: dict[str, object] = {
        "file": path.name, "file_bytes": path.stat().st_size,
        "flatbuffer_root_offset": struct.unpack("<I", head[:4])[0],
        "magic": head[4:8].decode("ascii"), "format_version": int(head[6:8]),
    }
    if head[8:12] == b"eh00":
        _, program_size, segment_base, segment_size = struct.unpack("<IQQQ", head[12:40])
        header.update(extended_header="eh00", program_bytes=program_size,
                      segment_base_offset=segment_base, segment_data_bytes=segment_size)
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
    tensors = pd.DataFrame(rows, columns=["tensor", "size_bytes", "first_use", "last_use", "offset_bytes", "shape", "dtype"])
    return MemoryPlan(arena, tensors)


BOOKKEEPING_OPS = frozenset({"Total", "alloc", "getitem"})  # summary row, memory allocation, tuple unpacking


def non_delegated_ops(edge_program_manager) -> list[str]:
    """Operators that ``to_edge_transform_and_lower`` left outside every delegate (bookkeeping excluded)."""
    from executorch.devtools.backend_debug import get_delegation_info

    table = get_delegation_info(edge_program_manager.exported_program().graph_module).get_operator_delegation_dataframe()
    left = table[table["occurrences_in_non_delegated_graphs"] > 0]["op_type"]
    return sorted(set(left) - BOOKKEEPING_OPS)


def events_table(inspector_frame: pd.DataFrame) -> pd.DataFrame:
    """Tidy the DataFrame of ``Inspector.to_dataframe()``.

    Columns: block, event, op (the event name without its ``#n`` counter), delegated, backend,
    p50_ms, avg_ms, count (how many runs the event was recorded in).
    """
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
    Inspector's events. Lab 05 makes these calls itself; later labs use this shortcut.

    The program runs in this process, on its ExecuTorch thread pool as it is (:func:`labkit.etpool.pool_size`
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
