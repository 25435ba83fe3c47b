"""The Kubernetes objects the Helm engine owns besides the release: namespace, secrets, ingress.

The TLS and CA bundle files are read at apply time only: their bytes go into a Secret
and nowhere else (no log, no message, no file of ours).
"""

from __future__ import annotations

import base64
from pathlib import Path

from wizard.checks.tls import inspect_tls
from wizard.core import spec
from wizard.core.profile import Profile
from wizard.tools import kube
from wizard.tools.helm import HelmError

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "aigw-wizard"


# --- TLS material ------------------------------------------------------------------------------


def read_tls_pair(profile: Profile) -> tuple[bytes, bytes, list[str]]:
    """The PEM certificate and key, refused unless the TLS checks pass; plus their warnings."""
    cert_path, key_path = profile.resolve(profile.tls.cert), profile.resolve(profile.tls.key)
    results = inspect_tls(cert_path, key_path, profile.gateway.hostname)
    failed = [result for result in results if result.status == "fail"]
    if failed:
        first = failed[0]
        raise HelmError(f"{first.field or 'tls'}: {first.detail}", first.remedy, first.field)
    warnings = [f"{result.title}: {result.detail}" for result in results if result.status == "warn"]
    return read_file(cert_path, "tls.cert"), read_file(key_path, "tls.key"), warnings


def read_file(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise HelmError(
            f"{field}: cannot read {path}: {error.strerror}",
            f"check {field} and the file's permissions",
            field,
        ) from None


# --- namespace and secrets ---------------------------------------------------------------------


def ensure_namespace(cluster: kube.Cluster, name: str) -> str:
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


def ensure_secret(
    cluster: kube.Cluster, namespace: str, name: str, kind: str, data: dict[str, bytes]
) -> str:
    """Create the secret, or replace it when its content differs; never logs the content."""
    core = cluster.core
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        "type": kind,
        "data": {key: base64.b64encode(value).decode("ascii") for key, value in data.items()},
    }
    try:
        current = cluster.call("get", "secrets", namespace, core.read_namespaced_secret, name, namespace)
    except kube.NotFound:
        cluster.call("create", "secrets", namespace, core.create_namespaced_secret, namespace, body)
        return "created"
    if kube.secret_matches(current, kind, data):
        return "unchanged"
    if current.type != kind:  # a secret's type cannot change in place
        cluster.call("delete", "secrets", namespace, core.delete_namespaced_secret, name, namespace)
        cluster.call("create", "secrets", namespace, core.create_namespaced_secret, namespace, body)
    else:
        cluster.call(
            "update", "secrets", namespace, core.replace_namespaced_secret, name, namespace, body
        )
    return "replaced (its content differed from the files)"


def purge(cluster: kube.Cluster, profile: Profile) -> list[str]:
    """Delete our secrets, and the namespace when aigw-wizard created it; what was done."""
    namespace, core = profile.helm.namespace, cluster.core
    done: list[str] = []
    for name in (profile.helm.tls_secret, spec.ca_secret_name(profile)):
        try:
            cluster.call("delete", "secrets", namespace, core.delete_namespaced_secret, name, namespace)
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


# --- the ingress -------------------------------------------------------------------------------


def ingress_addresses(cluster: kube.Cluster, namespace: str, hostname: str) -> list[str]:
    """The load balancer addresses of the Ingresses that serve `hostname`."""
    listed = cluster.call(
        "list", "ingresses", namespace, cluster.networking.list_namespaced_ingress, namespace
    )
    addresses: list[str] = []
    for ingress in listed.items:
        hosts = {rule.host for rule in (ingress.spec.rules or [])}
        if hostname not in hosts:
            continue
        balancer = ingress.status.load_balancer if ingress.status else None
        for entry in (balancer.ingress if balancer else None) or []:
            addresses.append(entry.ip or entry.hostname)
    return [address for address in addresses if address]


def dns_reminder(profile: Profile, addresses: list[str]) -> str:
    host = profile.gateway.hostname
    if addresses:
        return f"DNS: point {host} at the ingress address {', '.join(addresses)}."
    return (
        f"DNS: point {host} at your ingress controller's external address "
        f"(`kubectl get ingress -n {profile.helm.namespace}` shows it once assigned)."
    )
