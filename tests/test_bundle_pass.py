"""`bundle` in one pass: the image archive is hashed while it is written, never read back."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.test_archive import bytes_read
from wizard.install.bundle import save_image, sha256_file, write_manifest

CHUNK = 2**20


class _Image:
    attrs: dict[str, Any] = {"Size": 64 * CHUNK}

    def save(self, named: str) -> Iterator[bytes]:
        for index in range(64):  # in 32 KiB pieces, as the engine's chunked reply arrives
            block = os.urandom(CHUNK // 2) + bytes([index]) * (CHUNK // 2)
            yield from (block[start : start + 32768] for start in range(0, CHUNK, 32768))


class _Images:
    def get(self, ref: str) -> _Image:
        return _Image()


class _Client:
    images = _Images()


def test_the_archive_is_hashed_as_it_is_written(tmp_path: Path) -> None:
    target = tmp_path / "gw.tar"
    saving = save_image(_Client(), "gw:1", target, lambda: None, "save")  # type: ignore[arg-type]
    progress = list(saving)
    assert progress[-1].current == 64 * CHUNK == target.stat().st_size
    assert len(progress) <= 101  # of 2048 pieces: one event per percent at most, each journalled
    before = bytes_read()
    manifest = write_manifest(tmp_path, "gw:1", [target])
    assert bytes_read() - before < CHUNK  # the 64 MiB archive is not read back
    entry = json.loads(manifest.read_text())["files"][0]
    assert entry["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()


def test_a_file_changed_after_it_was_written_is_hashed_again(tmp_path: Path) -> None:
    target = tmp_path / "gw.tar"
    list(save_image(_Client(), "gw:1", target, lambda: None, "save"))  # type: ignore[arg-type]
    with target.open("r+b") as handle:
        handle.write(b"tampered")
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 1000))
    assert sha256_file(target) == hashlib.sha256(target.read_bytes()).hexdigest()
