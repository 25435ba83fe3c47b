"""Step 1: Docker or Helm."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import RadioSet, Static

from screens.base import WizardScreen
from screens.widgets import Choice

CHOICES = (
    ("docker", "Docker on this host",
     "Runs the gateway container here. Needs a Docker engine, >= 512 MiB RAM, linux/amd64."),
    ("helm", "Helm on a Kubernetes cluster",
     "Installs the chart with an HTTPS ingress. Needs kubectl access, Helm >= 3.11, "
     "a TLS certificate for the gateway's domain."),
)


class TargetScreen(WizardScreen):
    HELP_TEXT = "Where should the AI gateway run? Docker puts one container on this host;\nHelm installs the chart on a Kubernetes cluster behind an HTTPS ingress."

    def compose_body(self) -> ComposeResult:
        yield Static("Where should the AI gateway run?", classes="section-title")
        current = self.session.profile.target
        with RadioSet(id="target"):
            for value, label, _help in CHOICES:
                yield Choice(label, value=current == value, name=value)
        for _value, label, help_text in CHOICES:
            yield Static(f"{label}: {help_text}", classes="choice-help", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(RadioSet).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        error = self.set_field("target", event.pressed.name)
        self.set_status(error or "")
        self.refresh_chrome()
