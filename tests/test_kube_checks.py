"""The Helm-target preflight checks against the fake API server and the helm double."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.fakekube import FakeKube, write_kubeconfig
from tests.helm_support import Tls, check
from tests.kube_fixtures import HelmDouble
from wizard.core.profile import Profile


def with_helm(profile: Profile, **helm: str) -> Profile:
    return profile.model_copy(update={"helm": profile.helm.model_copy(update=helm)})


# helm


def test_helm_found_and_recent(profile: Profile) -> None:
    assert check("helm.binary", profile).status == "pass"
    outcome = check("helm.version", profile)
    assert (outcome.status, outcome.detail) == ("pass", "helm v3.14.0")


def test_helm_missing(profile: Profile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    outcome = check("helm.binary", profile)
    assert outcome.status == "fail" and "helm.sh" in outcome.remedy
    assert check("helm.version", profile).status == "skip"


@pytest.mark.parametrize(
    ("version", "status"),
    [("v3.10.3", "fail"), ("v3.11.0", "pass"), ("v2.17.0", "fail"), ("v4.0.0", "pass")],
)
def test_helm_version_threshold(
    profile: Profile, helm_double: HelmDouble, version: str, status: str
) -> None:
    helm_double.set_scenario(version=version)
    outcome = check("helm.version", profile)
    assert outcome.status == status
    if status == "fail":
        assert f"helm {version} is too old" in outcome.detail and "3.11.0" in outcome.detail


# context and API


def test_context_current_and_named(profile: Profile) -> None:
    assert check("kube.context", profile).detail == "current context fake"
    assert check("kube.context", with_helm(profile, kube_context="fake")).detail == "context fake"


def test_unknown_context_lists_the_known_ones(profile: Profile) -> None:
    outcome = check("kube.context", with_helm(profile, kube_context="prod"))
    assert outcome.status == "fail" and outcome.field == "helm.kube_context"
    assert "one of: fake" in outcome.remedy
    # The other cluster checks point at it instead of failing again.
    assert check("kube.api", with_helm(profile, kube_context="prod")).status == "skip"
    assert check("kube.nodes", with_helm(profile, kube_context="prod")).status == "skip"


def test_no_kubeconfig(profile: Profile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    outcome = check("kube.context", profile)
    assert (
        outcome.status == "fail"
        and "no kubeconfig" in outcome.detail
        and "KUBECONFIG" in outcome.remedy
    )


def test_api_answers(profile: Profile, fake_kube: FakeKube) -> None:
    outcome = check("kube.api", profile)
    assert (
        outcome.status == "pass" and "v1.30.2" in outcome.detail and fake_kube.url in outcome.detail
    )


def test_api_unreachable(
    profile: Profile, fake_kube: FakeKube, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = fake_kube.url
    fake_kube.stop()
    monkeypatch.setenv(
        "KUBECONFIG", str(write_kubeconfig(tmp_path / "dead", url, {"fake": "default"}))
    )
    outcome = check("kube.api", profile)
    assert (
        outcome.status == "fail"
        and "does not answer" in outcome.detail
        and "reachable" in outcome.remedy
    )
    assert check("kube.ingress_class", profile).status == "skip"


def test_api_with_rejected_credentials(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.fail("get", "namespaces", 401)
    outcome = check("kube.api", profile)
    assert outcome.status == "fail" and "refused the credentials" in outcome.detail


# nodes


def test_a_fitting_node_passes(profile: Profile) -> None:
    outcome = check("kube.nodes", profile)
    assert outcome.status == "pass" and "fake-node (linux/amd64, 8192 MiB)" in outcome.detail


def test_no_node_fits_and_each_says_why(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.delete("nodes", None, "fake-node")
    fake_kube.add_node("win", os="windows")
    fake_kube.add_node("small", allocatable_memory="256Mi")
    fake_kube.add_node("cordoned", unschedulable=True)
    outcome = check("kube.nodes", profile)
    assert outcome.status == "fail"
    assert "win: windows/amd64" in outcome.detail
    assert "small: 256 MiB allocatable memory" in outcome.detail
    assert "cordoned: not schedulable" in outcome.detail
    assert "linux node" in outcome.remedy


def test_an_arm_node_fits_the_architecture_is_the_images_business(
    profile: Profile, fake_kube: FakeKube
) -> None:
    """kube.nodes no longer says "amd64 only" by rule; gateway.platform asks the image (#12.8)."""
    fake_kube.delete("nodes", None, "fake-node")
    fake_kube.add_node("arm", arch="arm64")
    outcome = check("kube.nodes", profile)
    assert outcome.status == "pass" and "arm (linux/arm64, 8192 MiB)" in outcome.detail


def test_the_platform_check_on_helm_compares_the_nodes_with_the_image(
    profile: Profile, fake_kube: FakeKube
) -> None:
    from wizard.checks import release as release_checks
    from wizard.checks.base import CheckContext
    from wizard.tools.registry import Platform
    from wizard.tools.tags import Platforms

    amd_only = Platforms((Platform("linux", "amd64"),), "registry")
    both = Platforms((Platform("linux", "amd64"), Platform("linux", "arm64")), "registry")
    fake_kube.delete("nodes", None, "fake-node")
    fake_kube.add_node("arm", arch="arm64")
    fake_kube.add_node("amd-cordoned", unschedulable=True)

    def platform(platforms: Platforms) -> tuple[str, str]:
        context = CheckContext(profile, "gw", overrides={release_checks.PLATFORMS_KEY: platforms})
        outcome = release_checks.image_platform(context)
        return outcome.status, outcome.detail

    status, detail = platform(amd_only)  # the cordoned amd64 node cannot take the pod
    assert status == "fail" and "the cluster has arm: arm64" in detail
    status, detail = platform(both)
    assert status == "pass" and "arm" in detail


def test_nodes_not_listable_is_a_warning(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.forbid("list", "nodes")
    assert check("kube.nodes", profile).status == "warn"


# ingress class


def test_ingress_class_present(profile: Profile) -> None:
    outcome = check("kube.ingress_class", profile)
    assert (outcome.status, outcome.detail) == ("pass", "nginx (controller k8s.io/ingress-nginx)")


def test_ingress_class_missing_lists_those_that_exist(
    profile: Profile, fake_kube: FakeKube
) -> None:
    fake_kube.add_ingress_class("traefik", controller="traefik.io/ingress-controller")
    outcome = check("kube.ingress_class", with_helm(profile, ingress_class="haproxy"))
    # A class the cluster lacks fails: the ingress would never be served (#16).
    assert outcome.status == "fail" and outcome.field == "helm.ingress_class"
    assert "no ingress class 'haproxy'; the cluster has: nginx, traefik" in outcome.detail


def test_no_ingress_class_at_all(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.delete("ingressclasses", None, "nginx")
    outcome = check("kube.ingress_class", profile)
    assert (
        outcome.status == "fail"
        and "has none" in outcome.detail
        and "ingress controller" in outcome.remedy
    )


# namespace


def test_absent_namespace_will_be_created_and_nothing_is_created_now(
    profile: Profile, fake_kube: FakeKube
) -> None:
    outcome = check("kube.namespace", profile)
    assert outcome.status == "pass" and "will be created" in outcome.detail
    assert fake_kube.get("namespaces", None, "ai-gateway") is None
    assert any(r.method == "POST" and "dryRun" in r.query for r in fake_kube.requests)


def test_existing_namespace_where_secrets_may_be_created(
    profile: Profile, fake_kube: FakeKube
) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ai-gateway"}})
    outcome = check("kube.namespace", profile)
    assert outcome.status == "pass" and "secrets can be created" in outcome.detail
    assert fake_kube.get("secrets", "ai-gateway", "ai-gateway-tls") is None


def test_namespace_present_but_forbidden(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ai-gateway"}})
    fake_kube.forbid("create", "secrets", "ai-gateway")
    outcome = check("kube.namespace", profile)
    assert outcome.status == "fail"
    assert "not allowed to create secrets in namespace ai-gateway" in outcome.detail
    assert "RBAC" in outcome.remedy and outcome.field == "helm.namespace"


def test_namespace_may_not_be_created(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.forbid("create", "namespaces")
    outcome = check("kube.namespace", profile)
    assert outcome.status == "fail" and "not allowed to create namespaces" in outcome.detail


def test_namespace_scoped_access_is_enough(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ai-gateway"}})
    fake_kube.forbid("get", "namespaces")
    outcome = check("kube.namespace", profile)
    assert outcome.status == "pass" and "cannot be read (RBAC)" in outcome.detail


# TLS secret


def tls_secret(tls: Tls, cert: bytes | None = None) -> dict:
    cert_pem, key_pem = tls.pem()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ai-gateway-tls", "namespace": "ai-gateway"},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert or cert_pem).decode(),
            "tls.key": base64.b64encode(key_pem).decode(),
        },
    }


def test_tls_secret_absent_or_matching(profile: Profile, fake_kube: FakeKube, tls: Tls) -> None:
    assert "does not exist yet" in check("kube.tls_secret", profile).detail
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ai-gateway"}})
    fake_kube.put(tls_secret(tls))
    outcome = check("kube.tls_secret", profile)
    assert (outcome.status, outcome.detail) == (
        "pass",
        "ai-gateway-tls exists and matches tls.cert and tls.key",
    )


def test_tls_secret_differing_from_the_files_warns(
    profile: Profile, fake_kube: FakeKube, tls: Tls
) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ai-gateway"}})
    fake_kube.put(tls_secret(tls, cert=b"an older certificate"))
    outcome = check("kube.tls_secret", profile)
    assert outcome.status == "warn" and "replaces it" in outcome.remedy
    # No key material in what the check says.
    assert "PRIVATE" not in outcome.detail + outcome.remedy


def test_every_helm_check_is_registered_for_helm_only(profile: Profile) -> None:
    from wizard.checks import select_checks

    runnable, _ = select_checks(profile)
    ids = {c.id for c in runnable}
    expected = {
        "helm.binary",
        "helm.version",
        "kube.context",
        "kube.api",
        "kube.nodes",
        "kube.ingress_class",
        "kube.namespace",
        "kube.tls_secret",
    }
    assert expected <= ids
    docker = profile.model_copy(update={"target": "docker"})
    assert not expected & {c.id for c in select_checks(docker)[0]}
