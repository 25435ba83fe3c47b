"""The helm calls of the Helm engine: values file, repository, upgrade, recovery, release facts.

Every command line comes from `tools.helm.HelmCommands`, the builder `plan` prints from.
Helm's output is streamed as `LogLine`s (text from outside: shown, never interpreted
beyond its last line); one-shot queries return helm's stdout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wizard.core.events import Event, LogLevel, LogLine
from wizard.install.base import Drift
from wizard.install.helm.pods import PodWatcher
from wizard.install.runner import StepFailed, StepRunner
from wizard.tools import proc
from wizard.tools.helm import (
    HELM_QUERY_TIMEOUT_S,
    IN_PROGRESS,
    INSTALL_HELM,
    RELEASE_NOT_FOUND,
    HelmCommands,
    HelmError,
    error_text,
    last_line,
    rolled_back,
)

#: Helm undoes a release it is stopped in (--atomic/--rollback-on-failure); give it that long.
HELM_STOP_GRACE_S = 20.0
REPO_REMEDY = "check helm.repo_url, and that this host reaches it (proxy, firewall)"


@dataclass(frozen=True)
class ReleaseInfo:
    """The release's latest revision, from `helm history --max 1 -o json`."""

    status: str
    revision: int
    chart: str
    """name-version, as helm lists it ("ai-gateway-0.1.1")."""
    app_version: str


# --- values ------------------------------------------------------------------------------------


def write_values_file(values: dict[str, Any], folder: Path) -> Path:
    """The chart values as a 0600 file in `folder` (a private temporary directory)."""
    path = folder / "values.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(values, handle, sort_keys=False)
    return path


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested values as dotted paths, `--set` style: {"ingress.hosts[0].host": "aigw.example.com"}."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value if isinstance(value, str) else json.dumps(value)}


def values_drift(deployed: dict[str, Any], wanted: dict[str, Any]) -> list[Drift]:
    """Every dotted path where the release's user values differ from the profile's."""
    running, profile = flatten(deployed), flatten(wanted)
    unset = "(unset)"
    return [
        Drift(path, profile.get(path, unset), running.get(path, unset))
        for path in sorted(running.keys() | profile.keys())
        if running.get(path) != profile.get(path)
    ]


# --- one-shot queries --------------------------------------------------------------------------


def query(argv: list[str]) -> str | None:
    """A one-shot helm call's stdout; None when helm says the release does not exist."""
    try:
        done = proc.run_capture(argv, timeout=HELM_QUERY_TIMEOUT_S)
    except proc.ProcError as error:
        raise HelmError(str(error), INSTALL_HELM) from None
    if done.ok:
        return done.stdout
    if RELEASE_NOT_FOUND in done.stderr:
        return None
    raise HelmError(f"`{' '.join(argv[:2])}` failed: {error_text(done.stderr.splitlines())}")


def release_info(commands: HelmCommands) -> ReleaseInfo | None:
    """The release's latest revision, or None when there is no release."""
    out = query(commands.history())
    if out is None:
        return None
    try:
        rows = json.loads(out)
    except ValueError:
        raise HelmError(f"`helm history` printed no JSON: {last_line(out)}") from None
    latest = rows[-1] if isinstance(rows, list) and rows and isinstance(rows[-1], dict) else {}
    if not latest:
        return None
    return ReleaseInfo(
        status=str(latest.get("status") or "unknown"),
        revision=int(latest.get("revision") or 0),
        chart=str(latest.get("chart") or "unknown"),
        app_version=str(latest.get("app_version") or "unknown"),
    )


def deployed_values(commands: HelmCommands) -> dict[str, Any]:
    """The user values the release was installed with ({} when none)."""
    out = query(commands.get_values())
    return (json.loads(out or "null") or {}) if out is not None else {}


# --- streamed calls ----------------------------------------------------------------------------


def run_helm(
    runner: StepRunner, argv: list[str], watcher: PodWatcher | None = None
) -> Generator[Event, None, tuple[int, list[str]]]:
    """Run helm, each line a LogLine as it comes, the watcher's lines in between; (code, stderr)."""
    errors: list[str] = []
    run = proc.stream(argv, cancel=runner.cancel, grace=HELM_STOP_GRACE_S)
    while True:
        try:
            item = next(run)
        except StopIteration as done:
            code: int = done.value
            break
        except proc.ProgramNotFound as error:  # removed since the version check
            raise HelmError(str(error), INSTALL_HELM) from None
        if item is not None:
            stream, text = item
            level: LogLevel = "info"
            if stream == "stderr":
                errors.append(text)
                level = "error" if text.startswith("Error") else "warning"
            yield LogLine("helm", text, level)
        if watcher is not None:
            yield from watcher.drain()
    if watcher is not None:
        yield from watcher.drain()
    runner.check_cancel()
    return code, errors


def helm_ok(runner: StepRunner, argv: list[str], what: str, remedy: str = "") -> Generator[Event, None, None]:
    """Run helm; a failure ends the step with `what` and helm's own last word."""
    code, errors = yield from run_helm(runner, argv)
    if code != 0:
        raise HelmError(f"{what}: {error_text(errors)}", remedy)


def add_repo(runner: StepRunner, commands: HelmCommands) -> Generator[Event, None, None]:
    yield from helm_ok(runner, commands.repo_add(), "cannot add the chart repository", REPO_REMEDY)
    yield from helm_ok(runner, commands.repo_update(), "cannot update the chart repository", REPO_REMEDY)


def recover(runner: StepRunner, commands: HelmCommands, info: ReleaseInfo) -> Generator[Event, None, None]:
    """Unblock a release an interrupted run left pending, so the upgrade can be retried."""
    name = commands.profile.helm.release
    if info.revision > 1:
        yield LogLine("wizard", f"rolling {name} back to its last deployed revision first", "warning")
        argv = commands.rollback()
    else:
        yield LogLine("wizard", f"removing the never-completed first install of {name} first", "warning")
        argv = commands.uninstall()
    yield from helm_ok(runner, argv, f"cannot unblock release {name}")


def upgrade(
    runner: StepRunner,
    commands: HelmCommands,
    values: Path,
    watcher: PodWatcher,
    info: ReleaseInfo | None,
) -> Generator[Event, None, None]:
    """`helm upgrade --install`, once more after unblocking a pending release; StepFailed explains."""
    argv = commands.upgrade(str(values))
    code, errors = yield from run_helm(runner, argv, watcher)
    if code != 0 and IN_PROGRESS in " ".join(errors) and info is not None:
        yield from recover(runner, commands, info)
        code, errors = yield from run_helm(runner, argv, watcher)
    if code == 0:
        return
    reason = error_text(errors) if errors else "helm failed without a message"
    diagnosis = watcher.diagnosis()
    for line in diagnosis:
        yield LogLine("wizard", line, "error")
    failure = StepFailed(
        f"helm upgrade --install {commands.profile.helm.release} failed: {reason}",
        log_tail=watcher.log_tail(),
    )
    if rolled_back(reason):
        failure.outcome = f"Helm rolled the release back ({commands.version.rollback_flag})."
    raise failure

