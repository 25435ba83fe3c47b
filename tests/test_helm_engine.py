"""The Helm engine on the one runner, and the facts it shares with `plan` and the checks.

Plan and installer build helm command lines with one builder; helm 3 and helm 4 get their
own rollback flag and have their failure texts recognised; status reads the chart from
`helm history`; pods are selected by name + instance everywhere; chart directories are
packaged for a bundle; a cancel between steps closes no step twice.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.fakekube import FakeKube
from tests.helm_support import (
    NAME,
    Tls,
    apply,
    finished,
    helm_calls,
    lines,
    result,
    run,
    saved_profile,
)
from tests.kube_fixtures import HelmDouble
from wizard.core.errors import WizardError
from wizard.core.events import (
    Result,
    StepFinished,
    StepStarted,
)
from wizard.core.profile import Profile, validate_field
from wizard.install import plan
from wizard.install.helm import HelmInstaller
from wizard.tools import helm as helm_tool
from wizard.tools import kube

NS = "ai-gateway"
HELM4 = "v4.1.4"


def plan_argvs(profile: Profile, version: helm_tool.HelmVersion) -> list[list[str]]:
    return [list(step.argv) for step in plan.helm_plan(profile, version) if step.argv[:1] == ("helm",)]


def ran(helm_double: HelmDouble) -> list[list[str]]:
    """The helm command lines apply ran that change something (no queries), values file named as in the plan."""
    argvs = []
    for call in helm_double.calls():
        argv = call["argv"]
        if argv[0] in ("repo", "upgrade"):
            argvs.append(
                ["helm"] + [f"--values={plan.VALUES_FILE}" if a.startswith("--values=") else a for a in argv]
            )
    return argvs


# one argv builder


@pytest.mark.parametrize("version", ["v3.14.0", HELM4])
def test_plan_prints_exactly_the_helm_command_lines_apply_runs(
    profile: Profile, helm_double: HelmDouble, version: str
) -> None:
    helm_double.set_scenario(version=version)
    assert result(apply(profile)).ok
    parsed = helm_tool.parse_version(version)
    assert parsed is not None
    assert ran(helm_double) == plan_argvs(profile, parsed)


def test_helm_4_gets_rollback_on_failure_and_prints_no_deprecation(
    profile: Profile, helm_double: HelmDouble
) -> None:
    helm_double.set_scenario(version=HELM4)
    events = apply(profile)
    assert result(events).ok
    [call] = helm_calls(helm_double.calls(), "upgrade")
    assert "--rollback-on-failure" in call["argv"] and "--atomic" not in call["argv"]
    assert not any("deprecated" in line for line in lines(events, "helm"))


def test_the_plan_follows_the_installed_helm(profile: Profile, helm_double: HelmDouble) -> None:
    helm_double.set_scenario(version=HELM4)
    [install] = [argv for argv in plan_argvs(profile, helm_tool.version_or_helm3()) if argv[1] == "upgrade"]
    assert "--rollback-on-failure" in install


def test_without_helm_the_plan_uses_helm_3_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-helm"))
    from tests.factories import helm_profile

    steps = plan.helm_plan(helm_profile())
    [install] = [step.argv for step in steps if step.argv[:2] == ("helm", "upgrade")]
    assert "--atomic" in install


@pytest.mark.parametrize(
    ("version", "flag", "wording"),
    [("v3.14.0", "--atomic", "due to atomic being set"), (HELM4, "--rollback-on-failure", "due to rollback-on-failure being set")],
)
def test_a_failed_install_is_reported_rolled_back_in_both_helm_versions(
    profile: Profile, helm_double: HelmDouble, version: str, flag: str, wording: str
) -> None:
    helm_double.set_scenario(version=version, upgrade_exit=1, upgrade_error="context deadline exceeded")
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok and wording in lines(events, "helm")[-1]
    assert f"Helm rolled the release back ({flag})." in outcome.summary
    assert finished(events)["release"].status == "failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("release ai-gateway failed, and has been uninstalled due to atomic being set: timed out", True),
        ("UPGRADE FAILED: release ai-gateway failed, and has been rolled back due to atomic being set: x", True),
        ("release ai-gateway failed, and has been uninstalled due to rollback-on-failure being set: x", True),
        ("UPGRADE FAILED: release ai-gateway failed, and has been rolled back due to rollback-on-failure being set: x", True),
        ("UPGRADE FAILED: timed out waiting for the condition", False),
        ("atomic operation failed", False),
    ],
)
def test_rolled_back_reads_both_helm_wordings(text: str, expected: bool) -> None:
    assert helm_tool.rolled_back(text) is expected


def test_helm_4s_error_spread_over_two_lines_is_read_whole() -> None:
    # As real helm 4.1.4 prints it when a Deployment does not become ready in time.
    stderr = [
        'level=WARN msg="upgrade failed" name=ai-gateway error="resource Deployment/x not ready"',
        "Error: UPGRADE FAILED: release ai-gateway failed, and has been rolled back due to "
        "rollback-on-failure being set: resource Deployment/ai-gateway/x not ready. status: InProgress, "
        "message: Available: 0/1",
        "context deadline exceeded",
    ]
    reason = helm_tool.error_text(stderr)
    assert reason.startswith("UPGRADE FAILED: release ai-gateway failed") and reason.endswith("context deadline exceeded")
    assert helm_tool.rolled_back(reason)
    assert helm_tool.error_text(["just one line"]) == "just one line"


def test_helm_versions_pick_their_rollback_flag() -> None:
    assert helm_tool.parse_version("v3.18.0+g74d1d09").rollback_flag == "--atomic"  # type: ignore[union-attr]
    assert helm_tool.parse_version("v4.1.4+gabcdef0").rollback_flag == "--rollback-on-failure"  # type: ignore[union-attr]
    assert helm_tool.parse_version("no version") is None


# status


def test_status_reads_chart_and_app_version_from_the_history(profile: Profile, helm_double: HelmDouble) -> None:
    assert result(apply(profile)).ok
    report = HelmInstaller(profile, NAME).status()
    assert report.details["chart"] == "ai-gateway-0.1.1" and report.details["app version"] == "v1.0.0"
    assert "?" not in report.details["chart"]
    assert any(call["argv"][:2] == ["history", "ai-gateway"] and "--max=1" in call["argv"] for call in helm_double.calls())


# pods: name + instance, in apply, status and plan alike


def test_pods_of_another_app_in_the_release_are_not_waited_for(profile: Profile, fake_kube: FakeKube) -> None:
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    stray = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "ai-gateway-redis-0",
            "namespace": NS,
            "labels": {"app.kubernetes.io/instance": "ai-gateway", "app.kubernetes.io/name": "redis"},
        },
        "spec": {"containers": [{"name": "redis", "image": "redis:7"}]},
        "status": {"phase": "Pending"},
    }
    fake_kube.put(stray)
    events = apply(profile)
    assert result(events).ok, result(events).summary
    assert "ai-gateway-redis-0" not in finished(events)["pods"].detail
    report = HelmInstaller(profile, NAME).status()
    assert report.details["pods"].startswith("1/1 ready") and report.healthy
    assert kube.release_selector("ai-gateway") in " ".join(plan.render(plan.helm_plan(profile)).split())


def test_pod_readiness_is_the_ready_condition() -> None:
    assert kube.pod_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert not kube.pod_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert not kube.pod_ready({"status": {"phase": "Running"}})


# the Result


def test_a_refusal_carries_its_remedy_in_the_result(profile: Profile, helm_double: HelmDouble) -> None:
    helm_double.set_scenario(version="v3.10.2")
    events = apply(profile)
    outcome = result(events)
    assert not outcome.ok and any("upgrade Helm" in remedy for remedy in outcome.remedies)
    assert not any("upgrade Helm" in line for line in lines(events))


# the runner


def test_a_cancel_between_steps_closes_no_finished_step_twice(profile: Profile, helm_double: HelmDouble) -> None:
    cancel = threading.Event()
    events = []
    for event in HelmInstaller(profile, NAME, cancel).apply():
        events.append(event)
        if isinstance(event, StepFinished) and event.step == "tls":
            cancel.set()  # Cancel pressed just as the TLS step ends
    closed = Counter(event.step for event in events if isinstance(event, StepFinished))
    assert closed == Counter({"helm": 1, "tls": 1})
    assert finished(events)["tls"].status == "ok"
    assert not [e for e in events if isinstance(e, StepStarted) and e.step == "cluster"]
    outcome = events[-1]
    assert isinstance(outcome, Result) and not outcome.ok and not outcome.changed
    assert outcome.summary.startswith("Cancelled")
    assert helm_calls(helm_double.calls(), "upgrade") == []


def test_every_step_that_starts_finishes_exactly_once(profile: Profile) -> None:
    events = apply(profile)
    started = Counter(e.step for e in events if isinstance(e, StepStarted))
    closed = Counter(e.step for e in events if isinstance(e, StepFinished))
    assert started == closed and set(closed.values()) == {1}
    assert sum(isinstance(e, Result) for e in events) == 1


def test_engine_errors_are_wizard_errors() -> None:
    assert issubclass(helm_tool.HelmError, WizardError)
    for error in (kube.KubeError, kube.NoKubeconfig, kube.Forbidden, kube.NotFound, kube.Unreachable, kube.ApiFailure):
        assert issubclass(error, WizardError)
    raised = kube.Unreachable("down", "start it")
    assert (raised.message, raised.remedies, raised.remedy) == ("down", ("start it",), "start it")


# bundle: a chart directory is packaged


def test_a_chart_directory_is_packaged_into_the_bundle(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = tmp_path / "charts" / "ai-gateway"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: ai-gateway\nversion: 0.2.0\n")
    profile = saved_profile(tls, helm={"chart": str(chart)})
    saved: list[Path] = []

    def no_docker(_runner: object, _ref: str, target: Path):  # the image half is the bundle tests' job
        yield from ()
        target.write_bytes(b"image")
        saved.append(target)

    monkeypatch.setattr("wizard.install.helm.save_image_pulling", no_docker)
    folder = tmp_path / "bundle"
    events = run(HelmInstaller(profile, NAME).bundle(folder))
    assert result(events).ok, result(events).summary
    assert finished(events)["chart"].detail == "ai-gateway-0.2.0.tgz"
    with tarfile.open(folder / "ai-gateway-0.2.0.tgz") as archive:
        assert "ai-gateway/Chart.yaml" in archive.getnames()
    [call] = helm_calls(helm_double.calls(), "package")
    assert call["argv"][1] == str(chart)


def test_a_directory_that_is_no_chart_is_refused_with_one_line(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, tmp_path: Path
) -> None:
    chart = tmp_path / "charts" / "empty"
    chart.mkdir(parents=True)
    profile = saved_profile(tls, helm={"chart": str(chart)})
    events = run(HelmInstaller(profile, NAME).bundle(tmp_path / "bundle"))
    outcome = result(events)
    assert not outcome.ok and outcome.summary.startswith("cannot package the chart directory")
    assert "Chart.yaml" in outcome.summary + " ".join(outcome.remedies)


# validation


@pytest.mark.parametrize("value", ["0s", "0m", "0h0m0s"])
def test_a_zero_timeout_is_refused(value: str) -> None:
    _updated, error = validate_field(Profile(), "helm.timeout", value)
    assert error is not None and "longer than 0s" in error


# layers


def test_the_kube_checks_do_not_load_the_installers() -> None:
    code = (
        "import sys, wizard.checks.kube, wizard.checks.tls;"
        "print(sorted(m for m in sys.modules if m.startswith('wizard.install')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
