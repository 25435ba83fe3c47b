"""What a profile file held when it was read, as its bytes' SHA-256: compare two revisions to
see whether the file changed. Free of the profile model (and pydantic), so the profile list
can tell an unchanged file before the model is even imported."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from wizard.core import files

MAX_PROFILE_BYTES = 1024 * 1024
"""A larger profile file is refused, never read."""


@dataclass(frozen=True)
class Revision:
    """What a profile file held when it was read: compare two to see whether it changed."""

    digest: str
    """SHA-256 of the file's bytes ("" when there was no file)."""

    @classmethod
    def of(cls, raw: bytes | None) -> Revision:
        return cls(hashlib.sha256(raw).hexdigest() if raw is not None else "")

    @classmethod
    def read(cls, path: Path) -> Revision | None:
        """The file's revision now; None when it cannot be read as a profile (gone, too
        large, not a regular file: the loader refuses those too)."""
        try:
            return cls.of(files.read_bounded(path, MAX_PROFILE_BYTES, "a profile"))
        except (files.FileRefused, OSError):
            return None
