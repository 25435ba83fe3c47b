"""The fake API server and the helm double, exercised through the real ``kubernetes`` client."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.fakekube import FakeKube, write_kubeconfig
from tests.fakekube.server import NOT_READY_ANNOTATION
from tests.kube_fixtures import HelmDouble, wait_until

NS = "aigw"


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    # A private Configuration, so no test leaks a global default into the next.
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), context="fake", client_configuration=cfg)
    with client.ApiClient(cfg) as api_client:
        yield api_client


@pytest.fixture
def core(api: client.ApiClient, fake_kube: FakeKube) -> client.CoreV1Api:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return client.CoreV1Api(api)


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


def helm(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["helm", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


# --- API server ---------------------------------------------------------------------------------


def test_discovery_and_version(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version == "v1.30.2"
    assert "v1" in client.CoreApi(api).get_api_versions().versions
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert "networking.k8s.io" in groups


def test_namespace_lifecycle(core: client.CoreV1Api) -> None:
    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="x1")))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    assert core.read_namespace("x1").status.phase == "Active"
    names = [n.metadata.name for n in core.list_namespace().items]
    assert {"default", NS, "x1"} <= set(names)
    core.create_namespaced_secret("x1", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})

    result = core.delete_namespace("x1")

    assert result["status"] == "Success"
    with pytest.raises(ApiException) as missing:
        core.read_namespace("x1")
    assert missing.value.status == 404
    assert status_of(missing.value)["reason"] == "NotFound"
    assert core.list_secret_for_all_namespaces(field_selector="metadata.name=s").items == []


def test_duplicate_create_is_409_already_exists(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as dup:
        core.create_namespace({"metadata": {"name": NS}})
    assert dup.value.status == 409
    body = status_of(dup.value)
    assert body["kind"] == "Status" and body["reason"] == "AlreadyExists"
    assert body["details"] == {"name": NS, "group": "", "kind": "namespaces"}


def test_invalid_name_is_422_and_missing_namespace_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as invalid:
        core.create_namespace({"metadata": {"name": "Not_Valid"}})
    assert invalid.value.status == 422
    assert status_of(invalid.value)["reason"] == "Invalid"
    with pytest.raises(ApiException) as no_ns:
        core.create_namespaced_config_map("nope", {"metadata": {"name": "c"}})
    assert no_ns.value.status == 404


def test_secret_create_replace_and_stale_update(core: client.CoreV1Api) -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="token"), string_data={"t": "one"})
    first = core.create_namespaced_secret(NS, body)
    assert first.data == {"t": "b25l"}  # stringData folds into base64 data, as on a real server

    first.data = {"t": "dHdv"}
    second = core.replace_namespaced_secret("token", NS, first)

    assert second.data == {"t": "dHdv"}
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert second.metadata.uid == first.metadata.uid
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_secret("token", NS, first)  # still carries the old version
    assert stale.value.status == 409 and status_of(stale.value)["reason"] == "Conflict"


def test_patches_and_selectors(core: client.CoreV1Api, fake_kube: FakeKube) -> None:
    for name, tier in (("a", "web"), ("b", "db")):
        core.create_namespaced_config_map(
            NS, {"metadata": {"name": name, "labels": {"tier": tier}}, "data": {"x": "1"}}
        )
    core.patch_namespaced_config_map("a", NS, {"data": {"x": None, "y": "2"}})
    core.patch_namespaced_config_map(
        "b", NS, [{"op": "replace", "path": "/metadata/labels/tier", "value": "web"}]
    )

    assert fake_kube.get("configmaps", NS, "a")["data"] == {"y": "2"}
    assert [c["metadata"]["name"] for c in fake_kube.list("ConfigMap", NS, "tier=web")] == [
        "a",
        "b",
    ]
    web = core.list_namespaced_config_map(NS, label_selector="tier=web").items
    assert [c.metadata.name for c in web] == ["a", "b"]
    assert core.list_namespaced_config_map(NS, label_selector="tier!=web").items == []
    only_b = core.list_namespaced_config_map(NS, field_selector="metadata.name=b")
    assert [c.metadata.name for c in only_b.items] == ["b"]
    assert only_b.metadata.resource_version
    assert ("PATCH", f"/api/v1/namespaces/{NS}/configmaps/a", {}) in fake_kube.requests


def test_nodes_ingress_classes_and_cluster_wide_lists(
    api: client.ApiClient, core: client.CoreV1Api, fake_kube: FakeKube
) -> None:
    node = core.list_node().items[0]
    assert node.metadata.labels["kubernetes.io/arch"] == "amd64"
    assert node.status.allocatable["memory"] == "8Gi" and not node.spec.unschedulable
    networking = client.NetworkingV1Api(api)
    assert [c.metadata.name for c in networking.list_ingress_class().items] == ["nginx"]
    networking.create_namespaced_ingress(
        NS, {"metadata": {"name": "gw"}, "spec": {"ingressClassName": "nginx"}}
    )
    assert networking.read_namespaced_ingress("gw", NS).spec.ingress_class_name == "nginx"
    fake_kube.set_pod_phase(NS, "p", "Running", True)
    fake_kube.add_event(NS, "p", "Started", "Started container main")
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == ["p"]
    events = core.list_event_for_all_namespaces(field_selector="involvedObject.name=p").items
    assert [e.reason for e in events] == ["Started"]


def test_forbid_gives_403_only_where_it_applies(
    core: client.CoreV1Api, fake_kube: FakeKube
) -> None:
    fake_kube.forbid("list", "secrets", namespace=NS)

    with pytest.raises(ApiException) as denied:
        core.list_namespaced_secret(NS)

    assert denied.value.status == 403
    body = status_of(denied.value)
    assert body["reason"] == "Forbidden" and 'cannot list resource "secrets"' in body["message"]
    assert core.list_namespaced_secret("default").items == []
    fake_kube.clear_faults()
    assert core.list_namespaced_secret(NS).items == []


def test_watch_sees_pod_created_after_it_opened(
    core: client.CoreV1Api, fake_kube: FakeKube
) -> None:
    def cluster_side() -> None:
        wait_until(lambda: fake_kube.open_streams >= 1)
        fake_kube.set_pod_phase(NS, "gw", "Pending", False, reason="ContainerCreating")
        fake_kube.set_pod_phase(NS, "gw", "Running", True)

    changer = threading.Thread(target=cluster_side)
    changer.start()
    seen: list[tuple[str, str, bool]] = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, NS, timeout_seconds=5):
        pod = event["object"]
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        seen.append((event["type"], pod.metadata.name, ready))
        if ready:
            w.stop()
    changer.join(timeout=5)

    assert seen == [("ADDED", "gw", False), ("MODIFIED", "gw", True)]
    watch_query = next(r.query for r in fake_kube.requests if r.query.get("watch") == "true")
    assert watch_query["timeoutSeconds"] == "5"
    wait_until(lambda: fake_kube.open_streams == 0)


def test_watch_replays_from_resource_version_and_times_out(
    core: client.CoreV1Api, fake_kube: FakeKube
) -> None:
    start = core.list_namespaced_event(NS).metadata.resource_version
    fake_kube.add_event(NS, "gw", "Pulling", "Pulling image", type="Normal")
    fake_kube.add_event(NS, "gw", "BackOff", "Back-off restarting", type="Warning")

    began = time.monotonic()
    events = list(
        watch.Watch().stream(
            core.list_namespaced_event, NS, resource_version=start, timeout_seconds=1
        )
    )

    assert [(e["type"], e["object"].reason) for e in events] == [
        ("ADDED", "Pulling"),
        ("ADDED", "BackOff"),
    ]
    assert 0.9 <= time.monotonic() - began < 4


def test_follow_logs_sees_line_appended_later(core: client.CoreV1Api, fake_kube: FakeKube) -> None:
    fake_kube.set_pod_phase(NS, "gw", "Running", True)
    fake_kube.append_log(NS, "gw", "old line")
    fake_kube.append_log(NS, "gw", "first")

    def cluster_side() -> None:
        wait_until(lambda: fake_kube.open_streams >= 1)
        fake_kube.append_log(NS, "gw", "appended later")

    appender = threading.Thread(target=cluster_side)
    appender.start()
    lines = []
    for line in watch.Watch().stream(core.read_namespaced_pod_log, "gw", NS, tail_lines=1):
        lines.append(line)
        if line == "appended later":
            break
    appender.join(timeout=5)

    assert lines == ["first", "appended later"]
    assert core.read_namespaced_pod_log("gw", NS, container="main") == (
        "old line\nfirst\nappended later\n"
    )


def test_logs_of_a_starting_pod_are_refused_like_the_kubelet(
    core: client.CoreV1Api, fake_kube: FakeKube
) -> None:
    fake_kube.set_pod_phase(NS, "gw", "Pending", False, reason="ContainerCreating")
    with pytest.raises(ApiException) as waiting:
        core.read_namespaced_pod_log("gw", NS)
    assert waiting.value.status == 400
    assert "is waiting to start: ContainerCreating" in status_of(waiting.value)["message"]


def test_kubeconfig_contexts_carry_their_namespace(tmp_path: Path, fake_kube: FakeKube) -> None:
    path = write_kubeconfig(
        tmp_path / "config", fake_kube.url, {"dev": "team-a", "prod": "team-b"}, current="prod"
    )
    contexts, active = config.list_kube_config_contexts(config_file=str(path))
    assert active["name"] == "prod" and active["context"]["namespace"] == "team-b"
    assert {c["name"] for c in contexts} == {"dev", "prod"}
    assert path.stat().st_mode & 0o077 == 0


# --- helm double --------------------------------------------------------------------------------


def test_helm_version_answers_like_real_helm(helm_double: HelmDouble) -> None:
    assert helm("version", "--short").stdout == "v3.14.0+g1234567\n"
    assert helm("version", "--template", "{{.Version}}").stdout == "v3.14.0\n"
    helm_double.set_scenario(version="v3.10.2")
    assert helm("version", "--template", "{{.Version}}").stdout == "v3.10.2\n"
    assert [c["argv"][0] for c in helm_double.calls()] == ["version"] * 3


def test_helm_install_records_values_and_makes_pod_ready(
    helm_double: HelmDouble, core: client.CoreV1Api, kubeconfig: Path, tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("image:\n  tag: v9.9.9\ningress:\n  enabled: true\n")
    assert helm("repo", "add", "gitlab", "https://charts.gitlab.io").returncode == 0
    assert "Update Complete." in helm("repo", "update").stdout

    done = helm(
        "upgrade", "--install", "ai-gateway", "gitlab/ai-gateway", "--namespace", "fresh",
        "--create-namespace", "-f", str(values), "--wait", "--atomic", "--timeout", "5m",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        'Release "ai-gateway" does not exist. Installing it now.',
        "NAME: ai-gateway",
    ]
    assert "STATUS: deployed" in done.stdout and "REVISION: 1" in done.stdout
    call = helm_double.calls()[-1]
    assert call["values"] == [
        {
            "path": str(values),
            "text": values.read_text(),
            "parsed": yaml.safe_load(values.read_text()),
        }
    ]
    assert call["env"]["KUBECONFIG"] == str(kubeconfig)
    pods = core.list_namespaced_pod(
        "fresh", label_selector="app.kubernetes.io/instance=ai-gateway"
    ).items
    assert len(pods) == 1 and pods[0].metadata.name.startswith("ai-gateway-ai-gateway-")
    assert pods[0].status.phase == "Running" and pods[0].status.container_statuses[0].ready
    assert pods[0].spec.containers[0].image.endswith(":v9.9.9")
    events = core.list_namespaced_event("fresh").items  # listed by name, so order by version
    reasons = [e.reason for e in sorted(events, key=lambda e: int(e.metadata.resource_version))]
    assert reasons == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    assert "Application startup complete." in core.read_namespaced_pod_log(
        pods[0].metadata.name, "fresh"
    )

    status = json.loads(helm("status", "ai-gateway", "-n", "fresh", "-o", "json").stdout)
    assert status["info"]["status"] == "deployed" and status["version"] == 1
    got = helm("get", "values", "ai-gateway", "-n", "fresh", "-o", "json").stdout
    assert json.loads(got) == {"image": {"tag": "v9.9.9"}, "ingress": {"enabled": True}}
    listed = json.loads(helm("list", "-n", "fresh", "-o", "json").stdout)
    assert [(r["name"], r["status"]) for r in listed] == [("ai-gateway", "deployed")]
    assert (
        helm("uninstall", "ai-gateway", "-n", "fresh").stdout
        == 'release "ai-gateway" uninstalled\n'
    )
    assert core.list_namespaced_pod("fresh").items == []
    assert helm("status", "ai-gateway", "-n", "fresh").returncode == 1


def test_helm_install_into_missing_namespace_fails_without_create_namespace(
    helm_double: HelmDouble,
) -> None:
    failed = helm("upgrade", "--install", "ai-gateway", "gitlab/ai-gateway", "-n", "absent")
    assert failed.returncode == 1
    assert failed.stderr == 'Error: create: failed to create: namespaces "absent" not found\n'


def test_helm_upgrade_failure_exits_non_zero_with_stderr(
    helm_double: HelmDouble, core: client.CoreV1Api
) -> None:
    assert helm("upgrade", "--install", "ai-gateway", "c/ai-gateway", "-n", NS).returncode == 0
    helm_double.set_scenario(upgrade_exit=1, upgrade_error="context deadline exceeded")

    failed = helm("upgrade", "--install", "ai-gateway", "c/ai-gateway", "-n", NS, "--atomic")

    assert failed.returncode == 1
    assert failed.stderr == (
        "Error: UPGRADE FAILED: release ai-gateway failed, and has been rolled back due to "
        "atomic being set: context deadline exceeded\n"
    )
    assert helm_double.state()["releases"][f"{NS}/ai-gateway"]["status"] == "deployed"


def test_helm_crashloop_times_out_and_pod_shows_it(
    helm_double: HelmDouble, core: client.CoreV1Api
) -> None:
    helm_double.set_scenario(crashloop=True)

    failed = helm("upgrade", "--install", "ai-gateway", "c/ai-gateway", "-n", NS, "--wait")

    assert failed.returncode == 1
    assert (
        failed.stderr.startswith("Error: ")
        and "timed out waiting for the condition" in failed.stderr
    )
    (pod,) = core.list_namespaced_pod(NS).items
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff" and status.restart_count > 0


def test_helm_slow_wait_stops_promptly_on_sigterm(helm_double: HelmDouble) -> None:
    helm_double.set_scenario(delay=30)
    proc = subprocess.Popen(
        ["helm", "upgrade", "--install", "gw", "c/ai-gateway", "-n", "slow", "--create-namespace"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    # Flushed line by line: the first line arrives while helm is still "waiting".
    assert proc.stdout.readline() == 'Release "gw" does not exist. Installing it now.\n'
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=5)
    assert proc.returncode == 128 + signal.SIGTERM
    assert stderr == "" and stdout == ""


def test_helm_pull_writes_chart_archive(helm_double: HelmDouble, tmp_path: Path) -> None:
    done = helm("pull", "gitlab/ai-gateway", "--version", "1.2.3", "-d", str(tmp_path))
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / "ai-gateway-1.2.3.tgz") as tar:
        chart = yaml.safe_load(tar.extractfile("ai-gateway/Chart.yaml").read())
    assert (chart["name"], chart["version"]) == ("ai-gateway", "1.2.3")


def test_helm_unknown_command_fails(helm_double: HelmDouble) -> None:
    done = helm("frobnicate")
    assert done.returncode == 1 and done.stderr.startswith('Error: unknown command "frobnicate"')


# --- what real helm needs (tests/test_helm_real.py runs helm itself against these) --------------


def call(
    fake: FakeKube, method: str, path: str, body: bytes | None = None, content_type: str = ""
) -> tuple[int, dict]:
    """One raw request to the fake: (status code, decoded JSON answer)."""
    request = urllib.request.Request(fake.url + path, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _varint(number: int) -> bytes:
    out = b""
    while True:
        byte, number = number & 0x7F, number >> 7
        out += bytes([byte | (0x80 if number else 0)])
        if not number:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def protobuf_secret(name: str, data: dict[str, bytes], labels: dict[str, str]) -> bytes:
    """A Secret the way client-go encodes it (gogo-proto writes empty strings too)."""
    meta = _field(1, name.encode()) + _field(2, b"") + _field(3, b"")
    meta += b"".join(
        _field(11, _field(1, k.encode()) + _field(2, v.encode())) for k, v in labels.items()
    )
    secret = _field(1, meta)
    secret += b"".join(_field(2, _field(1, k.encode()) + _field(2, v)) for k, v in data.items())
    secret += _field(3, b"helm.sh/release.v1")
    type_meta = _field(1, b"v1") + _field(2, b"Secret")
    return b"k8s\x00" + _field(1, type_meta) + _field(2, secret) + _field(3, b"") + _field(4, b"")


def test_a_protobuf_secret_is_stored_as_json_and_other_protobuf_kinds_are_415(
    fake_kube: FakeKube,
) -> None:
    body = protobuf_secret(
        "sh.helm.release.v1.gw.v1", {"release": b"\x00\xffH4sI"}, {"owner": "helm"}
    )
    code, created = call(
        fake_kube, "POST", "/api/v1/namespaces/default/secrets", body,
        "application/vnd.kubernetes.protobuf",
    )  # fmt: skip
    assert code == 201, created
    stored = fake_kube.get("secrets", "default", "sh.helm.release.v1.gw.v1")
    assert stored["type"] == "helm.sh/release.v1" and stored["metadata"]["labels"] == {
        "owner": "helm"
    }
    assert base64.b64decode(stored["data"]["release"]) == b"\x00\xffH4sI"
    assert stored["metadata"]["namespace"] == "default"  # the empty namespace was not kept

    pod = b"k8s\x00" + _field(1, _field(1, b"v1") + _field(2, b"Pod")) + _field(2, b"")
    code, answer = call(
        fake_kube, "POST", "/api/v1/namespaces/default/pods", pod,
        "application/vnd.kubernetes.protobuf",
    )  # fmt: skip
    assert code == 415 and "cannot decode protobuf v1/Pod" in answer["message"]


def deployment_body(name: str, image: str, **template_annotations: str) -> dict:
    labels = {"app.kubernetes.io/name": "ai-gateway", "app.kubernetes.io/instance": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": template_annotations},
                "spec": {
                    "containers": [
                        {
                            "name": "gw",
                            "image": image,
                            "ports": [{"containerPort": 5052}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        }
                    ]
                },
            },
        },
    }


def test_strategic_merge_patch_merges_lists_by_their_key(fake_kube: FakeKube) -> None:
    fake_kube.put(deployment_body("gw", "img:1"))
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "gw"}],
                    "containers": [
                        {
                            "name": "gw",
                            "image": "img:2",
                            "$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
                            "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
                        }
                    ],
                }
            }
        }
    }
    code, patched = call(
        fake_kube, "PATCH", "/apis/apps/v1/namespaces/default/deployments/gw",
        json.dumps(patch).encode(), "application/strategic-merge-patch+json",
    )  # fmt: skip
    assert code == 200, patched
    [container] = patched["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "img:2" and container["ports"] == [{"containerPort": 5052}]
    assert container["env"] == [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}]
    assert patched["metadata"]["generation"] == 2


def test_server_side_apply_creates_then_owns_every_field_it_applies(fake_kube: FakeKube) -> None:
    path = "/api/v1/namespaces/default/configmaps/cfg"
    first = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg"},
        "data": {"a": "1", "b": "2"},
    }
    code, created = call(
        fake_kube,
        "PATCH",
        path + "?fieldManager=helm",
        json.dumps(first).encode(),
        "application/apply-patch+yaml",
    )
    assert code == 201 and created["data"] == {"a": "1", "b": "2"}
    second = yaml.safe_dump({**first, "data": {"a": "9"}}).encode()  # YAML is fine too
    code, applied = call(
        fake_kube, "PATCH", path + "?fieldManager=helm", second, "application/apply-patch+yaml"
    )
    assert code == 200 and applied["data"] == {"a": "9"}
    assert applied["metadata"]["uid"] == created["metadata"]["uid"]


def test_strict_field_validation_rejects_unknown_fields_like_the_api_server(
    fake_kube: FakeKube,
) -> None:
    body = deployment_body("gw", "img:1")
    body["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    path = "/apis/apps/v1/namespaces/default/deployments"
    code, answer = call(
        fake_kube,
        "POST",
        path + "?fieldValidation=Strict",
        json.dumps(body).encode(),
        "application/json",
    )
    assert code == 400
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolice"' in answer["message"]
    code, _ = call(fake_kube, "POST", path, json.dumps(body).encode(), "application/json")
    assert code == 201  # without Strict the server takes it (and would drop the field)


def test_openapi_v3_tells_clients_the_server_validates_fields(fake_kube: FakeKube) -> None:
    code, index = call(fake_kube, "GET", "/openapi/v3")
    assert code == 200 and {"api/v1", "apis/apps/v1", "apis/networking.k8s.io/v1"} <= set(
        index["paths"]
    )
    code, doc = call(fake_kube, "GET", index["paths"]["apis/apps/v1"]["serverRelativeURL"])
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "V1Deployment" in doc["components"]["schemas"]


def test_a_streaming_list_watch_ends_its_initial_events_with_a_bookmark(
    fake_kube: FakeKube,
) -> None:
    query = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
    with urllib.request.urlopen(f"{fake_kube.url}/api/v1/namespaces?{query}", timeout=10) as stream:
        events = [json.loads(line) for line in stream.read().splitlines() if line]
    assert [e["type"] for e in events[:-1]] == ["ADDED"] * (len(events) - 1)
    assert events[-1]["type"] == "BOOKMARK"
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_the_deployment_controller_rolls_pods_and_collects_garbage() -> None:
    with FakeKube(controllers=True) as fake:
        fake.add_node("node-1")
        fake.add(deployment_body("gw", "img:1"))
        [pod] = fake.list("pods", "default")
        assert pod["spec"]["nodeName"] == "node-1" and pod["status"]["phase"] == "Running"
        status = fake.get("deployments", "default", "gw")["status"]
        assert status["readyReplicas"] == status["updatedReplicas"] == 1
        assert status["observedGeneration"] == 1

        fake.put(deployment_body("gw", "img:2", **{NOT_READY_ANNOTATION: "false"}))
        [new_pod] = fake.list("pods", "default")
        assert new_pod["metadata"]["name"] != pod["metadata"]["name"]
        waiting = new_pod["status"]["containerStatuses"][0]["state"]["waiting"]
        assert waiting["reason"] == "CrashLoopBackOff" and len(fake.list("replicasets")) == 1
        status = fake.get("deployments", "default", "gw")["status"]
        assert "readyReplicas" not in status and status["observedGeneration"] == 2

        assert fake.delete("deployments", "default", "gw")
        assert fake.list("replicasets") == [] and fake.list("pods") == []


def test_services_get_a_cluster_ip(fake_kube: FakeKube) -> None:
    svc = fake_kube.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        }
    )
    assert svc["spec"]["clusterIP"].startswith("10.96.") and svc["spec"]["clusterIPs"] == [
        svc["spec"]["clusterIP"]
    ]
