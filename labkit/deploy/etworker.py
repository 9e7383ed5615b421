"""Child process that runs one ExecuTorch program with a thread pool of its own.

Started by :class:`labkit.deploy.runners.ChildExecuTorchRunner` as ``python -m labkit.deploy.etworker PATH THREADS``:
it sizes its pool *before* loading anything (see :mod:`labkit.deploy.etpool`), loads the program, then
answers requests read from stdin (pickled tuples) on stdout (each answer: its length in 8 bytes, then a pickle):

* ``("run", array)`` → the output array;
* ``("latency", array, options)`` → the fields of a :class:`labkit.measure.bench.Latency`, measured here;
* ``("cold_start", array)`` → load / first / second call times of a fresh load, in ms;
* ``("close",)`` → exit.

Every answer is ``("ok", value)`` or ``("error", type name, message)``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import struct
import sys


def serve(path: str, threads: int) -> None:
    """Load ``path`` with ``threads`` threads and answer requests until ``close`` or end of input."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed (runtime logs) goes to stderr, never into the answers
    requests = sys.stdin.buffer

    def answer(message: tuple) -> None:  # its length (8 bytes, little-endian), then the pickle
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(struct.pack("<Q", len(data)) + data)
        answers.flush()

    try:
        import torch

        from labkit.deploy import etpool
        from labkit.deploy.runners import ExecuTorchRunner
        from labkit.measure import bench

        if etpool.pin(threads) != threads:
            raise RuntimeError(f"could not size the worker's thread pool to {threads}")
        runner = ExecuTorchRunner(path, threads=threads)
    except Exception as exc:
        answer(("error", type(exc).__name__, str(exc)))
        return
    answer(("ok", {"load_seconds": runner.load_seconds, "input_sizes": runner.input_sizes,
                   "input_dtype": str(runner.input_dtype), "num_inputs": runner.num_inputs}))
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            kind = request[0]
            if kind == "close":
                answer(("ok", None))
                return
            x = torch.from_numpy(request[1])
            if kind == "run":
                value = runner(x).detach().numpy()
            elif kind == "latency":
                latency = bench.measure_latency(runner, x, **request[2])
                value = dataclasses.asdict(latency)
            elif kind == "cold_start":
                value = dataclasses.asdict(bench.measure_cold_start(lambda: ExecuTorchRunner(path, threads=threads), x))
            else:
                raise ValueError(f"unknown request {kind!r}")
            answer(("ok", value))
        except Exception as exc:
            answer(("error", type(exc).__name__, str(exc)))


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
