"""What a `docker save` tarball holds, read without loading it: the one reader of its indexes.

`read_archive(path)` gives an `ArchiveIndex`: per image its references (cleaned: they are
the archive's text), its id and, when the archive holds its config blob, its platform;
plus the index files found (manifest.json, repositories, index.json), whether the index was
read at all (`complete`) and whether the file is compressed.

- A plain tarball is walked from header to header, seeking over member data; the config
  blobs manifest.json names (`blobs/sha256/<hex>` in Docker >= 25, `<hex>.json` before) are
  read by their offsets after the walk. Layers are never read.
- A compressed one (gzip, bzip2, xz) keeps manifest.json at its end, behind every layer.
  Without `inflate` only its first header is read (`complete=False`: the engine names what
  it loaded). With `inflate` it is streamed forward once, every read bounded, keeping only
  the index files and small config candidates (a config may come before manifest.json);
  the answer is kept per (path, size, mtime_ns), so a run inflates an archive at most once.
  zstd is left to the engine (`complete=False`).

`saved_images(path)` is the strict reading for tag resolution and the platform check: an
archive without a usable manifest.json, or with an index or config it refused, is an error.
`ArchiveError` is the one error: what is not a (whole) tar or broken JSON in an index file
(and, from `saved_images`, refused members or a broken config).
"""

from __future__ import annotations

import json
import re
import stat
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from wizard.core.errors import WizardError
from wizard.core.text import clean
from wizard.tools.docker import same_image
from wizard.tools.oserrors import plain_error

if TYPE_CHECKING:
    from wizard.tools.registry import Platform

MAX_INDEX_BYTES = 1024 * 1024
"""manifest.json, repositories, index.json: a larger one is refused, never read."""
MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""An image's config blob (its platform): a larger one is refused, never read."""
MAX_HELD_BYTES = 32 * 1024 * 1024
"""What streaming a compressed archive keeps at most, all candidate configs together."""
INDEX_FILES = ("manifest.json", "repositories", "index.json")
FIELD = "gateway.image_archive"

_DIGEST = re.compile(r"(?:sha256:|blobs/sha256/)?([0-9a-f]{64})(?:\.json)?")
_CONFIG_NAME = re.compile(r"(?:blobs/sha256/)?[0-9a-f]{64}(?:\.json)?")
_GZIP, _BZIP2, _XZ, _ZSTD = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class ArchiveImage:
    """One image an index file of the archive names."""

    refs: tuple[str, ...]
    image_id: str = ""
    """"sha256:…" (manifest.json's Config, index.json's manifest digest); "" when not named."""
    platform: Platform | None = None
    """From the image's config blob, when the archive holds it (manifest.json's images only)."""


@dataclass(frozen=True)
class ArchiveIndex:
    """What a `docker save` tarball says it holds."""

    images: tuple[ArchiveImage, ...] = ()
    found: frozenset[str] = field(default_factory=frozenset)
    """The index files found and read (manifest.json, repositories, index.json)."""
    complete: bool = True
    """False when the index was not read: a compressed archive keeps it at its very end."""
    compressed: bool = False
    refused: tuple[str, ...] = ()
    """Index files or config blobs not read, and why (not a regular file, too large)."""

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(ref for image in self.images for ref in image.refs)

    @property
    def image_ids(self) -> frozenset[str]:
        return frozenset(image.image_id for image in self.images if image.image_id)

    @property
    def is_docker_save(self) -> bool:
        return bool(self.found)

    def holds(self, ref: str) -> bool:
        return any(same_image(tag, ref) for tag in self.tags)


class ArchiveError(WizardError):
    """Not a tar archive, a damaged one, or one whose index is refused; `reason` is the plain cause."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{clean(str(path))} is not a readable docker save archive ({reason})", field=FIELD)
        self.path = path
        self.reason = reason


def is_compressed(path: Path) -> bool:
    return _magic(path).startswith((_GZIP, _BZIP2, _XZ, _ZSTD))


def _magic(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(6)


def _inflating(path: Path) -> IO[bytes] | None:
    """The archive's tar bytes, inflated as read: every read bounded (the codecs' own readers
    never inflate more than asked), so a bomb costs time, not memory. None for zstd."""
    import bz2
    import gzip
    import lzma

    head = _magic(path)
    if head.startswith(_GZIP):
        return gzip.open(path, "rb")
    if head.startswith(_BZIP2):
        return bz2.open(path, "rb")
    if head.startswith(_XZ):
        return lzma.open(path, "rb")
    return None


_INFLATED: dict[tuple[str, int, int], ArchiveIndex] = {}
"""Compressed archives already streamed through, by (path, size, mtime_ns)."""
_INFLATING = threading.Lock()
"""Held while a compressed archive is streamed: two checks never inflate one archive twice."""


def read_archive(path: Path, *, inflate: bool = False) -> ArchiveIndex:
    """What the `docker save` tarball at `path` holds (see the module's docstring).

    Raises ArchiveError for what is not a (whole) tar, and for broken JSON in its index.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ArchiveError(path, "not a regular file")  # a FIFO or device would block or never end
        head = _magic(path)
        if not head.startswith((_GZIP, _BZIP2, _XZ, _ZSTD)):
            with tarfile.open(path, mode="r:") as tar:  # "r:" seeks over member data
                return _Walk(path, tar, streaming=False).index()
        if not inflate:
            return _first_header(path)
        key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
        with _INFLATING:
            if key not in _INFLATED:
                stream = _inflating(path)
                if stream is None:
                    return ArchiveIndex(complete=False, compressed=True)  # zstd: only the engine reads it
                with stream, tarfile.open(fileobj=stream, mode="r|") as tar:  # forward only, once
                    _INFLATED[key] = _Walk(path, tar, streaming=True).index()
            return _INFLATED[key]
    except (tarfile.TarError, EOFError, OSError, AttributeError, TypeError) as error:
        raise ArchiveError(path, clean(plain_error(error))) from None


def _first_header(path: Path) -> ArchiveIndex:
    """A compressed archive, not inflated: its first header says it is a tar at all."""
    stream = _inflating(path)
    if stream is not None:  # zstd: only the engine reads it
        with stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            tar.next()
    return ArchiveIndex(complete=False, compressed=True)


def saved_images(path: Path) -> tuple[ArchiveImage, ...]:
    """The images of the archive (inflating a compressed one), refusing an archive that is
    not plainly a `docker save`: no manifest.json, or an index or config it would not read."""
    index = read_archive(path, inflate=True)
    if not index.complete:
        raise ArchiveError(path, "zstd-compressed: only the engine reads it")
    if index.refused:
        raise ArchiveError(path, index.refused[0])
    if "manifest.json" not in index.found:
        raise ArchiveError(path, "it has no manifest.json: not made by docker save")
    return index.images


class _Walk:
    """One pass over the members of an open tar, collecting what `ArchiveIndex` needs."""

    def __init__(self, path: Path, tar: tarfile.TarFile, *, streaming: bool) -> None:
        self.path, self.tar, self.streaming = path, tar, streaming
        self.members: dict[str, tarfile.TarInfo] = {}
        self.indexes: dict[str, Any] = {}
        self.refused: dict[str, str] = {}
        self.held: dict[str, bytes] = {}
        self.held_bytes = 0
        self.wanted: set[str] | None = None
        """The config names manifest.json gives, once it has been read while streaming."""

    def index(self) -> ArchiveIndex:
        for member in self.tar:
            self.members[member.name] = member
            if member.name in INDEX_FILES:
                self._index_file(member)
            elif self.streaming:
                self._maybe_hold(member)
        images: list[ArchiveImage] = []
        for name, data in self.indexes.items():
            images += self._images_of(name, data)
        return ArchiveIndex(
            tuple(images), frozenset(self.indexes), compressed=self.streaming, refused=tuple(self.refused.values())
        )

    def _index_file(self, member: tarfile.TarInfo) -> None:
        self.indexes.pop(member.name, None)
        self.refused.pop(member.name, None)
        data = self._json(member, MAX_INDEX_BYTES)
        if data is None:
            return
        self.indexes[member.name] = data
        if self.streaming and member.name == "manifest.json":
            self.wanted = set(_config_names(data))
            for name in [name for name in self.held if name not in self.wanted]:
                self._drop(name)

    def _maybe_hold(self, member: tarfile.TarInfo) -> None:
        """Keep a small member that may be a config blob named by manifest.json (streaming only)."""
        self._drop(member.name)
        if not member.isfile() or member.size > MAX_CONFIG_BYTES:
            return
        if self.wanted is None and not _CONFIG_NAME.fullmatch(member.name):
            return
        if self.wanted is not None and member.name not in self.wanted:
            return
        if self.held_bytes + member.size > MAX_HELD_BYTES:
            return  # its platform stays unknown
        self.held[member.name] = self._bytes(member, MAX_CONFIG_BYTES)
        self.held_bytes += len(self.held[member.name])

    def _drop(self, name: str) -> None:
        self.held_bytes -= len(self.held.pop(name, b""))

    def _json(self, member: tarfile.TarInfo, limit: int) -> Any:
        """A member's JSON; None (and why in `refused`) when it is not a regular file or too large."""
        name = clean(member.name)[:200]
        if not member.isfile():
            self.refused[member.name] = f"{name} is not a regular file"
            return None
        if member.size > limit:
            self.refused[member.name] = f"{name} is {member.size} bytes, at most {limit} allowed"
            return None
        return self._parse(member.name, self._bytes(member, limit))

    def _bytes(self, member: tarfile.TarInfo, limit: int) -> bytes:
        handle = self.tar.extractfile(member)
        return handle.read(limit + 1) if handle is not None else b""

    def _parse(self, name: str, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise ArchiveError(self.path, f"{clean(name)[:200]} is not JSON") from None

    def _platform(self, config_name: str) -> Platform | None:
        """The platform in the image's config blob; None when the archive does not hold it, or
        holds one it refuses (in `refused`: only the strict `saved_images` fails for that)."""
        try:
            return self._config_platform(config_name)
        except ArchiveError as error:
            self.refused[config_name] = error.reason
            return None

    def _config_platform(self, config_name: str) -> Platform | None:
        member = self.members.get(config_name)
        if member is None:
            return None
        if self.streaming:
            if not member.isfile() or member.size > MAX_CONFIG_BYTES:
                self._json(member, MAX_CONFIG_BYTES)  # says why in `refused`; reads nothing
                return None
            raw = self.held.get(config_name)
            config = None if raw is None else self._parse(config_name, raw)  # None: over MAX_HELD_BYTES
        else:
            config = self._json(member, MAX_CONFIG_BYTES)  # by its offset: the walk is over
        if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
            return None
        from wizard.tools.registry import Platform  # urllib: only when a config names a platform

        return Platform(
            clean(str(config.get("os") or "linux"))[:32],
            clean(config["architecture"])[:32],
            clean(str(config.get("variant") or ""))[:32],
        )

    def _images_of(self, name: str, data: Any) -> list[ArchiveImage]:
        """The images one index file (docker save's, or an OCI layout's) names."""
        if name == "manifest.json" and isinstance(data, list):
            return [
                ArchiveImage(
                    _refs(entry.get("RepoTags") or []),
                    _image_id(entry.get("Config")),
                    self._platform(entry["Config"]) if isinstance(entry.get("Config"), str) else None,
                )
                for entry in data
                if isinstance(entry, dict)
            ]
        if name == "repositories" and isinstance(data, dict):
            return [
                ArchiveImage(_refs(f"{repo}:{tag}" for tag in tags))
                for repo, tags in data.items()
                if isinstance(tags, dict)
            ]
        if name == "index.json" and isinstance(data, dict):
            manifests = data.get("manifests")
            entries = [entry for entry in manifests if isinstance(entry, dict)] if isinstance(manifests, list) else []
            return [ArchiveImage(_refs(_containerd_names(entry)), _image_id(entry.get("digest"))) for entry in entries]
        return []


def _config_names(manifest: Any) -> list[str]:
    entries = manifest if isinstance(manifest, list) else []
    return [entry["Config"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("Config"), str)]


def _containerd_names(entry: dict[str, Any]) -> list[Any]:
    annotations = entry.get("annotations")
    return [annotations.get("io.containerd.image.name")] if isinstance(annotations, dict) else []


def _refs(values: Any) -> tuple[str, ...]:
    return tuple(clean(value) for value in values if isinstance(value, str)) if not isinstance(values, str) else ()


def _image_id(value: object) -> str:
    match = _DIGEST.fullmatch(value) if isinstance(value, str) else None
    return f"sha256:{match.group(1)}" if match else ""
