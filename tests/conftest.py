"""Shared test set-up: private config dirs, the Docker and Kubernetes fixtures, snapshots."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension

from tests.netguard import sitecustomize as netguard

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


# Every Python child a test starts imports tests/netguard/sitecustomize.py first: the same guard.
os.environ["PYTHONPATH"] = os.pathsep.join(
    part for part in (str(netguard.FOLDER), os.environ.get("PYTHONPATH", "")) if part
)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Tests touch loopback only: names outside /etc/hosts never reach a DNS server, and a
    connection to any other address fails the test, in this process and in every Python
    child it starts (tests/netguard: they write what they refused to a file read here)."""
    attempts: list[str] = []
    child_log = tmp_path / "netguard.log"
    monkeypatch.setenv(netguard.LOG_VARIABLE, str(child_log))
    for name, replacement in netguard.guarded(attempts.append).items():
        monkeypatch.setattr(socket if name == "getaddrinfo" else socket.socket, name, replacement)
    yield attempts
    if child_log.exists():
        attempts += child_log.read_text(encoding="utf-8").splitlines()
    assert not attempts, f"the test tried to reach beyond loopback: {attempts}"
