"""The test suite's own promise: nothing but loopback is ever contacted."""

from __future__ import annotations

import socket

import pytest


def test_names_outside_the_hosts_file_are_not_resolved() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("gitlab.example.com", 443)
    assert socket.getaddrinfo("localhost", 80)


def test_non_loopback_connections_are_refused_and_reported(loopback_only: list[str]) -> None:
    sock = socket.socket()
    try:
        with pytest.raises(OSError, match="only connect to loopback"):
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: refused before any packet leaves
    finally:
        sock.close()
    assert loopback_only == ["192.0.2.1"]
    loopback_only.clear()  # this test made the attempt on purpose
