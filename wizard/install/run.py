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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core.errors import WizardError
from wizard.core.events import Event, Result
from wizard.core.journal import Journal
from wizard.install.base import Installer
from wizard.install.bundle import directory_problem

if TYPE_CHECKING:
    from wizard.core.profile import Profile

COMMANDS = ("apply", "upgrade", "uninstall", "bundle")
InstallerFactory = Callable[["Profile", str, threading.Event], Installer]


class RunStream:
    """The events of one run (an iterator), and where its journal is."""

    def __init__(self, journal: Journal, events: Iterator[Event]) -> None:
        self.journal = journal
        self._events = journal.follow(events)

    @property
    def log_path(self) -> Path:
        return self.journal.path

    @property
    def result(self) -> Result | None:
        """The run's Result, once it has passed."""
        return self.journal.result

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def close(self) -> None:
        self._events.close()


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
    return RunStream(Journal(name, command), _events(profile, name, command, cancel, directory, remove_image, purge, installer_for))


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
