"""Shared test set-up: private config dirs, the Docker and Kubernetes fixtures, snapshots."""

from __future__ import annotations

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
