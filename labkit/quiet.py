"""Keep runtime log spam off the learner's screen, and only that.

ExecuTorch's runtime prints log lines (``[cpuinfo_utils.cpp:71] …``, ``[threadpool.cpp:66] Resetting
threadpool …``) to standard error — C++ code to file descriptor 2, the Python bindings through
``sys.stderr`` — and Jupyter shows each as a pink stderr box. :func:`native_output_captured` captures
both around a block and gives back what was written, so a lab can show a runtime's error message
when it is the lesson; every line that is not known noise (a real error, a Python warning raised in
the block) is written out again after the block, so nothing that teaches is lost. Outside such
blocks nothing is touched: the deprecation warnings that teach appear where they occur.
:func:`hide_import_noise` filters two known log records that the torch/executorch imports emit and
that teach nothing.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field

# Lines the ExecuTorch runtime prints on every machine, which say nothing about the learner's model.
RUNTIME_NOISE = re.compile(r"^\[(cpuinfo_utils|threadpool)\.cpp:\d+\]|^I \d\d:\d\d:\d\d\.\d+ executorch:")


@dataclass
class CapturedOutput:
    """What native code wrote to descriptor 2 during a :func:`native_output_captured` block."""

    text: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def meaningful(self) -> list[str]:
        """The lines that are not known runtime noise (errors, real warnings)."""
        return [line for line in self.lines if line.strip() and not RUNTIME_NOISE.search(line)]


@contextmanager
def _descriptor_captured(fd: int, redirect: type, stream_name: str) -> Iterator[CapturedOutput]:
    """Capture file descriptor ``fd`` (native code, child processes) and the matching Python stream (``redirect``:
    ``redirect_stdout`` or ``redirect_stderr``) during the block; the text is in the yielded object afterwards."""
    captured = CapturedOutput()
    python_side = io.StringIO()
    getattr(sys, stream_name).flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            with redirect(python_side):
                yield captured
        finally:
            try:
                getattr(sys, stream_name).flush()
            except Exception:
                pass
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace") + python_side.getvalue()
            captured.lines = captured.text.splitlines()


@contextmanager
def native_output_captured(echo_meaningful: bool = True) -> Iterator[CapturedOutput]:
    """Capture what a runtime writes to standard error during the block: file descriptor 2 (C++
    code, child processes) and Python's ``sys.stderr`` (ExecuTorch's Python bindings route their log
    lines through it, a few characters at a time).

    After the block — also when it raised — lines that are not known runtime noise are written to
    ``sys.stderr`` (unless ``echo_meaningful`` is False), so a real error message is never lost.
    """
    captured = CapturedOutput()
    try:
        with _descriptor_captured(2, redirect_stderr, "stderr") as captured:
            yield captured
    finally:
        if echo_meaningful and captured.meaningful:  # also when the block raised: its message is never lost
            print("\n".join(captured.meaningful), file=sys.stderr)


@contextmanager
def compiler_output_captured() -> Iterator[CapturedOutput]:
    """Capture what a compiler or simulator prints to standard output during the block: Python's
    ``sys.stdout`` (Vela's reports) and file descriptor 1 (C++ code: the TOSA reference model's
    version notice). Nothing is echoed: the caller keeps the text (e.g. in a log file beside the
    compiled program) and shows what teaches. Standard error is left alone, so real errors still show.
    """
    with _descriptor_captured(1, redirect_stdout, "stdout") as captured:
        yield captured


class _Keep(logging.Handler):
    """Keeps every record it is given, in a list."""

    def __init__(self, records: list[logging.LogRecord]):
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def logs_captured() -> Iterator[list[logging.LogRecord]]:
    """Keep the log records emitted during the block (at the levels their loggers already let through) instead
    of printing them: converters such as coremltools and the Vulkan partitioner log every operator at INFO.
    The caller shows the records that teach (``record.levelno >= logging.WARNING``, or by message).

    Every logger's handlers and ``propagate`` flag are restored afterwards, and handlers a library added during
    the block to an existing logger are removed and closed. If the block raises, its WARNING-and-above records are printed, so the
    messages that explain the error are not lost.
    """
    records: list[logging.LogRecord] = []
    keep = _Keep(records)
    root = logging.getLogger()
    loggers = [root] + [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    saved = {id(lg): (lg, list(lg.handlers), lg.propagate) for lg in loggers}
    for logger in loggers:
        logger.handlers = [keep] if logger is root else []
        logger.propagate = logger is not root
    failed = False
    try:
        yield records
    except BaseException:
        failed = True
        raise
    finally:
        for logger, handlers, propagate in saved.values():  # loggers created in the block keep their own set-up
            for added in [h for h in logger.handlers if h is not keep and h not in handlers]:
                added.close()
            logger.handlers = handlers
            logger.propagate = propagate
        if failed:
            for record in records:
                if record.levelno >= logging.WARNING:
                    print(f"{record.levelname}:{record.name}: {record.getMessage()}", file=sys.stderr)


class _DropRecords(logging.Filter):
    """Drops log records whose message contains one of the given fragments."""

    def __init__(self, fragments: tuple[str, ...]):
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


# (logger, fragment): import-time log records that repeat on every machine and teach nothing.
IMPORT_NOISE = (
    ("torch.utils._pytree", "register_constant() on Enum subclasses is deprecated"),
    ("torch.utils.cpp_extension", "No CUDA runtime is found"),
)


def hide_import_noise() -> None:
    """Filter the known import-time log records of :data:`IMPORT_NOISE` (idempotent), and start the
    ExecuTorch thread pool with its cpuinfo lines captured, so the first program load prints nothing."""
    for name, fragment in IMPORT_NOISE:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRecords) and fragment in f.fragments for f in logger.filters):
            logger.addFilter(_DropRecords((fragment,)))
    from labkit.deploy import etpool

    with native_output_captured():
        etpool.pool_size()
