"""What `status` reports for a Helm release: its revision, chart, pods, ingress and drift."""

from __future__ import annotations

from wizard.core import spec
from wizard.core.profile import Profile
from wizard.install.base import StatusReport
from wizard.install.helm.objects import ingress_addresses
from wizard.install.helm.release import deployed_values, release_info, values_drift
from wizard.tools import kube
from wizard.tools.helm import HelmCommands, HelmError


def release_status(profile: Profile) -> StatusReport:
    helm = profile.helm
    commands = HelmCommands(profile)  # queries only: no flag here depends on the helm version
    try:
        info = release_info(commands)
        deployed = deployed_values(commands) if info is not None else {}
    except HelmError as error:
        return StatusReport(
            False, "unknown", details={"problem": error.message, "what to do": error.remedy}
        )
    if info is None:
        return StatusReport(False, "not installed", details={"namespace": helm.namespace})
    report = StatusReport(
        True,
        info.status,
        details={
            "namespace": helm.namespace,
            "revision": str(info.revision),
            "chart": info.chart,
            "app version": info.app_version,
        },
        drift=values_drift(deployed, spec.helm_values(profile)),
    )
    try:
        _cluster_status(profile, report)
    except kube.KubeError as error:
        report.details["cluster"] = f"unknown: {error.message}"
    return report


def _cluster_status(profile: Profile, report: StatusReport) -> None:
    helm = profile.helm
    cluster = kube.connect(helm.kube_context)
    try:
        pods, _version = kube.list_release_pods(cluster, helm.namespace, helm.release)
        ready = [pod for pod in pods if kube.pod_ready(pod)]
        report.healthy = report.state == "deployed" and bool(pods) and len(ready) == len(pods)
        report.details["pods"] = f"{len(ready)}/{len(pods)} ready" + "".join(
            f"\n    {pod['metadata']['name']}: {(pod.get('status') or {}).get('phase', 'Unknown')}"
            f"{'' if kube.pod_ready(pod) else ', not ready'}"
            for pod in pods
        )
        if pods:
            containers = (pods[0].get("spec") or {}).get("containers") or [{}]
            report.image = str(containers[0].get("image", ""))
        addresses = ingress_addresses(cluster, helm.namespace, profile.gateway.hostname)
        report.details["ingress"] = profile.gateway.hostname + (
            f" → {', '.join(addresses)}" if addresses else " (no address yet)"
        )
    finally:
        cluster.close()
