"""Network guard for child processes of the test suite (Jupyter kernels, memory probes).

pytest-socket guards the pytest process itself; notebooks run in separate kernel processes.
tests/conftest.py puts this folder on PYTHONPATH and sets LABKIT_NETWORK_GUARD=1, so every Python
child refuses connections to anything but loopback, and a notebook that tries to download fails.
"""

import os

if os.environ.get("LABKIT_NETWORK_GUARD") == "1":
    import socket

    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex

    def _allowed(address) -> bool:
        if not isinstance(address, tuple):  # Unix sockets
            return True
        host = str(address[0])
        return host in ("localhost", "::1") or host.startswith("127.")

    def _refuse(address):
        raise ConnectionRefusedError(f"network access is blocked while the kit's tests run (tried {address!r}); "
                                     "notebooks and tests must work offline")

    def connect(self, address):
        if not _allowed(address):
            _refuse(address)
        return _connect(self, address)

    def connect_ex(self, address):
        if not _allowed(address):
            _refuse(address)
        return _connect_ex(self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
