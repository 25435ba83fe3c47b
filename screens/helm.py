"""Step 5 (Helm only): cluster context, namespace, release, chart source and ingress."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Select, Static

from screens.base import WizardScreen
from screens.widgets import FormField
from wizard.core.text import clean


class HelmScreen(WizardScreen):
    HELP_TEXT = """Helm
  Context        kubeconfig context to install into (empty: the current one)
  Namespace      created and labelled as ours when absent; an existing one is left alone
  Chart          repo/chart from the AI gateway Helm repository, or a local .tgz
                 (air-gapped hosts: no repository is contacted then)
  Ingress class  the IngressClass that serves the gateway's host name
  TLS secret     made from the certificate and key of the TLS step"""

    def compose_body(self) -> ComposeResult:
        helm = self.session.profile.helm
        contexts, current, note = self._contexts()
        with Horizontal(classes="inline-row"):
            yield Label("Kube context", classes="field-label", markup=False)
            current_label = f"(current: {current})" if current else "(current context)"
            options = [(Text(clean(current_label)), "")] + [(Text(clean(name)), name) for name in contexts]
            value = helm.kube_context if helm.kube_context in contexts else ""
            yield Select(options, value=value, allow_blank=False, id="kube-context", compact=True)
        if note:
            yield Static(clean(note), classes="note", markup=False)
        yield FormField("helm.namespace", "Namespace", helm.namespace)
        yield FormField("helm.release", "Release", helm.release)
        yield FormField("helm.chart", "Chart", helm.chart, browse=True,
                        hint="repo/chart, oci://..., or a local .tgz")
        yield FormField("helm.chart_version", "Chart version", helm.chart_version)
        yield FormField("helm.repo_url", "Repository URL", helm.repo_url)
        yield FormField("helm.ingress_class", "Ingress class", helm.ingress_class)
        yield FormField("helm.tls_secret", "TLS secret", helm.tls_secret)
        yield FormField("helm.timeout", "Timeout", helm.timeout)

    @staticmethod
    def _contexts() -> tuple[list[str], str, str]:
        from wizard.tools import kube
        try:
            contexts, current = kube.list_contexts()
        except kube.KubeError as error:
            return [], "", f"No contexts to pick: {error}"
        return contexts, current, ""

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(Select).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else ""
        error = self.set_field("helm.kube_context", value)
        self.set_status(error or "")
