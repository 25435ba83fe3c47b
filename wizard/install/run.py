"""One run of an installer verb, journalled: what the CLI's verbs and the TUI's Install screen drive.

    stream = run(profile, name, "apply", cancel)
    for event in stream:          # StepStarted/StepFinished/LogLine/Progress…, then one Result
        show(event)
    stream.log_path               # the run's journal (JSON lines), for "Log: …"

`command` is one of COMMANDS: "apply" and "upgrade" install (an upgrade is an apply of the
changed profile), "uninstall" takes `remove_image`/`purge`, "bundle" takes `directory`
(checked first with `wizard.install.bundle.directory_problem`). Every event is recorded
in the journal as it passes; the stream always ends with exactly one `Result`, also when
the installer cannot even be built.

A run survives its terminal. The engine runs in a thread of its own, records every event
in the journal itself and hands it on through a bounded queue; the consumer (a console, a
pipe, a TUI) only ever reads. When the consumer dies (the SSH session drops and the pty
goes with it, `| head` exits, stdout hits EPIPE/EIO/ENOSPC) it closes the stream, or the
CLI does for it: a dropped session is a cancel request. The engine then does what it does
on Ctrl-C: before the point of no return it rolls back to what ran before (the previous
container, healthy, under its own name), after it (the new gateway has proven healthy and
stable) it finishes. Either way one healthy gateway is left, never none; `close()` waits
for that, bounded by CLOSE_WAIT, and the thread is not a daemon, so the process outlives a
second Ctrl-C until the engine is done. The journal has the whole run either way.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core.errors import WizardError
from wizard.core.events import Event, LogLine, Result
from wizard.core.journal import Journal
from wizard.install.base import Installer
from wizard.install.bundle import directory_problem

if TYPE_CHECKING:
    from wizard.core.profile import Profile

COMMANDS = ("apply", "upgrade", "uninstall", "bundle")
InstallerFactory = Callable[["Profile", str, threading.Event], Installer]

QUEUE_SIZE = 256
"""Events the engine may run ahead of a slow consumer before it waits for it."""
STALL_WAIT = 5.0
"""Seconds the engine waits for a consumer that stopped reading before it goes on without it."""
CLOSE_WAIT = 240.0
"""Seconds `close()` waits for an abandoned run's rollback (a health timeout and a stop)."""
_POLL = 0.1
_END = object()


class RunStream:
    """The events of one run (an iterator), and where its journal is.

    The engine runs in its own thread and feeds a bounded queue; iterating takes from it.
    `close()` before the end means the consumer is gone: it asks the engine to cancel and
    waits (at most `CLOSE_WAIT` seconds) for its rollback.
    """

    def __init__(self, journal: Journal, events: Iterator[Event], cancel: threading.Event) -> None:
        self.journal = journal
        self.cancel = cancel
        self._queue: queue.Queue[Event | object] = queue.Queue(maxsize=QUEUE_SIZE)
        self._abandoned = threading.Event()
        self._ended = False
        self._skipped = 0
        self._stalled = False
        self._engine = threading.Thread(
            target=self._drive, args=(events,), name=f"aigw-run-{journal.command}", daemon=False
        )
        self._engine.start()

    # --- the engine's side ----------------------------------------------------------------

    def _drive(self, events: Iterator[Event]) -> None:
        try:
            for event in events:
                warning = self.journal.record(event)
                if warning is not None:
                    self._offer(warning)
                self._offer(event)
        except BaseException as error:  # a bug outside the runner: still exactly one Result
            if self.journal.result is None:
                failure = Result(ok=False, summary=f"the run stopped: {type(error).__name__}: {error}", changed=False)
                self.journal.record(failure)
                self._offer(failure)
        finally:
            self.journal.close()
            self._offer(_END)

    def _offer(self, item: Event | object) -> None:
        """Hand an item to the consumer, never waiting on it for long: a reader that stalls
        for STALL_WAIT gets the newest events when it wakes (the journal has them all)."""
        if self._abandoned.is_set():
            return
        if not self._stalled:
            deadline = time.monotonic() + STALL_WAIT
            while not self._abandoned.is_set():
                try:
                    self._queue.put(item, timeout=_POLL)
                    return
                except queue.Full:
                    if time.monotonic() >= deadline:
                        self._stalled = True
                        break
            else:
                return
        if isinstance(item, Result) and self._skipped:
            note = f"{self._skipped} earlier events were not shown while nobody read them; the journal has them"
            self._skipped = 0
            self._push(LogLine("wizard", note, "warning"))
        self._push(item)

    def _push(self, item: Event | object) -> None:
        """Queue `item`, dropping the oldest queued event to make room."""
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._skipped += 1
                except queue.Empty:
                    pass

    # --- the consumer's side --------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.journal.path

    @property
    def result(self) -> Result | None:
        """The run's Result, once it has passed."""
        return self.journal.result

    @property
    def running(self) -> bool:
        return self._engine.is_alive()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        while not self._ended:
            try:
                item = self._queue.get(timeout=_POLL)  # a timeout: signal handlers run meanwhile
            except queue.Empty:
                if self._engine.is_alive() or not self._queue.empty():
                    continue
                self._ended = True  # the engine gave up on a reader that did not read
                break
            self._stalled = False  # it reads again: back to waiting on it
            if item is _END:
                self._ended = True
                break
            return item  # type: ignore[return-value]
        raise StopIteration

    def close(self, wait: float | None = None) -> None:
        """The consumer is done. Before the end that means it is gone: cancel, and wait for
        the engine to roll back (or finish, past the point of no return)."""
        self._ended = True
        if self._engine.is_alive():
            self.cancel.set()
            self._abandoned.set()
            self._engine.join(CLOSE_WAIT if wait is None else wait)

    def __enter__(self) -> RunStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def run(
    profile: Profile,
    name: str,
    command: str,
    cancel: threading.Event | None = None,
    *,
    directory: Path | None = None,
    remove_image: bool = False,
    purge: bool = False,
    installer_for: InstallerFactory | None = None,
) -> RunStream:
    """Start `command` for profile `name`; see the module docstring. `installer_for` swaps
    the engine (the TUI's tests pass fakes); by default the profile's target picks it."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; one of {', '.join(COMMANDS)}")
    cancel = cancel or threading.Event()
    return RunStream(
        Journal(name, command), _events(profile, name, command, cancel, directory, remove_image, purge, installer_for), cancel
    )


def _events(
    profile: Profile,
    name: str,
    command: str,
    cancel: threading.Event,
    directory: Path | None,
    remove_image: bool,
    purge: bool,
    installer_for: InstallerFactory | None,
) -> Iterator[Event]:
    try:
        if command == "bundle":
            if directory is None:
                raise WizardError("bundle needs a directory to write into")
            problem = directory_problem(directory)
            if problem is not None:
                raise problem
        if installer_for is None:
            from wizard.install import installer_for as default_installer_for

            installer_for = default_installer_for
        installer = installer_for(profile, name, cancel)
        if command != "uninstall" and (resolve := getattr(installer, "resolve_tag", None)) is not None:
            yield from resolve()  # the one tag of this run (gateway.tag = "" → the newest patch)
    except WizardError as error:
        yield Result(ok=False, summary=error.message, remedies=error.remedies, changed=False)
        return
    if command == "uninstall":
        yield from installer.uninstall(remove_image=remove_image, purge=purge)
    elif command == "bundle":
        assert directory is not None
        yield from installer.bundle(directory)
    else:
        yield from installer.apply()
