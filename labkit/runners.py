"""One interface to run a model in any form the labs produce.

``open_runner(x)`` accepts an ``nn.Module`` (eager), a TorchScript file (``.pt``), a lite-interpreter
file (``.ptl``), an ExecuTorch program (``.pte``) or an ONNX file (``.onnx``) and returns a
:class:`Runner`: call it with a batch tensor, get the output tensor. Benchmarks and parity checks
then treat every runtime alike.
"""

from __future__ import annotations

import struct
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from labkit import executorch_errors
from labkit.errors import ImageInputError, ModelFileError

# ExecuTorch ScalarType codes (c10 numbering) for the dtypes the labs use.
_ET_DTYPES: dict[int, torch.dtype] = {
    0: torch.uint8, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.int64,
    5: torch.float16, 6: torch.float32, 7: torch.float64, 11: torch.bool, 15: torch.bfloat16,
}


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``; restore the previous value after."""
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Runner(ABC):
    """A loaded model: ``runner(x) -> output``. Subclasses set ``kind``."""

    kind = "abstract"

    def __init__(self, name: str, threads: int | None, path: Path | None, load_seconds: float):
        self.name = name
        self.threads = threads
        self.path = path
        self.load_seconds = load_seconds

    @abstractmethod
    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Run one batch; ``x`` is NCHW float32."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.run(x)

    @property
    def file_size_bytes(self) -> int | None:
        """Size of the model file, or None for an in-memory eager model."""
        return self.path.stat().st_size if self.path is not None else None

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"{type(self).__name__}({self.name!r}, threads={self.threads}{where})"


class EagerRunner(Runner):
    """A ``torch.nn.Module`` in eval mode, run with the given number of intra-op threads."""

    kind = "eager"

    def __init__(self, module: nn.Module, threads: int | None = None, name: str = "eager"):
        super().__init__(name, threads, None, 0.0)
        self.module = module.eval()

    def run(self, x: torch.Tensor) -> torch.Tensor:
        with torch_threads(self.threads):
            return self.module(x)


def _require_file(path: Path, what: str, how_made: str) -> None:
    if not path.is_file():
        raise ModelFileError(f"no {what} file at {path}; {how_made}")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes): the export was interrupted; {how_made}")


class TorchScriptRunner(Runner):
    """A TorchScript file (``torch.jit.save``) or a lite-interpreter file (``.ptl``)."""

    kind = "torchscript"

    def __init__(self, path: Path, threads: int | None = None, name: str | None = None, lite: bool | None = None):
        path = Path(path)
        lite = path.suffix == ".ptl" if lite is None else lite
        _require_file(path, "TorchScript", "re-run the cell that saves it (torch.jit.save / _save_for_lite_interpreter)")
        start = time.perf_counter()
        try:
            if lite:
                from torch.jit.mobile import _load_for_lite_interpreter

                self.module = _load_for_lite_interpreter(str(path))
            else:
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except RuntimeError as exc:
            kind = "lite-interpreter" if lite else "TorchScript"
            raise ModelFileError(f"{path} is not a loadable {kind} file ({str(exc).splitlines()[0]}); "
                                 f"it may be truncated or of another format: re-export it") from exc
        self.kind = "lite" if lite else "torchscript"
        super().__init__(name or path.name, threads, path, time.perf_counter() - start)

    def run(self, x: torch.Tensor) -> torch.Tensor:
        with torch_threads(self.threads):
            return self.module(x)


def check_pte_header(path: Path) -> None:
    """Raise :class:`ModelFileError` unless ``path`` looks like a complete ExecuTorch program.

    A ``.pte`` starts with a 4-byte offset, the magic ``ET`` + 2-digit version (``ET12``), and an
    extended header ``eh00`` giving the program size and where the data segments end; a file
    shorter than that was truncated (an interrupted copy or export).
    """
    how = "re-run the export (labkit.export.export_pte or the lab's export cell)"
    _require_file(path, "ExecuTorch .pte", how)
    with open(path, "rb") as fh:
        head = fh.read(40)
    size = path.stat().st_size
    magic = head[4:8]
    if not (magic[:2] == b"ET" and magic[2:4].isdigit()):
        raise ModelFileError(
            f"{path} is not an ExecuTorch program (bytes 4–8 are {magic!r}, expected b'ET..'); "
            f"is it a TorchScript/ONNX file with the wrong extension? {how}"
        )
    if head[8:12] == b"eh00" and len(head) >= 32:
        _, program_size, segment_base, segment_size = struct.unpack("<IQQQ", head[12:40])
        expected = segment_base + segment_size if segment_size else program_size
        if size < expected:
            raise ModelFileError(f"{path} is truncated: {size:,} of {expected:,} bytes; {how}")


class _ThreadPoolState:
    """Mirror of the ExecuTorch runtime's one process-wide thread pool.

    XNNPACK binds a program to the pool that exists when the program is loaded, and
    ``_unsafe_reset_threadpool`` replaces that pool: a program loaded before a reset must not run
    after it. Each reset made through :func:`set_executorch_threads` bumps ``generation``.
    """

    generation = 0


def set_executorch_threads(threads: int) -> None:
    """Resize the ExecuTorch thread pool (only before loading programs: see :class:`_ThreadPoolState`)."""
    from executorch.extension.pybindings import portable_lib

    if portable_lib._threadpool_get_thread_count() != threads:
        portable_lib._unsafe_reset_threadpool(threads)
        _ThreadPoolState.generation += 1


class ExecuTorchRunner(Runner):
    """An ExecuTorch ``.pte`` run by ``executorch.runtime`` (the same runtime the Android app embeds).

    Inputs are checked against the program's metadata (rank, dtype, static sizes) and made
    contiguous: a non-contiguous (e.g. channels-last) tensor would otherwise give wrong numbers
    without any error. ``threads`` resizes the runtime's process-wide thread pool *before* the
    program loads; a runner whose pool was resized afterwards refuses to run (reload it).
    """

    kind = "executorch"

    def __init__(self, path: Path, threads: int | None = None, name: str | None = None, enable_etdump: bool = False):
        from executorch.runtime import Runtime

        path = Path(path)
        check_pte_header(path)
        if threads is not None:
            set_executorch_threads(threads)
        self.pool_generation = _ThreadPoolState.generation
        start = time.perf_counter()
        try:
            self.program = Runtime.get().load_program(path, enable_etdump=enable_etdump)
            self.method = self.program.load_method("forward")
        except RuntimeError as exc:
            raise ModelFileError(self._explain(path, exc)) from exc
        super().__init__(name or path.name, threads, path, time.perf_counter() - start)
        meta = self.program.metadata("forward")
        info = meta.input_tensor_meta(0)
        self.input_sizes = tuple(info.sizes())
        self.input_dtype = _ET_DTYPES.get(info.dtype())
        self.num_inputs = meta.num_inputs()

    @staticmethod
    def _explain(path: Path, exc: Exception) -> str:
        code = executorch_errors.code_in_message(str(exc))
        detail = executorch_errors.decode(code) if code is not None else str(exc)
        return f"ExecuTorch could not load {path}: {detail}. Original message: {exc}"

    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Validate ``x`` against the program's input and return a contiguous version of it."""
        if not isinstance(x, torch.Tensor):
            raise ImageInputError(f"{self.name} takes a torch.Tensor, got {type(x).__name__}")
        if self.input_dtype is not None and x.dtype != self.input_dtype:
            raise ImageInputError(f"{self.name} expects dtype {self.input_dtype}, got {x.dtype}; "
                                  f"convert with x.to({self.input_dtype})")
        if x.dim() != len(self.input_sizes):
            raise ImageInputError(f"{self.name} expects a {len(self.input_sizes)}-d input shaped "
                                  f"{self.input_sizes}, got {tuple(x.shape)}; add the batch dimension with x[None]?")
        if any(got > limit for got, limit in zip(x.shape, self.input_sizes)):
            raise ImageInputError(f"{self.name} was exported for inputs shaped {self.input_sizes} "
                                  f"(maximum sizes), got {tuple(x.shape)}")
        return x.contiguous()

    def run(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check_input(x)
        if self.pool_generation != _ThreadPoolState.generation:
            raise ModelFileError(
                f"{self.name} was loaded before the ExecuTorch thread pool was resized; its XNNPACK delegate "
                f"still points at the old pool. Load it again: open_runner({str(self.path)!r}, threads=...)"
            )
        try:
            outputs = self.method.execute([x])
        except RuntimeError as exc:
            code = executorch_errors.code_in_message(str(exc))
            detail = executorch_errors.decode(code) if code is not None else str(exc)
            raise ImageInputError(f"{self.name} rejected an input shaped {tuple(x.shape)} {x.dtype} "
                                  f"(exported for {self.input_sizes}): {detail}") from exc
        return outputs[0]


class OnnxRunner(Runner):
    """An ONNX file run by ONNX Runtime on the CPU."""

    kind = "onnxruntime"

    def __init__(self, path: Path, threads: int | None = None, name: str | None = None):
        import onnxruntime as ort

        path = Path(path)
        _require_file(path, "ONNX", "re-run the export (torch.onnx.export)")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        start = time.perf_counter()
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFileError(f"ONNX Runtime could not load {path} ({exc}); the file may be truncated "
                                 f"or not ONNX: re-export it") from exc
        super().__init__(name or path.name, threads, path, time.perf_counter() - start)
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self.session.run(None, {self.input_name: x.detach().contiguous().numpy()})
        return torch.from_numpy(outputs[0])


def open_runner(source: nn.Module | str | Path, threads: int | None = None, name: str | None = None) -> Runner:
    """A :class:`Runner` for a module or a model file, chosen by type or file extension."""
    if isinstance(source, nn.Module):
        return EagerRunner(source, threads, name or "eager")
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".pte":
        return ExecuTorchRunner(path, threads, name)
    if suffix in (".pt", ".ptl", ".torchscript"):
        return TorchScriptRunner(path, threads, name)
    if suffix == ".onnx":
        return OnnxRunner(path, threads, name)
    raise ModelFileError(f"don't know how to run {path}: expected a .pte, .pt, .ptl or .onnx file")
