"""Loopback only, in every Python process the tests start, not just in pytest's own.

`tests/conftest.py` puts this folder first on PYTHONPATH, so each child Python (the wizard
run as `python -m wizard`, a helper script) imports this module at start-up (`site` imports
`sitecustomize`) and gets the same guard as the tests themselves: a name outside /etc/hosts
is never sent to a DNS server (it fails to resolve, as on an air-gapped host), and a
connection to a non-loopback address never leaves the machine; each such connection is
written to the file in AIGW_TEST_NETGUARD_LOG, which the test's own guard reads afterwards
and fails on.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG_VARIABLE = "AIGW_TEST_NETGUARD_LOG"
FOLDER = Path(__file__).resolve().parent


def hosts_file_names() -> set[str]:
    names = {"localhost"}
    try:
        for line in Path("/etc/hosts").read_text().splitlines():
            names.update(line.split("#", 1)[0].split()[1:])
    except OSError:
        pass
    return names


LOCAL_NAMES = hosts_file_names()


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def guarded(record: Callable[[str], None]) -> dict[str, Any]:
    """Replacements for socket.getaddrinfo / socket.socket.connect / connect_ex that refuse
    everything but loopback, calling `record` with what was refused."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: object, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else host
        if isinstance(text, str) and text not in LOCAL_NAMES:
            try:
                ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:  # refused here: no query leaves the machine, so nothing to record
                raise socket.gaierror(socket.EAI_NONAME, f"{text}: not resolved in tests (loopback only)") from None
        return real_getaddrinfo(host, *args, **kwargs)

    def guard(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not is_loopback(str(address[0])):
                record(str(address[0]))
                raise OSError(errno.ENETUNREACH, f"tests may only connect to loopback, not {address[0]}")

    def connect(sock: socket.socket, address: Any) -> None:
        guard(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        guard(sock, address)
        return real_connect_ex(sock, address)

    return {"getaddrinfo": getaddrinfo, "connect": connect, "connect_ex": connect_ex}


def child_pythonpath(*first: object) -> str:
    """A PYTHONPATH for a child that keeps this guard: `first`, then this folder."""
    return os.pathsep.join([*(str(item) for item in first), str(FOLDER)])


def _install_in_this_process(log: str) -> None:
    def record(what: str) -> None:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{what} (from child process {os.getpid()})\n")

    replacements = guarded(record)
    socket.getaddrinfo = replacements["getaddrinfo"]
    socket.socket.connect = replacements["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = replacements["connect_ex"]  # type: ignore[method-assign]


if __name__ == "sitecustomize" and os.environ.get(LOG_VARIABLE):
    _install_in_this_process(os.environ[LOG_VARIABLE])
