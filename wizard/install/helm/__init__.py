"""The Helm engine: what `plan` shows for target "helm", done, watched and explained.

apply: helm version → TLS (and CA bundle) files → cluster access → namespace → secrets →
`helm repo add/update` (repository charts only) → `helm upgrade --install` with helm's
rollback on failure, while `PodWatcher` reports the pods → wait until they are Ready →
the URL for GitLab and the ingress address for DNS. The user's own `helm` binary does the
install, with the command lines `plan` prints (one builder: `tools.helm.HelmCommands`).

Every verb is a body on the one `StepRunner`: steps open and close there, errors become
the failed step and the one `Result`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from wizard.core import spec, store
from wizard.core.errors import Cancelled
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    INGRESS_ADDRESS_LABEL,
    Address,
    Event,
    LogLine,
    Result,
)
from wizard.core.validators import duration_seconds
from wizard.install.base import (
    AUTH_BYPASS_WARNING,
    VERIFY_COMMAND,
    WHERE_TO_SET_URL,
    Installer,
    StatusReport,
)
from wizard.install.bundle import archive_name, bundled_profile, write_manifest
from wizard.install.helm import objects, release
from wizard.install.helm.airgap import chart_needs_helm, fetch_chart, save_image_pulling
from wizard.install.helm.objects import read_tls_pair
from wizard.install.helm.pods import PodWatcher
from wizard.install.helm.release import flatten, values_drift, write_values_file
from wizard.install.helm.status import release_status
from wizard.install.runner import Run, Step, StepFailed, StepRunner
from wizard.tools import kube
from wizard.tools.helm import (
    HELM3,
    HelmCommands,
    HelmError,
    HelmVersion,
    helm_version,
    installed_version,
)

__all__ = [
    "HelmError",
    "HelmInstaller",
    "flatten",
    "helm_version",
    "read_tls_pair",
    "values_drift",
    "write_values_file",
]

APPLY_CANCELLED = (
    "Cancelled. Helm's {flag} rolls back what it had started; "
    "run apply again to finish (it recognises an interrupted release)."
)


def _cancelled_says(body: Run[Result], message: Callable[[], str]) -> Run[Result]:
    """The verb's own words for a cancel, in place of the generic one."""
    try:
        return (yield from body)
    except Cancelled:
        raise Cancelled(message()) from None


class HelmInstaller(Installer):
    """Installs the gateway chart into a Kubernetes cluster with the user's helm."""

    _rollback_flag = HELM3.rollback_flag

    def _run(self, body: Run[Result], cancelled: str, runner: StepRunner) -> Iterator[Event]:
        return runner.run(_cancelled_says(body, lambda: cancelled.format(flag=self._rollback_flag)))

    def _check_helm(self, runner: StepRunner) -> Run[HelmVersion]:
        def body(step: Step) -> Run[HelmVersion]:
            yield from ()
            version = installed_version()
            self._rollback_flag = version.rollback_flag
            step.done(f"helm {version.text}")
            return version

        return (yield from runner.step("helm", "Check helm", body))

    # apply

    def apply(self) -> Iterator[Event]:
        runner = StepRunner(self.cancel)
        return self._run(self._apply(runner), APPLY_CANCELLED, runner)

    def _apply(self, runner: StepRunner) -> Run[Result]:
        profile = self.profile
        if profile.gateway.auth_bypass:  # said every run, like the Docker engine
            yield LogLine("wizard", AUTH_BYPASS_WARNING, "warning")
        commands = HelmCommands(profile, (yield from self._check_helm(runner)))

        # Everything that can be refused locally is, before the cluster is touched.
        def read_tls(step: Step) -> Run[tuple[bytes, bytes, bytes | None]]:
            cert, key, warnings = read_tls_pair(profile)
            for warning in warnings:
                yield LogLine("wizard", warning, "warning")
            ca_bundle = (
                objects.read_file(profile.resolve(profile.gateway.ca_bundle), "gateway.ca_bundle")
                if profile.gateway.ca_bundle
                else None
            )
            step.done(f"the key matches; the certificate covers {profile.gateway.hostname}")
            return cert, key, ca_bundle

        cert, key, ca_bundle = yield from runner.step("tls", "Read the TLS certificate and key", read_tls)

        cluster = yield from runner.step("cluster", "Connect to the cluster", self._connect)
        try:
            yield from self._prepare(runner, commands, cluster, cert, key, ca_bundle)
            addresses = yield from self._install(runner, commands, cluster)
        finally:
            cluster.close()
        return self._succeeded(addresses)

    def _connect(self, step: Step) -> Run[kube.Cluster]:
        yield from ()
        cluster = kube.connect(self.profile.helm.kube_context)
        try:
            version = cluster.call("get", "version", None, cluster.version_api.get_code)
        except BaseException:
            cluster.close()
            raise
        step.done(f"context {cluster.context}, Kubernetes {version.git_version}")
        return cluster

    def _prepare(
        self,
        runner: StepRunner,
        commands: HelmCommands,
        cluster: kube.Cluster,
        cert: bytes,
        key: bytes,
        ca_bundle: bytes | None,
    ) -> Run[None]:
        helm = self.profile.helm

        def namespace(step: Step) -> Run[None]:
            yield from ()
            step.done(objects.ensure_namespace(cluster, helm.namespace))

        def secret(name: str, kind: str, data: dict[str, bytes]) -> Run[None]:
            def body(step: Step) -> Run[None]:
                yield from ()
                outcome = objects.ensure_secret(cluster, helm.namespace, name, kind, data)
                step.done(outcome, "skipped" if outcome == "unchanged" else "ok")

            return body

        yield from runner.step("namespace", f"Namespace {helm.namespace}", namespace)
        tls_data = kube.tls_secret_data(cert, key)
        tls_body = secret(helm.tls_secret, kube.TLS_SECRET_TYPE, tls_data)
        yield from runner.step("tls-secret", f"TLS secret {helm.tls_secret}", tls_body)
        if ca_bundle is not None:
            name = spec.ca_secret_name(self.profile)
            ca_body = secret(name, "Opaque", {spec.CA_SECRET_KEY: ca_bundle})
            yield from runner.step("ca-secret", f"CA bundle secret {name}", ca_body)
        if helm.repo_name:

            def repo(step: Step) -> Run[None]:
                yield from release.add_repo(runner, commands)
                step.done(helm.repo_url)

            yield from runner.step("repo", f"Helm repository {helm.repo_name}", repo)

    def _install(
        self, runner: StepRunner, commands: HelmCommands, cluster: kube.Cluster
    ) -> Run[list[str]]:
        """The release and its pods; the ingress addresses once they are Ready."""
        profile, helm = self.profile, self.profile.helm
        folder = Path(tempfile.mkdtemp(prefix="aigw-helm-"))  # 0700: the values name internal URLs
        watcher = PodWatcher(cluster, helm.namespace, helm.release)

        def install(step: Step) -> Run[None]:
            info = release.release_info(commands)
            if info and info.status.startswith("pending-"):
                yield LogLine(
                    "wizard",
                    f"release {helm.release} is {info.status}: an earlier run was interrupted; "
                    "continuing with upgrade --install",
                    "warning",
                )
            if profile.gateway.image_archive:
                yield LogLine(
                    "wizard",
                    f"the cluster pulls {profile.image_ref}: load gateway.image_archive into a "
                    "registry its nodes reach and set gateway.image to it",
                    "warning",
                )
            values = write_values_file(spec.helm_values(profile), folder)
            watcher.start()
            yield from release.upgrade(runner, commands, values, watcher, info)
            step.done(f"release {helm.release} deployed")

        try:
            yield from runner.step("release", f"Install release {helm.release} with Helm", install)
            yield from runner.step(
                "pods", "Wait for the gateway pods to be Ready", lambda step: self._wait_pods(runner, step, watcher)
            )
        finally:
            watcher.stop()
            shutil.rmtree(folder, ignore_errors=True)
        try:
            return objects.ingress_addresses(cluster, helm.namespace, profile.gateway.hostname)
        except kube.KubeError:
            return []

    def _wait_pods(self, runner: StepRunner, step: Step, watcher: PodWatcher) -> Run[None]:
        """The equivalent of `kubectl wait pod -l … --for=condition=Ready`, bounded by helm.timeout."""
        timeout = self.profile.helm.timeout
        try:
            not_ready = watcher.wait_ready(duration_seconds(timeout), self.cancel.is_set)
        except kube.KubeError as error:  # e.g. RBAC without `list pods`: Helm's --wait has to do
            yield from watcher.drain()
            step.skip(f"cannot look at the pods: {error.message}")
            return
        yield from watcher.drain()
        runner.check_cancel()
        if not_ready is None:
            step.skip(f"no pods labelled {watcher.selector}; Helm's --wait passed")
        elif not_ready:
            for line in watcher.diagnosis():
                yield LogLine("wizard", line, "error")
            pods = ", ".join(f"{pod.name}: {pod.summary()}" for pod in not_ready)
            raise StepFailed(
                f"the release is deployed but its pods are not Ready within {timeout} ({pods})",
                log_tail=watcher.log_tail(),
            )
        else:
            step.done(", ".join(watcher.ready()))

    def _succeeded(self, addresses: list[str]) -> Result:
        profile = self.profile
        urls = (Address(GATEWAY_URL_LABEL, profile.gateway_url),) + tuple(
            Address(INGRESS_ADDRESS_LABEL, address) for address in addresses
        )
        return Result(
            True,
            f"The AI gateway runs in namespace {profile.helm.namespace} (release {profile.helm.release}).",
            urls=urls,
            remedies=(
                WHERE_TO_SET_URL,
                f"Then verify on the GitLab host: {VERIFY_COMMAND}",
                objects.dns_reminder(profile, addresses),
            ),
        )

    # status

    def status(self) -> StatusReport:
        return release_status(self.profile)

    # uninstall

    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]:
        runner = StepRunner(self.cancel)
        return self._run(self._uninstall(runner, purge), "Cancelled; run uninstall again to finish.", runner)

    def _uninstall(self, runner: StepRunner, purge: bool) -> Run[Result]:
        helm = self.profile.helm
        commands = HelmCommands(self.profile, (yield from self._check_helm(runner)))
        found = False

        def remove(step: Step) -> Run[None]:
            nonlocal found
            if release.release_info(commands) is None:
                step.skip(f"no release {helm.release} in namespace {helm.namespace}")
                return
            found = True
            yield from release.helm_ok(runner, commands.uninstall(), f"cannot uninstall {helm.release}")
            step.done("uninstalled")

        def remove_objects(step: Step) -> Run[None]:
            yield from ()
            cluster = kube.connect(helm.kube_context)
            try:
                step.done("; ".join(objects.purge(cluster, self.profile)))
            finally:
                cluster.close()

        yield from runner.step("release", f"Uninstall release {helm.release}", remove)
        if purge:
            yield from runner.step("purge", "Remove the secrets and our namespace", remove_objects)
        return Result(
            True,
            f"Removed the AI gateway release {helm.release}."
            + ("" if purge else " Secrets and namespace kept (--purge removes them)."),
            changed=found or purge,
        )

    # bundle

    def bundle(self, directory: Path) -> Iterator[Event]:
        runner = StepRunner(self.cancel)
        return self._run(self._bundle(runner, directory), "Cancelled; the bundle is incomplete.", runner)

    def _bundle(self, runner: StepRunner, directory: Path) -> Run[Result]:
        profile = self.profile
        version = (yield from self._check_helm(runner)) if chart_needs_helm(profile) else None
        commands = HelmCommands(profile, version) if version else HelmCommands(profile)

        def chart_step(step: Step) -> Run[Path]:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise HelmError(
                    f"cannot create {directory}: {error.strerror}", "bundle into a folder you may write"
                ) from None
            chart = yield from fetch_chart(runner, commands, directory)
            step.done(chart.name)
            return chart

        chart = yield from runner.step("chart", "Fetch the chart", chart_step)
        archive = directory / archive_name(profile.gateway.image, profile.image_tag)

        def image_step(step: Step) -> Run[None]:
            yield from save_image_pulling(runner, profile.image_ref, archive)
            step.done(archive.name)

        yield from runner.step("image", f"Save the image {profile.image_ref}", image_step)
        profile_path = yield from runner.step(
            "manifest", "Write the bundle's profile and SHA-256 manifest", lambda step: self._manifest(step, directory, chart, archive)
        )
        return Result(
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

    def _manifest(self, step: Step, directory: Path, chart: Path, archive: Path) -> Generator[Event, None, Path]:
        yield from ()
        bundled, copied = bundled_profile(self.profile, directory, archive.name, chart=chart.name)
        try:
            profile_path = store.save(bundled, directory / f"{self.profile_name}.toml")
        except store.ProfileError as error:
            raise HelmError(str(error), "remove that file, or bundle into another folder") from None
        files = [chart, archive, *copied, profile_path]
        write_manifest(directory, self.profile.image_ref, files)
        step.done(", ".join(path.name for path in files))
        return profile_path
