"""The last step: the URL to set in GitLab, where, how to verify, and how to re-run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import WizardScreen
from screens.messages import CloseSession, GoToStep
from wizard.core.journal import last_outcome
from wizard.install import VERIFY_COMMAND, WHERE_TO_SET_URL


class DoneScreen(WizardScreen):
    HELP_TEXT = "The gateway is installed. Set its URL in GitLab, then run the verify command on the GitLab host."

    def compose_body(self) -> ComposeResult:
        profile = self.session.profile
        outcome = last_outcome(self.session.name) or {}
        yield Static("Set this AI gateway URL in GitLab:", classes="section-title")
        yield Static(profile.gateway_url, classes="done-url", markup=False)
        yield Static(WHERE_TO_SET_URL, classes="note", markup=False)
        yield Static("Then verify on the GitLab host:", classes="section-title")
        yield Static(f"  {VERIFY_COMMAND}", markup=False)
        if profile.target == "helm":
            yield Static(f"DNS: point {profile.gateway.hostname} at your ingress controller's address.",
                         classes="note", markup=False)
        yield Static("Re-run without the wizard (same checks, same steps):", classes="section-title")
        yield Static(f"  aigw-wizard apply {self.session.name}", markup=False)
        if outcome.get("log"):
            yield Static(f"Install log: {outcome['log']}", classes="note", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        next_button = self.query_one("#next")
        next_button.label = "Finish"
        next_button.focus()

    def action_next(self) -> None:
        self.post_message(CloseSession())

    def action_back(self) -> None:
        # Not to Install: arriving there runs the install again.
        self.post_message(GoToStep("review"))
