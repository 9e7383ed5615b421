"""The ExecuTorch runtime's one process-wide thread pool, handled so that no cell order can crash a kernel.

Every XNNPACK program binds to the pool that exists when it is loaded. ``_unsafe_reset_threadpool``
destroys that pool and makes a new one: a program loaded before the reset then runs on freed memory
(a segfault in ``libexecutorch_threadpool.so``; Android's ``Module.load(path, mode, numThreads)``
has the same hazard). The kit's rule:

* the pool is sized **at most once per process** (the first :func:`pin`), and only while nothing can
  have loaded a program: ``executorch.runtime.Runtime.get()`` was never called, and labkit itself
  imported the runtime's bindings (a program loaded through ``portable_lib`` or the training
  bindings before that would be invisible, so then labkit never resizes at all). A lab pins the
  pool in its setup cell, before any load;
* after that the pool is never resized: a program wanted at another thread count runs in a child
  process with its own pool (:class:`labkit.deploy.runners.ChildExecuTorchRunner`; ``open_runner`` picks it).
"""

from __future__ import annotations

import sys

from labkit.params import check_int

# Modules through which a program can be loaded without Runtime.get().
_LOADERS = ("executorch.extension.pybindings.portable_lib", "executorch.extension.training.pybindings._training_lib")


class _ProcessPool:
    """What labkit knows of this process's one pool (process-wide by nature, like the pool itself)."""

    bindings_imported_first: bool | None = None  # did labkit import the bindings before any other code?
    pinned = False  # a pin() happened: the size is final


def _portable_lib():
    if _ProcessPool.bindings_imported_first is None:
        _ProcessPool.bindings_imported_first = not any(name in sys.modules for name in _LOADERS)
    from executorch.extension.pybindings import portable_lib

    return portable_lib


def pool_size() -> int:
    """Threads of this process's ExecuTorch pool (creating it at its default size if it does not exist)."""
    return int(_portable_lib()._threadpool_get_thread_count())


def programs_may_be_loaded() -> bool:
    """True once the pool's size is final: pinned already, ``Runtime.get()`` called, or the bindings
    imported by other code before labkit saw them (a program may then hold the pool)."""
    _portable_lib()  # first: importing executorch.runtime imports the bindings too
    from executorch.runtime import Runtime

    return (_ProcessPool.pinned or not _ProcessPool.bindings_imported_first
            or Runtime.get.cache_info().currsize > 0)


def can_use(threads: int) -> bool:
    """True if this process can run programs at ``threads`` threads: the pool has that size, or may still be resized."""
    return pool_size() == threads or not programs_may_be_loaded()


def pin(threads: int) -> int:
    """Size the pool to ``threads`` if that is safe, and return the size it has (final from now on).

    Safe means this is the first pin and no program can have been loaded yet; otherwise the pool
    keeps its size (programs at other thread counts then run in a child process).
    """
    check_int("threads", threads, 1)
    if pool_size() != threads and not programs_may_be_loaded():
        from labkit.quiet import native_output_captured

        with native_output_captured():  # "[threadpool.cpp:66] Resetting threadpool to N threads."
            _portable_lib()._unsafe_reset_threadpool(threads)
    _ProcessPool.pinned = True
    return pool_size()
