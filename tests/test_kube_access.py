"""wizard.tools.kube against the fake API server: contexts, plain errors with remedies, stoppable streams."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from tests.fakekube import FakeKube, write_kubeconfig
from tests.kube_fixtures import wait_until
from wizard.tools import kube, kubestream


def test_contexts_are_listed_with_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_kubeconfig(
        tmp_path / "config", "http://127.0.0.1:1", {"dev": "default", "prod": "x"}, "prod"
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert kube.list_contexts() == (["dev", "prod"], "prod")


def test_several_kubeconfig_files_merge_first_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_kubeconfig(tmp_path / "a", "http://127.0.0.1:1", {"a": "default"}, "a")
    second = write_kubeconfig(tmp_path / "b", "http://127.0.0.1:1", {"b": "default", "a": "x"}, "b")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    assert kube.list_contexts() == (["a", "b"], "a")


def test_no_kubeconfig_says_where_it_looked_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(kube.NoKubeconfig) as raised:
        kube.connect()
    assert str(tmp_path / "nope") in raised.value.message
    assert "KUBECONFIG" in raised.value.remedy


def test_a_kubeconfig_that_is_not_yaml_mapping_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config"
    path.write_text("- just\n- a list\n")
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(kube.NoKubeconfig, match="not a kubeconfig"):
        kube.list_contexts()


def test_an_unknown_context_lists_the_known_ones(kubeconfig: Path) -> None:
    with pytest.raises(kube.UnknownContext) as raised:
        kube.connect("staging")
    assert "'staging' is not in the kubeconfig" in raised.value.message
    assert raised.value.known == ["fake"]
    assert "fake" in raised.value.remedy


def test_no_current_context_asks_for_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1", {"a": "default"})
    path.write_text(path.read_text().replace("current-context: a", "current-context: ''"))
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(kube.UnknownContext, match="no current context"):
        kube.connect()
    assert kube.connect("a").context == "a"  # naming the context is enough


def test_connect_uses_the_current_context_and_reaches_the_api(
    kubeconfig: Path, fake_kube: FakeKube
) -> None:
    cluster = kube.connect()
    try:
        assert (cluster.context, cluster.server) == ("fake", fake_kube.url)
        version = cluster.call("get", "version", None, cluster.version_api.get_code)
        assert version.git_version == "v1.30.2"
    finally:
        cluster.close()


def test_an_unreachable_api_fails_fast_with_a_remedy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{port}", {"dead": "default"})
    monkeypatch.setenv("KUBECONFIG", str(path))
    cluster = kube.connect(timeout=(1.0, 1.0))
    started = time.monotonic()
    with pytest.raises(kube.Unreachable) as raised:
        cluster.call("list", "namespaces", None, cluster.core.list_namespace)
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port}" in raised.value.message and "does not answer" in raised.value.message
    assert "HTTPConnection(" not in raised.value.message
    assert "reachable" in raised.value.remedy


def test_an_api_that_never_answers_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        path = write_kubeconfig(
            tmp_path / "config", f"http://127.0.0.1:{silent.getsockname()[1]}", {"slow": "x"}
        )
        monkeypatch.setenv("KUBECONFIG", str(path))
        cluster = kube.connect(timeout=(1.0, 0.5))
        with pytest.raises(kube.Unreachable, match="does not answer"):
            cluster.call("get", "version", None, cluster.version_api.get_code)


def test_forbidden_names_verb_resource_and_namespace(kubeconfig: Path, fake_kube: FakeKube) -> None:
    fake_kube.forbid("create", "secrets", "ai-gateway")
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ai-gateway"}})
    cluster = kube.connect()
    body = {"metadata": {"name": "s"}, "type": "Opaque"}
    with pytest.raises(kube.Forbidden) as raised:
        cluster.call(
            "create",
            "secrets",
            "ai-gateway",
            cluster.core.create_namespaced_secret,
            "ai-gateway",
            body,
        )
    error = raised.value
    assert (error.verb, error.resource, error.namespace) == ("create", "secrets", "ai-gateway")
    assert "not allowed to create secrets in namespace ai-gateway" in error.message
    assert "RBAC" in error.remedy


def test_other_refusals_keep_the_servers_words(kubeconfig: Path, fake_kube: FakeKube) -> None:
    cluster = kube.connect()
    with pytest.raises(kube.NotFound, match='namespaces "nope" not found'):
        cluster.call("get", "namespaces", None, cluster.core.read_namespace, "nope")
    fake_kube.fail("list", "nodes", 500, message="etcd is sad")
    with pytest.raises(kube.ApiFailure, match=r"cannot list nodes: etcd is sad \(HTTP 500\)"):
        cluster.call("list", "nodes", None, cluster.core.list_node)
    fake_kube.fail("get", "namespaces", 401)
    with pytest.raises(kube.Unauthorized) as raised:
        cluster.call("get", "namespaces", None, cluster.core.read_namespace, "default")
    assert "log in again" in raised.value.remedy


def test_a_watch_sees_later_changes_and_stops_at_once(
    kubeconfig: Path, fake_kube: FakeKube
) -> None:
    fake_kube.set_pod_phase("default", "old", "Running", True)
    cluster = kube.connect()
    stream = kubestream.Stream()
    seen: list[tuple[str, str]] = []

    def watch() -> None:
        for event in stream.watch(
            cluster, "pods", "default", cluster.core.list_namespaced_pod, "default"
        ):
            seen.append((event["type"], event["object"]["metadata"]["name"]))

    thread = threading.Thread(target=watch)
    thread.start()
    wait_until(lambda: ("ADDED", "old") in seen)
    fake_kube.set_pod_phase("default", "new", "Pending", False)
    wait_until(lambda: ("ADDED", "new") in seen)
    stopped = time.monotonic()
    stream.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - stopped < 2


def test_a_watch_from_a_resource_version_skips_the_past(
    kubeconfig: Path, fake_kube: FakeKube
) -> None:
    fake_kube.set_pod_phase("default", "old", "Running", True)
    cluster = kube.connect()
    listed = cluster.call("list", "pods", "default", cluster.core.list_namespaced_pod, "default")
    stream = kubestream.Stream()
    fake_kube.set_pod_phase("default", "new", "Pending", False)
    events = stream.watch(
        cluster,
        "pods",
        "default",
        cluster.core.list_namespaced_pod,
        "default",
        resource_version=listed.metadata.resource_version,
    )
    first = next(events)
    stream.stop()
    assert first["object"]["metadata"]["name"] == "new"


def test_a_forbidden_watch_is_a_forbidden_error(kubeconfig: Path, fake_kube: FakeKube) -> None:
    fake_kube.forbid("watch", "pods", "default")
    cluster = kube.connect()
    with pytest.raises(kube.Forbidden, match="not allowed to watch pods in namespace default"):
        next(
            kubestream.Stream().watch(
                cluster, "pods", "default", cluster.core.list_namespaced_pod, "default"
            )
        )


def test_a_followed_log_streams_new_lines_until_stopped(
    kubeconfig: Path, fake_kube: FakeKube
) -> None:
    fake_kube.set_pod_phase("default", "gw", "Running", True)
    fake_kube.append_log("default", "gw", "first")
    stream = kubestream.Stream()
    cluster = kube.connect()
    lines: list[str] = []

    def follow() -> None:
        lines.extend(stream.follow_log(cluster, "default", "gw", "main"))

    thread = threading.Thread(target=follow)
    thread.start()
    wait_until(lambda: lines == ["first"])
    fake_kube.append_log("default", "gw", "second")
    wait_until(lambda: lines == ["first", "second"])
    stream.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_stream_stopped_before_it_opens_yields_nothing(
    kubeconfig: Path, fake_kube: FakeKube
) -> None:
    fake_kube.set_pod_phase("default", "gw", "Running", True)
    cluster = kube.connect()
    stream = kubestream.Stream()
    stream.stop()
    assert (
        list(stream.watch(cluster, "pods", "default", cluster.core.list_namespaced_pod, "default"))
        == []
    )
