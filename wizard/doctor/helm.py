"""The doctor for the Helm target: the release's pods, their variables and their logs.

Through the Kubernetes API only (read-only: list pods, read logs). What it does not do yet:
probe GitLab from inside a pod (that needs `pods/exec` or an ephemeral container) and the
gRPC health of the Agent Platform; a finding says so and gives the command to run by hand.
"""

from __future__ import annotations

import json
from typing import Any

from wizard.core.profile import Profile
from wizard.doctor import signatures
from wizard.doctor.docker import AGENT_KEY_VARIABLES, KEY_VARIABLES, LOG_TAIL, PEM_BLOCK
from wizard.doctor.fields import facts
from wizard.doctor.findings import Finding
from wizard.tools import kube
from wizard.tools.gitlab import shown

INSTANCE_LABEL = "app.kubernetes.io/instance"


def diagnose(profile: Profile, name: str) -> list[Finding]:
    helm = profile.helm
    try:
        cluster = kube.connect(helm.kube_context)
    except kube.KubeError as error:
        return [Finding("cluster", "fail", "Kubernetes cluster", shown(error), shown(getattr(error, "remedy", "") or "check helm.kube_context"), "helm.kube_context")]
    try:
        return _diagnose(cluster, profile, name)
    except kube.KubeError as error:
        return [Finding("cluster", "fail", "Kubernetes cluster", shown(error), shown(getattr(error, "remedy", "") or ""), "helm.kube_context")]
    finally:
        cluster.close()


def _diagnose(cluster: kube.Cluster, profile: Profile, name: str) -> list[Finding]:
    namespace, release = profile.helm.namespace, profile.helm.release
    listed = cluster.call("list", "pods", namespace, cluster.core.list_namespaced_pod, namespace,
                          label_selector=f"{INSTANCE_LABEL}={release}", _preload_content=False)
    pods: list[dict[str, Any]] = json.loads(listed.data).get("items") or []
    if not pods:
        return [Finding("pods.found", "fail", "Gateway pods", f"no pod of release {release} in namespace {namespace}",
                        f"install it: `aigw-wizard apply {name}`", "helm.release")]
    found: list[Finding] = []
    for pod in pods:
        found += _pod(pod, profile, name)
        found += _logs(cluster, pod, namespace, profile, name)
    found.append(Finding(
        "reach.pod", "warn", "GitLab from the pods",
        "not probed: reaching GitLab from inside a pod needs pods/exec, which the doctor does not use yet",
        f"run it by hand: `kubectl -n {namespace} exec deploy/{release} -- poetry run troubleshoot`",
    ))
    return found


def _pod(pod: dict[str, Any], profile: Profile, name: str) -> list[Finding]:
    pod_name = shown(pod["metadata"]["name"])
    status = pod.get("status") or {}
    found = []
    for container in status.get("containerStatuses") or []:
        label = f"{pod_name}/{shown(container.get('name', '?'))}"
        waiting = (container.get("state") or {}).get("waiting") or {}
        restarts = int(container.get("restartCount") or 0)
        if waiting.get("reason") in ("CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"):
            found.append(Finding("pod.running", "fail", "Gateway pod", f"{label} is {shown(waiting['reason'])} (restarted {restarts} times)",
                                 f"`kubectl -n {profile.helm.namespace} logs {pod_name} -c {shown(container.get('name', ''))} --previous` says why"))
        elif not container.get("ready"):
            found.append(Finding("pod.running", "fail", "Gateway pod", f"{label} is not ready (phase {shown(status.get('phase', '?'))})",
                                 f"`kubectl -n {profile.helm.namespace} describe pod {pod_name}`"))
        elif restarts:
            found.append(Finding("pod.running", "warn", "Gateway pod", f"{label} is ready but has restarted {restarts} times",
                                 f"`kubectl -n {profile.helm.namespace} logs {pod_name} --previous` says why"))
        else:
            found.append(Finding("pod.running", "pass", "Gateway pod", f"{label} is ready, no restarts"))
    images = {shown(c.get("image", "")) for c in (pod.get("spec") or {}).get("containers") or []}
    if profile.image_ref not in images:
        found.append(Finding("pod.image", "warn", "Gateway image", f"{pod_name} runs {', '.join(sorted(images)) or 'no image'}, the profile says {profile.image_ref}",
                             f"`aigw-wizard apply {name}` upgrades the release", "gateway.tag"))
    found += _keys(pod, profile, name)
    return found


def _keys(pod: dict[str, Any], profile: Profile, name: str) -> list[Finding]:
    """Key variables by name: literal values must be PEM; values from Secrets are not read."""
    wanted = KEY_VARIABLES + (AGENT_KEY_VARIABLES if facts(profile).agent_platform else ())
    env: dict[str, dict[str, Any]] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        for item in container.get("env") or []:
            env.setdefault(str(item.get("name")), item)
    missing = [v for v in wanted if v not in env]
    not_pem = [v for v in wanted if v in env and "value" in env[v] and not PEM_BLOCK.search(str(env[v]["value"]))]
    remedy = f"`aigw-wizard keys {name} --rotate`, then `aigw-wizard apply {name}`"
    pod_name = shown(pod["metadata"]["name"])
    if not_pem:
        return [Finding("env.keys", "fail", "JWT keys", f"{pod_name}: {', '.join(not_pem)} empty or not PEM", remedy)]
    if missing:
        return [Finding("env.keys", "warn", "JWT keys", f"{pod_name}: not set: {', '.join(missing)} (required from 19.x)", remedy)]
    return [Finding("env.keys", "pass", "JWT keys", f"{pod_name}: {', '.join(wanted)} set (values from Secrets are not read)")]


def _logs(cluster: kube.Cluster, pod: dict[str, Any], namespace: str, profile: Profile, name: str) -> list[Finding]:
    pod_name = pod["metadata"]["name"]
    lines: list[str] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        try:
            text = cluster.call("read", "pods/log", namespace, cluster.core.read_namespaced_pod_log, pod_name, namespace,
                                container=container["name"], tail_lines=LOG_TAIL)
        except kube.KubeError:
            continue  # a container that never started has no log
        lines += str(text).splitlines()
    hits = signatures.scan(lines)
    if not hits:
        return [Finding("log.signatures", "pass", "Gateway log", f"pod {shown(pod_name)}: no known error in the last {len(lines)} lines")]
    return signatures.findings_for(hits, name, profile.target, f"pod {shown(pod_name)}")
