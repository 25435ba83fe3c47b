"""What every engine shares: the Installer contract, the status report, and the words
both engines end a run with. Engines import this module, never the package's
`__init__`, so no engine import runs in a circle."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.core.errors import Cancelled
from wizard.core.events import Event
from wizard.core.notices import AUTH_BYPASS_WARNING
from wizard.core.text import clean

__all__ = ["AUTH_BYPASS_WARNING", "Drift", "Installer", "StatusReport"]

if TYPE_CHECKING:
    from wizard.core.profile import Profile

VERIFY_COMMAND = "sudo gitlab-rake gitlab:duo:verify_self_hosted_setup"
WHERE_TO_SET_URL = (
    "In GitLab, go to Admin > GitLab Duo > Change configuration and set the AI gateway URL "
    "(older releases: the AI_GATEWAY_URL environment variable)."
)


RUNNING_STATES = ("running", "deployed")
"""States of an installed gateway that serves (Docker's "running", Helm's "deployed")."""


@dataclass(frozen=True)
class Drift:
    """A field where what runs differs from what the profile says."""

    field: str
    profile: str
    actual: str


@dataclass
class StatusReport:
    """What `status` shows, the same for both targets."""

    installed: bool
    state: str
    """e.g. "running", "exited", "deployed", "not installed"."""
    healthy: bool | None = None
    image: str = ""
    details: dict[str, str] = field(default_factory=dict)
    """Target-specific facts, in display order (uptime, pods, ingress host, …)."""
    drift: list[Drift] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What else is wrong (an interrupted upgrade, an engine that did not answer): each fails `status`."""
    warnings: list[str] = field(default_factory=list)
    """What the user should know but does not fail `status` (authentication bypassed)."""

    @property
    def ok(self) -> bool:
        """What `status` exits 0 for, on both targets: installed, running (or deployed),
        healthy, no drift, no problem. Anything else, unknown health included, exits 1."""
        return (
            self.installed
            and self.state in RUNNING_STATES
            and self.healthy is True
            and not self.drift
            and not self.problems
        )

    def to_dict(self) -> dict[str, Any]:
        """For `status --json`: every value one line (a multi-line detail joined with "; ")."""

        def one_line(value: str) -> str:
            return "; ".join(clean(line.strip()) for line in str(value).splitlines() if line.strip())

        return {
            "ok": self.ok,
            "installed": self.installed,
            "state": one_line(self.state),
            "healthy": self.healthy,
            "image": one_line(self.image),
            "details": {one_line(key): one_line(value) for key, value in self.details.items()},
            "drift": [{key: one_line(value) for key, value in asdict(item).items()} for item in self.drift],
            "problems": [one_line(problem) for problem in self.problems],
            "warnings": [one_line(warning) for warning in self.warnings],
        }


class Installer(ABC):
    """Installs, inspects and removes the gateway for one profile.

    Every long method is a generator of events ending in exactly one `Result`
    (`wizard.install.runner.StepRunner.run`); it checks `cancel` between steps and while
    waiting, and on cancellation leaves a state the next `apply` recognises.
    """

    def __init__(self, profile: Profile, profile_name: str, cancel: threading.Event | None = None) -> None:
        self.profile = profile
        self.profile_name = profile_name
        self.cancel = cancel or threading.Event()

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled

    @abstractmethod
    def apply(self) -> Iterator[Event]:
        """Install, or bring the installation in line with the profile (upgrade with rollback)."""

    @abstractmethod
    def status(self) -> StatusReport: ...

    @abstractmethod
    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]: ...

    @abstractmethod
    def bundle(self, directory: Path) -> Iterator[Event]:
        """Save what an air-gapped host needs (image, chart) plus a profile pointing at it."""
