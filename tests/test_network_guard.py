"""The suite must never reach the network: these tests fail if the guards are off."""

import os
import socket
import subprocess
import sys

import pytest
from pytest_socket import SocketConnectBlockedError

TEST_NET = ("192.0.2.1", 80)  # TEST-NET-1: reserved, never routed


def test_pytest_process_cannot_connect_out():
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(TEST_NET, timeout=1)


def test_child_processes_and_kernels_cannot_connect_out():
    assert os.environ["LABKIT_NETWORK_GUARD"] == "1"
    code = f"import socket; socket.create_connection({TEST_NET!r}, timeout=1)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "network access is blocked" in done.stderr


def test_loopback_stays_open_for_jupyter_kernels():
    code = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
            "c = socket.create_connection(s.getsockname(), timeout=5); print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
