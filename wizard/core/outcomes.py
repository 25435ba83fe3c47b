"""Each profile's last run, in a few fields (command, ok, summary, log): what the profile list
and the Done screen show. The journal writes it as a run ends; it is read without the journal
(or pydantic), so the profile list can show it in its first frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wizard.core import files, paths

MAX_OUTCOME_BYTES = 64 * 1024


def write_last_outcome(profile_name: str, outcome: dict[str, Any]) -> None:
    """Record a profile's last outcome (atomic, unique temp name: concurrent runs never clash)."""
    folder = paths.ensure_private_dir(paths.state_dir())
    files.write_private(folder / f"{profile_name}.json", json.dumps(outcome).encode("utf-8"))


def last_outcome(profile_name: str) -> dict[str, Any] | None:
    path: Path = paths.state_dir() / f"{profile_name}.json"
    try:
        value = json.loads(files.read_bounded(path, MAX_OUTCOME_BYTES, "a run outcome"))
    except (files.FileRefused, OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
