"""Step 4: the gateway's certificate and key (paths only), checked as soon as they are picked."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import WizardScreen
from screens.glyphs import MARK
from screens.widgets import FormField
from wizard.checks.base import CheckResult


class TLSScreen(WizardScreen):
    STEP = "tls"
    HELP_TEXT = """TLS
  Certificate  PEM certificate (chain) for the gateway's host name
  Key          its private key, unencrypted (kubectl cannot use an encrypted one)
Only the paths are saved, never the contents; the key is read at install time.
Helm needs both (the ingress serves HTTPS). Docker serves plain HTTP on its port:
there the files are optional, checked and shown in the plan."""

    def compose_body(self) -> ComposeResult:
        tls = self.session.profile.tls
        needed = "required for Helm" if self.session.profile.target == "helm" else "optional for Docker"
        yield Static(f"Certificate and key for {self.session.profile.gateway.hostname or 'the gateway'} ({needed})",
                     classes="note", markup=False)
        yield FormField("tls.cert", "Certificate", tls.cert, browse=True, placeholder="/path/to/gateway.crt")
        yield FormField("tls.key", "Private key", tls.key, browse=True, placeholder="/path/to/gateway.key")
        yield Static("", id="tls-findings", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(FormField).input.focus()
        self.inspect()

    def field_changed(self, field: str, error: str | None) -> None:
        if not error:
            self.inspect()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def inspect(self) -> None:
        # Parsing runs in a thread: cryptography loads on first use, and files may be slow mounts.
        profile = self.session.profile
        if not (profile.tls.cert and profile.tls.key):
            self.app.call_from_thread(self.show_findings, [])
            return
        from wizard.checks.tls import inspect_tls

        results = inspect_tls(
            profile.resolve(profile.tls.cert), profile.resolve(profile.tls.key), profile.gateway.hostname
        )
        self.app.call_from_thread(self.show_findings, results)

    def show_findings(self, results: list[CheckResult]) -> None:
        lines = []
        for result in results:
            lines.append(f"{MARK[result.status]} {result.title}: {result.detail}")
            if result.remedy and result.status in ("fail", "warn"):
                lines.append(f"    -> {result.remedy}")
        self.query_one("#tls-findings", Static).update("\n".join(lines))
        self.tls_failed = any(result.status == "fail" for result in results)

    tls_failed = False

    def blocking_reason(self) -> str | None:
        if self.tls_failed:
            return "The certificate or key has a problem: see the findings above"
        return super().blocking_reason()
