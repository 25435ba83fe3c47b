"""The wizard's state between screens, free of any UI: which steps exist, where to resume,
and setting fields with the profile model's own validation, saved the moment they are valid.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.core import files, paths, store
from wizard.core.events import Event, Result
from wizard.core.profile import Profile, Target, problems, validate_field

if TYPE_CHECKING:
    from wizard.checks.base import CheckResult
    from wizard.doctor.connect import ConnectPlan
    from wizard.doctor.findings import Finding
    from wizard.install import Installer
    from wizard.tools.gitlab import GitLabClient


ALL_TARGETS: tuple[Target, ...] = ("docker", "helm")


@dataclass(frozen=True)
class Step:
    """One step of the wizard: the one registry the session and the app both derive from."""

    id: str
    title: str
    screen: str
    """The screen that shows it, as "module:Class" (named, not imported: no UI loads here)."""
    fields: tuple[str, ...] = ()
    """Profile fields the step edits; a form step is complete when none has a problem."""
    targets: tuple[Target, ...] = ALL_TARGETS
    form: bool = False
    """Passed by filling it in (a form), rather than by running it (checks, install)."""
    short: str = ""
    """The step bar's abbreviation when the terminal is narrow."""


STEPS: tuple[Step, ...] = (
    Step("target", "Target", "screens.target:TargetScreen", ("target",), form=True, short="Tgt"),
    Step("gitlab", "GitLab", "screens.gitlab:GitLabScreen",
         ("gitlab.url", "gitlab.api_url", "gitlab.version", "gitlab.offline_license"), form=True, short="GL"),
    Step(
        "gateway",
        "Gateway",
        "screens.gateway:GatewayScreen",
        (
            "gateway.hostname", "gateway.port", "gateway.agent_platform_port", "gateway.image",
            "gateway.variant", "gateway.tag", "gateway.image_archive", "gateway.ca_bundle",
            "gateway.auth_bypass", "gateway.extra_env", "docker.container_name",
            "docker.restart_policy", "docker.extra_hosts",
        ),
        form=True,
        short="Gw",
    ),
    Step("tls", "TLS", "screens.tls:TLSScreen", ("tls.cert", "tls.key"), form=True, short="TLS"),
    Step(
        "helm",
        "Helm",
        "screens.helm:HelmScreen",
        (
            "helm.kube_context", "helm.namespace", "helm.release", "helm.chart",
            "helm.chart_version", "helm.repo_url", "helm.ingress_class", "helm.tls_secret",
            "helm.timeout",
        ),
        targets=("helm",),
        form=True,
        short="Helm",
    ),
    Step("preflight", "Checks", "screens.preflight:PreflightScreen", short="Chk"),
    Step("review", "Review", "screens.review:ReviewScreen", short="Rev"),
    Step("install", "Install", "screens.install:InstallScreen", short="Inst"),
    Step("done", "Done", "screens.done:DoneScreen", short="Done"),
)
FORM_STEPS = tuple(step.id for step in STEPS if step.form)
_BY_ID = {step.id: step for step in STEPS}


def get_step(step_id: str) -> Step:
    """The step with this id (KeyError for an unknown one)."""
    return _BY_ID[step_id]


def steps_for(target: Target | None) -> list[Step]:
    return [step for step in STEPS if target in step.targets or (target is None and step.targets == ALL_TARGETS)]


def step_of_field(field: str) -> str | None:
    for step in STEPS:
        if field in step.fields or any(field.startswith(name + ".") for name in step.fields):
            return step.id
    return None


def _to_int(raw: Any) -> int | str:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return raw


def parse_pairs(text: str, *, what: str = "entry") -> dict[str, str] | str:
    """NAME=VALUE lines as a table, or a plain-words error naming the first bad line.

    Blank lines and `#` comments are skipped; a later line for the same name wins.
    """
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            return f"line {number}: write {what} as NAME=VALUE"
        pairs[name.strip()] = value.strip()
    return pairs


def _to_env(raw: Any) -> Any:
    # Names are checked by the model (validators.env_name: no managed or secret-bearing names).
    return parse_pairs(raw, what="each variable") if isinstance(raw, str) else raw


def _to_hosts(raw: Any) -> Any:
    return parse_pairs(raw, what="each host") if isinstance(raw, str) else raw


_CONVERTERS = {
    "gateway.port": _to_int,
    "gateway.agent_platform_port": _to_int,
    "gateway.extra_env": _to_env,
    "docker.extra_hosts": _to_hosts,
}
_TEXT_FIELDS = ("gateway.extra_env", "docker.extra_hosts")
"""Table fields whose converter returns a plain-words error as a string."""

def field_text(profile: Profile, field: str) -> str:
    """A dotted field's value as its form field shows it (tables as NAME=VALUE lines)."""
    value: Any = profile
    for part in field.split("."):
        value = getattr(value, part, "")
    if isinstance(value, dict):
        return "\n".join(f"{key}={item}" for key, item in value.items())
    if value is None:
        return ""
    return str(value)


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


class WizardSession:
    """One profile being edited: every valid change is written to disk at once."""

    def __init__(self, name: str, path: Path, profile: Profile, engines: Engines | None = None,
                 revision: store.Revision | None = None) -> None:
        self.name = name
        self.path = path
        self.profile = profile
        self.revision = revision
        """The file as the session last read or wrote it (`store.update_field` compares it)."""
        self.reloaded = False
        self.engines = engines or Engines()
        self.result: Result | None = None
        """How the last install of this session ended (the Done screen shows its addresses)."""

    @classmethod
    def open(cls, ref: str, engines: Engines | None = None) -> WizardSession:
        """Load a saved profile (raises store.ProfileError with a one-line reason)."""
        path = store.resolve(ref)
        profile, revision = store.load_with_revision(path)
        return cls(store.name_of(path), path, profile, engines, revision)

    @classmethod
    def create(cls, name: str, engines: Engines | None = None) -> WizardSession:
        path = store.create(name)
        profile, revision = store.load_with_revision(path)
        session = cls(name, path, profile, engines, revision)
        session._write_confirmed(set())  # from now on, resume where the user left off
        return session

    # Which screens the user has confirmed with Next: a valid prefix typed before a dropped
    # connection makes a step complete, but the user has not finished it yet.

    @property
    def _progress_file(self) -> Path:
        digest = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:10]
        return paths.state_dir() / f"{self.name}-{digest}.wizard.json"

    def confirmed_steps(self) -> set[str] | None:
        """None when the profile was not started in the wizard (e.g. written by hand)."""
        try:
            return set(json.loads(self._progress_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def confirm(self, step_id: str) -> None:
        confirmed = self.confirmed_steps()
        if confirmed is not None and step_id not in confirmed:
            self._write_confirmed(confirmed | {step_id})

    def _write_confirmed(self, steps: set[str]) -> None:
        target = self._progress_file
        try:
            paths.ensure_private_dir(target.parent)
            files.write_private(target, json.dumps(sorted(steps)))
        except OSError:
            pass  # losing the resume hint is harmless: completeness still decides

    def set(self, field: str, raw: Any) -> str | None:
        """Validate and, when valid and changed, save this one field on top of the file as it
        is on disk now; returns the plain-words error or None.

        When the file changed on disk since the session read it (a hand edit, the CLI), the
        session reloads it first (`reloaded` says so until the screen takes the news with
        `take_reloaded`), then applies this value on top of what is there now.
        """
        value = _CONVERTERS.get(field, lambda x: x)(raw)
        if field in ("gateway.port", "gateway.agent_platform_port") and isinstance(value, str):
            return "must be a whole number from 1 to 65535"
        if field in _TEXT_FIELDS and isinstance(value, str):
            return value
        updated, error = validate_field(self.profile, field, value)
        if updated is None:
            return error
        try:
            try:
                self.profile, self.revision = store.update_field(self.path, field, value, self.revision)
            except store.ProfileChanged as changed:
                if changed.profile is None or changed.revision is None:
                    return "the profile changed on disk and no longer loads: fix the file, then reopen it"
                self.profile, self.revision = changed.profile, changed.revision
                self.reloaded = True
                updated, error = validate_field(self.profile, field, value)
                if updated is None:
                    return error
                self.profile, self.revision = store.update_field(self.path, field, value, self.revision)
        except store.ProfileChanged:
            return "the profile keeps changing on disk; try again"
        except (store.ProfileError, OSError) as failure:
            return f"could not save the profile: {failure}"
        return None

    def take_reloaded(self) -> bool:
        """True once after `set` reloaded the profile from disk (the screen refreshes its fields)."""
        reloaded, self.reloaded = self.reloaded, False
        return reloaded

    def checks(self) -> Iterator[CheckResult]:
        """The preflight checks on the profile as it is now, one result as each finishes."""
        return self.engines.checks(self.profile, self.name)

    def apply(self, cancel: threading.Event) -> Iterator[Event]:
        """Install (or bring in line) the profile as it is now; the last event is the `Result`."""
        return self.engines.apply(self.profile, self.name, cancel)

    def step_problems(self, step_id: str) -> list[str]:
        fields = get_step(step_id).fields
        return [str(problem) for problem in problems(self.profile) if problem.field in fields]

    def step_complete(self, step_id: str) -> bool:
        if step_id not in FORM_STEPS:
            return False
        if step_id == "target":
            return self.profile.target is not None
        return not self.step_problems(step_id)

    def completed_steps(self) -> set[str]:
        """Form steps filled in (and confirmed, for wizard-made profiles), in order: a later
        step never counts before an earlier one."""
        confirmed = self.confirmed_steps()
        done: set[str] = set()
        for step in steps_for(self.profile.target):
            if step.id not in FORM_STEPS or not self.step_complete(step.id):
                break
            if confirmed is not None and step.id not in confirmed:
                break
            done.add(step.id)
        return done

    def resume_step(self) -> str:
        """The first screen not yet complete, or the checks when the form is complete."""
        done = self.completed_steps()
        for step in steps_for(self.profile.target):
            if step.id in FORM_STEPS and step.id not in done:
                return step.id
        return "preflight"

    def next_step(self, current: str) -> str | None:
        order = [step.id for step in steps_for(self.profile.target)]
        index = order.index(current)
        return order[index + 1] if index + 1 < len(order) else None

    def previous_step(self, current: str) -> str | None:
        order = [step.id for step in steps_for(self.profile.target)]
        index = order.index(current)
        return order[index - 1] if index > 0 else None
