"""What the screens ask of the engines, in one place: the install run, the run lock's holder,
the image tag in words, an installed profile's live state, the doctor, connect and TLS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.core.events import Event, Result
from wizard.core.profile import Profile

if TYPE_CHECKING:
    from wizard.checks.base import CheckResult
    from wizard.doctor.connect import ConnectPlan
    from wizard.doctor.findings import Finding
    from wizard.install import Installer
    from wizard.tools.gitlab import GitLabClient


RunChecks = Callable[[Profile, str], Iterator["CheckResult"]]
InstallerFor = Callable[[Profile, str, threading.Event], "Installer"]


def run_apply(profile: Profile, name: str, cancel: threading.Event, installer_for: InstallerFor | None = None) -> Iterator[Event]:
    """The install run: `wizard.install.run.run` (the one run the CLI's `apply` drives too),
    under the profile's run lock. A run already going on (this TUI, another one, the CLI)
    ends this one at once with a `Result` naming the holder; nothing else starts."""
    from wizard.core.lock import RunLocked, hold
    from wizard.install.run import run

    try:
        with hold(name, "apply (tui)"):
            yield from run(profile, name, "apply", cancel, installer_for=installer_for)
    except RunLocked as busy:
        yield Result(ok=False, summary=busy.message, remedies=tuple(busy.remedies), changed=False)


def run_holder(name: str) -> str | None:
    """Who is running an install of this profile right now, in words (None: nobody)."""
    from wizard.core.lock import holder

    found = holder(name)
    return found.describe() if found else None


@dataclass(frozen=True)
class Engines:
    """What a session runs: the real checks and installers unless tests or demos hand in others."""

    run_checks: RunChecks | None = None
    installer_for: InstallerFor | None = None
    resolve_tag: Callable[[Profile], str] | None = None
    """The image tag in words from the archive and local images (`resolve_tag_locally`)."""

    def tag(self, profile: Profile) -> str:
        return (self.resolve_tag or resolve_tag_locally)(profile)

    def checks(self, profile: Profile, name: str) -> Iterator[CheckResult]:
        if self.run_checks is not None:
            return self.run_checks(profile, name)
        from wizard.checks import run_checks

        return run_checks(profile, name)

    def apply(self, profile: Profile, name: str, cancel: threading.Event) -> Iterator[Event]:
        return run_apply(profile, name, cancel, self.installer_for)


def tag_words(profile: Profile) -> str:
    """The image tag the profile runs, in words, before anything is asked (shown at once)."""
    if profile.gateway.tag:
        return f"{profile.gateway.tag} (pinned)"
    release = profile.release
    if release is None:
        return "- (set the GitLab version or pin a tag)"
    from wizard.core.release import tag_for

    return f"automatic: newest self-hosted-v{release.version.line}.*-ee, else {tag_for(release.version)}"


def resolve_tag_locally(profile: Profile, timeout: float = 2.0, *, engine: bool = True) -> str:
    """The tag an empty `gateway.tag` resolves to from the archive or (with `engine`) the
    local engine's images, in words.

    The registry is not asked from the screens (the checks do): typing must not reach out.
    """
    import os

    from wizard.tools import docker as docker_tools
    from wizard.tools import tags

    if profile.gateway.tag or profile.release is None:
        return tag_words(profile)
    if not profile.gateway.image_archive and (not engine or profile.target == "helm"):
        return tag_words(profile)  # nothing local to look in (a cluster pulls for itself)
    engine_tags: list[str] | None = None
    if not profile.gateway.image_archive:
        try:
            with docker_tools.engine(os.environ, timeout) as client:
                engine_tags = tags.engine_lister(client)(profile.image_repository)
        except Exception:  # no engine here: the exact tag is the answer, the checks say why
            engine_tags = None
    found = tags.resolve_tag(profile, engine=(lambda _repo: engine_tags) if engine_tags is not None else None)
    where = {"archive": "in the archive", "engine": "newest among local images",
             "exact": "none among local images; the checks ask the registry"}
    return f"{found.tag} ({where.get(found.source, found.source)})" if found.tag else (found.warning or "-")


def live_state(profile: Profile, name: str, journal_word: str, *, timeout: float = 3.0,
               installer_for: InstallerFor | None = None) -> str:
    """A profile's state from its engine (`Installer.status()`): healthy, drift, failed,
    not installed; the journal's word when the engine does not answer within `timeout`."""
    if installer_for is None:
        from wizard.install import installer_for as default_installer_for

        installer_for = default_installer_for
    answer: list[Any] = []

    def ask() -> None:
        try:
            answer.append(installer_for(profile, name, threading.Event()).status())
        except Exception:  # an engine that cannot say leaves the journal's word
            pass

    worker = threading.Thread(target=ask, name=f"status-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not answer:
        return journal_word
    report = answer[0]
    if report.state.startswith("unknown"):
        return journal_word
    if not report.installed:
        return "not installed" if report.state == "not installed" else report.state
    if report.drift:
        return "drift"
    if report.healthy is False:
        return f"failed ({report.state})"
    if report.healthy:
        return "healthy"
    return f"installed ({report.state})"


def gitlab_side(profile: Profile) -> list[str]:
    """What is left to set on the GitLab side, as plain lines (the Done screen's list)."""
    from wizard.core.spec import gitlab_settings

    return gitlab_settings(profile).lines()


def doctor(profile: Profile, name: str) -> list[Finding]:
    """The doctor's findings on the installed gateway (blocking: run it in a worker)."""
    from wizard.doctor import run_doctor

    return run_doctor(profile, name)


def connect_open(profile: Profile, token: str) -> GitLabClient:
    """A GitLab client carrying the administrator's `token` (never saved; the caller closes
    the client and forgets the token). Raises WizardError with a plain reason."""
    from wizard.doctor.connect import open_client

    return open_client(profile, token)


def connect_read(client: GitLabClient, profile: Profile) -> ConnectPlan:
    """What GitLab holds now and what this gateway needs it to hold."""
    from wizard.doctor.connect import read_plan

    return read_plan(client, profile)


def connect_apply(client: GitLabClient, plan: ConnectPlan) -> list[str]:
    """Send the settings, read them back; returns the lines to show (problems first)."""
    from wizard.doctor.connect import ConnectPlan as Plan
    from wizard.doctor.connect import apply_plan, read_back_matches

    read_back = apply_plan(client, plan)
    problems = read_back_matches(plan, read_back)
    after = Plan(current=read_back, wanted=plan.wanted)
    lines = [f"GitLab did not take: {problem}" for problem in problems]
    lines += [f"{change.label}: {change.current}" for change in after.changes()]
    return lines


def tls_findings(profile: Profile) -> list[CheckResult]:
    """The TLS checks on the profile's certificate and key, now (local files only); [] until both are set."""
    if not (profile.tls.cert and profile.tls.key):
        return []
    from wizard.checks.tls import inspect_tls

    return inspect_tls(profile.resolve(profile.tls.cert), profile.resolve(profile.tls.key), profile.gateway.hostname)


def tls_gate(findings: list[CheckResult]) -> str | None:
    """Why the TLS step may not be passed with these findings, in plain words (None: it may)."""
    failed = [finding.title for finding in findings if finding.status == "fail"]
    if failed:
        return "The certificate or key has a problem (" + ", ".join(failed) + "): see the findings above"
    return None
