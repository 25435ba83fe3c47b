"""Helm and the gateway's JWT keys (18.0+): a Secret made from the key files, referenced by
`secretKeyRef`; re-apply without drift is a no-op; the plan names paths only; Done lists the
GitLab settings. Against the fake API server and the recording helm double."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.fakekube import FakeKube
from tests.helm_support import (
    HOST,
    NAME,
    Tls,
    apply,
    finished,
    helm_calls,
    result,
    saved_profile,
)
from tests.kube_fixtures import HelmDouble
from wizard.core import paths, spec
from wizard.core import release as releases
from wizard.core.events import GATEWAY_URL_LABEL, Event
from wizard.core.profile import Profile
from wizard.install import gitlab_side, plan
from wizard.install.gitlab_side import AGENT_PLATFORM_URL_LABEL
from wizard.install.helm import HelmInstaller
from wizard.tools import keys

NS = "ai-gateway"
CURRENT = {"version": "19.2.1"}


def current_profile(tls: Tls) -> Profile:
    return saved_profile(tls, gitlab={"url": "https://gitlab.example.com", "version": "19.2.1"})


def key_texts() -> list[str]:
    """The PEM bodies of the profile's key files (for scanning what else holds them)."""
    folder = paths.keys_dir(NAME)
    return [
        (folder / KEY).read_text().split("-----")[2].strip().splitlines()[1]
        for KEY in releases.KEY_FILE_NAMES.values()
    ]


def text_of(events: list[Event]) -> str:
    return "\n".join(repr(event) for event in events)


def test_apply_makes_the_keys_secret_and_the_values_only_reference_it(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    profile = current_profile(tls)
    events = apply(profile)
    assert result(events).ok, result(events).summary
    assert finished(events)["jwt-secret"].status == "ok"

    secret = fake_kube.get("secrets", NS, spec.jwt_secret_name(profile))
    assert secret is not None and secret["type"] == "Opaque"
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "aigw-wizard"
    folder = paths.keys_dir(NAME)
    assert {name: base64.b64decode(value) for name, value in secret["data"].items()} == {
        name: (folder / name).read_bytes() for name in releases.KEY_FILE_NAMES.values()
    }

    # helm got the values file with references only; no key body in it, nor in any event.
    [call] = helm_calls(helm_double.calls(), "upgrade")
    [values_file] = call["values"]  # the file as helm read it: its text and its parse
    values_text = values_file["text"]
    env = {entry["name"]: entry for entry in values_file["parsed"]["extraEnvironmentVariables"]}
    for variable in releases.ALL_KEY_VARIABLES:
        assert env[variable] == {
            "name": variable,
            "valueFrom": {
                "secretKeyRef": {"name": spec.jwt_secret_name(profile), "key": releases.KEY_FILE_NAMES[variable]}
            },
        }
    for body in key_texts():
        assert body not in values_text and body not in text_of(events)


def test_a_reapply_without_drift_is_a_noop_and_a_rotation_replaces_the_secret(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    profile = current_profile(tls)
    assert result(apply(profile)).ok
    before = fake_kube.get("secrets", NS, spec.jwt_secret_name(profile))

    again = apply(profile)
    outcome = result(again)
    assert outcome.ok and not outcome.changed and outcome.summary.startswith("Already up to date")
    steps = finished(again)
    assert steps["jwt-secret"].status == "skipped" and steps["release"].status == "skipped"
    assert "already up to date" in steps["release"].detail
    assert len(helm_calls(helm_double.calls(), "upgrade")) == 1  # no second helm revision

    keys.rotate_keys(NAME)
    rotated = apply(profile)
    assert result(rotated).ok and result(rotated).changed
    assert "replaced" in finished(rotated)["jwt-secret"].detail
    after = fake_kube.get("secrets", NS, spec.jwt_secret_name(profile))
    assert after is not None and before is not None and after["data"] != before["data"]


def test_a_17x_profile_makes_no_keys_secret(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    profile = saved_profile(tls)  # GitLab 17.5: no keys
    events = apply(profile)
    assert result(events).ok and "jwt-secret" not in finished(events)
    assert fake_kube.get("secrets", NS, spec.jwt_secret_name(profile)) is None
    assert not paths.keys_dir(NAME).exists()


def test_done_lists_both_gitlab_settings_and_ends_with_verify_or_connect(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble
) -> None:
    outcome = result(apply(current_profile(tls)))
    assert outcome.url(GATEWAY_URL_LABEL) == f"https://{HOST}"
    assert outcome.url(AGENT_PLATFORM_URL_LABEL) == f"{HOST}:443"  # no scheme
    assert any("grpc-tls-proxy" in remedy for remedy in outcome.remedies)
    assert outcome.remedies[-1].endswith(f"aigw-wizard connect {NAME}")


def test_status_exits_by_the_rule_drift_and_not_installed_are_not_all_well(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble
) -> None:
    profile = current_profile(tls)
    assert not HelmInstaller(profile, NAME).status().ok  # not installed
    assert result(apply(profile)).ok
    healthy = HelmInstaller(profile, NAME).status()
    assert healthy.ok
    gitlab_side.annotate_status(healthy, profile, NAME, None)  # what `status` adds for both engines
    assert healthy.details[AGENT_PLATFORM_URL_LABEL] == f"{HOST}:443"
    assert healthy.details[GATEWAY_URL_LABEL] == f"https://{HOST}"
    changed = saved_profile(
        tls, gitlab={"url": "https://gitlab.example.com", "version": "19.2.1"}, helm={"chart_version": "0.8.9"}
    )
    report = HelmInstaller(changed, NAME).status()
    assert not report.ok
    assert [(d.field, d.profile) for d in report.drift] == [("helm.chart_version", "0.8.9")]


def test_plan_creates_the_keys_secret_from_paths_only(tls: Tls) -> None:
    profile = current_profile(tls)
    keys.ensure_keys(NAME)
    steps = plan.build(profile, NAME)
    [line] = [step for step in steps if "generic" in step.argv and spec.jwt_secret_name(profile) in step.argv]
    folder = paths.keys_dir(NAME)
    assert [arg for arg in line.argv if arg.startswith("--from-file=")] == [
        f"--from-file={releases.KEY_FILE_NAMES[v]}={folder / releases.KEY_FILE_NAMES[v]}"
        for v in releases.ALL_KEY_VARIABLES
    ]
    rendered = plan.render(steps)
    for body in key_texts():
        assert body not in rendered


def test_an_interrupted_release_is_not_all_well(
    tls: Tls, kubeconfig: Path, helm_double: HelmDouble
) -> None:
    from tests.test_helm_apply import leave_pending

    profile = current_profile(tls)
    leave_pending(helm_double)
    report = HelmInstaller(profile, NAME).status()
    assert report.state == "pending-install" and report.healthy is False and not report.ok
    assert "interrupted" in report.details["what to do"]
