"""The exact commands a person would type to do a profile's install by hand.

Shown on the Review screen, printed by `aigw-wizard plan`, and saved as a script with
`--script`. Built from the same specs the installers use.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from wizard.core import spec
from wizard.core.profile import GATEWAY_CONTAINER_PORT, Profile
from wizard.tools import kube
from wizard.tools.helm import HelmCommands, HelmVersion, version_or_helm3

VALUES_FILE = "aigw-values.yaml"
_HEREDOC_END = "AIGW_VALUES"
# Flags that take no value, so the word after them is not theirs.
_FLAGS = {"-d", "--install", "--wait", "--wait-for-jobs", "--atomic", "--rollback-on-failure", "--force-update", "--all", "--fail", "--silent", "--show-error", "--retry-connrefused"}


@dataclass(frozen=True)
class PlanStep:
    """One command (`argv`) or one private file to write (`file_name` + `content`)."""

    comment: str
    argv: tuple[str, ...] = ()
    file_name: str = ""
    content: str = ""

    def render(self) -> str:
        if self.file_name:
            return (
                f"(umask 077 && cat > {shlex.quote(self.file_name)} <<'{_HEREDOC_END}'\n"
                f"{self.content}{_HEREDOC_END}\n)"
            )
        return _wrap(self.argv)


def _wrap(argv: tuple[str, ...]) -> str:
    """One option (with its value) per line, like the reference procedure."""
    if len(shlex.join(argv)) <= 76:
        return shlex.join(argv)
    lines: list[str] = []
    for word in map(shlex.quote, argv):
        previous = lines[-1] if lines else ""
        takes_value = previous.startswith("-") and " " not in previous and "=" not in previous
        if not lines or word.startswith("-"):
            lines.append(word)
        elif takes_value and previous not in _FLAGS:
            lines[-1] += " " + word
        elif previous.startswith("-"):
            lines.append(word)
        else:
            lines[-1] += " " + word  # still the command's own words
    return " \\\n    ".join(lines)


def docker_plan(profile: Profile, profile_name: str) -> list[PlanStep]:
    container = spec.container_spec(profile, profile_name)
    steps: list[PlanStep] = []
    if profile.gateway.image_archive:
        archive = str(profile.resolve(profile.gateway.image_archive))
        steps.append(
            PlanStep(f"Load {container.image} from the archive", ("docker", "load", "-i", archive))
        )
    else:
        steps.append(PlanStep(f"Pull {container.image}", ("docker", "pull", container.image)))
    run = ["docker", "run", "-d", "--name", container.name, "--restart", container.restart_policy]
    run += ["-p", f"{container.host_port}:{GATEWAY_CONTAINER_PORT}"]
    for key, value in container.environment.items():
        run += ["-e", f"{key}={value}"]
    if container.ca_bundle:
        run += ["-v", f"{container.ca_bundle}:{spec.CA_BUNDLE_MOUNT}:ro"]
    for key, value in container.labels.items():
        run += ["--label", f"{key}={value}"]
    run.append(container.image)
    steps.append(PlanStep(f"Start the gateway container {container.name}", tuple(run)))
    steps.append(
        PlanStep(
            "Wait until the gateway answers its health check",
            (
                "curl", "--fail", "--silent", "--show-error", "--retry", "30",
                "--retry-connrefused", "--retry-delay", "2",
                f"http://127.0.0.1:{container.host_port}/monitoring/healthz",
            ),
        )
    )
    return steps


def helm_plan(profile: Profile, version: HelmVersion | None = None) -> list[PlanStep]:
    """The Helm install by hand, with the installer's own helm command lines (one builder).

    `version` decides the rollback flag; by default the helm installed here (helm 3's
    flags when there is none: helm 4 still takes them).
    """
    helm = profile.helm
    commands = HelmCommands(profile, version or version_or_helm3())
    kubectl = ["kubectl"] + ([f"--context={helm.kube_context}"] if helm.kube_context else [])
    cert = str(profile.resolve(profile.tls.cert))
    key = str(profile.resolve(profile.tls.key))
    steps = [
        PlanStep(f"Create the {helm.namespace} namespace", (*kubectl, "create", "namespace", helm.namespace)),
        PlanStep(
            "Create the TLS secret for the ingress",
            (*kubectl, "-n", helm.namespace, "create", "secret", "tls", helm.tls_secret,
             f"--cert={cert}", f"--key={key}"),
        ),
    ]
    if profile.gateway.ca_bundle:
        bundle = str(profile.resolve(profile.gateway.ca_bundle))
        steps.append(
            PlanStep(
                "Create the CA bundle secret the gateway trusts",
                (*kubectl, "-n", helm.namespace, "create", "secret", "generic",
                 spec.ca_secret_name(profile), f"--from-file={spec.CA_SECRET_KEY}={bundle}"),
            )
        )
    if helm.repo_name:
        steps.append(PlanStep("Add the AI gateway Helm repository", tuple(commands.repo_add())))
        steps.append(PlanStep("Refresh the repository index", tuple(commands.repo_update())))
    import yaml  # only Helm plans need it

    values = yaml.safe_dump(spec.helm_values(profile), sort_keys=False)
    steps.append(PlanStep("Write the chart values (private file)", file_name=VALUES_FILE, content=values))
    steps.append(PlanStep("Install or upgrade the release", tuple(commands.upgrade(VALUES_FILE))))
    steps.append(
        PlanStep(
            "Wait for the gateway pods",
            (*kubectl, "wait", "pod", "-l", kube.release_selector(helm.release), "--for=condition=Ready",
             f"--namespace={helm.namespace}", f"--timeout={helm.timeout}"),
        )
    )
    steps.append(PlanStep("Remove the values file", ("rm", "-f", VALUES_FILE)))
    return steps


def build(profile: Profile, profile_name: str) -> list[PlanStep]:
    if profile.target == "helm":
        return helm_plan(profile)
    return docker_plan(profile, profile_name)


def render(steps: list[PlanStep]) -> str:
    return "\n\n".join(f"# {step.comment}\n{step.render()}" for step in steps) + "\n"


def script(steps: list[PlanStep], profile_name: str) -> str:
    header = (
        "#!/usr/bin/env bash\n"
        f"# AI gateway install for profile {profile_name}, written by aigw-wizard plan.\n"
        "set -euo pipefail\n\n"
    )
    return header + render(steps)


def write_script(target: Path, text: str) -> None:
    """Scripts name key paths and internal URLs: readable and runnable by the owner only."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    target.chmod(0o700)
