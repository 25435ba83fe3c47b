"""Step 3: the gateway: host name GitLab reaches, port, image and where it comes from,
the CA bundle for a private CA, and the auth bypass switch."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Label, RadioSet, Static

from screens.base import WizardScreen
from screens.widgets import Choice, FormField, PairsField, Toggle
from wizard.core.text import clean
from wizard.session import field_text, resolve_tag_locally, tag_words


class GatewayScreen(WizardScreen):
    HELP_TEXT = """Gateway
  Host name    the name GitLab uses to reach the gateway; localhost never works,
               because GitLab connects from another host or container
  Port         (Docker) host port published to the gateway's port 5052
  Agent Platform port  (Docker, 18.0+) host port for the Duo Agent Platform (gRPC 50052)
  Image, tag   a private registry mirror is just another image name; an empty tag
               means the newest self-hosted-vX.Y.*-ee of your GitLab version
  Variant      standard, or FIPS (the self-hosted-fips image, amd64 only)
  Source       pull from the registry, or load a `docker save` tarball (air-gapped)
  CA bundle    PEM file with the CA that signed GitLab's certificate (private CA):
               mounted read-only, SSL_CERT_FILE and REQUESTS_CA_BUNDLE point at it
  Extra hosts  (Docker) NAME=IP lines for names the container cannot resolve
  Extra env    NAME=VALUE lines of further AIGW_* variables (never secrets)
  Auth bypass  AIGW_AUTH__BYPASS_EXTERNAL=true: troubleshooting only"""

    @dataclass
    class TagResolved(Message):
        words: str

    def compose_body(self) -> ComposeResult:
        profile = self.session.profile
        gateway = profile.gateway
        yield FormField("gateway.hostname", "Host name", gateway.hostname, placeholder="e.g. aigw.example.com")
        if profile.target != "helm":
            yield FormField("gateway.port", "Host port", str(gateway.port), placeholder="e.g. 5052")
            yield FormField("gateway.agent_platform_port", "Agent Platform port", str(gateway.agent_platform_port),
                            placeholder="e.g. 50052")
        yield FormField("gateway.image", "Image", gateway.image)
        with Horizontal(classes="inline-row"):
            yield Label("  Variant", classes="field-label", markup=False)
            with RadioSet(id="variant"):
                yield Choice("standard", value=gateway.variant != "fips", name="standard")
                yield Choice("FIPS", value=gateway.variant == "fips", name="fips")
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
        # Rarely needed: last.
        if profile.target != "helm":
            yield PairsField("docker.extra_hosts", "Extra hosts", field_text(profile, "docker.extra_hosts"),
                             placeholder="e.g. gitlab.corp.test=10.0.0.5")
        yield PairsField("gateway.extra_env", "Extra env", field_text(profile, "gateway.extra_env"),
                         placeholder="e.g. AIGW_LOGGING__LEVEL=debug")

    def on_mount(self) -> None:
        super().on_mount()
        self._sync_source()
        self._sync_bypass()
        self._sync_release()
        self.query_one(FormField).input.focus()
        self.ask_tag()

    def _sync_release(self) -> None:
        """Hide what this release does not use: 17.x has no Agent Platform."""
        release = self.session.profile.release
        for port in self.query("#field-gateway-agent-platform-port"):
            port.display = release is None or release.agent_platform

    def ask_tag(self) -> None:
        self._resolved_for = self._tag_inputs()
        self.resolve_tag()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tag")
    def resolve_tag(self) -> None:
        # The archive only: the engine (the docker SDK, slow to load) is asked on Review.
        self.post_message(self.TagResolved(resolve_tag_locally(self.session.profile, engine=False)))

    @on(TagResolved)
    def show_resolved(self, message: TagResolved) -> None:
        self.query_one("#image-used", Static).update(self._image_used(message.words))

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
        if event.radio_set.id == "variant":
            error = self.set_field("gateway.variant", "fips" if event.pressed.name == "fips" else "")
            if error:
                self.set_status(error)
            self.field_changed("gateway.variant", error)
            return
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
        self._sync_release()
        if self._resolved_for is not None and self._tag_inputs() != self._resolved_for:
            self.ask_tag()

    _resolved_for: tuple[str, ...] | None = None
    """What the shown tag was resolved from (None: not yet asked; the timer asks first)."""

    def _tag_inputs(self) -> tuple[str, ...]:
        profile = self.session.profile
        return (profile.image_repository, profile.gateway.tag, profile.gateway.image_archive, profile.gitlab.version)

    def _image_used(self, words: str | None = None) -> str:
        # The whole reference: a long registry path does not fit in the Image field.
        profile = self.session.profile
        if profile.gateway.tag:
            return clean(f"Image used: {profile.image_repository}:{profile.gateway.tag}")
        return clean(f"Image used: {profile.image_repository}") + "\n" + clean(f"Tag used: {words or tag_words(profile)}")

    def _tag_placeholder(self) -> str:
        release = self.session.profile.release
        return f"automatic: newest self-hosted-v{release.version.line}.*-ee" if release else "automatic: from the GitLab version"
