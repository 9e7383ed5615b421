"""Where the kit keeps its data, build artifacts and results (override with environment variables)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from labkit.errors import LabkitError, ModelFileError, ParameterError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _dir_from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """The kit's ``data/`` folder (``LABKIT_DATA_DIR`` overrides)."""
    path = _dir_from_env("LABKIT_DATA_DIR", PROJECT_ROOT / "data")
    if not (path / "samples.json").is_file():
        raise LabkitError(
            f"no samples.json in {path}: labkit must run from a checkout of the kit (pip install -e .) "
            f"or LABKIT_DATA_DIR must point to the kit's data/ folder"
        )
    return path


def build_dir(*parts: str) -> Path:
    """A folder under ``build/`` for generated artifacts (``LABKIT_BUILD_DIR`` overrides); created."""
    path = _dir_from_env("LABKIT_BUILD_DIR", PROJECT_ROOT / "build").joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """The results store's folder (``LABKIT_RESULTS_DIR`` overrides); created."""
    path = _dir_from_env("LABKIT_RESULTS_DIR", PROJECT_ROOT / "results")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename: readers see the old file or the new one, never
    half of one. The kit's one atomic writer (model files, cache keys, sweep status files)."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; pass a file path inside it, e.g. {path / 'file'}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError(f"data must be the file's bytes, got {type(data).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")  # one per writer
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path
