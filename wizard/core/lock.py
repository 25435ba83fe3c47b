"""One run at a time per profile: a lock held by the running process.

`hold(name, command)` takes an exclusive `flock` on `state_dir()/NAME.lock` and writes a small
JSON note into it (pid, command, started, host). The kernel drops the lock when the process
ends, however it ends (kill -9 included), so a stale note never blocks the next run: only a
live holder does. A second run gets `RunLocked` naming the holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.core import paths
from wizard.core.errors import WizardError
from wizard.core.text import clean

MAX_NOTE_BYTES = 4096


@dataclass(frozen=True)
class Holder:
    """Who holds a profile's lock, as its note says (fields may be empty if it is being written)."""

    pid: int
    command: str
    started: float
    host: str

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)) if self.started else "?"
        where = f" on {clean(self.host)}" if self.host else ""
        what = f"`aigw-wizard {clean(self.command)}`" if self.command else "another aigw-wizard run"
        return f"{what} (pid {self.pid or '?'}{where}, since {when})"


class RunLocked(WizardError):
    """Another run of the same profile is going on."""

    def __init__(self, name: str, holder: Holder | None) -> None:
        who = holder.describe() if holder else "another aigw-wizard run"
        super().__init__(
            f"profile {clean(name)} is busy: {who} is changing its installation",
            ["wait for that run to finish (its progress is in the run journal), then try again"],
        )
        self.name = name
        self.holder = holder


def lock_path(name: str) -> Path:
    return paths.state_dir() / f"{name}.lock"


@contextmanager
def hold(name: str, command: str) -> Iterator[Holder]:
    """Hold the profile's lock for the duration of the block, or raise `RunLocked` at once."""
    folder = paths.ensure_private_dir(paths.state_dir())
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(name, _read_note(fd)) from None
        me = Holder(os.getpid(), command, time.time(), socket.gethostname())
        _write_note(fd, me)
        try:
            yield me
        finally:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holder(name: str) -> Holder | None:
    """Who holds the profile's lock right now, or None when no run is going on.

    For the TUI: a reconnecting user sees that a run is still going on. This only reads the
    note (taking the lock, even briefly, could make a starting run think it is busy): a note
    left by a killed run names a process that no longer exists, and counts as no run.
    """
    try:
        fd = os.open(lock_path(name), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        note = _read_note(fd)
    finally:
        os.close(fd)
    if note is None or not note.pid:
        return None
    if note.host == socket.gethostname() and not _alive(note.pid):
        return None
    return note


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _write_note(fd: int, me: Holder) -> None:
    note = json.dumps({"pid": me.pid, "command": me.command, "started": me.started, "host": me.host})
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode("utf-8"), 0)
    except OSError:
        pass  # the lock holds without its note; a second run then names no details


def _read_note(fd: int) -> Holder | None:
    try:
        raw = os.pread(fd, MAX_NOTE_BYTES, 0)
        data: Any = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None

    def text(key: str) -> str:
        value = data.get(key)
        return value[:200] if isinstance(value, str) else ""

    pid = data.get("pid")
    started = data.get("started")
    return Holder(
        pid if isinstance(pid, int) and not isinstance(pid, bool) else 0,
        text("command"),
        float(started) if isinstance(started, (int, float)) and not isinstance(started, bool) else 0.0,
        text("host"),
    )
