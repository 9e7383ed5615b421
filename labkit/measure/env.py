"""What machine and which versions a measurement came from (recorded with every result)."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("torch", "torchvision", "executorch", "torchao", "onnxruntime", "edge-lab-kit")


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment() -> dict[str, object]:
    """Versions, CPU and thread settings, as a flat dict for the results store."""
    env: dict[str, object] = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "hostname": platform.node(),
    }
    for name in PACKAGES:
        env[name.replace("-", "_")] = package_version(name)
    return env


def summary(env: dict[str, object] | None = None) -> str:
    """One line: Python, torch, executorch, CPU and cores."""
    env = env or environment()
    return (f"Python {env['python']} · torch {env['torch']} · torchvision {env['torchvision']} · "
            f"executorch {env['executorch']} · torchao {env['torchao']} · {env['platform']} · "
            f"{env['cpu']} · {env['cores']} cores · torch threads {env['torch_threads']} · "
            f"executable {sys.executable}")
