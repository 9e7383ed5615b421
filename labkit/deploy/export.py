"""Write model files atomically and reuse them when nothing that matters changed.

The export calls themselves (``torch.export.export``, ``to_edge_transform_and_lower``,
``torch.jit.trace``, ``torch.onnx.export``) are shown in the labs; these helpers only add the
caching that lets a re-run skip an 8–18 s XNNPACK lowering, and the write-then-rename that keeps an
interrupted export from leaving a half-written file behind.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from labkit.errors import ModelFileError, ParameterError
from labkit.measure.env import package_version
from labkit.paths import build_dir, write_atomically


def state_fingerprint(module: nn.Module) -> str:
    """A short hash of a module's parameters and buffers (changes when any weight changes).

    For an FX graph (e.g. a PT2E-quantized model) the graph's code and the tensors it reads with
    ``get_attr`` count too: two quantized variants can share weights but not their Q/DQ structure.
    """
    digest = hashlib.sha256()
    tensors = dict(module.state_dict())
    if isinstance(module, torch.fx.GraphModule):
        digest.update(module.code.encode())
        for node in module.graph.nodes:
            if node.op == "get_attr":
                value = operator.attrgetter(str(node.target))(module)
                if isinstance(value, torch.Tensor):
                    tensors.setdefault(str(node.target), value)
    for name, tensor in sorted(tensors.items()):
        tensor = tensor.detach().cpu()
        digest.update(name.encode())
        digest.update((tensor.int_repr() if tensor.is_quantized else tensor).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


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
    write_atomically(key_file, json.dumps(full_key, indent=2).encode())
    return path


def _check_export_args(module: object, example_inputs: object, backend: object) -> None:
    if not isinstance(module, nn.Module):
        raise ParameterError(f"module must be a torch.nn.Module (e.g. model.module), got {type(module).__name__}")
    if isinstance(example_inputs, torch.Tensor) or not isinstance(example_inputs, (tuple, list)):
        raise ParameterError(f"example_inputs must be a tuple of tensors, got {type(example_inputs).__name__}; "
                             f"write (x,) for one input")
    if not example_inputs or not all(isinstance(x, torch.Tensor) for x in example_inputs):
        raise ParameterError("example_inputs must be a non-empty tuple of tensors, e.g. (x,)")
    if backend not in ("xnnpack", "portable"):
        raise ParameterError(f"backend must be 'xnnpack' or 'portable', got {backend!r}")


def lower_to_pte(module: nn.Module, example_inputs: tuple[torch.Tensor, ...], backend: str = "xnnpack") -> bytes:
    """``torch.export`` → ``to_edge_transform_and_lower`` (XNNPACK or none) → ``.pte`` bytes."""
    _check_export_args(module, example_inputs, backend)
    from executorch.exir import to_edge_transform_and_lower

    partitioners = []
    if backend == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        partitioners = [XnnpackPartitioner()]
    elif backend != "portable":
        raise ParameterError(f"backend must be 'xnnpack' or 'portable', got {backend!r}")
    try:
        module.eval()
    except NotImplementedError:  # an exported graph (e.g. PT2E-quantized): its mode was fixed when it was exported
        pass
    exported = torch.export.export(module, example_inputs)
    return to_edge_transform_and_lower(exported, partitioner=partitioners).to_executorch().buffer


def export_pte(module: nn.Module, example_inputs: tuple[torch.Tensor, ...], path: Path,
               backend: str = "xnnpack", key: Mapping[str, object] | None = None) -> Path:
    """Cached :func:`lower_to_pte` into ``path`` (re-made when weights, shapes, backend or versions change).

    Lowered programs are also kept under ``build/pte-cache`` by their key, so a lab that lowers
    the same model as an earlier lab copies the file instead of lowering it again.
    """
    _check_export_args(module, example_inputs, backend)
    if Path(path).is_dir():
        raise ModelFileError(f"{path} is a folder; pass a file path inside it, e.g. {Path(path) / 'model.pte'}")
    full_key = {"weights": state_fingerprint(module), "shapes": [tuple(x.shape) for x in example_inputs],
                "backend": backend, **(key or {})}
    digest = hashlib.sha256(json.dumps({k: str(v) for k, v in full_key.items()}, sort_keys=True).encode()).hexdigest()
    shared = cached_artifact(build_dir("pte-cache") / f"{digest[:20]}.pte", full_key,
                             lambda: lower_to_pte(module, example_inputs, backend))
    return cached_artifact(path, full_key, shared.read_bytes)
