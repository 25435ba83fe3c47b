"""HelmInstaller.status and uninstall: release state, pods, ingress, drift; what --purge removes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakekube import FakeKube
from tests.helm_support import (
    NAME,
    Tls,
    apply,
    finished,
    helm_calls,
    result,
    run,
    saved_profile,
)
from tests.kube_fixtures import HelmDouble
from wizard.core.profile import Profile
from wizard.install import Drift
from wizard.install.helm import HelmInstaller, values_drift

NS = "ai-gateway"


def status(profile: Profile):
    return HelmInstaller(profile, NAME).status()


def uninstall(profile: Profile, purge: bool = False):
    return run(HelmInstaller(profile, NAME).uninstall(purge=purge))


# status


def test_status_before_install(profile: Profile) -> None:
    report = status(profile)
    assert (report.installed, report.state, report.drift) == (False, "not installed", [])


def test_status_after_install_is_deployed_healthy_and_without_drift(profile: Profile) -> None:
    assert result(apply(profile)).ok
    report = status(profile)
    assert (report.installed, report.state, report.healthy) == (True, "deployed", True)
    assert report.image.endswith(":self-hosted-v17.5.0-ee")
    assert report.details["pods"].startswith("1/1 ready")
    assert report.details["chart"] == "ai-gateway-0.1.1"
    assert report.details["ingress"] == "aigw.example.com (no address yet)"
    assert report.drift == []


def test_status_shows_drift_between_the_release_and_the_profile(profile: Profile, tls: Tls) -> None:
    assert result(apply(profile)).ok
    changed = saved_profile(
        tls, gateway={"hostname": "aigw.example.com", "tag": "self-hosted-v17.6.0-ee"}
    )
    report = status(changed)
    assert report.drift == [Drift("image.tag", "self-hosted-v17.6.0-ee", "self-hosted-v17.5.0-ee")]


def test_status_when_helm_is_missing(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    report = status(profile)
    assert report.state == "unknown" and "not found on PATH" in report.details["problem"]


def test_status_when_the_cluster_is_gone(profile: Profile, fake_kube: FakeKube) -> None:
    assert result(apply(profile)).ok
    fake_kube.stop()
    report = status(profile)
    # An unreachable cluster is not "all well": status exits 1 (#15.6).
    assert report.state == "deployed" and report.healthy is False and not report.ok
    assert report.details["cluster"].startswith("unreachable: the API server of context fake")


def test_values_drift_names_dotted_paths_and_unset_sides() -> None:
    deployed = {"image": {"tag": "a"}, "ingress": {"hosts": [{"host": "x"}]}, "extra": True}
    wanted = {
        "image": {"tag": "a"},
        "ingress": {"hosts": [{"host": "y"}]},
        "authBypassExternal": False,
    }
    assert values_drift(deployed, wanted) == [
        Drift("authBypassExternal", "false", "(unset)"),
        Drift("extra", "(unset)", "true"),
        Drift("ingress.hosts[0].host", "y", "x"),
    ]


# uninstall


def test_uninstall_keeps_the_secrets_and_namespace(
    profile: Profile, fake_kube: FakeKube, helm_double: HelmDouble
) -> None:
    assert result(apply(profile)).ok
    events = uninstall(profile)
    assert result(events).ok and finished(events)["release"].detail == "uninstalled"
    [call] = helm_calls(helm_double.calls(), "uninstall")
    assert call["argv"][:3] == ["uninstall", "ai-gateway", "--namespace=ai-gateway"]
    assert fake_kube.get("secrets", NS, "ai-gateway-tls") is not None
    assert fake_kube.get("namespaces", None, NS) is not None
    assert status(profile).state == "not installed"


def test_purge_removes_the_secrets_and_our_namespace(profile: Profile, fake_kube: FakeKube) -> None:
    assert result(apply(profile)).ok
    events = uninstall(profile, purge=True)
    assert result(events).ok
    assert "namespace ai-gateway deleted" in finished(events)["purge"].detail
    assert fake_kube.get("namespaces", None, NS) is None


def test_purge_keeps_a_namespace_we_did_not_create(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    assert result(apply(profile)).ok
    events = uninstall(profile, purge=True)
    detail = finished(events)["purge"].detail
    assert (
        "secret ai-gateway-tls deleted" in detail
        and "kept: aigw-wizard did not create it" in detail
    )
    assert fake_kube.get("namespaces", None, NS) is not None
    assert fake_kube.get("secrets", NS, "ai-gateway-tls") is None


def test_uninstall_without_a_release_is_fine(profile: Profile, helm_double: HelmDouble) -> None:
    events = uninstall(profile)
    assert result(events).ok and finished(events)["release"].status == "skipped"
    assert helm_calls(helm_double.calls(), "uninstall") == []
