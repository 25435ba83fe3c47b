"""The run journal: every event of every run as JSON lines, plus each profile's last outcome.

Subiquity-style: what a user can hand over when something went wrong. Events never
carry key material, so neither does the journal. A journal that cannot be written (a full
disk) never stops a run: it says once that it stopped, and the events flow on.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from wizard.core import paths
from wizard.core.errors import WizardError
from wizard.core.events import Event, LogLine, Result, to_record
from wizard.core.outcomes import write_last_outcome


class JournalUnavailable(WizardError):
    """The run journal cannot be started (its folder is not a folder, the disk is full)."""


class Journal:
    """Appends one run's events to `log_dir()/PROFILE-TIMESTAMP-PID-COMMAND.jsonl` (mode 0600)."""

    def __init__(self, profile_name: str, command: str) -> None:
        self.profile_name = profile_name
        self.command = command
        folder = paths.log_dir()
        try:
            paths.ensure_private_dir(folder)
        except OSError as error:
            raise JournalUnavailable(
                f"cannot keep the run journal in {folder}: {error.strerror or error}",
                ["point AIGW_WIZARD_CONFIG_DIR (or XDG_STATE_HOME) at a folder you can write"],
            ) from None
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
            except OSError as error:
                raise JournalUnavailable(
                    f"cannot start the run journal {self.path}: {error.strerror or error}",
                    ["free some space, or point AIGW_WIZARD_CONFIG_DIR at a folder you can write"],
                ) from None
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self.result: Result | None = None
        self.failure: str | None = None
        """Why the journal stopped recording (None while it records)."""

    def record(self, event: Event) -> LogLine | None:
        """Write one event; when the write fails, stop recording and return the warning to show."""
        if isinstance(event, Result):
            self.result = event
        if self.failure is not None:
            return None
        try:
            self._file.write(json.dumps(to_record(event)) + "\n")
            self._file.flush()
        except (OSError, ValueError) as error:
            self.failure = getattr(error, "strerror", None) or str(error)
            return LogLine(
                "wizard",
                f"the run journal {self.path} stopped recording ({self.failure}); the run goes on",
                "warning",
            )
        return None

    def follow(self, events: Iterable[Event]) -> Iterator[Event]:
        """Pass events through, recording each; the outcome is saved even if the run breaks off."""
        try:
            for event in events:
                warning = self.record(event)
                if warning is not None:
                    yield warning
                yield event
        finally:
            self.close()

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._file.close()
        except OSError as error:
            self.failure = self.failure or error.strerror or str(error)
        outcome: dict[str, Any] = {
            "command": self.command,
            "finished_at": time.time(),
            "log": str(self.path),
            "ok": self.result.ok if self.result else False,
            "summary": self.result.summary if self.result else "interrupted before it finished",
        }
        try:
            write_last_outcome(self.profile_name, outcome)
        except OSError as error:
            self.failure = self.failure or error.strerror or str(error)
