"""Navigation requests: screens post these and the app acts on them (screens never call the app)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class OpenSession(Message):
    """Open a saved profile (by name or path), or create a new one, and resume it."""

    ref: str
    new: bool = False


@dataclass
class GoToStep(Message):
    """Show a wizard step of the open session, optionally with the cursor in one field."""

    step_id: str
    focus_field: str | None = None


@dataclass
class CloseSession(Message):
    """Back to the profile list, which shows the saved state."""
