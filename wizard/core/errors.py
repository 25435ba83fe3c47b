"""The one error family: every failure the wizard reports is a `WizardError`.

Each layer raises its own subclass (a profile that does not parse, a Kubernetes refusal,
a Helm failure, a failed install step), but all carry the same three things, so one place
renders them: the CLI prints `message` and the remedies, the TUI shows them beside the
field. Anything that is not a `WizardError` is a bug, and the CLI's last-resort handler
still turns it into one line.
"""

from __future__ import annotations

from collections.abc import Iterable


class WizardError(Exception):
    """A failure in plain words, what to do about it, and the profile field it is about."""

    def __init__(self, message: str, remedies: Iterable[str] = (), field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedies: tuple[str, ...] = tuple(remedy for remedy in remedies if remedy)
        self.field = field

    @property
    def remedy(self) -> str:
        """The first remedy, for places that show one line."""
        return self.remedies[0] if self.remedies else ""

    def __str__(self) -> str:
        return self.message


class Cancelled(WizardError):
    """The user asked to stop (Ctrl-C, SIGHUP, Cancel); raised at the next safe point."""

    def __init__(self, message: str = "cancelled at your request") -> None:
        super().__init__(message)
