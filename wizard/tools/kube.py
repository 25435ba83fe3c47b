"""Cluster access through the official `kubernetes` client, with errors a person can act on.

The client is imported by `connect()`, not here: the CLI and the TUI start without it,
and a Docker-only user never loads it. Every call carries a short `_request_timeout`, so an
unreachable API server costs seconds, not minutes. Failures become `KubeError`s whose
message says what happened and whose `remedy` says what to do about it.
"""
from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.core.errors import WizardError
from wizard.core.paths import expand_user

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, CoreV1Api, NetworkingV1Api, VersionApi

DEFAULT_KUBECONFIG = "~/.kube/config"
#: (connect, read) seconds for ordinary calls: enough for a loaded API server, short for a dead one.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 15.0)


class KubeError(WizardError):
    """A cluster problem in plain words, with what to do about it (`remedy`, `remedies`)."""

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message, (remedy,))


class NoKubeconfig(KubeError):
    pass


class UnknownContext(KubeError):
    def __init__(self, message: str, remedy: str, known: list[str]) -> None:
        super().__init__(message, remedy)
        self.known = known


class Unreachable(KubeError):
    pass


class Unauthorized(KubeError):
    pass


class Forbidden(KubeError):
    def __init__(
        self, message: str, remedy: str, verb: str, resource: str, namespace: str | None
    ) -> None:
        super().__init__(message, remedy)
        self.verb = verb
        self.resource = resource
        self.namespace = namespace


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    pass


class ApiFailure(KubeError):
    """Any other refusal by the API server (invalid object, server error, …)."""


#: The chart's `app.kubernetes.io/name`: with the release's instance label it selects its pods.
GATEWAY_APP_NAME = "ai-gateway"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"


def release_selector(release: str) -> str:
    """The label selector of a release's gateway pods, for apply, status and plan alike."""
    return f"{NAME_LABEL}={GATEWAY_APP_NAME},{INSTANCE_LABEL}={release}"


def list_release_pods(cluster: Cluster, namespace: str, release: str) -> tuple[list[dict[str, Any]], str]:
    """The release's gateway pods as raw objects, and the list's resourceVersion (to watch from)."""
    listed = cluster.call(
        "list",
        "pods",
        namespace,
        cluster.core.list_namespaced_pod,
        namespace,
        label_selector=release_selector(release),
        _preload_content=False,
    )
    data = json.loads(listed.data)
    return list(data.get("items") or []), str((data.get("metadata") or {}).get("resourceVersion") or "")


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """A raw Pod object (a dict) has condition Ready=True, as `kubectl wait --for=condition=Ready`."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


TLS_SECRET_TYPE = "kubernetes.io/tls"


def tls_secret_data(cert: bytes, key: bytes) -> dict[str, bytes]:
    """The content of a kubernetes.io/tls Secret, as `kubectl create secret tls` writes it."""
    return {"tls.crt": cert, "tls.key": key}


def secret_matches(secret: Any, kind: str, data: Mapping[str, bytes]) -> bool:
    """A Secret (client model) has this type and exactly this content, compared decoded."""
    present = {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}
    return secret.type == kind and present == dict(data)


def kubeconfig_location() -> str:
    """`KUBECONFIG` (possibly several files joined by ':') or ~/.kube/config, read now."""
    return os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG


def _kubeconfig_files() -> list[Path]:
    return [expand_user(part) for part in kubeconfig_location().split(os.pathsep) if part]


def _require_kubeconfig() -> str:
    location = kubeconfig_location()
    if not any(path.is_file() for path in _kubeconfig_files()):
        where = (
            "KUBECONFIG names no existing file"
            if "KUBECONFIG" in os.environ
            else f"{DEFAULT_KUBECONFIG} does not exist"
        )
        raise NoKubeconfig(
            f"no kubeconfig: {where} ({location})",
            "get a kubeconfig for your cluster (e.g. from your cloud console, or `kind get kubeconfig`) "
            "and save it as ~/.kube/config or point KUBECONFIG at it",
        )
    return location


def _config_error(location: str, error: Exception) -> NoKubeconfig:
    return NoKubeconfig(
        f"kubeconfig {location} cannot be used: {error}",
        "check the file with `kubectl config view`; fix or regenerate it",
    )


def list_contexts() -> tuple[list[str], str]:
    """The kubeconfig's context names and its current one ("" when none is set).

    Read like kubectl merges several files: the first file naming a context or a
    current context wins.
    """
    import yaml

    location = _require_kubeconfig()
    names: list[str] = []
    current = ""
    for path in _kubeconfig_files():
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise _config_error(str(path), error) from None
        if data is None:
            continue  # an empty file is an empty config, as for kubectl
        if not isinstance(data, dict):
            raise _config_error(str(path), ValueError("not a kubeconfig (expected a YAML mapping)"))
        for entry in data.get("contexts") or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
        current = current or str(data.get("current-context") or "")
    if not names:
        raise NoKubeconfig(
            f"the kubeconfig ({location}) defines no contexts", "add your cluster's context to it"
        )
    return names, current


@dataclass
class Cluster:
    """A connection to one kubeconfig context; every call goes through `call`."""

    context: str
    server: str
    api: ApiClient
    timeout: tuple[float, float] = DEFAULT_TIMEOUT

    @cached_property
    def core(self) -> CoreV1Api:
        from kubernetes.client import CoreV1Api

        return CoreV1Api(self.api)

    @cached_property
    def networking(self) -> NetworkingV1Api:
        from kubernetes.client import NetworkingV1Api

        return NetworkingV1Api(self.api)

    @cached_property
    def version_api(self) -> VersionApi:
        from kubernetes.client import VersionApi

        return VersionApi(self.api)

    def call(
        self,
        verb: str,
        resource: str,
        namespace: str | None,
        method: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """`method(*args, **kwargs)` with a timeout; failures become KubeErrors naming verb/resource/namespace."""
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return method(*args, **kwargs)
        except ApiException as error:
            raise self.translate(error, verb, resource, namespace) from None
        except (HTTPError, OSError) as error:
            raise self.unreachable(error) from None

    def unreachable(self, error: Exception) -> Unreachable:
        reason = str(getattr(error, "reason", None) or error)
        reason = reason.split("): ", 1)[
            -1
        ]  # drop urllib3's "HTTPConnection(host=…, port=…)" prefix
        return Unreachable(
            f"the API server of context {self.context} ({self.server}) does not answer: {reason}",
            "check that the cluster is running and reachable from here (VPN, firewall, proxy), "
            "or pick another context",
        )

    def translate(self, error: Any, verb: str, resource: str, namespace: str | None) -> KubeError:
        """An ApiException as the KubeError a person can act on."""
        message = _status_message(error)
        where = f" in namespace {namespace}" if namespace else ""
        if error.status == 403:
            return Forbidden(
                f"not allowed to {verb} {resource}{where} (context {self.context}): {message}",
                f"ask a cluster admin for RBAC permission to {verb} {resource}{where}, "
                "or use a context that has it",
                verb,
                resource,
                namespace,
            )
        if error.status == 401:
            return Unauthorized(
                f"the cluster refused the credentials of context {self.context}: {message}",
                "log in again (refresh the kubeconfig's token or your cloud CLI login)",
            )
        if error.status == 404:
            return NotFound(message)
        if error.status == 409:
            return Conflict(message)
        if error.status == 0:  # the client's own failures, e.g. TLS
            return self.unreachable(Exception(message))
        return ApiFailure(f"cannot {verb} {resource}{where}: {message} (HTTP {error.status})")

    def close(self) -> None:
        self.api.close()


def _status_message(error: Any) -> str:
    """The API server's own explanation from a Status body, else the HTTP reason."""
    try:
        return str(json.loads(error.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(error.reason or "").strip() or f"HTTP {error.status}"


_IMPORT_LOCK = threading.Lock()


def _import_client() -> None:
    """Import the `kubernetes` package once, under a lock.

    Its modules import each other in cycles: first imports from several threads at once
    (the preflight checks run concurrently) deadlock or see half-initialised modules.
    """
    with _IMPORT_LOCK:
        import kubernetes  # noqa: F401 - loads client, config, watch and utils together


def connect(context: str = "", timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> Cluster:
    """Load the kubeconfig for `context` (or its current context); no request is made yet."""
    _import_client()
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import ConfigException, load_kube_config

    names, current = list_contexts()
    name = context or current
    known = ", ".join(names) or "none"
    if not name:
        raise UnknownContext(
            "the kubeconfig has no current context",
            f"set helm.kube_context to one of: {known} (or run `kubectl config use-context NAME`)",
            names,
        )
    if name not in names:
        raise UnknownContext(
            f"context {name!r} is not in the kubeconfig ({kubeconfig_location()})",
            f"set helm.kube_context to one of: {known}",
            names,
        )
    configuration = Configuration()
    try:
        load_kube_config(
            kubeconfig_location(),
            context=name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError) as error:
        raise _config_error(kubeconfig_location(), error) from None
    configuration.retries = 1  # a dead server must fail fast; the caller decides whether to retry
    return Cluster(name, configuration.host, ApiClient(configuration), timeout)
