"""Step 2: the GitLab instance: URL, API URL (derived), version (picks the image tag)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import WizardScreen
from screens.widgets import FormField


class GitLabScreen(WizardScreen):
    HELP_TEXT = """GitLab
  URL      the address users open, e.g. https://gitlab.example.com
  API URL  derived from the URL (.../api/v4/); change it only for unusual set-ups
  Version  your GitLab version (Admin > Overview): the gateway image must match it,
           e.g. 17.5.0 runs the image tag self-hosted-v17.5.0-ee"""

    def compose_body(self) -> ComposeResult:
        gitlab = self.session.profile.gitlab
        yield FormField("gitlab.url", "GitLab URL", gitlab.url, placeholder="e.g. https://gitlab.example.com")
        yield FormField("gitlab.api_url", "API URL", gitlab.api_url, placeholder=self._api_placeholder())
        yield FormField("gitlab.version", "GitLab version", gitlab.version, placeholder="e.g. 17.5.0",
                        hint="Admin > Overview > Dashboard shows it; it picks the image tag.")
        yield Static("", id="derived", classes="live", markup=False)

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
        lines.append(f"Image tag:     {profile.image_tag or '- (set the version)'}")
        self.query_one("#derived", Static).update("\n".join(lines))
