"""Pytest plugin: a fake Kubernetes API server, a kubeconfig for it, and the recording helm double.

Load it with ``pytest_plugins = ["tests.kube_fixtures"]``. Nothing here needs a cluster or the
network: the fake listens on 127.0.0.1 and ``tests/doubles/helm`` stands in for helm on PATH.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakekube import FakeKube, write_kubeconfig
from tests.helm_support import Tls, make_tls, saved_profile
from wizard.core.profile import Profile

DOUBLES_DIR = Path(__file__).parent / "doubles"
T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``condition`` until it returns something truthy (and return that) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s: {condition!r}")
        time.sleep(interval)


@dataclass
class HelmDouble:
    """Handle on the helm double: its call log, its scenario file and its release state."""

    log_path: Path
    scenario_path: Path

    def calls(self) -> list[dict[str, Any]]:
        """Every recorded invocation, oldest first: ``{"argv", "values", "env"}``."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def set_scenario(self, **changes: Any) -> None:
        """Merge ``changes`` into the scenario the next helm calls will read."""
        current = json.loads(self.scenario_path.read_text()) if self.scenario_path.exists() else {}
        self.scenario_path.write_text(json.dumps({**current, **changes}))

    def state(self) -> dict[str, Any]:
        """Releases (keyed ``namespace/name``) and repos the double believes in."""
        path = Path(f"{self.log_path}.state")
        return json.loads(path.read_text()) if path.exists() else {"releases": {}, "repos": {}}


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A running fake API server with one schedulable linux/amd64 node and ingress class nginx."""
    with FakeKube() as kube:
        kube.add_node("fake-node")
        kube.add_ingress_class("nginx")
        yield kube


@pytest.fixture
def kubeconfig(fake_kube: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig (context ``fake``, namespace ``default``) for ``fake_kube``; sets KUBECONFIG."""
    path = write_kubeconfig(
        tmp_path / "kube" / "config", fake_kube.url, {"fake": "default"}, "fake"
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
def helm_double(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_kube: FakeKube) -> HelmDouble:
    """Put the recording helm first on PATH, wired to ``fake_kube`` via FAKE_KUBE_URL."""
    log_path = tmp_path / "helm-double" / "calls.jsonl"
    log_path.parent.mkdir()
    double = HelmDouble(log_path, log_path.parent / "scenario.json")
    monkeypatch.setenv("PATH", f"{DOUBLES_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("HELM_DOUBLE_LOG", str(double.log_path))
    monkeypatch.setenv("HELM_DOUBLE_SCENARIO", str(double.scenario_path))
    monkeypatch.setenv("FAKE_KUBE_URL", fake_kube.url)
    return double


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    """A certificate for ``HOST`` and its key (plus a key that does not match), from a fresh CA."""
    return make_tls(tmp_path / "tls")


@pytest.fixture
def profile(tls: Tls, kubeconfig: Path, helm_double: HelmDouble) -> Profile:
    """A complete Helm profile saved as ``NAME``, with the fake cluster and helm double in place."""
    return saved_profile(tls)
