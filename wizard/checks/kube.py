"""Preflight checks for the Helm target: the helm binary, the cluster, and what apply will touch.

Each cluster check opens its own short-timeout connection. A context that does not
exist or an API that does not answer is reported once, by `kube.context` and
`kube.api`; the other cluster checks then skip with a pointer instead of failing again
for the same cause. Nothing here changes the cluster: permissions are probed with
server-side dry runs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import wraps

from wizard.checks.base import CheckContext, Outcome, check
from wizard.core.profile import Profile
from wizard.tools import helm, kube

MIN_NODE_MEMORY = 512 * 1024**2  # the reference's minimum for the gateway
CHECK_TIMEOUT: tuple[float, float] = (1.0, 1.5)
DRY_RUN = "All"
# Under the 3 s budget for all checks: one black-holed call (1.5 s) still reports in time.
_CLUSTER_CHECK_S = 2.8


def _connect(profile: Profile) -> kube.Cluster:
    return kube.connect(profile.helm.kube_context, timeout=CHECK_TIMEOUT)


def _on_cluster(
    body: Callable[[CheckContext, kube.Cluster], Outcome],
) -> Callable[[CheckContext], Outcome]:
    """Give `body` a connection; errors already reported by kube.context/kube.api skip."""

    @wraps(body)
    def run(context: CheckContext) -> Outcome:
        try:
            cluster = _connect(context.profile)
        except kube.KubeError:
            return Outcome("skip", "no usable kubeconfig context (see kube.context)")
        try:
            return body(context, cluster)
        except (kube.Unreachable, kube.Unauthorized):
            return Outcome("skip", "the Kubernetes API cannot be used (see kube.api)")
        except kube.KubeError as error:
            return Outcome("fail", error.message, error.remedy)
        finally:
            cluster.close()

    return run


@check("helm.binary", "Helm is installed", targets=("helm",))
def helm_binary(context: CheckContext) -> Outcome:
    path = shutil.which("helm")
    if path is None:
        return Outcome("fail", "helm is not on PATH", helm.INSTALL_HELM)
    return Outcome("pass", path)


@check("helm.version", "Helm is 3.11 or later", targets=("helm",), timeout=2.8)
def helm_version(context: CheckContext) -> Outcome:
    if shutil.which("helm") is None:
        return Outcome("skip", "helm is not installed (see helm.binary)")
    try:
        return Outcome("pass", f"helm {helm.helm_version()}")
    except helm.HelmError as error:
        return Outcome("fail", error.message, error.remedy)


@check("kube.context", "Kubernetes context exists", targets=("helm",), field="helm.kube_context")
def context_exists(context: CheckContext) -> Outcome:
    wanted = context.profile.helm.kube_context
    try:
        names, current = kube.list_contexts()
    except kube.KubeError as error:
        return Outcome("fail", error.message, error.remedy)
    if wanted and wanted in names:
        return Outcome("pass", f"context {wanted}")
    if wanted:
        return Outcome(
            "fail",
            f"context {wanted!r} is not in the kubeconfig",
            f"set helm.kube_context to one of: {', '.join(names)}",
        )
    if current in names:
        return Outcome("pass", f"current context {current}")
    return Outcome(
        "fail",
        "helm.kube_context is empty and the kubeconfig has no current context",
        f"set helm.kube_context to one of: {', '.join(names)}",
    )


@check(
    "kube.api",
    "Kubernetes API answers",
    targets=("helm",),
    timeout=_CLUSTER_CHECK_S,
    field="helm.kube_context",
)
def api_answers(context: CheckContext) -> Outcome:
    try:
        cluster = _connect(context.profile)
    except kube.KubeError:
        return Outcome("skip", "no usable kubeconfig context (see kube.context)")
    try:
        version = cluster.call("get", "version", None, cluster.version_api.get_code)
        # /version answers anonymously on many clusters; any authenticated answer proves the login.
        cluster.call("get", "namespaces", None, cluster.core.read_namespace, "default")
    except (kube.NotFound, kube.Forbidden):
        pass  # the server knows who we are, whatever it allows
    except kube.KubeError as error:
        return Outcome("fail", error.message, error.remedy)
    finally:
        cluster.close()
    return Outcome(
        "pass", f"Kubernetes {version.git_version} at {cluster.server} (context {cluster.context})"
    )


@check("kube.nodes", "A node can run the gateway", targets=("helm",), timeout=_CLUSTER_CHECK_S)
@_on_cluster
def nodes(context: CheckContext, cluster: kube.Cluster) -> Outcome:
    from kubernetes.utils import parse_quantity

    try:
        listed = cluster.call("list", "nodes", None, cluster.core.list_node)
    except kube.Forbidden:
        return Outcome(
            "warn",
            "not allowed to list nodes: cannot tell whether one fits",
            "ask a cluster admin whether a linux/amd64 node with 512 MiB free memory is available",
        )
    fit: list[str] = []
    unfit: list[str] = []
    for node in listed.items:
        labels = node.metadata.labels or {}
        platform = f"{labels.get('kubernetes.io/os', '?')}/{labels.get('kubernetes.io/arch', '?')}"
        memory = int(parse_quantity((node.status.allocatable or {}).get("memory", "0")))
        taints = [
            taint.key
            for taint in (node.spec.taints or [])
            if taint.effect in ("NoSchedule", "NoExecute")
        ]
        if platform != "linux/amd64":
            unfit.append(f"{node.metadata.name}: {platform} (the image is linux/amd64 only)")
        elif node.spec.unschedulable or taints:
            unfit.append(
                f"{node.metadata.name}: not schedulable ({', '.join(taints) or 'cordoned'})"
            )
        elif memory < MIN_NODE_MEMORY:
            unfit.append(
                f"{node.metadata.name}: {memory // 1024**2} MiB allocatable memory, 512 MiB needed"
            )
        else:
            fit.append(f"{node.metadata.name} ({memory // 1024**2} MiB)")
    if fit:
        return Outcome("pass", f"{len(fit)} of {len(listed.items)} nodes fit: {', '.join(fit[:3])}")
    return Outcome(
        "fail",
        "no node can run the gateway: " + ("; ".join(unfit) or "the cluster has no nodes"),
        "add a schedulable linux/amd64 node with at least 512 MiB allocatable memory",
    )


@check(
    "kube.ingress_class",
    "Ingress class exists",
    targets=("helm",),
    timeout=_CLUSTER_CHECK_S,
    field="helm.ingress_class",
)
@_on_cluster
def ingress_class(context: CheckContext, cluster: kube.Cluster) -> Outcome:
    wanted = context.profile.helm.ingress_class
    try:
        listed = cluster.call("list", "ingressclasses", None, cluster.networking.list_ingress_class)
    except kube.Forbidden:
        return Outcome(
            "warn",
            f"not allowed to list ingress classes: cannot tell whether {wanted!r} exists",
            "ask a cluster admin which ingress class serves external traffic",
        )
    classes = {item.metadata.name: item.spec.controller for item in listed.items}
    if wanted in classes:
        return Outcome("pass", f"{wanted} (controller {classes[wanted]})")
    if classes:
        return Outcome(
            "warn",
            f"no ingress class {wanted!r}; the cluster has: {', '.join(sorted(classes))}",
            "set helm.ingress_class to one of those, or install an ingress controller for it",
        )
    return Outcome(
        "warn",
        f"no ingress class {wanted!r}, and the cluster has none",
        "install an ingress controller (e.g. ingress-nginx) so the gateway can be reached",
    )


@check(
    "kube.namespace",
    "Namespace can be used",
    targets=("helm",),
    timeout=_CLUSTER_CHECK_S,
    field="helm.namespace",
)
@_on_cluster
def namespace(context: CheckContext, cluster: kube.Cluster) -> Outcome:
    name, core = context.profile.helm.namespace, cluster.core
    try:
        cluster.call("get", "namespaces", None, core.read_namespace, name)
        exists = "exists"
    except kube.NotFound:
        body = {"metadata": {"name": name}}
        cluster.call("create", "namespaces", None, core.create_namespace, body, dry_run=DRY_RUN)
        return Outcome("pass", f"{name} does not exist yet; it will be created")
    except kube.Forbidden:
        exists = "cannot be read (RBAC), but"  # namespace-scoped access: the secret probe decides
    probe = {"metadata": {"name": context.profile.helm.tls_secret}, "type": "kubernetes.io/tls"}
    try:
        cluster.call(
            "create", "secrets", name, core.create_namespaced_secret, name, probe, dry_run=DRY_RUN
        )
    except kube.Conflict:
        pass  # the secret is there already: creating was allowed far enough to find that out
    except kube.NotFound:
        return Outcome(
            "fail",
            f"namespace {name} does not exist and cannot be read",
            "ask a cluster admin to create it for you, or pick one you may use",
        )
    return Outcome("pass", f"{name} {exists}; secrets can be created in it")


@check(
    "kube.tls_secret",
    "TLS secret matches the files",
    targets=("helm",),
    timeout=_CLUSTER_CHECK_S,
    field="helm.tls_secret",
)
@_on_cluster
def tls_secret(context: CheckContext, cluster: kube.Cluster) -> Outcome:
    settings, tls = context.profile.helm, context.profile.tls
    name, namespace = settings.tls_secret, settings.namespace
    try:
        secret = cluster.call(
            "get", "secrets", namespace, cluster.core.read_namespaced_secret, name, namespace
        )
    except kube.NotFound:
        return Outcome("pass", f"{name} does not exist yet; apply creates it from tls.cert and tls.key")
    try:
        files = kube.tls_secret_data(
            context.profile.resolve(tls.cert).read_bytes(), context.profile.resolve(tls.key).read_bytes()
        )
    except OSError:
        return Outcome("skip", "tls.cert or tls.key cannot be read (see tls.files)")
    if kube.secret_matches(secret, kube.TLS_SECRET_TYPE, files):
        return Outcome("pass", f"{name} exists and matches tls.cert and tls.key")
    return Outcome(
        "warn",
        f"{name} exists but differs from tls.cert/tls.key",
        "apply replaces it with the files; change helm.tls_secret if another ingress uses it",
    )
