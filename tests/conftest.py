"""Shared test set-up: private config dirs, the Docker and Kubernetes fixtures, snapshots."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension

pytest_plugins = ["tests.docker_fixtures", "tests.kube_fixtures"]

ROOT = Path(__file__).resolve().parent.parent


def _snapshot_dirname(cls: type, *, test_location: object) -> str:
    # The plugin has no setting for its folder; keep SVGs in the top-level snapshots/.
    return str(ROOT / "snapshots" / test_location.basename)  # type: ignore[attr-defined]


SVGImageExtension.dirname = classmethod(_snapshot_dirname)  # type: ignore[method-assign, assignment]


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own profiles, logs and state, never the user's."""
    folder = tmp_path / "aigw-config"
    monkeypatch.setenv("AIGW_WIZARD_CONFIG_DIR", str(folder))
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    return folder


def _hosts_file_names() -> set[str]:
    names = {"localhost"}
    try:
        for line in Path("/etc/hosts").read_text().splitlines():
            names.update(line.split("#", 1)[0].split()[1:])
    except OSError:
        pass
    return names


_LOCAL_NAMES = _hosts_file_names()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Tests touch loopback only: names outside /etc/hosts never reach a DNS server, and a
    connection to any other address fails the test (in this process; subprocesses are
    pointed at loopback servers by the tests themselves)."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        text = host.decode() if isinstance(host, bytes) else host
        if isinstance(text, str) and text not in _LOCAL_NAMES:
            try:
                ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, f"{text}: not resolved in tests (loopback only)") from None
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    def guard(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not _is_loopback(str(address[0])):
                attempts.append(str(address[0]))
                raise OSError(errno.ENETUNREACH, f"tests may only connect to loopback, not {address[0]}")

    def connect(sock: socket.socket, address: object) -> None:
        guard(sock, address)
        real_connect(sock, address)  # type: ignore[arg-type]

    def connect_ex(sock: socket.socket, address: object) -> int:
        guard(sock, address)
        return real_connect_ex(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    assert not attempts, f"the test tried to reach non-loopback addresses: {attempts}"
