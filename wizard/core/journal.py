"""The run journal: every event of every run as JSON lines, plus each profile's last outcome.

Subiquity-style: what a user can hand over when something went wrong. Events never
carry key material, so neither does the journal.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from wizard.core import paths
from wizard.core.events import Event, Result, to_record


class Journal:
    """Appends one run's events to `log_dir()/PROFILE-TIMESTAMP-PID-COMMAND.jsonl` (mode 0600)."""

    def __init__(self, profile_name: str, command: str) -> None:
        self.profile_name = profile_name
        self.command = command
        folder = paths.ensure_private_dir(paths.log_dir())
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        # O_EXCL: two runs in one second (a retry, two terminals) never share a file.
        for attempt in itertools.count():
            suffix = f"-{attempt}" if attempt else ""
            self.path = folder / f"{profile_name}-{stamp}{suffix}-{command}.jsonl"
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                continue
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self.result: Result | None = None

    def record(self, event: Event) -> None:
        self._file.write(json.dumps(to_record(event)) + "\n")
        self._file.flush()
        if isinstance(event, Result):
            self.result = event

    def follow(self, events: Iterable[Event]) -> Iterator[Event]:
        """Pass events through, recording each; the outcome is saved even if the run breaks off."""
        try:
            for event in events:
                self.record(event)
                yield event
        finally:
            self.close()

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.close()
        outcome: dict[str, Any] = {
            "command": self.command,
            "finished_at": time.time(),
            "log": str(self.path),
            "ok": self.result.ok if self.result else False,
            "summary": self.result.summary if self.result else "interrupted before it finished",
        }
        write_last_outcome(self.profile_name, outcome)


def write_last_outcome(profile_name: str, outcome: dict[str, Any]) -> None:
    folder = paths.ensure_private_dir(paths.state_dir())
    target = folder / f"{profile_name}.json"
    temporary = target.with_suffix(".json.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(outcome, handle)
    os.replace(temporary, target)


def last_outcome(profile_name: str) -> dict[str, Any] | None:
    path: Path = paths.state_dir() / f"{profile_name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
