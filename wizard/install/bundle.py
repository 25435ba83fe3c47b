"""The air-gap bundle both engines write: image tarball (+ chart), CA copy, a profile that
points at them by relative names, and a SHA-256 manifest the engines verify on load."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core import files
from wizard.core.errors import WizardError
from wizard.core.events import Progress
from wizard.core.profile import Profile

if TYPE_CHECKING:
    import docker

BUNDLE_MANIFEST = "manifest.json"
BUNDLE_CA_FILE = "ca-bundle.pem"
ARCHIVE_CHUNK = 1024 * 1024


def archive_name(repository: str, tag: str) -> str:
    return f"{repository.rsplit('/', 1)[-1]}-{tag}.tar"


_DIGESTS: dict[tuple[str, int, int], str] = {}
"""SHA-256s of files this process wrote and hashed as it wrote them, by (path, size, mtime_ns)."""


def _stamp(path: Path) -> tuple[str, int, int]:
    info = path.stat()
    return (str(path.resolve()), info.st_size, info.st_mtime_ns)


def sha256_file(path: Path, between_chunks: Callable[[], None] = lambda: None) -> str:
    """The file's SHA-256; a file `save_image` just wrote is not read again."""
    known = _DIGESTS.get(_stamp(path))
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(ARCHIVE_CHUNK):
            between_chunks()
            digest.update(chunk)
    return digest.hexdigest()


MAX_MANIFEST_BYTES = 1024 * 1024


def manifest_digest(archive: Path) -> str | None:
    """The SHA-256 a bundle manifest beside `archive` records for it, if any.

    Read bounded: a FIFO, a device or a huge file in its place is refused at once (it would
    block or exhaust memory), not skipped, since it stands where a checksum should be.
    """
    path = archive.parent / BUNDLE_MANIFEST
    if not os.path.lexists(path):
        return None
    try:
        manifest = json.loads(files.read_bounded(path, MAX_MANIFEST_BYTES, "the bundle manifest"))
        entries = manifest["files"]
    except files.FileRefused as refused:
        raise WizardError(
            f"{path}: {refused.reason}",
            [f"Remove it, or copy the bundle's {BUNDLE_MANIFEST} again from the connected host."],
            field="gateway.image_archive",
        ) from None
    except (ValueError, KeyError, TypeError):
        return None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("name") == archive.name:
            return str(entry.get("sha256", ""))
    return None


def write_manifest(directory: Path, image: str, files: list[Path]) -> Path:
    manifest = {
        "image": image,
        "files": [{"name": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size} for path in files],
    }
    partial = directory / f".{BUNDLE_MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    target = directory / BUNDLE_MANIFEST
    os.replace(partial, target)
    return target


def save_image(
    client: docker.DockerClient, ref: str, target: Path, check_cancel: Callable[[], None], step: str
) -> Generator[Progress, None, int]:
    """`docker save REF` into `target` (via a partial file), with progress; returns bytes written.

    The archive is hashed as it is written (one pass): the bundle manifest's `sha256_file`
    of `target` then costs nothing.
    """
    image = client.images.get(ref)
    total = int(image.attrs.get("Size") or 0) or None
    partial = target.with_name(f".{target.name}.partial")
    written = reported = 0
    digest = hashlib.sha256()
    # The engine's chunked reply arrives in pieces of ~32 KiB: each is written and hashed as
    # it comes (gathering them into big buffers measured slower), with a Progress event (each
    # journalled) per percent rather than per piece.
    every = max(total // 100, ARCHIVE_CHUNK) if total else 8 * ARCHIVE_CHUNK
    try:
        with partial.open("wb") as out:
            for piece in image.save(named=ref):  # named: the tag travels inside the archive
                out.write(piece)
                digest.update(piece)
                written += len(piece)
                if written - reported >= every:
                    check_cancel()
                    reported = written
                    yield Progress(step=step, key="archive", current=written, total=total, label=target.name)
            check_cancel()
            yield Progress(step=step, key="archive", current=written, total=total, label=target.name)
        os.replace(partial, target)
        _DIGESTS[_stamp(target)] = digest.hexdigest()
    finally:
        partial.unlink(missing_ok=True)
    return written


def bundled_profile(profile: Profile, directory: Path, archive: str, chart: str = "") -> tuple[Profile, list[Path]]:
    """The profile as the bundle carries it, and the extra files it needs copied beside it.

    Bundle files are named relative to the bundled profile's folder, so the folder can move;
    the TLS key is never copied: cert and key keep absolute paths on the target host.
    """
    bundled = profile.model_copy(deep=True)
    bundled.gateway.image_archive = archive
    if chart:
        bundled.helm.chart = chart
    copied: list[Path] = []
    if profile.gateway.ca_bundle:  # public certificates: the air-gapped host needs them too
        ca_copy = directory / BUNDLE_CA_FILE
        shutil.copyfile(profile.resolve(profile.gateway.ca_bundle), ca_copy)
        bundled.gateway.ca_bundle = BUNDLE_CA_FILE
        copied.append(ca_copy)
    for name in ("cert", "key"):
        value = getattr(profile.tls, name)
        if value:
            setattr(bundled.tls, name, str(profile.resolve(value)))
    return bundled, copied


class BundleDirectoryError(WizardError):
    """A bundle folder that cannot be written; `usage` when the path itself is wrong."""

    def __init__(self, message: str, remedy: str, *, usage: bool) -> None:
        super().__init__(message, [remedy])
        self.usage = usage


def directory_problem(directory: Path) -> BundleDirectoryError | None:
    """Why a bundle cannot be written into `directory`, or None once it exists and takes files.

    Creates the folder (the bundle's first act anyway) and writes a probe file into it, so a
    read-only filesystem is found as well as a file in the way. Both engines' `bundle` verbs
    are preceded by this, so a bad path ends in one line.
    """
    remedy = "Choose a folder this user can write to (it is created if missing)."
    probe = directory
    while not probe.exists() and not probe.is_symlink() and probe.parent != probe:
        probe = probe.parent
    if probe.is_symlink() and not probe.exists():
        return BundleDirectoryError(f"{directory}: {probe} is a dangling symbolic link", remedy, usage=True)
    if not probe.is_dir():
        where = "is not a directory" if probe == directory else f"cannot be created: {probe} is not a directory"
        return BundleDirectoryError(f"{directory}: {where}", remedy, usage=True)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return BundleDirectoryError(f"{directory}: cannot write there ({reason})", remedy, usage=False)
    return None
