"""`plan` prints the reference procedure's commands, field for field, safely quoted."""

from __future__ import annotations

import shlex
import stat
import subprocess
from pathlib import Path

import yaml

from tests.factories import docker_profile, helm_profile
from wizard import cli
from wizard.core import store
from wizard.install import plan


def commands(text: str) -> list[list[str]]:
    """Parse rendered plan text back into argv lists, as a POSIX shell would."""
    parsed = []
    for block in text.split("\n\n"):
        body = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        if body.startswith("(umask"):
            continue
        parsed.append(shlex.split(body.replace("\\\n", " ")))
    return parsed


def test_docker_plan_matches_the_reference_docker_run() -> None:
    profile = docker_profile(gateway={"port": 8052, "extra_env": {"AIGW_LOGGING__LEVEL": "debug"}})
    pull, run, health = commands(plan.render(plan.build(profile, "prod")))
    image = "registry.gitlab.com/gitlab-org/modelops/applied-ml/code-suggestions/ai-assist/model-gateway:self-hosted-v17.5.0-ee"
    assert pull == ["docker", "pull", image]
    assert run[:2] == ["docker", "run"] and run[-1] == image
    pairs = list(zip(run, run[1:], strict=False))
    assert ("-p", "8052:5052") in pairs
    assert ("-e", "AIGW_GITLAB_URL=https://gitlab.example.com") in pairs
    assert ("-e", "AIGW_GITLAB_API_URL=https://gitlab.example.com/api/v4/") in pairs
    assert ("-e", "AIGW_LOGGING__LEVEL=debug") in pairs
    assert ("--name", "gitlab-aigw") in pairs and ("--restart", "unless-stopped") in pairs
    assert not any("AIGW_AUTH__BYPASS_EXTERNAL" in word for word in run)
    assert health[-1] == "http://127.0.0.1:8052/monitoring/healthz"


def test_docker_plan_from_archive_with_ca_bundle_and_bypass(tmp_path: Path) -> None:
    profile = docker_profile(
        gateway={"image_archive": "gw.tar", "ca_bundle": "/etc/ssl/corp-ca.pem", "auth_bypass": True}
    )
    profile._base_dir = tmp_path
    load, run, _health = commands(plan.render(plan.build(profile, "prod")))
    assert load == ["docker", "load", "-i", str(tmp_path / "gw.tar")]
    pairs = list(zip(run, run[1:], strict=False))
    assert ("-v", "/etc/ssl/corp-ca.pem:/etc/aigw/ca-bundle.pem:ro") in pairs
    assert ("-e", "SSL_CERT_FILE=/etc/aigw/ca-bundle.pem") in pairs
    assert ("-e", "REQUESTS_CA_BUNDLE=/etc/aigw/ca-bundle.pem") in pairs
    assert ("-e", "AIGW_AUTH__BYPASS_EXTERNAL=true") in pairs


REFERENCE_SET_VALUES = {
    # The reference procedure's `--set` flags, with its placeholders filled in.
    "image.tag": "self-hosted-v17.5.0-ee",
    "gitlab.url": "https://gitlab.example.com",
    "gitlab.apiUrl": "https://gitlab.example.com/api/v4/",
    "ingress.enabled": True,
    "ingress.hosts[0].host": "aigw.example.com",
    "ingress.hosts[0].paths[0].path": "/",
    "ingress.hosts[0].paths[0].pathType": "ImplementationSpecific",
    "ingress.tls[0].secretName": "ai-gateway-tls",
    "ingress.tls[0].hosts[0]": "aigw.example.com",
    "ingress.className": "nginx",
}


def lookup(values: dict, dotted: str) -> object:
    node: object = values
    for part in dotted.replace("]", "").replace("[", ".").split("."):
        node = node[int(part)] if part.isdigit() else node[part]  # type: ignore[index]
    return node


def test_helm_plan_matches_the_reference_procedure() -> None:
    profile = helm_profile()
    steps = plan.build(profile, "prod")
    text = plan.render(steps)
    argvs = commands(text)
    assert ["kubectl", "create", "namespace", "ai-gateway"] in argvs
    assert [
        "kubectl", "-n", "ai-gateway", "create", "secret", "tls", "ai-gateway-tls",
        "--cert=/etc/aigw/tls.crt", "--key=/etc/aigw/tls.key",
    ] in argvs
    # --force-update: a changed helm.repo_url re-points the repository instead of failing.
    assert ["helm", "repo", "add", "--force-update", "ai-gateway", profile.helm.repo_url] in argvs
    assert ["helm", "repo", "update", "ai-gateway"] in argvs
    install = next(argv for argv in argvs if argv[:2] == ["helm", "upgrade"])
    assert install[2:5] == ["ai-gateway", "ai-gateway/ai-gateway", "--install"]
    assert f"--values={plan.VALUES_FILE}" in install and "--version=0.1.1" in install
    for flag in ("--namespace=ai-gateway", "--timeout=300s", "--wait", "--wait-for-jobs", "--atomic"):
        assert flag in install
    assert not any(word.startswith("--set") for word in install)  # values go in a private file
    values_step = next(step for step in steps if step.file_name)
    values = yaml.safe_load(values_step.content)
    for dotted, expected in REFERENCE_SET_VALUES.items():
        assert lookup(values, dotted) == expected, dotted
    assert values["authBypassExternal"] is False
    assert "image" in values and "repository" not in values["image"]
    assert "umask 077" in text
    wait = next(argv for argv in argvs if argv[:3] == ["kubectl", "wait", "pod"])
    # The same pods apply and status look at: the chart's name and the release's instance label.
    selector = wait[wait.index("-l") + 1]
    assert selector == "app.kubernetes.io/name=ai-gateway,app.kubernetes.io/instance=ai-gateway"
    assert "--all" not in wait and "--for=condition=Ready" in wait and "--namespace=ai-gateway" in wait


def test_helm_plan_for_a_local_chart_and_private_registry_skips_the_repo(tmp_path: Path) -> None:
    profile = helm_profile(
        helm={"chart": "charts/ai-gateway-0.1.1.tgz", "kube_context": "prod-eu"},
        gateway={"image": "registry.corp.example:5000/mirror/model-gateway"},
    )
    profile._base_dir = tmp_path
    steps = plan.build(profile, "prod")
    argvs = commands(plan.render(steps))
    assert not any(argv[:2] == ["helm", "repo"] for argv in argvs)
    install = next(argv for argv in argvs if argv[:2] == ["helm", "upgrade"])
    assert install[3] == str(tmp_path / "charts/ai-gateway-0.1.1.tgz")
    assert not any(word.startswith("--version") for word in install)
    assert "--kube-context=prod-eu" in install
    assert all(argv[1] == "--context=prod-eu" for argv in argvs if argv[0] == "kubectl")
    values = yaml.safe_load(next(step for step in steps if step.file_name).content)
    assert values["image"]["repository"] == "registry.corp.example:5000/mirror/model-gateway"


def test_script_is_private_executable_and_runs_under_bash(config_dir: Path, tmp_path: Path) -> None:
    store.save(docker_profile(gateway={"extra_env": {"AIGW_NOTE": "it's $(not) run; `ever`"}}), "prod")
    script = tmp_path / "install.sh"
    assert cli.main(["plan", "prod", "--script", str(script)]) == 0
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    # The hostile value reaches docker as one literal argument: replace docker with echo and look.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    recorder = fake_bin / "docker"
    recorder.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> "$0.log"\n')
    recorder.chmod(0o755)
    (fake_bin / "curl").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "curl").chmod(0o755)
    subprocess.run(["bash", str(script)], env={"PATH": f"{fake_bin}:/usr/bin:/bin"}, check=True)
    logged = (fake_bin / "docker.log").read_text().splitlines()
    assert "AIGW_NOTE=it's $(not) run; `ever`" in logged
