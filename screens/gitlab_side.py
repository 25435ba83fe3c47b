"""After an install: the doctor's findings, and pointing GitLab at the gateway.

`DoctorModal` runs `wizard.session.doctor` in a thread worker and lists the findings, each
with a mark that reads without colour, its detail and its remedy. `TokenModal` asks for an
administrator's token (no echo, never saved); `point_gitlab` then reads GitLab's Duo
settings, shows the change, asks, applies and reads back, forgetting the token at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState

from screens import glyphs
from screens.dialogs import ConfirmModal
from screens.widgets import NavButton
from wizard.core.errors import WizardError
from wizard.core.text import clean

if TYPE_CHECKING:
    from textual.app import App

    from wizard.core.profile import Profile
    from wizard.doctor.findings import Finding


def finding_lines(findings: list[Finding]) -> list[str]:
    """Findings as plain lines: mark, title, detail; the remedy under a failure or warning."""
    if not findings:
        return ["Nothing to report."]
    lines = []
    for finding in findings:
        lines.append(clean(f"{glyphs.MARK[finding.status]} {finding.title}: {finding.detail}"))
        if finding.remedy and finding.status != "pass":
            lines.append(clean(f"    -> {finding.remedy}"))
    return lines


class DoctorModal(ModalScreen[None]):
    """The doctor on one profile's installed gateway; Escape closes."""

    BINDINGS = [Binding("escape", "close", "Close")]

    @dataclass
    class Diagnosed(Message):
        findings: list[Finding]

    def __init__(self, profile: Profile, name: str) -> None:
        super().__init__()
        self.profile = profile
        self.name_ = name
        self.findings: list[Finding] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(clean(f"Doctor {glyphs.DASH} profile {self.name_}"), classes="section-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static("Looking at the installed gateway...", id="doctor-findings", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield NavButton("Close", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()
        self.diagnose()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def diagnose(self) -> None:
        from wizard.session import doctor

        self.post_message(self.Diagnosed(doctor(self.profile, self.name_)))

    @on(Diagnosed)
    def show(self, message: Diagnosed) -> None:
        self.findings = message.findings
        self.query_one("#doctor-findings", Static).update("\n".join(finding_lines(message.findings)))

    @on(Worker.StateChanged)
    def failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.findings = []
            self.query_one("#doctor-findings", Static).update(clean(f"The doctor stopped: {event.worker.error}"))

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class TokenModal(ModalScreen[str | None]):
    """An administrator's personal access token, typed without echo; it is never saved."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, gitlab_url: str) -> None:
        super().__init__()
        self.gitlab_url = gitlab_url

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                clean(f"Point {self.gitlab_url} at this gateway: an administrator's personal access token "
                      "(scope api). It is used once and never saved."),
                classes="dialog-text", markup=False,
            )
            yield Input(password=True, placeholder="glpat-...", id="token")
            with Horizontal(classes="dialog-buttons"):
                yield NavButton("Cancel", id="cancel", compact=True)
                yield NavButton("Continue", id="ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _answer(self) -> None:
        field = self.query_one(Input)
        token = field.value.strip()
        field.value = ""  # out of the widget as soon as it is taken
        self.dismiss(token or None)

    @on(Input.Submitted)
    def submitted(self) -> None:
        self._answer()

    @on(Button.Pressed, "#ok")
    def ok_pressed(self) -> None:
        self._answer()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.query_one(Input).value = ""  # a half-typed token does not outlive the dialog
        self.dismiss(None)


async def point_gitlab(app: App[object], profile: Profile, say: Callable[[list[str]], None]) -> None:
    """The connect flow (call it from an async worker): token, read, confirm, apply, read back.

    `show(lines)` receives what to tell the user; the token lives only in this coroutine.
    """
    from wizard import session

    token = await app.push_screen_wait(TokenModal(profile.gitlab.url))
    if not token:
        say(["Nothing sent: no token given."])
        return
    try:
        client = await asyncio.to_thread(session.connect_open, profile, token)
    except WizardError as error:
        say([f"Cannot connect: {error.message}", *(f"-> {remedy}" for remedy in error.remedies)])
        return
    finally:
        del token
    try:
        with client:
            plan = await asyncio.to_thread(session.connect_read, client, profile)
            changes = plan.changes()
            if not plan.needed:
                say(["GitLab already points at this gateway; nothing changed."]
                    + [f"{change.label}: {change.wanted}" for change in changes])
                return
            rows = [
                f"{change.label}: {change.current} -> {change.wanted}" if change.changed
                else f"{change.label}: {change.wanted} (already set)"
                for change in changes
            ]
            question = "Change GitLab's Duo settings?\n\n" + "\n".join(clean(row) for row in rows)
            if not await app.push_screen_wait(ConfirmModal(question, yes="Apply")):
                say(["Nothing changed in GitLab."])
                return
            lines = await asyncio.to_thread(session.connect_apply, client, plan)
            say(["GitLab now holds:", *lines])
    except WizardError as error:
        say([f"GitLab: {error.message}", *(f"-> {remedy}" for remedy in error.remedies)])
