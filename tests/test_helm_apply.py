"""HelmInstaller.apply against the fake API server and the recording helm double."""

from __future__ import annotations

import base64
import json
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.helm_support import (
    HOST,
    Tls,
    apply,
    finished,
    helm_calls,
    lines,
    make_tls,
    result,
    saved_profile,
)
from tests.kube_fixtures import HelmDouble
from wizard.core import spec
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    INGRESS_ADDRESS_LABEL,
    LogLine,
    Result,
    StepFinished,
)
from wizard.core.profile import Profile
from wizard.install import VERIFY_COMMAND, WHERE_TO_SET_URL
from wizard.install.helm import HelmInstaller, flatten, write_values_file

NS = "ai-gateway"


def upgrade_call(helm_double: HelmDouble) -> dict[str, Any]:
    [call] = helm_calls(helm_double.calls(), "upgrade")
    return call


def leave_pending(helm_double: HelmDouble) -> None:
    """The state real helm leaves when killed during a first install: revision 1, pending-install."""
    release = {
        "name": "ai-gateway",
        "namespace": NS,
        "chart": "ai-gateway",
        "chart_version": "0.1.1",
        "app_version": "v1",
        "revision": 1,
        "status": "pending-install",
        "description": "Initial install underway",  # what real helm records for it
        "updated": 0,
        "values": {},
    }
    state = {"releases": {f"{NS}/ai-gateway": release}, "repos": {}}
    Path(f"{helm_double.log_path}.state").write_text(json.dumps(state))


def creates(fake_kube: FakeKube) -> list[str]:
    return [r.path for r in fake_kube.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


# the happy path


def test_apply_creates_namespace_and_secret_installs_and_reports_the_url(
    profile: Profile, fake_kube: FakeKube, helm_double: HelmDouble, tls: Tls
) -> None:
    events = apply(profile)
    outcome = result(events)
    assert outcome.ok, outcome.summary
    assert outcome.url(GATEWAY_URL_LABEL) == f"https://{HOST}"
    assert outcome.remedies[0] == WHERE_TO_SET_URL
    assert VERIFY_COMMAND in outcome.remedies[1]
    assert f"DNS: point {HOST}" in outcome.remedies[2]

    namespace = fake_kube.get("namespaces", None, NS)
    assert namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "aigw-wizard"
    secret = fake_kube.get("secrets", NS, "ai-gateway-tls")
    cert_pem, key_pem = tls.pem()
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == cert_pem
    assert base64.b64decode(secret["data"]["tls.key"]) == key_pem

    steps = finished(events)
    assert [
        steps[s].status
        for s in ("helm", "tls", "cluster", "namespace", "tls-secret", "repo", "release", "pods")
    ] == ["ok"] * 8
    assert steps["namespace"].detail == "created" and steps["tls-secret"].detail == "created"


def test_the_values_file_matches_the_reference_procedure_field_for_field(
    profile: Profile, helm_double: HelmDouble
) -> None:
    assert result(apply(profile)).ok
    [values_file] = upgrade_call(helm_double)["values"]
    flat = flatten(values_file["parsed"])
    # The reference's --set flags, one by one (docs: "Install the AI gateway", step 4).
    assert flat["image.tag"] == "self-hosted-v17.5.0-ee"
    assert flat["gitlab.url"] == "https://gitlab.example.com"
    assert flat["gitlab.apiUrl"] == "https://gitlab.example.com/api/v4/"
    assert flat["ingress.enabled"] == "true"
    assert flat["ingress.hosts[0].host"] == HOST
    assert flat["ingress.hosts[0].paths[0].path"] == "/"
    assert flat["ingress.hosts[0].paths[0].pathType"] == "ImplementationSpecific"
    assert flat["ingress.tls[0].secretName"] == "ai-gateway-tls"
    assert flat["ingress.tls[0].hosts[0]"] == HOST
    assert flat["ingress.className"] == "nginx"
    assert (
        values_file["parsed"]["authBypassExternal"] is False
    )  # explicit: some charts default to true
    assert "image.repository" not in flat  # the chart's default image is the official one
    assert values_file["parsed"] == spec.helm_values(profile)


def test_helm_is_called_like_the_plan_says(profile: Profile, helm_double: HelmDouble) -> None:
    assert result(apply(profile)).ok
    calls = helm_double.calls()
    repo = [call["argv"] for call in helm_calls(calls, "repo")]
    assert repo == [
        ["repo", "add", "--force-update", "ai-gateway", profile.helm.repo_url],
        ["repo", "update", "ai-gateway"],
    ]
    argv = upgrade_call(helm_double)["argv"]
    assert argv[:4] == ["upgrade", "ai-gateway", "ai-gateway/ai-gateway", "--install"]
    for flag in (
        "--version=0.1.1",
        "--namespace=ai-gateway",
        "--timeout=300s",
        "--wait",
        "--wait-for-jobs",
        "--atomic",
    ):
        assert flag in argv
    assert not any(
        arg.startswith("--kube-context") for arg in argv
    )  # the current context, like kubectl


def test_no_argv_carries_key_material_and_the_values_file_is_gone(
    profile: Profile, helm_double: HelmDouble, tls: Tls
) -> None:
    assert result(apply(profile)).ok
    cert_pem, key_pem = tls.pem()
    key_lines = [
        line for line in key_pem.decode().splitlines() if line and not line.startswith("-----")
    ]
    for call in helm_double.calls():
        joined = " ".join(call["argv"])
        assert "PRIVATE KEY" not in joined and not any(line in joined for line in key_lines)
        for values in call["values"]:
            assert "PRIVATE KEY" not in (values["text"] or "")
            assert not Path(values["path"]).exists()  # removed after the run
            assert not Path(values["path"]).parent.exists()


def test_the_values_file_is_private(tmp_path: Path) -> None:
    path = write_values_file({"a": 1}, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_events_say_nothing_of_the_key(profile: Profile, tls: Tls) -> None:
    events = apply(profile)
    _, key_pem = tls.pem()
    body = [line for line in key_pem.decode().splitlines() if not line.startswith("-----")]
    assert not any(b in repr(events) for b in body)


def test_pods_becoming_ready_are_shown_live(profile: Profile) -> None:
    events = apply(profile)
    kube_lines = lines(events, "kube")
    assert any("Pulling image" in line for line in kube_lines)
    assert any(line.endswith("Running, ready") for line in kube_lines)
    pod_logs = [e for e in events if isinstance(e, LogLine) and e.source.startswith("pod/")]
    assert any("Application startup complete" in e.text for e in pod_logs)
    # Live: the pod's progress is shown while helm still waits (the double pulls, then
    # waits 0.3 s for readiness before it prints the release), not collected afterwards.
    pulling_at = next(
        i for i, e in enumerate(events) if isinstance(e, LogLine) and "Pulling image" in e.text
    )
    helm_done_at = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, LogLine) and e.text.startswith("NAME: ai-gateway")
    )
    ready_at = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, LogLine) and e.text.endswith("Running, ready")
    )
    pods_done_at = next(
        i for i, e in enumerate(events) if isinstance(e, StepFinished) and e.step == "pods"
    )
    assert pulling_at < helm_done_at and ready_at < pods_done_at
    assert finished(events)["pods"].detail.startswith("ai-gateway-ai-gateway-")


def test_the_dns_reminder_names_the_ingress_address(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    fake_kube.put(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "ai-gateway", "namespace": NS},
            "spec": {"rules": [{"host": HOST}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
        }
    )
    outcome = result(apply(profile))
    assert outcome.remedies[2] == f"DNS: point {HOST} at the ingress address 203.0.113.7."
    # Every address the user must know travels in Result.urls, for the Done screen and the CLI.
    assert outcome.url(GATEWAY_URL_LABEL) == f"https://{HOST}"
    assert outcome.url(INGRESS_ADDRESS_LABEL) == "203.0.113.7"


# what is already there


def test_an_existing_namespace_is_left_alone(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.put(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NS, "labels": {"team": "ml"}},
        }
    )
    events = apply(profile)
    assert finished(events)["namespace"].detail == "exists; left as it is"
    assert fake_kube.get("namespaces", None, NS)["metadata"]["labels"] == {"team": "ml"}


def test_an_identical_secret_is_not_rewritten_a_different_one_is_replaced(
    profile: Profile, fake_kube: FakeKube, tmp_path: Path
) -> None:
    assert result(apply(profile)).ok
    before = len(creates(fake_kube))
    events = apply(profile)
    assert finished(events)["tls-secret"].status == "skipped"
    assert not [p for p in creates(fake_kube)[before:] if "/secrets" in p]

    renewed = make_tls(tmp_path / "renewed")
    events = apply(saved_profile(renewed))
    assert finished(events)["tls-secret"].detail.startswith("replaced")
    secret = fake_kube.get("secrets", NS, "ai-gateway-tls")
    assert base64.b64decode(secret["data"]["tls.crt"]) == renewed.cert.read_bytes()


def test_a_ca_bundle_becomes_a_mounted_secret(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    bundle = tls.cert.parent / "ca.pem"
    bundle.write_bytes(tls.cert.read_bytes())
    profile = saved_profile(tls, gateway={"hostname": HOST, "ca_bundle": str(bundle)})
    assert result(apply(profile)).ok
    secret = fake_kube.get("secrets", NS, "ai-gateway-ca-bundle")
    assert base64.b64decode(secret["data"][spec.CA_SECRET_KEY]) == bundle.read_bytes()
    values = upgrade_call(helm_double)["values"][0]["parsed"]
    assert values["volumes"] == [
        {"name": "ca-bundle", "secret": {"secretName": "ai-gateway-ca-bundle"}}
    ]
    env = {item["name"]: item["value"] for item in values["extraEnvironmentVariables"]}
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == spec.CA_BUNDLE_MOUNT


@pytest.mark.parametrize(
    "chart", ["./charts/ai-gateway-0.1.1.tgz", "oci://registry.example.com/charts/ai-gateway"]
)
def test_no_repository_is_added_for_local_or_oci_charts(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, chart: str
) -> None:
    profile = saved_profile(tls, helm={"chart": chart})
    assert result(apply(profile)).ok
    assert helm_calls(helm_double.calls(), "repo") == []
    argv = upgrade_call(helm_double)["argv"]
    if chart.endswith(".tgz"):
        assert argv[2] == str(profile.resolve(chart)) and not any(
            a.startswith("--version") for a in argv
        )
    else:
        assert argv[2] == chart and "--version=0.1.1" in argv


def test_a_named_context_is_passed_to_helm(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble
) -> None:
    assert result(apply(saved_profile(tls, helm={"kube_context": "fake"}))).ok
    assert "--kube-context=fake" in upgrade_call(helm_double)["argv"]


# faults


def test_helm_missing(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_kube: FakeKube
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok and "helm is not installed" in outcome.summary
    assert finished(events)["helm"].status == "failed"
    assert any("helm.sh" in remedy for remedy in outcome.remedies)  # in the Result, not a log line
    assert not any("helm.sh" in line for line in lines(events, "wizard"))
    assert creates(fake_kube) == []


def test_helm_older_than_3_11(
    profile: Profile, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    helm_double.set_scenario(version="v3.10.2")
    outcome = result(apply(profile))
    assert not outcome.ok and "helm v3.10.2 is too old" in outcome.summary
    assert creates(fake_kube) == []


def test_helm_failing_mid_way_shows_stderr_and_the_rollback(
    profile: Profile, helm_double: HelmDouble
) -> None:
    helm_double.set_scenario(upgrade_exit=1, upgrade_error="context deadline exceeded")
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok
    assert "context deadline exceeded" in outcome.summary
    assert "rolled the release back" in outcome.summary
    stderr = [
        e for e in events if isinstance(e, LogLine) and e.source == "helm" and e.level == "error"
    ]
    assert stderr and "uninstalled due to atomic being set" in stderr[-1].text
    assert finished(events)["release"].status == "failed"


@pytest.mark.parametrize("problem", ["missing", "mismatched", "directory", "not pem"])
def test_bad_cert_or_key_is_refused_before_anything_is_created(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube, problem: str
) -> None:
    key = {
        "missing": tls.key.parent / "absent.key",
        "mismatched": tls.other_key,
        "directory": tls.key.parent,
    }.get(problem)
    if problem == "not pem":
        key = tls.key.parent / "garbage.key"
        key.write_text("not a key\n")
    profile = saved_profile(tls, tls={"cert": str(tls.cert), "key": str(key)})
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok and outcome.summary.startswith("tls.key")
    assert finished(events)["tls"].status == "failed"
    assert creates(fake_kube) == []  # the fake API saw no create
    assert helm_calls(helm_double.calls(), "upgrade") == []


def test_namespace_present_but_forbidden(
    profile: Profile, fake_kube: FakeKube, helm_double: HelmDouble
) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    fake_kube.forbid("get", "namespaces")
    fake_kube.forbid("*", "secrets", NS)
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok
    assert "not allowed to get secrets in namespace ai-gateway" in outcome.summary
    assert finished(events)["namespace"].detail.startswith("exists (assumed")
    assert any(
        "RBAC permission to get secrets in namespace ai-gateway" in remedy
        for remedy in outcome.remedies
    )
    assert helm_calls(helm_double.calls(), "upgrade") == []


def test_crash_looping_pods_are_explained(profile: Profile, helm_double: HelmDouble) -> None:
    helm_double.set_scenario(crashloop=True, delay=1.0)  # helm "waits" a second before giving up
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok
    report = lines(events, "wizard")
    assert any("CrashLoopBackOff" in line and "3 restarts" in line for line in report)
    assert any("BackOff: Back-off restarting failed container" in line for line in report)
    assert any("Application startup failed" in line for line in report)  # the pod's last log lines


def test_cancel_during_the_wait_stops_helm_and_the_next_apply_recognises_it(
    profile: Profile, helm_double: HelmDouble
) -> None:
    helm_double.set_scenario(delay=60)  # helm would wait a minute for the release
    cancel = threading.Event()
    events = []
    for event in HelmInstaller(profile, "gw", cancel).apply():
        events.append(event)
        if isinstance(event, LogLine) and event.text.endswith("Running, ready"):
            cancel.set()  # Ctrl-C while helm still waits
    outcome = result(events)
    assert not outcome.ok and outcome.summary.startswith("Cancelled")
    assert finished(events)["release"].status == "cancelled"
    assert (
        "ai-gateway/ai-gateway" not in helm_double.state()["releases"]
    )  # helm never got to finish

    # Real helm, killed mid-install, leaves the release pending: the next apply says so.
    helm_double.set_scenario(delay=0)
    leave_pending(helm_double)
    events = apply(profile)
    assert any(
        "pending-install: an earlier run was interrupted" in line
        for line in lines(events, "wizard")
    )
    assert result(events).ok


def test_another_operation_in_progress_is_unblocked_then_retried(
    profile: Profile, helm_double: HelmDouble
) -> None:
    leave_pending(helm_double)
    helm_double.set_scenario(
        upgrade_exit=1,
        upgrade_error="UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
    )
    events = apply(profile)
    commands = [
        call["argv"][0]
        for call in helm_double.calls()
        if call["argv"][0] in ("upgrade", "uninstall", "rollback")
    ]
    assert commands == [
        "upgrade",
        "uninstall",
        "upgrade",
    ]  # a never-completed install is removed, then retried
    assert any("never-completed first install" in line for line in lines(events, "wizard"))
    assert not result(events).ok  # the double keeps failing: the second failure is reported


def test_results_are_the_last_event(profile: Profile) -> None:
    events = apply(profile)
    assert isinstance(events[-1], Result)


def test_no_labelled_pods_means_nothing_more_to_wait_for(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_KUBE_URL")  # the double installs without creating any pod
    events = apply(profile)
    assert result(events).ok
    assert finished(events)["pods"].status == "skipped"
    assert "app.kubernetes.io/instance=ai-gateway" in finished(events)["pods"].detail


def test_pods_we_may_not_watch_leave_the_install_to_helm(
    profile: Profile, fake_kube: FakeKube
) -> None:
    fake_kube.forbid("list", "pods", NS)
    fake_kube.forbid("watch", "pods", NS)
    events = apply(profile)
    assert result(events).ok
    assert any(
        "not allowed to list pods in namespace ai-gateway" in line
        for line in lines(events, "wizard")
    )
    assert finished(events)["pods"].status == "skipped"


def test_auth_bypass_is_set_explicitly_and_flagged_every_run(tls: Tls, kubeconfig: Path, helm_double: HelmDouble) -> None:
    profile = saved_profile(tls, gateway={"hostname": HOST, "auth_bypass": True})
    for _run in range(2):
        events = apply(profile)
        assert result(events).ok
        assert any(
            isinstance(event, LogLine) and event.level == "warning" and "auth_bypass is ON" in event.text
            for event in events
        )
    for call in helm_calls(helm_double.calls(), "upgrade"):
        assert call["values"][0]["parsed"]["authBypassExternal"] is True
