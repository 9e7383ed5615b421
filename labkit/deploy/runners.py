"""One interface to run a model in any form the labs produce.

``open_runner(x)`` accepts an ``nn.Module`` (eager), a TorchScript file (``.pt``), a lite-interpreter
file (``.ptl``), an ExecuTorch program (``.pte``) or an ONNX file (``.onnx``) and returns a
:class:`Runner`: call it with a batch tensor, get the output tensor. Benchmarks and parity checks
then treat every runtime alike.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

import torch
from torch import nn
from torch.utils.benchmark.utils.common import set_torch_threads  # the context manager Timer (and bench) use

from labkit import params
from labkit.deploy import etpool, executorch_errors
from labkit.deploy.pte import pte_header
from labkit.errors import ImageInputError, LabkitError, ModelFileError, ParameterError, require_file
from labkit.quiet import native_output_captured

# ExecuTorch ScalarType codes (c10 numbering) for the dtypes the labs use.
_ET_DTYPES: dict[int, torch.dtype] = {
    0: torch.uint8, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.int64,
    5: torch.float16, 6: torch.float32, 7: torch.float64, 11: torch.bool, 15: torch.bfloat16,
}


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
        if not isinstance(x, torch.Tensor):
            raise ImageInputError(f"{self.name} takes a torch.Tensor batch (N × C × H × W), got {type(x).__name__}; "
                                  f"make one with labkit.model.preprocessing.preprocess(image, spec)")
        with torch.no_grad():
            try:
                return self.run(x)
            except LabkitError:
                raise
            except (RuntimeError, ValueError, TypeError, IndexError) as exc:
                first = (str(exc).strip().splitlines() or [""])[0][:300]
                expected = getattr(self, "input_sizes", None)
                if expected is not None and tuple(x.shape) == tuple(expected) and x.dtype == torch.float32:
                    raise LabkitError(f"{self.name} ({self.kind}) failed on an input of the shape and dtype it was made "
                                      f"for ({type(exc).__name__}: {first}): the model or runtime failed, not the "
                                      f"input. Re-run the cell that made it; if it repeats, report it") from exc
                raise ImageInputError(f"{self.name} ({self.kind}) could not run an input shaped {tuple(x.shape)} "
                                      f"{x.dtype} ({type(exc).__name__}: {first}); if that is not the shape, dtype and "
                                      f"batch dimension the model was made for, pass those (e.g. model.example_input()); "
                                      f"if it is, the model itself failed") from exc

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
        with set_torch_threads(self.threads or torch.get_num_threads()):  # torch.utils.benchmark's, as bench uses
            return self.module(x)


class TorchScriptRunner(Runner):
    """A TorchScript file (``torch.jit.save``) or a lite-interpreter file (``.ptl``)."""

    kind = "torchscript"

    def __init__(self, path: Path, threads: int | None = None, name: str | None = None, lite: bool | None = None):
        path = Path(path)
        lite = path.suffix == ".ptl" if lite is None else lite
        require_file(path, "TorchScript", "re-run the cell that saves it (torch.jit.save / _save_for_lite_interpreter)")
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
        with set_torch_threads(self.threads or torch.get_num_threads()):  # torch.utils.benchmark's, as bench uses
            return self.module(x)


def set_executorch_threads(threads: int) -> int:
    """Size this process's ExecuTorch thread pool to ``threads`` if no program can have loaded yet;
    return the size it has. It never resizes a pool a program may use (see :mod:`labkit.deploy.etpool`)."""
    from labkit.deploy import etpool

    return etpool.pin(threads)


class ExecuTorchRunner(Runner):
    """An ExecuTorch ``.pte`` run by ``executorch.runtime`` (the same runtime the Android app embeds).

    Inputs are checked against the program's metadata (rank, dtype, static sizes) and made
    contiguous: a non-contiguous (e.g. channels-last) tensor would otherwise give wrong numbers
    without any error. ``threads`` resizes the runtime's process-wide thread pool *before* the
    program loads, which is only possible before anything loaded a program in this process
    (:mod:`labkit.deploy.etpool`); for another thread count use :func:`open_runner`, which then runs the
    program in a child process (:class:`ChildExecuTorchRunner`).
    """

    kind = "executorch"

    def __init__(self, path: Path, threads: int | None = None, name: str | None = None, enable_etdump: bool = False):
        from executorch.runtime import Runtime

        path = Path(path)
        pte_header(path)  # a clear error for a missing, foreign or truncated file
        if threads is not None and etpool.pin(threads) != threads:
            raise LabkitError(
                f"this process's ExecuTorch thread pool has {etpool.pool_size()} threads and programs are loaded, "
                f"so it cannot become {threads} (resizing it would crash them). Use open_runner({str(path)!r}, "
                f"threads={threads}), which runs the program in a child process, or restart the kernel."
            )
        start = time.perf_counter()
        log = None
        try:
            with native_output_captured(echo_meaningful=False) as log:
                self.program = Runtime.get().load_program(path, enable_etdump=enable_etdump)
                self.method = self.program.load_method("forward")
        except RuntimeError as exc:
            said = "; ".join(log.meaningful[-5:]) if log is not None else ""
            raise ModelFileError(self._explain(path, exc) + (f". The runtime said: {said}" if said else "")) from exc
        if log.meaningful:  # anything but known noise (e.g. a Python warning) stays visible
            print("\n".join(log.meaningful), file=sys.stderr)
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
        if any(got > limit for got, limit in zip(x.shape, self.input_sizes, strict=True)):
            raise ImageInputError(f"{self.name} was exported for inputs shaped {self.input_sizes} "
                                  f"(maximum sizes), got {tuple(x.shape)}")
        return x.contiguous()

    def run(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check_input(x)
        try:
            outputs = self.method.execute([x])
        except RuntimeError as exc:
            code = executorch_errors.code_in_message(str(exc))
            detail = executorch_errors.decode(code) if code is not None else str(exc)
            raise ImageInputError(f"{self.name} rejected an input shaped {tuple(x.shape)} {x.dtype} "
                                  f"(exported for {self.input_sizes}): {detail}") from exc
        return outputs[0]


class ChildExecuTorchRunner(Runner):
    """An ExecuTorch ``.pte`` run in a child process whose thread pool has ``threads`` threads.

    Used by :func:`open_runner` when this process's pool has another size and programs are loaded
    (resizing it would crash them, see :mod:`labkit.deploy.etpool`). Calls cross a pipe, so
    :func:`labkit.measure.bench.measure_latency` and :func:`labkit.measure.bench.measure_cold_start` ask the child to
    time itself (``measures_itself``): its numbers are as comparable as an in-process runner's.
    A child that gives no answer within ``answer_timeout`` seconds (plus a latency request's own
    window) is ended and the call raises a :class:`LabkitError`: a hung child never hangs a sweep.
    """

    kind = "executorch"
    measures_itself = True

    def __init__(self, path: Path, threads: int, name: str | None = None, answer_timeout: float = 600.0):
        path = Path(path)
        pte_header(path)  # a clear error for a missing, foreign or truncated file
        self.answer_timeout = params.check_float("answer_timeout (seconds)", answer_timeout, 0)
        self._log = tempfile.TemporaryFile()
        # Its own session: interrupting the notebook's kernel (SIGINT to the kernel's process group)
        # must not kill the child that later cells still use.
        self._process = subprocess.Popen([sys.executable, "-m", "labkit.deploy.etworker", str(path), str(threads)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                         start_new_session=True)
        self.name = name or path.name
        info = self._receive(f"loading {path.name} in a child process", ModelFileError)
        super().__init__(name or path.name, threads, path, info["load_seconds"])
        self.input_sizes = tuple(info["input_sizes"])
        self.input_dtype = getattr(torch, info["input_dtype"].removeprefix("torch."), None)
        self.num_inputs = info["num_inputs"]

    def _child_output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-1500:]

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        """``size`` bytes of the child's answers, waiting at most until ``deadline`` (``time.monotonic``)."""
        fd, data = self._process.stdout.fileno(), b""
        while len(data) < size:
            if os.name != "nt":  # select() cannot wait on a pipe on Windows: there the read just blocks
                ready = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]
                if not ready:
                    raise TimeoutError
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _receive(self, doing: str, error: type[LabkitError] = ImageInputError, extra_seconds: float = 0.0) -> object:
        allowed = self.answer_timeout + extra_seconds
        deadline = time.monotonic() + allowed
        try:  # an answer is its length (8 bytes) and a pickle; no thread: close() also runs at interpreter exit
            message = pickle.loads(self._read_exactly(struct.unpack("<Q", self._read_exactly(8, deadline))[0], deadline))
        except EOFError:
            self._process.wait(timeout=30)
            raise LabkitError(f"the ExecuTorch child process died while {doing} (exit {self._process.returncode}); "
                              f"its last output:\n{self._child_output()}\nRe-run the cell; if it repeats, report it.") from None
        except TimeoutError:
            self._process.kill()
            self._process.wait(timeout=30)
            raise LabkitError(f"the ExecuTorch child process of {self.name} gave no answer within {allowed:.0f} s while "
                              f"{doing}, so it was ended; open the runner again (open_runner), with a larger "
                              f"answer_timeout if the program is that slow") from None
        except BaseException as exc:  # interrupted, or a garbled answer: the pipe is out of step, end the child
            self._process.kill()
            self._process.wait(timeout=30)
            raise LabkitError(f"{type(exc).__name__} while {doing}: the child process of {self.name} was ended so that "
                              f"no later call reads a stale answer; open the runner again (open_runner)") from exc
        if message[0] == "error":
            raise error(f"{message[1]} while {doing}: {message[2]}")
        return message[1]

    def _ask(self, doing: str, *request: object, extra_seconds: float = 0.0) -> object:
        if self._process.poll() is not None:
            raise LabkitError(f"the ExecuTorch child process for {self.name} has ended (exit {self._process.returncode}); "
                              f"open the runner again with open_runner(path, threads=...)")
        try:
            pickle.dump(request, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.flush()
        except BaseException as exc:  # a broken pipe or an interrupt half-way through a request
            self._process.kill()
            self._process.wait(timeout=30)
            raise LabkitError(f"{type(exc).__name__} while {doing}: the child process of {self.name} was ended; "
                              f"open the runner again (open_runner)") from exc
        return self._receive(doing, extra_seconds=extra_seconds)

    def run(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise ImageInputError(f"{self.name} takes a torch.Tensor, got {type(x).__name__}")
        return torch.from_numpy(self._ask(f"running {self.name}", "run", x.detach().contiguous().numpy()))

    def measure_latency(self, x: torch.Tensor, **options: object) -> dict[str, object]:
        """:func:`labkit.measure.bench.measure_latency` run inside the child; returns the Latency fields."""
        window = options.get("min_run_time", 1.0)
        return self._ask(f"timing {self.name}", "latency", x.detach().contiguous().numpy(), options,
                         extra_seconds=2 * window if isinstance(window, (int, float)) else 0.0)

    def measure_cold_start(self, x: torch.Tensor) -> dict[str, float]:
        """:func:`labkit.measure.bench.measure_cold_start` of a fresh load inside the child; returns its fields."""
        return self._ask(f"cold-starting {self.name}", "cold_start", x.detach().contiguous().numpy())

    def close(self) -> None:
        """End the child process (also done when the runner is garbage-collected)."""
        if getattr(self, "_process", None) is not None and self._process.poll() is None:
            try:
                self._ask("closing", "close")
            except LabkitError:
                pass
            self._process.wait(timeout=30)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"ChildExecuTorchRunner({self.name!r}, threads={self.threads}, child pid {self._process.pid})"


class OnnxRunner(Runner):
    """An ONNX file run by ONNX Runtime on the CPU."""

    kind = "onnxruntime"

    def __init__(self, path: Path, threads: int | None = None, name: str | None = None):
        import onnxruntime as ort

        path = Path(path)
        require_file(path, "ONNX", "re-run the export (torch.onnx.export)")
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
        try:
            outputs = self.session.run(None, {self.input_name: x.detach().contiguous().numpy()})
        except Exception as exc:  # onnxruntime's own exception types (InvalidArgument, Fail) derive from Exception
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            raise ImageInputError(f"ONNX Runtime rejected an input shaped {tuple(x.shape)} {x.dtype} for {self.name} "
                                  f"({first}); pass the shape and dtype it was exported with") from exc
        return torch.from_numpy(outputs[0])


def open_runner(source: nn.Module | str | Path, threads: int | None = None, name: str | None = None) -> Runner:
    """A :class:`Runner` for a module or a model file, chosen by type or file extension."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ParameterError(f"threads must be a whole number ≥ 1 (or None for the runtime's default), got {threads!r}")
    if isinstance(source, nn.Module):
        return EagerRunner(source, threads, name or "eager")
    if not isinstance(source, (str, Path)):
        raise ModelFileError(f"open_runner takes an nn.Module or the path of a .pte, .pt, .ptl or .onnx file, "
                             f"got {type(source).__name__}")
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".pte":
        if threads is None or etpool.can_use(threads):
            return ExecuTorchRunner(path, threads, name)
        return ChildExecuTorchRunner(path, threads, name)
    if suffix in (".pt", ".ptl", ".torchscript"):
        return TorchScriptRunner(path, threads, name)
    if suffix == ".onnx":
        return OnnxRunner(path, threads, name)
    raise ModelFileError(f"don't know how to run {path}: expected a .pte, .pt, .ptl or .onnx file")
