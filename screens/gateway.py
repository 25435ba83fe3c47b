"""Step 3: the gateway: host name GitLab reaches, port, image and where it comes from,
the CA bundle for a private CA, and the auth bypass switch."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Checkbox, Label, RadioSet, Static

from screens.base import WizardScreen
from screens.widgets import Choice, FormField, Toggle
from wizard.core.text import clean


class GatewayScreen(WizardScreen):
    HELP_TEXT = """Gateway
  Host name    the name GitLab uses to reach the gateway; localhost never works,
               because GitLab connects from another host or container
  Port         (Docker) host port published to the gateway's port 5052
  Image, tag   a private registry mirror is just another image name; the tag
               defaults to the one matching your GitLab version
  Source       pull from the registry, or load a `docker save` tarball (air-gapped)
  CA bundle    PEM file with the CA that signed GitLab's certificate (private CA):
               mounted read-only, SSL_CERT_FILE and REQUESTS_CA_BUNDLE point at it
  Auth bypass  AIGW_AUTH__BYPASS_EXTERNAL=true: troubleshooting only"""

    def compose_body(self) -> ComposeResult:
        profile = self.session.profile
        gateway = profile.gateway
        yield FormField("gateway.hostname", "Host name", gateway.hostname, placeholder="e.g. aigw.example.com")
        if profile.target != "helm":
            yield FormField("gateway.port", "Host port", str(gateway.port), placeholder="e.g. 5052")
        yield FormField("gateway.image", "Image", gateway.image)
        yield FormField("gateway.tag", "Tag", gateway.tag, placeholder=self._tag_placeholder())
        yield Static(self._image_used(), id="image-used", classes="live", markup=False)
        with Horizontal(classes="inline-row"):
            yield Label("  Image source", classes="field-label", markup=False)
            with RadioSet(id="image-source"):
                yield Choice("registry", value=not gateway.image_archive, name="registry")
                yield Choice("docker save tarball", value=bool(gateway.image_archive), name="archive")
        yield FormField("gateway.image_archive", "Tarball", gateway.image_archive, browse=True,
                        placeholder="e.g. /srv/images/model-gateway.tar")
        yield FormField("gateway.ca_bundle", "CA bundle", gateway.ca_bundle, browse=True,
                        placeholder="optional: PEM of your private CA")
        if profile.target != "helm":
            yield FormField("docker.container_name", "Container name", profile.docker.container_name)
        with Horizontal(classes="inline-row"):
            yield Label("  Auth bypass", classes="field-label", markup=False)
            yield Toggle("AIGW_AUTH__BYPASS_EXTERNAL", gateway.auth_bypass, id="auth-bypass", compact=True)
        yield Static("", id="bypass-state", classes="live", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self._sync_source()
        self._sync_bypass()
        self.query_one(FormField).input.focus()

    def _sync_source(self) -> None:
        pressed = self.query_one("#image-source", RadioSet).pressed_button
        self.query_one("#field-gateway-image-archive", FormField).display = bool(pressed and pressed.name == "archive")

    def _sync_bypass(self) -> None:
        on = self.session.profile.gateway.auth_bypass
        self.query_one("#bypass-state", Static).update(
            "ON: the gateway will NOT authenticate requests. Troubleshooting only!" if on
            else "off: requests are authenticated (keep it so)"
        )
        self.query_one("#bypass-state").set_class(on, "warning-text")

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.pressed.name == "registry":
            archive = self.query_one("#field-gateway-image-archive", FormField)
            archive.set_value("")  # a registry pull must not be shadowed by a stale tarball path
        self._sync_source()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        error = self.set_field("gateway.auth_bypass", event.value)
        self.set_status(error or "")
        self._sync_bypass()
        self.refresh_chrome()

    def field_changed(self, field: str, error: str | None) -> None:
        self.query_one("#field-gateway-tag", FormField).input.placeholder = self._tag_placeholder()
        self.query_one("#image-used", Static).update(self._image_used())

    def _image_used(self) -> str:
        # The whole reference: a long registry path does not fit in the Image field.
        return clean(f"Image used: {self.session.profile.image_ref or '- (set the tag or GitLab version)'}")

    def _tag_placeholder(self) -> str:
        tag = self.session.profile.image_tag
        return f"default: {tag} (from the GitLab version)" if tag else "default: from the GitLab version"
