"""Write model files atomically and reuse them when nothing that matters changed.

The export calls themselves (``torch.export.export``, ``to_edge_transform_and_lower``,
``torch.jit.trace``, ``torch.onnx.export``) are shown in the labs; these helpers only add the
caching that lets a re-run skip an 8–18 s XNNPACK lowering, and the write-then-rename that keeps an
interrupted export from leaving a half-written file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from labkit.env import package_version


def state_fingerprint(module: nn.Module) -> str:
    """A short hash of a module's parameters and buffers (changes when any weight changes)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def cached_artifact(path: Path, key: Mapping[str, object], make: Callable[[], bytes]) -> Path:
    """Return ``path`` if it was made with the same ``key`` (plus torch/executorch versions),
    else call ``make()`` for the file's bytes, write them atomically and record the key beside it."""
    path = Path(path)
    full_key = {**{k: str(v) for k, v in key.items()},
                "torch": package_version("torch"), "executorch": package_version("executorch")}
    key_file = path.with_name(path.name + ".key.json")
    if path.is_file() and key_file.is_file():
        try:
            if json.loads(key_file.read_text()) == full_key:
                return path
        except json.JSONDecodeError:
            pass
    write_atomically(path, make())
    key_file.write_text(json.dumps(full_key, indent=2))
    return path


def lower_to_pte(module: nn.Module, example_inputs: tuple[torch.Tensor, ...], backend: str = "xnnpack") -> bytes:
    """``torch.export`` → ``to_edge_transform_and_lower`` (XNNPACK or none) → ``.pte`` bytes."""
    from executorch.exir import to_edge_transform_and_lower

    partitioners = []
    if backend == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        partitioners = [XnnpackPartitioner()]
    elif backend != "portable":
        raise ValueError(f"backend must be 'xnnpack' or 'portable', got {backend!r}")
    exported = torch.export.export(module.eval(), example_inputs)
    return to_edge_transform_and_lower(exported, partitioner=partitioners).to_executorch().buffer


def export_pte(module: nn.Module, example_inputs: tuple[torch.Tensor, ...], path: Path,
               backend: str = "xnnpack", key: Mapping[str, object] | None = None) -> Path:
    """Cached :func:`lower_to_pte` into ``path`` (re-made when weights, shapes, backend or versions change)."""
    full_key = {"weights": state_fingerprint(module), "shapes": [tuple(x.shape) for x in example_inputs],
                "backend": backend, **(key or {})}
    return cached_artifact(path, full_key, lambda: lower_to_pte(module, example_inputs, backend))
