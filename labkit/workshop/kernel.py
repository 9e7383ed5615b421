"""The kit's Jupyter kernel: IPython's kernel, reporting the Python version as major.minor.

Why: when JupyterLab (4.6, ``packages/notebook/src/panel.ts``, ``NotebookPanel._updateLanguage``)
connects a notebook to a kernel, it writes the kernel's ``language_info`` (from its
``kernel_info_reply``) into the notebook's metadata. The shared model skips the write only when the
stored value is deep-equal to the new one (``@jupyter/ydoc`` ``YNotebook.setMetadata``); any
difference marks the notebook as modified the moment it opens. ipykernel reports
``sys.version.split()[0]`` (3.11.2 on one machine, 3.11.9 on the next), so no stored value could
match everywhere. This kernel reports ``3.11`` — the version the kit requires — and every
notebook stores exactly :data:`LANGUAGE_INFO` (``tests/test_notebooks.py`` checks both).

Registered by ``make kernel`` (and repo2docker's ``postBuild``)::

    python -m labkit.workshop.kernel --name edge-lab-kit --display-name "Python 3.11 (Edge Lab Kit)"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ipykernel.ipkernel import IPythonKernel

LANGUAGE_INFO: dict = {**IPythonKernel.language_info,
                       "version": f"{sys.version_info.major}.{sys.version_info.minor}"}
KERNEL_CLASS = "labkit.workshop.kernel.EdgeLabKernel"


class EdgeLabKernel(IPythonKernel):
    """IPython's kernel with a machine-independent ``language_info`` (see the module docstring)."""

    language_info = LANGUAGE_INFO


def install(name: str, display_name: str, prefix: str | None = None) -> Path:
    """Register the kernel (like ``ipykernel install --sys-prefix``) so that it runs :class:`EdgeLabKernel`."""
    from ipykernel.kernelspec import install as install_ipykernel

    folder = Path(install_ipykernel(kernel_name=name, display_name=display_name, prefix=prefix or sys.prefix))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text())
    spec["argv"] = [a for a in spec["argv"] if not a.startswith("--IPKernelApp.kernel_class=")]
    spec["argv"].append(f"--IPKernelApp.kernel_class={KERNEL_CLASS}")
    spec_file.write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labkit.workshop.kernel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="edge-lab-kit")
    parser.add_argument("--display-name", default="Python 3.11 (Edge Lab Kit)")
    parser.add_argument("--prefix", default=None, help="install under this prefix (default: this Python's sys.prefix)")
    args = parser.parse_args(argv)
    folder = install(args.name, args.display_name, args.prefix)
    print(f"installed kernel {args.name!r} ({args.display_name}) in {folder}")


if __name__ == "__main__":
    main()
