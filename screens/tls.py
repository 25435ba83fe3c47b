"""Step 4: the gateway's certificate and key (paths only), checked as soon as they are picked."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from screens import glyphs
from screens.base import WizardScreen
from screens.widgets import FormField
from wizard.checks.base import CheckResult
from wizard.core.text import clean
from wizard.session import tls_findings, tls_gate


class TLSScreen(WizardScreen):
    HELP_TEXT = """TLS
  Certificate  PEM certificate (chain) for the gateway's host name
  Key          its private key, unencrypted (kubectl cannot use an encrypted one)
Only the paths are saved, never the contents; the key is read at install time.
Helm needs both (the ingress serves HTTPS). Docker serves plain HTTP on its port:
there the files are optional, checked and shown in the plan."""

    @dataclass
    class Inspected(Message):
        findings: list[CheckResult]

    gate: str | None = None
    """Why the findings block Next (`wizard.session.tls_gate`), or None."""
    inspecting = False

    def compose_body(self) -> ComposeResult:
        tls = self.session.profile.tls
        needed = "required for Helm" if self.session.profile.target == "helm" else "optional for Docker"
        if self.plain_http:
            release = self.session.profile.release
            line = release.version.line if release else "this"
            yield Static(
                f"The {line} gateway image cannot serve TLS itself (native TLS needs 19.1 or later): it serves "
                "plain HTTP on its port, and a reverse proxy in front of it must terminate TLS. The files below "
                "are not needed and not checked.",
                id="plain-http", classes="note", markup=False,
            )
        yield Static(f"Certificate and key for {self.session.profile.gateway.hostname or 'the gateway'} ({needed})",
                     classes="note", markup=False)
        yield FormField("tls.cert", "Certificate", tls.cert, browse=True, placeholder="e.g. /etc/aigw/gateway.crt")
        yield FormField("tls.key", "Private key", tls.key, browse=True, placeholder="e.g. /etc/aigw/gateway.key")
        yield Static("", id="tls-findings", markup=False)

    @property
    def plain_http(self) -> bool:
        """Docker with a release that has no native TLS: a proxy terminates TLS, not the gateway."""
        release = self.session.profile.release
        return self.session.profile.target == "docker" and release is not None and not release.native_tls

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(FormField).input.focus()
        if not self.plain_http:
            self.inspect()

    def field_changed(self, field: str, error: str | None) -> None:
        if not error and not self.plain_http:
            self.inspect()

    def inspect(self) -> None:
        self.inspecting = True
        self.run_inspection()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_inspection(self) -> None:
        # Parsing runs in a thread: cryptography loads on first use, and files may be slow mounts.
        self.post_message(self.Inspected(tls_findings(self.session.profile)))

    @on(Inspected)
    def show_findings(self, message: Inspected) -> None:
        self.inspecting = False
        lines = []
        for result in message.findings:
            lines.append(clean(f"{glyphs.MARK[result.status]} {result.title}: {result.detail}"))
            if result.remedy and result.status in ("fail", "warn"):
                lines.append(clean(f"    -> {result.remedy}"))
        self.query_one("#tls-findings", Static).update("\n".join(lines))
        stale = self.gate
        self.gate = tls_gate(message.findings)
        if stale and not self.gate:
            self.set_status("")  # the problem it named is fixed

    @on(Worker.StateChanged)
    def inspection_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.inspecting = False
            self.gate = None  # the checks' tls rows say more; the files are not unusable for that
            self.query_one("#tls-findings", Static).update(clean(f"Could not inspect the files: {event.worker.error}"))

    def blocking_reason(self) -> str | None:
        if self.inspecting:
            return "Still reading the certificate and key"
        return self.gate or super().blocking_reason()
