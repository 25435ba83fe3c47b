"""The Helm engine: what `plan` shows for target "helm", done, watched and explained.

apply: cluster access → namespace → TLS (and CA bundle) secrets → values file →
`helm repo add/update` (repository charts only) → `helm upgrade --install --atomic`
while `PodWatcher` reports the pods → wait until they are Ready → the URL for GitLab.
The user's own `helm` binary does the install, so what we run is what `plan` prints.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import yaml

from wizard.core import spec, store
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    Address,
    Event,
    LogLevel,
    LogLine,
    Result,
    StepFinished,
    StepStarted,
)
from wizard.core.profile import Profile
from wizard.core.validators import duration_seconds
from wizard.install import (
    AUTH_BYPASS_WARNING,
    VERIFY_COMMAND,
    WHERE_TO_SET_URL,
    Cancelled,
    Drift,
    Installer,
    StatusReport,
)
from wizard.install.bundle import archive_name, bundled_profile, save_image, write_manifest
from wizard.install.pods import INSTANCE_LABEL, PodWatcher
from wizard.tools import kube, proc

MIN_HELM = (3, 11, 0)
HELM_INSTALL_DOCS = "https://helm.sh/docs/intro/install/"
#: Helm rolls an --atomic release back when stopped; give it that long before killing it.
HELM_STOP_GRACE_S = 20.0
#: One-shot helm calls (version, status, get values) answer in seconds unless the cluster is gone.
HELM_QUERY_TIMEOUT_S = 60.0
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "aigw-wizard"
IN_PROGRESS = "another operation (install/upgrade/rollback) is in progress"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class HelmError(Exception):
    """A failed step in plain words, with what to do about it (like `kube.KubeError`)."""

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


# --- the helm binary ---------------------------------------------------------------------------


def helm_version() -> str:
    """The installed helm's version, e.g. "v3.14.0"; HelmError when missing or too old."""
    try:
        done = proc.run_capture(["helm", "version", "--short"], timeout=HELM_QUERY_TIMEOUT_S)
    except proc.ProgramNotFound:
        raise HelmError(
            "helm is not installed (not found on PATH)",
            f"install Helm 3.11 or later: {HELM_INSTALL_DOCS}",
        ) from None
    except proc.TimedOut as error:
        raise HelmError(str(error), "check that `helm version` works in a terminal") from None
    match = _VERSION.search(done.stdout)
    if not done.ok or not match:
        raise HelmError(
            f"`helm version` failed: {_last_line(done.stderr or done.stdout)}",
            "check your helm installation",
        )
    version = tuple(int(part) for part in match.groups())
    if version < MIN_HELM:
        raise HelmError(
            f"helm {match.group(0)} is too old: 3.11.0 or later is needed",
            f"upgrade Helm: {HELM_INSTALL_DOCS}",
        )
    return match.group(0)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("Error: ") if lines else "(no output)"


# --- TLS material ------------------------------------------------------------------------------


def read_tls_pair(profile: Profile) -> tuple[bytes, bytes, list[str]]:
    """The PEM certificate and key, refused unless the TLS checks pass; plus their warnings.

    Read at apply time only: the bytes go into the Secret and nowhere else (no log, no
    message, no file of ours).
    """
    from wizard.checks.tls import inspect_tls

    cert_path, key_path = profile.resolve(profile.tls.cert), profile.resolve(profile.tls.key)
    results = inspect_tls(cert_path, key_path, profile.gateway.hostname)
    failed = [result for result in results if result.status == "fail"]
    if failed:
        first = failed[0]
        raise HelmError(f"{first.field or 'tls'}: {first.detail}", first.remedy)
    warnings = [f"{result.title}: {result.detail}" for result in results if result.status == "warn"]
    return _read_file(cert_path, "tls.cert"), _read_file(key_path, "tls.key"), warnings


def _read_file(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise HelmError(
            f"{field}: cannot read {path}: {error.strerror}",
            f"check {field} and the file's permissions",
        ) from None


# --- values ------------------------------------------------------------------------------------


def write_values_file(values: dict[str, Any], folder: Path) -> Path:
    """The chart values as a 0600 file in `folder` (a private temporary directory)."""
    path = folder / "values.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(values, handle, sort_keys=False)
    return path


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested values as dotted paths, `--set` style: {"ingress.hosts[0].host": "aigw.example.com"}."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value if isinstance(value, str) else json.dumps(value)}


def values_drift(deployed: dict[str, Any], wanted: dict[str, Any]) -> list[Drift]:
    """Every dotted path where the release's user values differ from the profile's."""
    running, profile = flatten(deployed), flatten(wanted)
    unset = "(unset)"
    return [
        Drift(path, profile.get(path, unset), running.get(path, unset))
        for path in sorted(running.keys() | profile.keys())
        if running.get(path) != profile.get(path)
    ]


# --- the installer -----------------------------------------------------------------------------


class HelmInstaller(Installer):
    """Installs the gateway chart into a Kubernetes cluster with the user's helm."""

    _step = ""

    @property
    def _helm_flags(self) -> list[str]:
        """Where every helm call points: namespace, and the profile's context if it names one."""
        helm = self.profile.helm
        flags = [f"--namespace={helm.namespace}"]
        if helm.kube_context:
            flags.append(f"--kube-context={helm.kube_context}")
        return flags

    def _start(self, step: str, title: str) -> StepStarted:
        self._step = step
        return StepStarted(step, title)

    def _guarded(self, work: Iterator[Event], cancelled: str) -> Iterator[Event]:
        """Run a verb's steps; a refusal or a cancel ends the failed step and the run plainly."""
        try:
            yield from work
        except Cancelled:
            yield StepFinished(self._step, "cancelled", "stopped on request")
            yield Result(False, cancelled, changed=False)
        except (kube.KubeError, HelmError) as error:
            yield StepFinished(self._step, "failed", error.message)
            if error.remedy:
                yield LogLine("wizard", f"What to do: {error.remedy}", "warning")
            yield Result(False, error.message)

    def _check_helm(self) -> Iterator[Event]:
        yield self._start("helm", "Check helm")
        yield StepFinished("helm", "ok", f"helm {helm_version()}")

    # apply

    def apply(self) -> Iterator[Event]:
        return self._guarded(
            self._apply(),
            "Cancelled. Helm's --atomic rolls back what it had started; "
            "run apply again to finish (it recognises an interrupted release).",
        )

    def _apply(self) -> Iterator[Event]:
        profile, helm = self.profile, self.profile.helm
        if profile.gateway.auth_bypass:  # said every run, like the Docker engine
            yield LogLine("wizard", AUTH_BYPASS_WARNING, "warning")
        yield from self._check_helm()

        # Everything that can be refused locally is, before the cluster is touched.
        yield self._start("tls", "Read the TLS certificate and key")
        cert, key, warnings = read_tls_pair(profile)
        for warning in warnings:
            yield LogLine("wizard", warning, "warning")
        ca_bundle = (
            _read_file(profile.resolve(profile.gateway.ca_bundle), "gateway.ca_bundle")
            if profile.gateway.ca_bundle
            else None
        )
        yield StepFinished(
            "tls", "ok", f"the key matches; the certificate covers {profile.gateway.hostname}"
        )
        self.check_cancel()

        yield self._start("cluster", "Connect to the cluster")
        cluster = kube.connect(helm.kube_context)
        try:
            version = cluster.call("get", "version", None, cluster.version_api.get_code)
            yield StepFinished(
                "cluster", "ok", f"context {cluster.context}, Kubernetes {version.git_version}"
            )
            yield from self._prepare(cluster, cert, key, ca_bundle)
            yield from self._install(cluster)
        finally:
            cluster.close()

    def _prepare(
        self, cluster: kube.Cluster, cert: bytes, key: bytes, ca_bundle: bytes | None
    ) -> Iterator[Event]:
        helm = self.profile.helm
        yield self._start("namespace", f"Namespace {helm.namespace}")
        yield StepFinished("namespace", "ok", self._ensure_namespace(cluster))
        self.check_cancel()

        yield self._start("tls-secret", f"TLS secret {helm.tls_secret}")
        outcome = self._ensure_secret(
            cluster, helm.tls_secret, "kubernetes.io/tls", {"tls.crt": cert, "tls.key": key}
        )
        yield StepFinished("tls-secret", "skipped" if outcome == "unchanged" else "ok", outcome)
        if ca_bundle is not None:
            name = spec.ca_secret_name(self.profile)
            yield self._start("ca-secret", f"CA bundle secret {name}")
            outcome = self._ensure_secret(cluster, name, "Opaque", {spec.CA_SECRET_KEY: ca_bundle})
            yield StepFinished("ca-secret", "skipped" if outcome == "unchanged" else "ok", outcome)
        self.check_cancel()

        if helm.repo_name:
            yield self._start("repo", f"Helm repository {helm.repo_name}")
            yield from self._add_repo()
            yield StepFinished("repo", "ok", helm.repo_url)
            self.check_cancel()

    def _add_repo(self) -> Iterator[Event]:
        helm = self.profile.helm
        add = ["helm", "repo", "add", "--force-update", helm.repo_name, helm.repo_url]
        remedy = "check helm.repo_url, and that this host reaches it (proxy, firewall)"
        yield from self._helm_ok(add, "cannot add the chart repository", remedy)
        update = ["helm", "repo", "update", helm.repo_name]
        yield from self._helm_ok(update, "cannot update the chart repository", remedy)

    def _ensure_namespace(self, cluster: kube.Cluster) -> str:
        name = self.profile.helm.namespace
        core = cluster.core
        try:
            found = cluster.call("get", "namespaces", None, core.read_namespace, name)
        except kube.NotFound:
            body = {"metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}
            cluster.call("create", "namespaces", None, core.create_namespace, body)
            return "created"
        except kube.Forbidden:
            # Namespace-scoped RBAC often cannot read the namespace itself yet may use it;
            # the secrets step says plainly if it may not.
            return "exists (assumed: not allowed to read namespaces)"
        ours = (found.metadata.labels or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
        return "exists (created earlier by aigw-wizard)" if ours else "exists; left as it is"

    def _ensure_secret(
        self, cluster: kube.Cluster, name: str, kind: str, data: dict[str, bytes]
    ) -> str:
        """Create the secret, or replace it when its content differs; never logs the content."""
        namespace, core = self.profile.helm.namespace, cluster.core
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {MANAGED_BY_LABEL: MANAGED_BY},
            },
            "type": kind,
            "data": {key: base64.b64encode(value).decode("ascii") for key, value in data.items()},
        }
        try:
            current = cluster.call(
                "get", "secrets", namespace, core.read_namespaced_secret, name, namespace
            )
        except kube.NotFound:
            cluster.call(
                "create", "secrets", namespace, core.create_namespaced_secret, namespace, body
            )
            return "created"
        existing = {key: base64.b64decode(value) for key, value in (current.data or {}).items()}
        if current.type == kind and existing == data:
            return "unchanged"
        if current.type != kind:  # a secret's type cannot change in place
            cluster.call(
                "delete", "secrets", namespace, core.delete_namespaced_secret, name, namespace
            )
            cluster.call(
                "create", "secrets", namespace, core.create_namespaced_secret, namespace, body
            )
        else:
            cluster.call(
                "update",
                "secrets",
                namespace,
                core.replace_namespaced_secret,
                name,
                namespace,
                body,
            )
        return "replaced (its content differed from the files)"

    def _install(self, cluster: kube.Cluster) -> Iterator[Event]:
        profile, helm = self.profile, self.profile.helm
        yield self._start("release", f"Install release {helm.release} with Helm")
        release = self._release()
        if release and release["status"].startswith("pending-"):
            yield LogLine(
                "wizard",
                f"release {helm.release} is {release['status']}: an earlier run was interrupted; continuing with upgrade --install",
                "warning",
            )
        if profile.gateway.image_archive:
            yield LogLine(
                "wizard",
                f"the cluster pulls {profile.image_ref}: load gateway.image_archive into a registry "
                "its nodes reach and set gateway.image to it",
                "warning",
            )
        folder = Path(tempfile.mkdtemp(prefix="aigw-helm-"))  # 0700: the values name internal URLs
        watcher = PodWatcher(cluster, helm.namespace, helm.release)
        try:
            values = write_values_file(spec.helm_values(profile), folder)
            watcher.start()
            code, errors = yield from self._upgrade(values, watcher)
            if code != 0 and IN_PROGRESS in " ".join(errors) and release:
                yield from self._recover(release)
                code, errors = yield from self._upgrade(values, watcher)
            if code != 0:
                yield from self._report_failure(errors, watcher)
                return
            yield StepFinished("release", "ok", f"release {helm.release} deployed")

            if not (yield from self._wait_pods(watcher)):
                return
        finally:
            watcher.stop()
            shutil.rmtree(folder, ignore_errors=True)
        yield from self._succeeded(cluster)

    def _wait_pods(self, watcher: PodWatcher) -> Generator[Event, None, bool]:
        """The equivalent of `kubectl wait pod --for=condition=Ready`, bounded by helm.timeout."""
        timeout = self.profile.helm.timeout
        yield self._start("pods", "Wait for the gateway pods to be Ready")
        try:
            not_ready = watcher.wait_ready(duration_seconds(timeout), self.cancel.is_set)
        except kube.KubeError as error:  # e.g. RBAC without `list pods`: Helm's --wait has to do
            yield from watcher.drain()
            yield StepFinished("pods", "skipped", f"cannot look at the pods: {error.message}")
            return True
        yield from watcher.drain()
        self.check_cancel()
        if not_ready is None:
            yield StepFinished(
                "pods", "skipped", f"no pods labelled {watcher.selector}; Helm's --wait passed"
            )
            return True
        if not_ready:
            yield StepFinished(
                "pods", "failed", ", ".join(f"{pod.name}: {pod.summary()}" for pod in not_ready)
            )
            for line in watcher.diagnosis():
                yield LogLine("wizard", line, "error")
            yield Result(
                False, f"the release is deployed but its pods are not Ready within {timeout}"
            )
            return False
        yield StepFinished("pods", "ok", ", ".join(watcher.ready()))
        return True

    def _upgrade(
        self, values: Path, watcher: PodWatcher
    ) -> Generator[Event, None, tuple[int, list[str]]]:
        helm = self.profile.helm
        chart = str(self.profile.resolve(helm.chart)) if helm.local_chart else helm.chart
        argv = [
            "helm",
            "upgrade",
            proc.positional(helm.release),
            proc.positional(chart),
            "--install",
        ]
        if not helm.local_chart:
            argv.append(f"--version={helm.chart_version}")
        argv += [
            *self._helm_flags,
            f"--values={values}",
            f"--timeout={helm.timeout}",
            "--wait",
            "--wait-for-jobs",
            "--atomic",
        ]
        return (yield from self._run_helm(argv, watcher))

    def _run_helm(
        self, argv: list[str], watcher: PodWatcher | None = None
    ) -> Generator[Event, None, tuple[int, list[str]]]:
        """Run helm, each line a LogLine as it comes, the watcher's lines in between; (code, stderr)."""
        errors: list[str] = []
        run = proc.stream(argv, cancel=self.cancel, grace=HELM_STOP_GRACE_S)
        while True:
            try:
                item = next(run)
            except StopIteration as done:
                code: int = done.value
                break
            except proc.ProgramNotFound as error:  # removed since the version check
                raise HelmError(
                    str(error), f"install Helm 3.11 or later: {HELM_INSTALL_DOCS}"
                ) from None
            if item is not None:
                stream, text = item
                level: LogLevel = "info"
                if stream == "stderr":
                    errors.append(text)
                    level = "error" if text.startswith("Error") else "warning"
                yield LogLine("helm", text, level)
            if watcher is not None:
                yield from watcher.drain()
        if watcher is not None:
            yield from watcher.drain()
        self.check_cancel()
        return code, errors

    def _helm_ok(self, argv: list[str], what: str, remedy: str = "") -> Iterator[Event]:
        """Run helm; a failure ends the step with `what` and helm's own last word."""
        code, errors = yield from self._run_helm(argv)
        if code != 0:
            raise HelmError(f"{what}: {_last_line(chr(10).join(errors))}", remedy)

    def _on_release(self, verb: str) -> list[str]:
        """`helm rollback|uninstall RELEASE`, waiting for the cluster to follow."""
        helm = self.profile.helm
        return [
            "helm",
            verb,
            helm.release,
            *self._helm_flags,
            "--wait",
            f"--timeout={helm.timeout}",
        ]

    def _recover(self, release: dict[str, Any]) -> Iterator[Event]:
        """Unblock a release an interrupted run left pending, so the upgrade can be retried."""
        name = self.profile.helm.release
        if release["revision"] > 1:
            yield LogLine(
                "wizard", f"rolling {name} back to its last deployed revision first", "warning"
            )
            argv = self._on_release("rollback")
        else:
            yield LogLine(
                "wizard", f"removing the never-completed first install of {name} first", "warning"
            )
            argv = self._on_release("uninstall")
        yield from self._helm_ok(argv, f"cannot unblock release {name}")

    def _report_failure(self, errors: list[str], watcher: PodWatcher) -> Iterator[Event]:
        helm = self.profile.helm
        reason = _last_line("\n".join(errors)) if errors else "helm failed without a message"
        rolled_back = "atomic" in reason or "rolled back" in reason
        yield StepFinished("release", "failed", reason)
        for line in watcher.diagnosis():
            yield LogLine("wizard", line, "error")
        undone = " Helm rolled the release back (--atomic)." if rolled_back else ""
        yield Result(False, f"helm upgrade --install {helm.release} failed: {reason}.{undone}")

    def _succeeded(self, cluster: kube.Cluster) -> Iterator[Event]:
        url = self.profile.gateway_url
        yield Result(
            True,
            f"The AI gateway runs in namespace {self.profile.helm.namespace} (release {self.profile.helm.release}).",
            urls=(Address(GATEWAY_URL_LABEL, url),),
            remedies=(
                WHERE_TO_SET_URL,
                f"Then verify on the GitLab host: {VERIFY_COMMAND}",
                self._dns_reminder(cluster),
            ),
        )

    def _dns_reminder(self, cluster: kube.Cluster) -> str:
        host = self.profile.gateway.hostname
        try:
            addresses = self._ingress_addresses(cluster)
        except kube.KubeError:
            addresses = []
        if addresses:
            return f"DNS: point {host} at the ingress address {', '.join(addresses)}."
        return (
            f"DNS: point {host} at your ingress controller's external address "
            f"(`kubectl get ingress -n {self.profile.helm.namespace}` shows it once assigned)."
        )

    def _ingress_addresses(self, cluster: kube.Cluster) -> list[str]:
        """The load balancer addresses of the Ingresses that serve gateway.hostname."""
        namespace = self.profile.helm.namespace
        listed = cluster.call(
            "list", "ingresses", namespace, cluster.networking.list_namespaced_ingress, namespace
        )
        addresses: list[str] = []
        for ingress in listed.items:
            hosts = {rule.host for rule in (ingress.spec.rules or [])}
            if self.profile.gateway.hostname not in hosts:
                continue
            balancer = ingress.status.load_balancer if ingress.status else None
            for entry in (balancer.ingress if balancer else None) or []:
                addresses.append(entry.ip or entry.hostname)
        return [address for address in addresses if address]

    def _release(self) -> dict[str, Any] | None:
        """`helm status` as {"status", "revision", "chart"}, or None when there is no release."""
        done = self._query(
            ["helm", "status", self.profile.helm.release, *self._helm_flags, "--output=json"]
        )
        if done is None:
            return None
        data = json.loads(done)
        chart = (data.get("chart") or {}).get("metadata") or {}
        return {
            "status": (data.get("info") or {}).get("status", "unknown"),
            "revision": int(data.get("version") or 0),
            "chart": f"{chart.get('name', '?')}-{chart.get('version', '?')}",
        }

    def _query(self, argv: list[str]) -> str | None:
        """A one-shot helm call's stdout; None when helm says the release does not exist."""
        try:
            done = proc.run_capture(argv, timeout=HELM_QUERY_TIMEOUT_S)
        except proc.ProcError as error:
            raise HelmError(
                str(error), f"install Helm 3.11 or later: {HELM_INSTALL_DOCS}"
            ) from None
        if done.ok:
            return done.stdout
        if "release: not found" in done.stderr:  # not "context … not found" and the like
            return None
        raise HelmError(f"`{' '.join(argv[:2])}` failed: {_last_line(done.stderr)}")

    # status

    def status(self) -> StatusReport:
        helm = self.profile.helm
        deployed: str | None = None
        try:
            release = self._release()
            if release is not None:
                deployed = self._query(
                    ["helm", "get", "values", helm.release, *self._helm_flags, "--output=json"]
                )
        except HelmError as error:
            return StatusReport(
                False, "unknown", details={"problem": error.message, "what to do": error.remedy}
            )
        if release is None:
            return StatusReport(False, "not installed", details={"namespace": helm.namespace})
        report = StatusReport(
            True,
            release["status"],
            details={
                "namespace": helm.namespace,
                "revision": str(release["revision"]),
                "chart": release["chart"],
            },
            drift=values_drift(
                json.loads(deployed or "null") or {}, spec.helm_values(self.profile)
            ),
        )
        try:
            self._cluster_status(report)
        except kube.KubeError as error:
            report.details["cluster"] = f"unknown: {error.message}"
        return report

    def _cluster_status(self, report: StatusReport) -> None:
        helm = self.profile.helm
        cluster = kube.connect(helm.kube_context)
        try:
            core = cluster.core
            pods = cluster.call(
                "list",
                "pods",
                helm.namespace,
                core.list_namespaced_pod,
                helm.namespace,
                label_selector=f"{INSTANCE_LABEL}={helm.release}",
            ).items
            ready = [pod for pod in pods if _pod_ready(pod)]
            report.healthy = report.state == "deployed" and bool(pods) and len(ready) == len(pods)
            report.details["pods"] = f"{len(ready)}/{len(pods)} ready" + "".join(
                f"\n    {pod.metadata.name}: {pod.status.phase}{'' if _pod_ready(pod) else ', not ready'}"
                for pod in pods
            )
            if pods:
                report.image = pods[0].spec.containers[0].image
            addresses = self._ingress_addresses(cluster)
            report.details["ingress"] = self.profile.gateway.hostname + (
                f" → {', '.join(addresses)}" if addresses else " (no address yet)"
            )
        finally:
            cluster.close()

    # uninstall

    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]:
        return self._guarded(self._uninstall(purge), "Cancelled; run uninstall again to finish.")

    def _uninstall(self, purge: bool) -> Iterator[Event]:
        helm = self.profile.helm
        yield from self._check_helm()
        yield self._start("release", f"Uninstall release {helm.release}")
        if self._release() is None:
            yield StepFinished(
                "release", "skipped", f"no release {helm.release} in namespace {helm.namespace}"
            )
        else:
            argv = self._on_release("uninstall")
            yield from self._helm_ok(argv, f"cannot uninstall {helm.release}")
            yield StepFinished("release", "ok", "uninstalled")
        if purge:
            yield self._start("purge", "Remove the secrets and our namespace")
            cluster = kube.connect(helm.kube_context)
            try:
                removed = self._purge(cluster)
            finally:
                cluster.close()
            yield StepFinished("purge", "ok", "; ".join(removed))
        yield Result(
            True,
            f"Removed the AI gateway release {helm.release}."
            + ("" if purge else " Secrets and namespace kept (--purge removes them)."),
        )

    def _purge(self, cluster: kube.Cluster) -> list[str]:
        namespace, core = self.profile.helm.namespace, cluster.core
        done: list[str] = []
        for name in (self.profile.helm.tls_secret, spec.ca_secret_name(self.profile)):
            try:
                cluster.call(
                    "delete", "secrets", namespace, core.delete_namespaced_secret, name, namespace
                )
                done.append(f"secret {name} deleted")
            except kube.NotFound:
                pass
        try:
            found = cluster.call("get", "namespaces", None, core.read_namespace, namespace)
        except kube.NotFound:
            return done
        if (found.metadata.labels or {}).get(MANAGED_BY_LABEL) == MANAGED_BY:
            cluster.call("delete", "namespaces", None, core.delete_namespace, namespace)
            done.append(f"namespace {namespace} deleted")
        else:
            done.append(f"namespace {namespace} kept: aigw-wizard did not create it")
        return done

    # bundle

    def bundle(self, directory: Path) -> Iterator[Event]:
        return self._guarded(self._bundle(directory), "Cancelled; the bundle is incomplete.")

    def _bundle(self, directory: Path) -> Iterator[Event]:
        profile = self.profile
        directory.mkdir(parents=True, exist_ok=True)
        chart = yield from self._fetch_chart(directory)

        yield self._start("image", f"Save the image {profile.image_ref}")
        archive = directory / archive_name(profile.gateway.image, profile.image_tag)
        yield from save_image_pulling(profile.image_ref, archive, self.check_cancel)
        yield StepFinished("image", "ok", archive.name)

        yield self._start("manifest", "Write the bundle's profile and SHA-256 manifest")
        bundled, copied = bundled_profile(profile, directory, archive.name, chart=chart.name)
        try:
            profile_path = store.save(bundled, directory / f"{self.profile_name}.toml")
        except store.ProfileError as error:
            raise HelmError(str(error), "remove that file, or bundle into another folder") from None
        files = [chart, archive, *copied, profile_path]
        write_manifest(directory, profile.image_ref, files)
        yield StepFinished("manifest", "ok", ", ".join(path.name for path in files))
        yield Result(
            True,
            f"bundle for {self.profile_name} written to {directory}",
            remedies=(
                f"Load {archive.name} into a registry the cluster pulls from "
                "(docker load, docker tag, docker push) and set gateway.image to it.",
                f"Copy {directory} to the air-gapped host; tls.cert and tls.key must be at the "
                f"paths {profile_path.name} names (edit them if not).",
                f"Then run there: aigw-wizard apply {directory.name}/{profile_path.name} --yes",
            ),
        )

    def _fetch_chart(self, directory: Path) -> Generator[Event, None, Path]:
        """The chart .tgz in `directory`: copied when local, else `helm pull`ed."""
        helm = self.profile.helm
        if not helm.local_chart:
            yield from self._check_helm()
        yield self._start("chart", "Fetch the chart")
        if helm.local_chart:
            source = self.profile.resolve(helm.chart)
            try:
                chart = Path(shutil.copy(source, directory))
            except OSError as error:
                raise HelmError(
                    f"helm.chart: cannot copy {source}: {error.strerror}", "check helm.chart"
                ) from None
        else:
            if helm.repo_name:
                yield from self._add_repo()
            with tempfile.TemporaryDirectory(prefix="aigw-chart-") as pulled:
                argv = [
                    "helm",
                    "pull",
                    proc.positional(helm.chart),
                    f"--version={helm.chart_version}",
                    f"--destination={pulled}",
                ]
                yield from self._helm_ok(
                    argv, "cannot download the chart", "check helm.chart and helm.chart_version"
                )
                found = sorted(Path(pulled).glob("*.tgz"))
                if not found:
                    raise HelmError(f"helm pull {helm.chart} wrote no chart archive")
                chart = Path(shutil.move(found[0], directory / found[0].name))
        yield StepFinished("chart", "ok", chart.name)
        return chart


def save_image_pulling(ref: str, target: Path, check_cancel: Callable[[], None]) -> Iterator[Event]:
    """Pull `ref` when this host lacks it, then save it like the Docker engine's bundle does."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    try:
        client = docker.from_env()
    except DockerException as error:
        raise HelmError(
            f"cannot save {ref}: {error}",
            "start the Docker engine (or fix access to it) on this host",
        ) from None
    try:
        try:
            client.images.get(ref)
        except ImageNotFound:
            yield LogLine("docker", f"pulling {ref}")
            repository, _, tag = ref.rpartition(":")
            client.images.pull(repository, tag=tag)
        yield from save_image(client, ref, target, check_cancel, "image")
    except DockerException as error:
        raise HelmError(
            f"cannot save {ref}: {error}", "check that the image exists and the engine has room"
        ) from None
    finally:
        client.close()


def _pod_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
