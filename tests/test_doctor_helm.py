"""`aigw-wizard doctor` on a Helm release, against the fake Kubernetes API: pods and their logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import helm_profile
from tests.fakekube.server import FakeKube
from wizard.cli import main
from wizard.core import store

NAME = "site"
NAMESPACE = "ai-gateway"
RELEASE = "ai-gateway"


@pytest.fixture
def saved(kubeconfig: Path, fake_kube: FakeKube) -> None:
    fake_kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    store.save(helm_profile(helm={"kube_context": "fake"}), NAME)


def _doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, object]]]:
    code = main(["doctor", NAME, "--json"])
    return code, {finding["id"]: finding for finding in json.loads(capsys.readouterr().out)["findings"]}


def test_no_pods_says_apply(saved: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = _doctor(capsys)
    assert code == 1 and found["pods.found"]["remedy"] == f"install it: `aigw-wizard apply {NAME}`"


def test_a_ready_pod_with_a_clean_log_passes_and_says_what_was_not_probed(saved: None, fake_kube: FakeKube, capsys: pytest.CaptureFixture[str]) -> None:
    fake_kube.set_pod_phase(NAMESPACE, "gw-1", "Running", True, labels={"app.kubernetes.io/instance": RELEASE})
    fake_kube.append_log(NAMESPACE, "gw-1", "INFO Uvicorn running on http://0.0.0.0:5052")
    code, found = _doctor(capsys)
    assert code == 0, found
    assert found["pod.running"]["status"] == "pass" and found["log.signatures"]["status"] == "pass"
    assert found["reach.pod"]["status"] == "warn" and "poetry run troubleshoot" in found["reach.pod"]["remedy"]


def test_an_empty_jwks_in_a_pod_log_points_at_the_gitlab_url(saved: None, fake_kube: FakeKube, capsys: pytest.CaptureFixture[str]) -> None:
    fake_kube.set_pod_phase(NAMESPACE, "gw-1", "Running", True, labels={"app.kubernetes.io/instance": RELEASE})
    fake_kube.append_log(NAMESPACE, "gw-1", "ERROR No keys founds in JWKS; are OIDC providers up?")
    code, found = _doctor(capsys)
    assert code == 1
    assert found["log.jwks-empty"]["field"] == "gitlab.url" and "pod gw-1" in str(found["log.jwks-empty"]["detail"])


def test_a_crashing_pod_fails(saved: None, fake_kube: FakeKube, capsys: pytest.CaptureFixture[str]) -> None:
    fake_kube.set_pod_phase(NAMESPACE, "gw-1", "Running", False, reason="CrashLoopBackOff", restarts=4, labels={"app.kubernetes.io/instance": RELEASE})
    code, found = _doctor(capsys)
    assert code == 1 and "CrashLoopBackOff" in str(found["pod.running"]["detail"])
