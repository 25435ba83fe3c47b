"""The real CLI in a subprocess, as a user runs it: fake API via KUBECONFIG, the helm double on PATH."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakekube import FakeKube
from tests.helm_support import HOST, NAME, Tls, helm_calls, make_tls, saved_profile
from tests.kube_fixtures import HelmDouble, wait_until
from wizard.install.helm import flatten

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    tls = make_tls(tmp_path / "tls")
    saved_profile(tls)
    return tls


def wizard(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # The fixtures set KUBECONFIG, PATH, the double's variables and the config dir in os.environ.
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_apply_status_uninstall_as_a_user_would(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    done = wizard("apply", NAME, "--yes", "--skip-checks")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "==> Namespace ai-gateway" in out and "OK: created" in out
    assert "[kube] pod/ai-gateway-ai-gateway-" in out and "Running, ready" in out
    assert "Application startup complete" in out  # the gateway pod's own log, followed live
    assert f"Local AI Gateway URL: https://{HOST}" in out
    assert "gitlab-rake gitlab:duo:verify_self_hosted_setup" in out

    assert fake_kube.get("namespaces", None, "ai-gateway") is not None
    secret = fake_kube.get("secrets", "ai-gateway", "ai-gateway-tls")
    assert base64.b64decode(secret["data"]["tls.key"]) == tls.key.read_bytes()
    [upgrade] = helm_calls(helm_double.calls(), "upgrade")
    flat = flatten(upgrade["values"][0]["parsed"])
    assert flat["ingress.hosts[0].host"] == flat["ingress.tls[0].hosts[0]"] == HOST
    assert (
        flat["ingress.tls[0].secretName"] == "ai-gateway-tls"
        and flat["authBypassExternal"] == "false"
    )
    assert "PRIVATE KEY" not in out + done.stderr

    shown = wizard("status", NAME)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"{NAME}: deployed, healthy" in shown.stdout and "1/1 ready" in shown.stdout

    removed = wizard("uninstall", NAME, "--yes", "--purge")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "namespace ai-gateway deleted" in removed.stdout
    assert fake_kube.get("namespaces", None, "ai-gateway") is None


def test_a_failing_helm_gives_its_reason_and_exit_1(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble
) -> None:
    helm_double.set_scenario(upgrade_exit=1, upgrade_error="timed out waiting for the condition")
    done = wizard("apply", NAME, "--yes", "--skip-checks")
    assert done.returncode == 1
    assert (
        "[helm] Error: release ai-gateway failed, and has been uninstalled due to atomic being set"
        in done.stdout
    )
    assert "Failed: helm upgrade --install ai-gateway failed" in done.stdout
    assert "rolled the release back" in done.stdout


def test_the_helm_checks_run_from_the_check_verb(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    fake_kube.forbid("create", "namespaces")
    # Only the cluster-side checks: the others would look up example.com names.
    only = "helm.binary,helm.version,kube.context,kube.api,kube.nodes,kube.ingress_class,kube.namespace,kube.tls_secret"
    done = wizard("check", NAME, "--only", only)
    assert done.returncode == 1
    assert "not allowed to create namespaces" in done.stdout
    assert "helm v3.14.0" in done.stdout and "nginx (controller" in done.stdout


def test_ctrl_c_during_the_wait_stops_helm(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble
) -> None:
    helm_double.set_scenario(delay=60)
    child = subprocess.Popen(
        [sys.executable, "-m", "wizard", "apply", NAME, "--yes", "--skip-checks"],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line)
        if "Running, ready" in line:
            break
    child.send_signal(signal.SIGINT)
    rest, _ = child.communicate(timeout=30)
    output = "".join(seen) + rest
    assert child.returncode == 1
    assert "CANCELLED" in output and "Cancelled. Helm's --atomic rolls back" in output
    wait_until(lambda: "ai-gateway/ai-gateway" not in helm_double.state()["releases"])
