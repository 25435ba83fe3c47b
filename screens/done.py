"""The last step: every address the install reported (the URL to set in GitLab first),
what is left to do, how to verify, and how to re-run."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from screens import glyphs
from screens.base import WizardScreen
from screens.gitlab_side import DoctorModal, point_gitlab
from screens.messages import CloseSession, GoToStep
from screens.widgets import NavButton
from wizard.core.events import GATEWAY_URL_LABEL, Address
from wizard.core.outcomes import last_outcome
from wizard.core.text import clean, clean_block
from wizard.install import VERIFY_COMMAND, WHERE_TO_SET_URL
from wizard.session import gitlab_side


class DoneScreen(WizardScreen):
    HELP_TEXT = """The gateway is installed. Set its URL in GitLab, then run the verify command on the GitLab host.
  d   Doctor: look at the installed gateway and say what is wrong, and how to fix it
  g   Point GitLab at this gateway: sets the settings below over GitLab's API with an
      administrator's token (asked for, used once, never saved)"""
    BINDINGS = [
        Binding("d", "doctor", "Doctor"),
        Binding("g", "point_gitlab", "Point GitLab"),
    ]

    def addresses(self) -> tuple[Address, ...]:
        """The run's addresses, the gateway URL first (from the profile when no run reported one)."""
        result = self.session.result
        urls = result.urls if result else ()
        if not any(address.label == GATEWAY_URL_LABEL for address in urls):
            urls = (Address(GATEWAY_URL_LABEL, self.session.profile.gateway_url), *urls)
        return tuple(sorted(urls, key=lambda address: address.label != GATEWAY_URL_LABEL))

    def compose_body(self) -> ComposeResult:
        result = self.session.result
        yield Static("Set this AI gateway URL in GitLab:", classes="section-title")
        others = [address for address in self.addresses() if address.label != GATEWAY_URL_LABEL]
        yield Static(clean(self.addresses()[0].value), classes="done-url", markup=False)
        if others:
            yield Static("Also reported by the install:", classes="section-title")
        for address in others:
            line = Text(f"{clean(address.label)}: ")
            line.append(clean(address.value), style="bold")
            yield Static(line, classes="done-address")
        remedies = result.remedies if result and result.remedies else (WHERE_TO_SET_URL,)
        # The verify command closes the GitLab side's list below: said once.
        remedies = tuple(remedy for remedy in remedies if VERIFY_COMMAND not in remedy)
        yield Static("What is left to do:", classes="section-title")
        for remedy in remedies:
            yield Static(f"{glyphs.BULLET} {clean_block(remedy)}", classes="note", markup=False)
        if self.session.profile.target == "helm" and not (result and len(result.urls) > 1):
            yield Static(clean(f"DNS: point {self.session.profile.gateway.hostname} at your ingress controller's address."),
                         classes="note", markup=False)
        yield Static("Left on the GitLab side (Admin > GitLab Duo > Change configuration):", classes="section-title")
        for line in gitlab_side(self.session.profile):
            yield Static(clean(f"{glyphs.BULLET} {line}"), classes="note gitlab-setting", markup=False)
        yield Static(clean(f"{glyphs.BULLET} Verify on the GitLab host: {VERIFY_COMMAND}"), classes="note", markup=False)
        with Horizontal(id="done-actions"):
            yield NavButton("Doctor", id="doctor", compact=True)
            yield NavButton("Point GitLab at this gateway", id="point-gitlab", compact=True)
        yield Static("", id="connect-result", markup=False)
        yield Static("Re-run without the wizard (same checks, same steps):", classes="section-title")
        yield Static(clean(f"  aigw-wizard apply {self.session.name}"), markup=False)
        outcome = last_outcome(self.session.name) or {}
        if outcome.get("log"):
            yield Static(clean(f"Install log: {outcome['log']}"), classes="note", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        next_button = self.query_one("#next", NavButton)
        next_button.set_text("Finish")
        next_button.focus()
        self.on_mount_connect()

    def on_mount_connect(self) -> None:
        self.query_one("#connect-result").display = False

    @on(Button.Pressed, "#doctor")
    def doctor_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_doctor()

    @on(Button.Pressed, "#point-gitlab")
    def point_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_point_gitlab()

    def action_doctor(self) -> None:
        self.app.push_screen(DoctorModal(self.session.profile, self.session.name))

    def action_point_gitlab(self) -> None:
        self.connect_flow()

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect_flow(self) -> None:
        await point_gitlab(self.app, self.session.profile, self.show_connect)

    def show_connect(self, lines: list[str]) -> None:
        result = self.query_one("#connect-result", Static)
        result.update("\n".join(clean(line) for line in lines))
        result.display = True
        result.scroll_visible()

    def action_next(self) -> None:
        self.post_message(CloseSession())

    def action_back(self) -> None:
        # Not to Install: arriving there runs the install again.
        self.post_message(GoToStep("review"))
