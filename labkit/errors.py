"""Exceptions with messages that say what happened and what to do next."""


class LabkitError(Exception):
    """Base class for errors raised by labkit; the message always ends with a next step."""


class WeightsUnavailableError(LabkitError):
    """Pretrained weights cannot be loaded (offline, not installed, or corrupt)."""


class ImageInputError(LabkitError, ValueError):
    """An image or tensor does not have the shape, mode or dtype the model needs."""


class ModelFileError(LabkitError):
    """A model file (.pte, .pt, .ptl, .onnx) is missing, empty, truncated or of the wrong kind."""


class ExerciseCheckError(LabkitError, AssertionError):
    """An exercise answer is wrong; the message gives a hint."""
