"""An in-memory fake of the Kubernetes API server, good enough for the official Python client.

It speaks the real REST paths and JSON (lists, ``Status`` errors, watches as chunked
newline-delimited JSON, followed pod logs), binds to 127.0.0.1 on an ephemeral port and offers
thread-safe helpers so a test can shape cluster state while the code under test watches it.
A ``/_fake/`` HTTP control endpoint exposes the same helpers to other processes (the helm double).

It is also good enough for real helm 3 and 4 (tests/test_helm_real.py): OpenAPI v3 documents
whose PATCH operations take ``fieldValidation`` (so helm validates on the server, and the fake
rejects unknown fields under ``Strict``), protobuf request bodies for Secrets (helm's release
storage), strategic merge patch by patch-merge keys (helm 3 upgrades), server-side apply (helm 4),
streaming-list watches ending in a bookmark (helm 4's kstatus), cluster IPs for Services, and —
with ``FakeKube(controllers=True)`` — a Deployment controller whose pods turn Ready at once
(unless the pod template says ``fakekube.test/ready: "false"``) and garbage collection.
"""

from __future__ import annotations

import base64
import bisect
import builtins
import copy
import hashlib
import json
import re
import secrets
import select
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.fakekube import openapi, protobuf

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

FAKE_USER = "system:serviceaccount:default:fake-user"
VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "*"})
# Real API servers pick a random 30-60 min watch timeout; streams also end when the fake stops.
DEFAULT_WATCH_TIMEOUT_S = 1800.0
# How often idle streams look for a departed client or a stopping server.
IDLE_POLL_S = 0.2
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
#: Kinds whose metadata.generation counts spec changes (the rest leave it unset here).
_GENERATED = frozenset({"deployments", "replicasets"})
#: Pod-template annotation: "false" makes the fake kubelet crash-loop the Deployment's pods.
NOT_READY_ANNOTATION = "fakekube.test/ready"
_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class Resource:
    """One REST collection: where it lives and what its objects are called."""

    plural: str
    kind: str
    group: str
    version: str
    namespaced: bool
    verbs: tuple[str, ...] = ("create", "delete", "get", "list", "patch", "update", "watch")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The resource name as it appears in ``Status`` messages (``ingresses.networking.k8s.io``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "Namespace", "", "v1", False),
    Resource("nodes", "Node", "", "v1", False),
    Resource("pods", "Pod", "", "v1", True),
    Resource("secrets", "Secret", "", "v1", True),
    Resource("configmaps", "ConfigMap", "", "v1", True),
    Resource("services", "Service", "", "v1", True),
    Resource("events", "Event", "", "v1", True),
    Resource("serviceaccounts", "ServiceAccount", "", "v1", True),
    Resource("persistentvolumeclaims", "PersistentVolumeClaim", "", "v1", True),
    Resource("deployments", "Deployment", "apps", "v1", True),
    Resource("replicasets", "ReplicaSet", "apps", "v1", True),
    Resource("ingressclasses", "IngressClass", "networking.k8s.io", "v1", False),
    Resource("ingresses", "Ingress", "networking.k8s.io", "v1", True),
)
_BY_NAME: dict[str, Resource] = {}
for _res in RESOURCES:
    for _alias in (_res.plural, _res.kind.lower()):
        _BY_NAME[_alias] = _res


def resource_for(name: str) -> Resource:
    """Resolve a plural (``pods``), kind (``Pod``) or singular (``pod``) to its resource."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise KeyError(f"fakekube does not serve {name!r}") from None


class Request(NamedTuple):
    """One API request as the server saw it (control requests under /_fake/ are not recorded)."""

    method: str
    path: str
    query: dict[str, str]


class ApiError(Exception):
    """An error answered as a Kubernetes ``Status`` object."""

    def __init__(
        self, code: int, message: str, details: Obj | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or REASONS.get(code, "Unknown")
        self.message = message
        self.details = details or {}

    def status(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def _not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, f'{res.qualified} "{name}" not found', {"name": name, "kind": res.plural})


def _invalid(res: Resource, name: str, field: str, detail: str) -> ApiError:
    return ApiError(
        422,
        f'{res.kind} "{name}" is invalid: {field}: {detail}',
        {
            "name": name,
            "group": res.group,
            "kind": res.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}],
        },
    )


@dataclass(frozen=True)
class _Fault:
    verb: str
    resource: str
    namespace: str | None
    code: int
    message: str | None

    def matches(self, verb: str, resource: str, namespace: str | None) -> bool:
        return (
            self.verb in (verb, "*")
            and self.resource in (resource, "*")
            and (self.namespace is None or self.namespace == namespace)
        )


@dataclass(frozen=True)
class _Change:
    rv: int
    type: str
    resource: str
    namespace: str
    obj: Obj


@dataclass(frozen=True)
class _LogLine:
    timestamp: str
    container: str | None
    text: str


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- selectors and patches ----------------------------------------------------------------------

_SET_REQ = re.compile(r"^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$")
_CMP_REQ = re.compile(r"^([^\s!=]+)\s*(==|!=|=)\s*([^\s,]*)$")


def parse_label_selector(selector: str) -> Predicate:
    """Equality (``a=b``, ``a!=b``), existence (``a``, ``!a``) and set (``a in (x,y)``) rules."""
    rules: list[Callable[[Mapping[str, str]], bool]] = []
    for raw in re.split(r",(?![^()]*\))", selector):
        req = raw.strip()
        if not req:
            continue
        if m := _SET_REQ.match(req):
            key, op, values = m[1], m[2], {v.strip() for v in m[3].split(",")}
            if op == "in":
                rules.append(lambda lb, k=key, vs=values: lb.get(k) in vs)
            else:
                rules.append(lambda lb, k=key, vs=values: lb.get(k) not in vs)
        elif m := _CMP_REQ.match(req):
            key, op, value = m[1], m[2], m[3]
            if op == "!=":
                rules.append(lambda lb, k=key, v=value: lb.get(k) != v)
            else:
                rules.append(lambda lb, k=key, v=value: lb.get(k) == v)
        elif re.fullmatch(r"![^\s!=(),]+", req):
            rules.append(lambda lb, k=req[1:]: k not in lb)
        elif re.fullmatch(r"[^\s!=(),]+", req):
            rules.append(lambda lb, k=req: k in lb)
        else:
            raise ApiError(400, f"unable to parse requirement: {req!r}")
    return lambda obj: all(rule(obj.get("metadata", {}).get("labels") or {}) for rule in rules)


def _field_value(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def parse_field_selector(selector: str) -> Predicate:
    """``path=value`` / ``path!=value`` on any dotted field (the real server allows fewer)."""
    rules: list[Predicate] = []
    for raw in selector.split(","):
        req = raw.strip()
        if not req:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)", req)
        if not m:
            raise ApiError(400, f"invalid field selector: {req!r}")
        path, op, value = m[1], m[2], m[3]
        if op == "!=":
            rules.append(lambda o, p=path, v=value: _field_value(o, p) != v)
        else:
            rules.append(lambda o, p=path, v=value: _field_value(o, p) == v)
    return lambda obj: all(rule(obj) for rule in rules)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; also stands in for strategic merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


#: patchMergeKey of the list fields that strategic merge patch merges by key (from the API types);
#: other lists are replaced whole. ``ports`` merges by containerPort in pods, by port in Services.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
_PRIMITIVE_MERGE_LISTS = frozenset({"finalizers"})


def _merge_key(field: str, items: builtins.list[Any]) -> str | None:
    if field == "ports":
        return "containerPort" if any("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge patch as kubectl and helm 3 send it (three-way diffs of typed objects).

    Lists of objects with a patch merge key merge element by element (``$patch: delete``
    removes one, ``$setElementOrder/<field>`` orders them); ``$retainKeys``, ``$patch: replace``
    and ``$deleteFromPrimitiveList/<field>`` are honoured; other lists are replaced.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders: dict[str, builtins.list[Any]] = {}
    for key, value in patch.items():
        if key == "$patch":
            continue
        if key == "$retainKeys":
            keep = set(value) | {k for k in patch if not k.startswith("$")}
            result = {k: v for k, v in result.items() if k in keep}
        elif key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in _PRIMITIVE_MERGE_LISTS:
            current = builtins.list(result.get(key) or [])
            result[key] = current + [v for v in value if v not in current]
        elif isinstance(value, list) and isinstance(result.get(key), list):
            merge_key = _merge_key(key, [i for i in value + result[key] if isinstance(i, dict)])
            result[key] = _merge_list(result[key], value, merge_key)
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    for field, order in orders.items():
        merge_key = _merge_key(field, [i for i in order if isinstance(i, dict)])
        if merge_key is None or not isinstance(result.get(field), list):
            continue
        rank = {o.get(merge_key): n for n, o in enumerate(order) if isinstance(o, dict)}
        result[field] = sorted(
            result[field], key=lambda item: rank.get(item.get(merge_key), len(rank))
        )
    return result


def _merge_list(
    current: builtins.list[Any], patch: builtins.list[Any], merge_key: str | None
) -> builtins.list[Any]:
    if merge_key is None or not all(isinstance(i, dict) for i in current + patch):
        return [i for i in copy.deepcopy(patch) if not (isinstance(i, dict) and "$patch" in i)]
    if any(i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if "$patch" not in i]
    merged = copy.deepcopy(current)
    for item in patch:
        index = next(
            (n for n, c in enumerate(merged) if c.get(merge_key) == item.get(merge_key)), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del merged[index]
        elif index is None:
            merged.append(strategic_merge_patch({}, item))
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


def json_patch(doc: Obj, ops: builtins.list[Obj]) -> Obj:
    """RFC 6902 ``add``/``remove``/``replace``/``test``, the subset the client ever sends."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op.get("path", "").split("/")[1:]
        ]
        container: Any = doc
        for part in parents:
            container = container[int(part)] if isinstance(container, list) else container[part]
        kind = op.get("op")
        if kind == "test":
            current = container[int(last)] if isinstance(container, list) else container.get(last)
            if current != op.get("value"):
                raise ApiError(422, f"the test operation at {op['path']} failed")
        elif kind in ("add", "replace") and isinstance(container, list):
            index = len(container) if last == "-" else int(last)
            if kind == "add":
                container.insert(index, copy.deepcopy(op["value"]))
            else:
                container[index] = copy.deepcopy(op["value"])
        elif kind in ("add", "replace"):
            container[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del container[int(last) if isinstance(container, list) else last]
        else:
            raise ApiError(422, f"unsupported JSON patch operation {kind!r}")
    return doc


# --- object construction -------------------------------------------------------------------------


def pod_status(
    pod: Obj, phase: str, ready: bool, reason: str | None = None, restarts: int = 0
) -> Obj:
    """A pod ``status`` the way the kubelet reports it for the given phase/readiness."""
    now = now_rfc3339()
    flag = "True" if ready else "False"
    statuses = []
    for container in pod["spec"]["containers"]:
        if reason:
            state: Obj = {"waiting": {"reason": reason, "message": f"{reason}: fake"}}
        elif phase == "Running":
            state = {"running": {"startedAt": now}}
        elif phase in ("Succeeded", "Failed"):
            code = 0 if phase == "Succeeded" else 1
            state = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": now,
                    "finishedAt": now,
                }
            }
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        status: Obj = {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "ready": ready,
            "restartCount": restarts,
            "started": "running" in state,
            "state": state,
        }
        if restarts:
            status["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": now,
                    "finishedAt": now,
                }
            }
        statuses.append(status)
    conditions = [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
        {"type": "Ready", "status": flag, "lastTransitionTime": now},
    ]
    return {
        "phase": phase,
        "conditions": conditions,
        "containerStatuses": statuses,
        "startTime": pod.get("status", {}).get("startTime", now),
    }


def node_object(
    name: str, arch: str, os: str, allocatable_memory: str, unschedulable: bool, kubelet: str
) -> Obj:
    capacity = {"cpu": "4", "memory": allocatable_memory, "pods": "110"}
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/arch": arch,
                "kubernetes.io/os": os,
                "kubernetes.io/hostname": name,
            },
        },
        "spec": {"unschedulable": unschedulable},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "nodeInfo": {
                "architecture": arch,
                "operatingSystem": os,
                "bootID": "fake-boot-id",
                "containerRuntimeVersion": "containerd://1.7.13",
                "kernelVersion": "6.1.0-fake",
                "kubeProxyVersion": kubelet,
                "kubeletVersion": kubelet,
                "machineID": "fake-machine-id",
                "osImage": "Fake Linux",
                "systemUUID": "00000000-0000-0000-0000-000000000000",
            },
        },
    }
    if unschedulable:
        node["spec"]["taints"] = [
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        ]
    return node


def _key(res: Resource, ns: str | None, name: str) -> tuple[str, str]:
    """Store key: cluster-scoped objects live under namespace ""."""
    return ((ns or "") if res.namespaced else "", name)


def _apply_defaults(res: Resource, obj: Obj) -> None:
    """What admission and defaulting would add, limited to fields clients commonly read."""
    if res.plural == "namespaces":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    elif res.plural == "pods":
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    elif res.plural == "secrets":
        obj.setdefault("type", "Opaque")
        # stringData is write-only: the API folds it into base64 data.
        for key, value in (obj.pop("stringData", None) or {}).items():
            obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()
    elif res.plural == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            # What the service IP allocator would hand out; helm's --wait waits for it.
            octets = hashlib.sha256(obj["metadata"]["name"].encode()).digest()[:2]
            spec["clusterIP"] = f"10.96.{octets[0]}.{octets[1] or 1}"
            spec["clusterIPs"] = [spec["clusterIP"]]


def _validate(res: Resource, obj: Obj) -> None:
    """The checks whose absence would make the client's strict models choke on our answers."""
    name = obj["metadata"]["name"]
    label_only = res.plural in ("namespaces", "services")
    limit, pattern = (63, _LABEL_RE) if label_only else (253, _SUBDOMAIN_RE)
    if len(name) > limit or not pattern.fullmatch(name):
        what = "RFC 1123 label" if label_only else "RFC 1123 subdomain"
        raise _invalid(
            res,
            name,
            "metadata.name",
            f'Invalid value: "{name}": a lowercase {what} must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character",
        )
    if res.plural == "pods":
        containers = obj.get("spec", {}).get("containers") or []
        if not containers or not all(c.get("name") for c in containers):
            raise _invalid(res, name, "spec.containers", "Required value")
    if res.plural == "events" and not obj.get("involvedObject"):
        raise _invalid(res, name, "involvedObject", "Required value")


# --- the fake ---------------------------------------------------------------------------------------


class FakeKube:
    """A fake API server: ``with FakeKube() as kube: ... kube.url``.

    Test-side helpers take the same lock as the HTTP handlers, so they may be called from any
    thread while clients are connected. Helpers skip the namespace-exists check the API enforces.
    """

    def __init__(
        self,
        k8s_version: str = "v1.30.2",
        namespaces: Iterable[str] = ("default", "kube-system", "kube-public", "kube-node-lease"),
        controllers: bool = False,
    ) -> None:
        self.k8s_version = k8s_version
        #: Run the Deployment controller, the scheduler/kubelet and garbage collection (below).
        self.controllers = controllers
        self._reconciling = False
        self._cond = threading.Condition()
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {r.plural: {} for r in RESOURCES}
        self._history: builtins.list[_Change] = []
        self._rv = 0
        self._logs: dict[tuple[str, str], builtins.list[_LogLine]] = {}
        self._faults: builtins.list[_Fault] = []
        self._requests: builtins.list[Request] = []
        self._closing = False
        self._open_streams = 0
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        for ns in namespaces:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # lifecycle

    def start(self) -> Self:
        self._closing = False
        self._httpd = _Server(self)
        # A short poll interval keeps stop() (and so every fixture teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fakekube", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None or self._thread is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            connections = builtins.list(self._connections)
        self._httpd.shutdown()
        # Wake handler threads parked on idle keep-alive connections so none outlive the fake.
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeKube is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # fault injection and observation

    def fail(
        self,
        verb: str,
        resource: str,
        code: int,
        namespace: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer matching requests with ``code``; ``verb``/``resource`` may be ``*``.

        ``resource`` is a plural or a subresource such as ``pods/log``.
        """
        if verb not in VERBS:
            raise ValueError(f"unknown verb {verb!r}")
        with self._cond:
            self._faults.append(_Fault(verb, resource, namespace, code, message))

    def forbid(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """RBAC denial: 403 Forbidden for matching requests."""
        self.fail(verb, resource, 403, namespace)

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    @property
    def open_streams(self) -> int:
        """Watches and followed logs being served; lets a test act only once a client listens."""
        with self._cond:
            return self._open_streams

    @property
    def requests(self) -> builtins.list[Request]:
        with self._cond:
            return builtins.list(self._requests)

    # test-side helpers

    def add(self, obj: Obj) -> Obj:
        """Create ``obj`` (kind and apiVersion required); ApiError 409 if it already exists."""
        res = resource_for(obj["kind"])
        with self._cond:
            return self._create(res, obj.get("metadata", {}).get("namespace"), obj, False, False)

    def put(self, obj: Obj) -> Obj:
        """Create or replace ``obj`` wholesale."""
        res = resource_for(obj["kind"])
        ns = obj.get("metadata", {}).get("namespace") if res.namespaced else None
        name = obj["metadata"]["name"]
        with self._cond:
            current = self._objects[res.plural].get(_key(res, ns, name))
            if current is None:
                return self._create(res, ns, obj, False, False)
            new = copy.deepcopy(obj)
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self._update(res, ns, name, new, False)

    def get(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        res = resource_for(resource)
        with self._cond:
            obj = self._objects[res.plural].get(_key(res, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(
        self, resource: str, namespace: str | None = None, label_selector: str = ""
    ) -> builtins.list[Obj]:
        """Objects of ``resource`` (all namespaces when ``namespace`` is None), by name."""
        res = resource_for(resource)
        with self._cond:
            return self._select(res, namespace, parse_label_selector(label_selector))

    def delete(self, resource: str, namespace: str | None, name: str) -> bool:
        """Delete one object (namespaces take their contents along); False if it was absent."""
        res = resource_for(resource)
        with self._cond:
            if _key(res, namespace, name) not in self._objects[res.plural]:
                return False
            self._delete(res, namespace, name, False)
            return True

    def set_pod_phase(
        self,
        namespace: str,
        name: str,
        phase: str,
        ready: bool,
        reason: str | None = None,
        restarts: int = 0,
        labels: Mapping[str, str] | None = None,
    ) -> Obj:
        """Give a pod (created with one ``main`` container if absent) a kubelet-style status.

        ``reason`` becomes the containers' waiting reason (``CrashLoopBackOff``, ``ErrImagePull``).
        """
        res = resource_for("pods")
        with self._cond:
            current = self._objects["pods"].get((namespace, name))
            if current is None:
                pod: Obj = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "labels": dict(labels or {}),
                    },
                    "spec": {"containers": [{"name": "main", "image": "registry.invalid/main"}]},
                }
                pod["status"] = pod_status(pod, phase, ready, reason, restarts)
                return self._create(res, namespace, pod, False, False)
            pod = copy.deepcopy(current)
            if labels:
                pod["metadata"].setdefault("labels", {}).update(labels)
            pod["status"] = pod_status(pod, phase, ready, reason, restarts)
            return self._update(res, namespace, name, pod, False)

    def append_log(self, namespace: str, pod: str, line: str, container: str | None = None) -> None:
        """Add one log line; without ``container`` it shows up for every container of the pod."""
        with self._cond:
            self._logs.setdefault((namespace, pod), []).append(
                _LogLine(now_rfc3339(), container, line.rstrip("\n"))
            )
            self._cond.notify_all()

    def add_event(
        self,
        namespace: str,
        involved_object_name: str,
        reason: str,
        message: str,
        type: str = "Normal",
        kind: str = "Pod",
    ) -> Obj:
        now = now_rfc3339()
        target_res = resource_for(kind)
        with self._cond:
            target = self._objects[target_res.plural].get((namespace, involved_object_name))
            involved: Obj = {
                "apiVersion": target_res.api_version,
                "kind": target_res.kind,
                "name": involved_object_name,
                "namespace": namespace,
            }
            if target is not None:
                involved["uid"] = target["metadata"]["uid"]
            event = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{involved_object_name}.{secrets.token_hex(8)}",
                    "namespace": namespace,
                },
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "type": type,
                "count": 1,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {
                    "component": "default-scheduler" if reason == "Scheduled" else "kubelet"
                },
            }
            return self._create(resource_for("events"), namespace, event, False, False)

    def add_node(
        self,
        name: str,
        arch: str = "amd64",
        os: str = "linux",
        allocatable_memory: str = "8Gi",
        unschedulable: bool = False,
    ) -> Obj:
        return self.put(
            node_object(name, arch, os, allocatable_memory, unschedulable, self.k8s_version)
        )

    def add_ingress_class(
        self, name: str, controller: str = "k8s.io/ingress-nginx", default: bool = False
    ) -> Obj:
        annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
        return self.put(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": name, "annotations": annotations},
                "spec": {"controller": controller},
            }
        )

    # store internals; callers hold self._cond

    def _commit(self, change: str, res: Resource, obj: Obj) -> Obj:
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        key = (meta.get("namespace", ""), meta["name"])
        if change == "DELETED":
            del self._objects[res.plural][key]
            if res.plural == "pods":
                self._logs.pop(key, None)
        else:
            self._objects[res.plural][key] = obj
        self._history.append(_Change(self._rv, change, res.plural, key[0], copy.deepcopy(obj)))
        self._cond.notify_all()
        if self.controllers and not self._reconciling and res.plural == "deployments":
            if change != "DELETED":
                self._reconciling = True
                try:
                    obj = self._reconcile_deployment(obj)
                finally:
                    self._reconciling = False
        return copy.deepcopy(obj)

    # controllers; callers hold self._cond

    def _owned_by(self, plural: str, owner: Obj) -> builtins.list[Obj]:
        uid = owner["metadata"]["uid"]
        return [
            obj
            for obj in self._objects[plural].values()
            if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
        ]

    def _collect_garbage(self, owner: Obj) -> None:
        """Background cascading deletion: what the garbage collector does after a DELETE."""
        for plural in ("replicasets", "pods"):
            for obj in self._owned_by(plural, owner):
                self._collect_garbage(obj)
                self._commit("DELETED", resource_for(plural), copy.deepcopy(obj))

    def _reconcile_deployment(self, dep: Obj) -> Obj:
        """The Deployment controller, scheduler and kubelet in one synchronous step.

        One ReplicaSet per pod template (named by its hash, older ones removed with their
        pods), ``spec.replicas`` pods that are Running and Ready at once — unless the pod
        template carries the annotation ``fakekube.test/ready: "false"``, whose pods crash-loop
        — and a Deployment status that helm 3's readiness check and helm 4's kstatus read.
        """
        meta, spec = dep["metadata"], dep.get("spec") or {}
        ns, name = meta["namespace"], meta["name"]
        replicas = int(spec.get("replicas", 1))
        template = copy.deepcopy(spec.get("template") or {})
        template_meta = template.setdefault("metadata", {})
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        rs_res, pod_res = resource_for("replicasets"), resource_for("pods")
        rs_name = f"{name}-{digest}"
        for old in self._owned_by("replicasets", dep):
            if old["metadata"]["name"] != rs_name:
                self._collect_garbage(old)
                self._commit("DELETED", rs_res, copy.deepcopy(old))
        labels = {**(template_meta.get("labels") or {}), "pod-template-hash": digest}
        template_meta["labels"] = labels

        def owner(obj: Obj, kind: str) -> builtins.list[Obj]:
            return [
                {
                    "apiVersion": "apps/v1",
                    "kind": kind,
                    "name": obj["metadata"]["name"],
                    "uid": obj["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]

        rs = self._objects["replicasets"].get((ns, rs_name))
        if rs is None:
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
            rs = self._create(
                rs_res,
                ns,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name,
                        "namespace": ns,
                        "labels": labels,
                        "ownerReferences": owner(dep, "Deployment"),
                    },
                    "spec": {"replicas": replicas, "selector": selector, "template": template},
                },
                False,
                False,
            )
        ready = (template_meta.get("annotations") or {}).get(NOT_READY_ANNOTATION) != "false"
        pods = sorted(self._owned_by("pods", rs), key=lambda p: p["metadata"]["name"])
        for extra in pods[replicas:]:
            self._commit("DELETED", pod_res, copy.deepcopy(extra))
        node = next(iter(sorted(self._objects["nodes"])), ("", ""))[1]
        for _ in range(replicas - len(pods)):
            pod: Obj = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{rs_name}-{secrets.token_hex(3)[:5]}",
                    "namespace": ns,
                    "labels": dict(labels),
                    "annotations": dict(template_meta.get("annotations") or {}),
                    "ownerReferences": owner(rs, "ReplicaSet"),
                },
                "spec": {**copy.deepcopy(template.get("spec") or {}), "nodeName": node},
            }
            if ready:
                pod["status"] = pod_status(pod, "Running", True)
            else:
                pod["status"] = pod_status(pod, "Running", False, "CrashLoopBackOff", 1)
            self._create(pod_res, ns, pod, False, False)
        ready_count = replicas if ready else 0
        counts = {
            "replicas": replicas,
            "readyReplicas": ready_count,
            "availableReplicas": ready_count,
        }
        rs_now = copy.deepcopy(self._objects["replicasets"][(ns, rs_name)])
        rs_now["status"] = {
            **counts,
            "fullyLabeledReplicas": replicas,
            "observedGeneration": rs_now["metadata"]["generation"],
        }
        self._commit("MODIFIED", rs_res, rs_now)
        now = now_rfc3339()
        available = ready_count >= replicas
        dep_now = copy.deepcopy(self._objects["deployments"][(ns, name)])
        dep_now["status"] = {
            **counts,
            "observedGeneration": dep_now["metadata"]["generation"],
            "updatedReplicas": replicas,
            "unavailableReplicas": replicas - ready_count,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available else "False",
                    "reason": "MinimumReplicasAvailable"
                    if available
                    else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if available
                    else "Deployment does not have minimum availability.",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{rs_name}" '
                    + ("has successfully progressed." if available else "is progressing."),
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
            ],
        }
        if not ready_count:
            for key in ("readyReplicas", "availableReplicas"):
                dep_now["status"].pop(key)
        return self._commit("MODIFIED", resource_for("deployments"), dep_now)

    def _check_namespace(self, res: Resource, ns: str | None) -> None:
        if res.namespaced and ("", ns) not in self._objects["namespaces"]:
            raise _not_found(resource_for("namespaces"), ns or "")

    def _create(
        self, res: Resource, ns: str | None, body: Obj, enforce_ns: bool, dry_run: bool
    ) -> Obj:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if obj.get("kind", res.kind) != res.kind:
            raise ApiError(400, f"the kind {obj['kind']!r} does not match the URL ({res.plural})")
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        if not meta.get("name"):
            raise _invalid(
                res, "", "metadata.name", "Required value: name or generateName is required"
            )
        if res.namespaced:
            ns = ns or "default"
            if meta.get("namespace", ns) != ns:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request",
                )
            meta["namespace"] = ns
            if enforce_ns:
                self._check_namespace(res, ns)
        else:
            meta.pop("namespace", None)
        if (meta.get("namespace", ""), meta["name"]) in self._objects[res.plural]:
            raise ApiError(
                409,
                f'{res.qualified} "{meta["name"]}" already exists',
                {"name": meta["name"], "group": res.group, "kind": res.plural},
                "AlreadyExists",
            )
        _validate(res, obj)
        _apply_defaults(res, obj)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if res.plural in _GENERATED:
            meta["generation"] = 1
        meta.pop("resourceVersion", None)
        if dry_run:
            return obj
        return self._commit("ADDED", res, obj)

    def _existing(self, res: Resource, ns: str | None, name: str) -> Obj:
        obj = self._objects[res.plural].get(_key(res, ns, name))
        if obj is None:
            raise _not_found(res, name)
        return obj

    def _update(self, res: Resource, ns: str | None, name: str, body: Obj, dry_run: bool) -> Obj:
        current = self._existing(res, ns, name)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(
                400,
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
            )
        rv = meta.get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                {"name": name, "group": res.group, "kind": res.plural},
            )
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        meta["name"] = name
        for key in ("namespace", "uid", "creationTimestamp"):
            if key in current["metadata"]:
                meta[key] = current["metadata"][key]
        if res.plural in _GENERATED:
            generation = current["metadata"].get("generation", 1)
            meta["generation"] = generation + (obj.get("spec") != current.get("spec"))
            if self.controllers and not self._reconciling:
                # status is a subresource: writes to the object itself leave it alone.
                obj.pop("status", None)
                if "status" in current:
                    obj["status"] = copy.deepcopy(current["status"])
        _apply_defaults(res, obj)
        if dry_run:
            return obj
        return self._commit("MODIFIED", res, obj)

    def _apply(
        self, res: Resource, ns: str | None, name: str, body: Any, dry_run: bool
    ) -> tuple[int, Obj]:
        """Server-side apply with one field manager (how helm 4 installs and upgrades).

        The applied configuration becomes the object (fields it no longer names go, as they
        would for their only manager); server-owned metadata, defaults and status stay.
        """
        if not isinstance(body, dict):
            raise ApiError(400, "apply patch must be an object")
        body = copy.deepcopy(body)
        body.setdefault("metadata", {})["name"] = name
        current = self._objects[res.plural].get(_key(res, ns, name))
        if current is None:
            return 201, self._create(res, ns, body, True, dry_run)
        for key in ("uid", "creationTimestamp", "resourceVersion", "generation"):
            if key in current["metadata"]:
                body["metadata"][key] = current["metadata"][key]
        if "status" in current:
            body["status"] = copy.deepcopy(current["status"])
        if res.plural == "services":
            for key in ("clusterIP", "clusterIPs"):
                if key in current.get("spec", {}):
                    body.setdefault("spec", {}).setdefault(key, current["spec"][key])
        return 200, self._update(res, ns, name, body, dry_run)

    def _delete(self, res: Resource, ns: str | None, name: str, dry_run: bool) -> Obj:
        current = self._existing(res, ns, name)
        if not dry_run:
            if res.plural == "namespaces":
                # Real namespaces linger in Terminating; tests want the cascade to be immediate.
                for other in RESOURCES:
                    doomed = [
                        obj
                        for (obj_ns, _), obj in self._objects[other.plural].items()
                        if other.namespaced and obj_ns == name
                    ]
                    for obj in doomed:
                        self._commit("DELETED", other, copy.deepcopy(obj))
            if self.controllers:
                self._collect_garbage(current)
            self._commit("DELETED", res, copy.deepcopy(current))
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": res.group,
                "kind": res.plural,
                "uid": current["metadata"]["uid"],
            },
        }

    def _select(self, res: Resource, ns: str | None, match: Predicate) -> builtins.list[Obj]:
        return [
            copy.deepcopy(obj)
            for (obj_ns, _), obj in sorted(self._objects[res.plural].items())
            if (ns is None or obj_ns == ns) and match(obj)
        ]

    def _check_fault(self, verb: str, resource: str, ns: str | None, name: str | None) -> None:
        with self._cond:
            fault = next((f for f in self._faults if f.matches(verb, resource, ns)), None)
        if fault is None:
            return
        if fault.code != 403:
            raise ApiError(fault.code, fault.message or f"fake {fault.code} for {verb} {resource}")
        subject = f'{resource} "{name}"' if name else resource
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        plural, _, _ = resource.partition("/")
        group = resource_for(plural).group if plural in _BY_NAME else ""
        raise ApiError(
            403,
            fault.message
            or f'{subject} is forbidden: User "{FAKE_USER}" cannot {verb} resource '
            f'"{resource}" in API group "{group}" {scope}',
            {"name": name, "kind": resource} if name else {"kind": resource},
        )

    def _record(self, method: str, path: str, query: dict[str, str]) -> None:
        with self._cond:
            self._requests.append(Request(method, path, query))

    # watches and logs; called by handler threads

    def _watch_start(
        self, res: Resource, ns: str | None, rv: str | None, match: Predicate
    ) -> tuple[builtins.list[Obj], int]:
        """Initial events and the cursor to continue from; counts as an open stream from here."""
        with self._cond:
            self._open_streams += 1
            if rv and rv != "0":
                return self._changes_after(int(rv) if rv.isdigit() else 0, res, ns, match)
            initial = [{"type": "ADDED", "object": o} for o in self._select(res, ns, match)]
            return initial, self._rv

    def _stream_closed(self) -> None:
        with self._cond:
            self._open_streams -= 1

    def _changes_after(
        self, cursor: int, res: Resource, ns: str | None, match: Predicate
    ) -> tuple[builtins.list[Obj], int]:
        start = bisect.bisect_right(self._history, cursor, key=lambda c: c.rv)
        events = [
            {"type": c.type, "object": copy.deepcopy(c.obj)}
            for c in self._history[start:]
            if c.resource == res.plural and (ns is None or c.namespace == ns) and match(c.obj)
        ]
        return events, self._rv

    def _wait_changes(
        self, cursor: int, res: Resource, ns: str | None, match: Predicate, timeout: float
    ) -> tuple[builtins.list[Obj], int, bool]:
        with self._cond:
            self._cond.wait_for(lambda: self._closing or self._rv > cursor, timeout)
            events, cursor = self._changes_after(cursor, res, ns, match)
            return events, cursor, self._closing

    def _log_lines(self, ns: str, pod: str, container: str | None) -> builtins.list[_LogLine]:
        return [
            line
            for line in self._logs.get((ns, pod), [])
            if line.container is None or line.container == container
        ]

    def _log_start(
        self, ns: str, pod: str, container: str | None, follow: bool
    ) -> tuple[str | None, builtins.list[_LogLine]]:
        """Resolve the container and check it can have logs, like the kubelet would.

        A followed log counts as an open stream from here on.
        """
        with self._cond:
            obj = self._existing(resource_for("pods"), ns, pod)
            names = [c["name"] for c in obj["spec"]["containers"]]
            if container is None and len(names) > 1:
                raise ApiError(
                    400,
                    f"a container name must be specified for pod {pod}, choose one of: "
                    f"[{' '.join(names)}]",
                )
            container = container or names[0]
            if container not in names:
                raise ApiError(400, f"container {container} is not valid for pod {pod}")
            status = obj.get("status", {})
            state = next(
                (
                    s.get("state", {})
                    for s in status.get("containerStatuses", [])
                    if s["name"] == container
                ),
                None,
            )
            if state is None and status.get("phase") == "Pending":
                state = {"waiting": {"reason": "ContainerCreating"}}
            waiting = (state or {}).get("waiting", {}).get("reason")
            if waiting in ("ContainerCreating", "PodInitializing"):
                raise ApiError(
                    400, f'container "{container}" in pod "{pod}" is waiting to start: {waiting}'
                )
            if waiting in ("ErrImagePull", "ImagePullBackOff"):
                raise ApiError(
                    400,
                    f'container "{container}" in pod "{pod}" is waiting to start: trying and '
                    "failing to pull image",
                )
            self._open_streams += follow
            return container, self._log_lines(ns, pod, container)

    def _wait_log(
        self, ns: str, pod: str, container: str | None, seen: int
    ) -> tuple[builtins.list[_LogLine], bool]:
        """Lines after the first ``seen`` ones, and whether the stream should end."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._closing
                    or len(self._log_lines(ns, pod, container)) > seen
                    or (ns, pod) not in self._objects["pods"]
                ),
                IDLE_POLL_S,
            )
            gone = self._closing or (ns, pod) not in self._objects["pods"]
            return self._log_lines(ns, pod, container)[seen:], gone

    # control endpoint for other processes (the helm double)

    def _control(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        body = body or {}
        if (method, path) == ("POST", "/_fake/pods"):
            return self.set_pod_phase(
                body["namespace"],
                body["name"],
                body.get("phase", "Running"),
                bool(body.get("ready", False)),
                body.get("reason"),
                int(body.get("restarts", 0)),
                body.get("labels"),
            )
        if (method, path) == ("POST", "/_fake/logs"):
            lines = body.get("lines") or [body["line"]]
            for line in lines:
                self.append_log(body["namespace"], body["pod"], line, body.get("container"))
            return {"appended": len(lines)}
        if (method, path) == ("POST", "/_fake/events"):
            return self.add_event(
                body["namespace"],
                body["name"],
                body["reason"],
                body.get("message", ""),
                body.get("type", "Normal"),
                body.get("kind", "Pod"),
            )
        if (method, path) == ("POST", "/_fake/objects"):
            return self.put(body)
        if (method, path) == ("GET", "/_fake/objects"):
            items = self.list(
                query["resource"], query.get("namespace"), query.get("labelSelector", "")
            )
            name = query.get("name")
            return {"items": [o for o in items if name in (None, o["metadata"]["name"])]}
        if (method, path) == ("POST", "/_fake/delete"):
            res = resource_for(body["resource"])
            match = parse_label_selector(body.get("labelSelector", ""))
            with self._cond:
                victims = [
                    o["metadata"]
                    for o in self._select(res, body.get("namespace"), match)
                    if body.get("name") in (None, o["metadata"]["name"])
                ]
                for meta in victims:
                    self._delete(res, meta.get("namespace"), meta["name"], False)
            return {"deleted": [meta["name"] for meta in victims]}
        raise ApiError(404, f"no fake control endpoint {method} {path}")

    # discovery

    def _discovery(self, parts: builtins.list[str]) -> Any:
        groups: dict[str, builtins.list[Resource]] = {}
        for res in RESOURCES:
            groups.setdefault(res.api_version, []).append(res)

        def resource_list(api_version: str) -> Obj:
            entries = []
            for res in groups[api_version]:
                entries.append(
                    {
                        "name": res.plural,
                        "singularName": res.kind.lower(),
                        "namespaced": res.namespaced,
                        "kind": res.kind,
                        "verbs": builtins.list(res.verbs),
                    }
                )
                if res.plural == "pods":
                    entries.append(
                        {
                            "name": "pods/log",
                            "singularName": "",
                            "namespaced": True,
                            "kind": "Pod",
                            "verbs": ["get"],
                        }
                    )
            return {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": api_version,
                "resources": entries,
            }

        def group(name: str) -> Obj:
            versions = [
                {"groupVersion": gv, "version": gv.split("/")[1]}
                for gv in groups
                if gv.startswith(name + "/")
            ]
            return {"name": name, "versions": versions, "preferredVersion": versions[0]}

        named_groups = sorted({res.group for res in RESOURCES if res.group})
        path = "/".join(parts)
        if path == "version":
            major, minor, *_ = self.k8s_version.lstrip("v").split(".")
            return {
                "major": major,
                "minor": minor,
                "gitVersion": self.k8s_version,
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2024-06-11T20:20:00Z",
                "goVersion": "go1.22.4",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path in ("healthz", "readyz", "livez"):
            return "ok"
        if path == "api":
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                ],
            }
        if path == "apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [group(name) for name in named_groups],
            }
        if path == "api/v1":
            return resource_list("v1")
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in named_groups:
            return {"kind": "APIGroup", "apiVersion": "v1", **group(parts[1])}
        if len(parts) == 3 and parts[0] == "apis" and f"{parts[1]}/{parts[2]}" in groups:
            return resource_list(f"{parts[1]}/{parts[2]}")
        if parts[:2] == ["openapi", "v3"]:
            return self._openapi_v3("/".join(parts[2:]), groups)
        return None

    def _openapi_v3(self, prefix: str, groups: Mapping[str, builtins.list[Resource]]) -> Any:
        """``/openapi/v3`` (the index of group/version documents) or one such document."""
        docs = {
            ("api/" if "/" not in gv else "apis/") + gv: openapi.group_version_doc(
                ("api/" if "/" not in gv else "apis/") + gv,
                [(r.group, r.version, r.kind, r.plural, r.namespaced) for r in members],
            )
            for gv, members in groups.items()
        }
        if not prefix:
            return {
                "paths": {
                    path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={openapi.doc_hash(doc)}"}
                    for path, doc in docs.items()
                }
            }
        if prefix in docs:
            return docs[prefix]
        raise ApiError(404, "the server could not find the requested resource")


def _parse_resource_path(
    parts: builtins.list[str],
) -> tuple[Resource, str | None, str | None, str | None]:
    """``/api/v1/...`` or ``/apis/G/V/...`` → (resource, namespace, name, subresource)."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, "the server could not find the requested resource")
    served = {r.plural: r for r in RESOURCES if (r.group, r.version) == (group, version)}
    ns = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and rest[2] in served
        and served[rest[2]].namespaced
    ):
        ns, rest = rest[1], rest[2:]
    if not rest or rest[0] not in served or len(rest) > 3:
        raise ApiError(404, "the server could not find the requested resource")
    res = served[rest[0]]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return res, ns, name, sub


class _Server(ThreadingHTTPServer):
    def __init__(self, fake: FakeKube) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.fake._cond:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._cond:
            self.server.fake._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; tests assert on ``FakeKube.requests`` instead."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # plumbing

    def _send_json(self, code: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, content_type: str) -> None:
        # Chunked, because urllib3 only yields chunks as they arrive for chunked bodies.
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == "application/vnd.kubernetes.protobuf":
            try:
                return protobuf.decode_object(raw)
            except protobuf.ProtobufError as exc:
                raise ApiError(
                    415, f"the body of the request could not be decoded: {exc}"
                ) from None
        try:
            return json.loads(raw)
        except ValueError as exc:
            if content_type == "application/apply-patch+yaml":
                try:
                    return yaml.safe_load(raw)
                except yaml.YAMLError:
                    pass
            raise ApiError(400, f"invalid JSON body: {exc}") from None

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        fake = self.server.fake
        try:
            body = self._read_body()
            if url.path.startswith("/_fake/"):
                try:
                    result = fake._control(method, url.path, query, body)
                except (KeyError, ValueError, TypeError) as exc:
                    # A malformed control payload: say which key or value is wrong.
                    raise ApiError(400, f"{type(exc).__name__}: {exc}") from None
                self._send_json(200, result)
                return
            fake._record(method, url.path, query)
            self._route(method, [p for p in url.path.split("/") if p], query, body)
        except ApiError as err:
            self._send_json(err.code, err.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, ApiError(500, traceback.format_exc()).status())

    def _route(
        self, method: str, parts: builtins.list[str], query: dict[str, str], body: Any
    ) -> None:
        fake = self.server.fake
        if method == "GET" and (static := fake._discovery(parts)) is not None:
            if isinstance(static, str):
                self._send_text(static)
            else:
                self._send_json(200, static)
            return
        res, ns, name, sub = _parse_resource_path(parts)
        dry_run = "dryRun" in query
        if sub is not None:
            if (res.plural, sub, method) != ("pods", "log", "GET") or name is None or ns is None:
                raise ApiError(404, "the server could not find the requested resource")
            fake._check_fault("get", "pods/log", ns, name)
            self._serve_log(ns, name, query)
            return
        if name is None:
            if method == "GET":
                verb = "watch" if query.get("watch") in ("true", "1") else "list"
                fake._check_fault(verb, res.plural, ns, None)
                match = self._matcher(query)
                if verb == "watch":
                    self._serve_watch(res, ns, query, match)
                    return
                with fake._cond:
                    items = fake._select(res, ns, match)
                    rv = str(fake._rv)
                self._send_json(
                    200,
                    {
                        "kind": f"{res.kind}List",
                        "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": rv},
                        "items": items,
                    },
                )
                return
            if method == "POST" and (ns is not None or not res.namespaced):
                fake._check_fault("create", res.plural, ns, None)
                if not isinstance(body, dict):
                    raise ApiError(400, "request body must be a JSON object")
                self._check_fields(res, body, query)
                with fake._cond:
                    created = fake._create(res, ns, body, True, dry_run)
                self._send_json(201, created)
                return
            raise ApiError(405, "the server does not allow this method on the requested resource")
        if method == "GET":
            fake._check_fault("get", res.plural, ns, name)
            with fake._cond:
                obj = copy.deepcopy(fake._existing(res, ns, name))
            self._send_json(200, obj)
        elif method == "PUT":
            fake._check_fault("update", res.plural, ns, name)
            if not isinstance(body, dict):
                raise ApiError(400, "request body must be a JSON object")
            self._check_fields(res, body, query)
            with fake._cond:
                obj = fake._update(res, ns, name, body, dry_run)
            self._send_json(200, obj)
        elif method == "PATCH":
            fake._check_fault("patch", res.plural, ns, name)
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            self._check_fields(res, body, query)
            if content_type == "application/apply-patch+yaml":
                with fake._cond:
                    code, applied = fake._apply(res, ns, name, body, dry_run)
                self._send_json(code, applied)
                return
            with fake._cond:
                current = copy.deepcopy(fake._existing(res, ns, name))
                if content_type == "application/json-patch+json" and isinstance(body, list):
                    patched = json_patch(current, body)
                elif content_type == "application/merge-patch+json":
                    patched = merge_patch(current, body)
                elif content_type == "application/strategic-merge-patch+json":
                    patched = strategic_merge_patch(current, body)
                else:
                    raise ApiError(
                        415, f"the body of the request was in an unknown format: {content_type}"
                    )
                obj = fake._update(res, ns, name, patched, dry_run)
            self._send_json(200, obj)
        elif method == "DELETE":
            fake._check_fault("delete", res.plural, ns, name)
            with fake._cond:
                status = fake._delete(res, ns, name, dry_run)
            self._send_json(200, status)
        else:
            raise ApiError(405, "the server does not allow this method on the requested resource")

    @staticmethod
    def _check_fields(res: Resource, body: Any, query: Mapping[str, str]) -> None:
        """``fieldValidation=Strict``: unknown fields are a 400, as the real decoder answers."""
        if query.get("fieldValidation") != "Strict" or not isinstance(body, dict):
            return
        unknown = [
            path
            for path in openapi.unknown_fields(body, res.version, res.kind, res.group)
            if not path.split(".")[-1].startswith("$")  # patch directives
        ]
        if unknown:
            listed = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise ApiError(
                400,
                f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                f"strict decoding error: {listed}",
            )

    @staticmethod
    def _matcher(query: Mapping[str, str]) -> Predicate:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""))
        return lambda obj: labels(obj) and fields(obj)

    def _serve_watch(
        self, res: Resource, ns: str | None, query: Mapping[str, str], match: Predicate
    ) -> None:
        fake = self.server.fake
        timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S)
        deadline = time.monotonic() + timeout
        initial = query.get("sendInitialEvents") == "true"
        rv = None if initial else query.get("resourceVersion")
        events, cursor = fake._watch_start(res, ns, rv, match)
        if initial:
            # Streaming list (client-go's WatchList): the current state as ADDED events, then a
            # bookmark that says they are complete.
            events.append(
                {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": res.kind,
                        "apiVersion": res.api_version,
                        "metadata": {
                            "resourceVersion": str(cursor),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    },
                }
            )
        try:
            self._start_stream("application/json")
            closing = False
            while True:
                for event in events:
                    self._chunk(json.dumps(event).encode() + b"\n")
                remaining = deadline - time.monotonic()
                if closing or remaining <= 0 or self._client_gone():
                    break
                events, cursor, closing = fake._wait_changes(
                    cursor, res, ns, match, min(remaining, IDLE_POLL_S)
                )
            self._end_stream()
        finally:
            fake._stream_closed()

    def _serve_log(self, ns: str, pod: str, query: Mapping[str, str]) -> None:
        fake = self.server.fake
        follow = query.get("follow") in ("true", "1")
        container, lines = fake._log_start(ns, pod, query.get("container"), follow)
        seen = len(lines)
        if "tailLines" in query:
            tail = int(query["tailLines"])
            lines = lines[-tail:] if tail else []
        stamps = query.get("timestamps") in ("true", "1")

        def render(batch: Iterable[_LogLine]) -> str:
            return "".join(
                f"{ln.timestamp} {ln.text}\n" if stamps else f"{ln.text}\n" for ln in batch
            )

        if not follow:
            self._send_text(render(lines))
            return
        try:
            self._start_stream("text/plain")
            batch, gone = lines, False
            while True:
                if batch:
                    self._chunk(render(batch).encode())
                if gone or self._client_gone():
                    break
                batch, gone = fake._wait_log(ns, pod, container, seen)
                seen += len(batch)
            self._end_stream()
        finally:
            fake._stream_closed()
