"""Exceptions with messages that say what happened and what to do next."""

from __future__ import annotations

from pathlib import Path


class LabkitError(Exception):
    """Base class for errors raised by labkit; the message always ends with a next step."""


class WeightsUnavailableError(LabkitError):
    """Pretrained weights cannot be loaded (offline, not installed, or corrupt)."""


class ImageInputError(LabkitError, ValueError):
    """An image or tensor does not have the shape, mode or dtype the model needs."""


class ModelFileError(LabkitError):
    """A model file (.pte, .pt, .ptl, .onnx) is missing, empty, truncated or of the wrong kind."""


class _ShownWithoutTraceback(LabkitError):
    """An error IPython shows as its message alone (``_render_traceback_``): the learner reads the
    hint, not a traceback through labkit. Outside IPython it is an ordinary exception."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {line}" if i == 0 else line
                for i, line in enumerate(str(self).splitlines() or [""])]


class ParameterError(_ShownWithoutTraceback, ValueError):
    """A lab parameter has a wrong type, range or name; the message names the allowed values."""


class ExerciseCheckError(_ShownWithoutTraceback, AssertionError):
    """An exercise answer is wrong; the message gives a hint."""


class ClaimError(_ShownWithoutTraceback, AssertionError):
    """A lab's claim was resolved as false by this run's measurements (expected, measured, what to do)."""


def require_file(path: Path, what: str, how_made: str) -> None:
    """Raise :class:`ModelFileError` unless ``path`` is a non-empty file; ``how_made`` says how to make it again."""
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a {what} file; pass the path of the file inside it")
    if not path.is_file():
        raise ModelFileError(f"no {what} file at {path}; {how_made}")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes): the export was interrupted; {how_made}")
