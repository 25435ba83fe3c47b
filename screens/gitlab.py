"""Step 2: the GitLab instance: URL, API URL (derived), version (picks the image tag)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Checkbox, Label, Static

from screens.base import WizardScreen
from screens.widgets import FormField, Toggle
from wizard.session import tag_words


class GitLabScreen(WizardScreen):
    HELP_TEXT = """GitLab
  URL      the address users open, e.g. https://gitlab.example.com
  API URL  derived from the URL (.../api/v4/); change it only for unusual set-ups
  Version  your GitLab version (Admin > Overview): the gateway image must match it,
           e.g. 17.5.0 runs the newest image tag self-hosted-v17.5.*-ee
  Offline licence  an offline (air-gapped) licence: the gateway asks GitLab about
           it, not customers.gitlab.com"""

    def compose_body(self) -> ComposeResult:
        gitlab = self.session.profile.gitlab
        yield FormField("gitlab.url", "GitLab URL", gitlab.url, placeholder="e.g. https://gitlab.example.com")
        yield FormField("gitlab.api_url", "API URL", gitlab.api_url, placeholder=self._api_placeholder())
        yield FormField("gitlab.version", "GitLab version", gitlab.version, placeholder="e.g. 17.5.0",
                        hint="Admin > Overview > Dashboard shows it; it picks the image tag.")
        with Horizontal(classes="inline-row"):
            yield Label("  Licence", classes="field-label", markup=False)
            yield Toggle("offline (air-gapped) licence", gitlab.offline_license, id="offline-license", compact=True)
        yield Static("", id="derived", classes="live", markup=False)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        error = self.set_field("gitlab.offline_license", event.value)
        if error:
            self.set_status(error)
        self.refresh_chrome()

    def _api_placeholder(self) -> str:
        derived = self.session.profile.gitlab.effective_api_url
        return f"default: {derived}" if derived else "default: derived from the URL"

    def on_mount(self) -> None:
        super().on_mount()
        self.field_changed("", None)
        self.query_one(FormField).input.focus()

    def field_changed(self, field: str, error: str | None) -> None:
        profile = self.session.profile
        api_input = self.query_one("#field-gitlab-api-url", FormField).input
        api_input.placeholder = self._api_placeholder()
        lines = [f"API URL used:  {profile.gitlab.effective_api_url or '-'}"]
        lines.append(f"Image tag:     {tag_words(profile)}")
        self.query_one("#derived", Static).update("\n".join(lines))
