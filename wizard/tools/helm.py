"""The user's helm binary: which version it is, and every helm command line the wizard uses.

One place per fact: `installed_version()` is what both the `helm.version` check and the
installer ask; `HelmCommands` builds every helm argv, for the installer to run and for
`plan` to print, so the two can never disagree on a flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wizard.core.errors import WizardError
from wizard.core.profile import Profile
from wizard.tools import proc

MIN_HELM = (3, 11, 0)
#: Helm 4 renamed --atomic to --rollback-on-failure (the old name prints a deprecation warning).
ROLLBACK_ON_FAILURE_SINCE = (4, 0, 0)
HELM_INSTALL_DOCS = "https://helm.sh/docs/intro/install/"
INSTALL_HELM = f"install Helm 3.11 or later: {HELM_INSTALL_DOCS}"
#: One-shot helm calls (version, status, get values) answer in seconds unless the cluster is gone.
HELM_QUERY_TIMEOUT_S = 60.0
#: What `helm status/history` print on stderr when the release does not exist (not "context … not found").
RELEASE_NOT_FOUND = "release: not found"
IN_PROGRESS = "another operation (install/upgrade/rollback) is in progress"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
# Helm 3: "…has been uninstalled due to atomic being set: …", helm 4: "…due to
# rollback-on-failure being set: …"; a failed rollback still says what it tried.
_ROLLED_BACK = re.compile(
    r"due to (?:atomic|rollback-on-failure) being set|has been (?:rolled back|uninstalled)"
)


class HelmError(WizardError):
    """A helm call that failed, in plain words, with what to do about it."""

    def __init__(self, message: str, remedy: str = "", field: str | None = None) -> None:
        super().__init__(message, (remedy,), field)


@dataclass(frozen=True, order=True)
class HelmVersion:
    """A helm release number; `text` is how helm wrote it ("v3.14.0")."""

    major: int
    minor: int
    patch: int
    text: str = field(default="", compare=False)

    @property
    def number(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def rollback_flag(self) -> str:
        """The flag that makes helm undo a failed install or upgrade."""
        return "--rollback-on-failure" if self.number >= ROLLBACK_ON_FAILURE_SINCE else "--atomic"


#: What the plan assumes when no helm is installed here: helm 3's flags, which helm 4 still accepts.
HELM3 = HelmVersion(*MIN_HELM, text="v3.11.0")


def parse_version(text: str) -> HelmVersion | None:
    match = _VERSION.search(text)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return HelmVersion(major, minor, patch, match.group(0))


def last_line(text: str) -> str:
    """Helm's last word on stderr, without its "Error: " prefix."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("Error: ") if lines else "(no output)"


def error_text(stderr: list[str]) -> str:
    """Helm's error as one line: from its last "Error: " line on (helm spreads a wrapped
    error over several lines, e.g. "…being set: … Available: 0/1" then "context deadline exceeded")."""
    lines = [line.strip() for line in stderr if line.strip()]
    starts = [index for index, line in enumerate(lines) if line.startswith("Error: ")]
    if not starts:
        return last_line("\n".join(lines))
    return " ".join(lines[starts[-1] :]).removeprefix("Error: ")


def installed_version(timeout: float = HELM_QUERY_TIMEOUT_S) -> HelmVersion:
    """`helm version` of the helm on PATH; HelmError when it is missing, broken or too old."""
    try:
        done = proc.run_capture(["helm", "version", "--short"], timeout=timeout)
    except proc.ProgramNotFound:
        raise HelmError("helm is not installed (not found on PATH)", INSTALL_HELM) from None
    except proc.ProcError as error:
        raise HelmError(str(error), "check that `helm version` works in a terminal") from None
    version = parse_version(done.stdout) if done.ok else None
    if version is None:
        raise HelmError(
            f"`helm version` failed: {last_line(done.stderr or done.stdout)}",
            "check your helm installation",
        )
    if version.number < MIN_HELM:
        raise HelmError(
            f"helm {version.text} is too old: 3.11.0 or later is needed",
            f"upgrade Helm: {HELM_INSTALL_DOCS}",
        )
    return version


def helm_version() -> str:
    """The installed helm's version, e.g. "v3.14.0"; HelmError when missing or too old."""
    return installed_version().text


#: `plan` runs on the Review screen: a hung helm must not hold it for long.
PLAN_VERSION_TIMEOUT_S = 5.0


def version_or_helm3() -> HelmVersion:
    """The installed helm's version when there is a usable one, else helm 3 (for `plan`)."""
    try:
        return installed_version(PLAN_VERSION_TIMEOUT_S)
    except HelmError:
        return HELM3


def rolled_back(reason: str) -> bool:
    """Whether helm's failure text says it undid the release (helm 3 and helm 4 wording)."""
    return bool(_ROLLED_BACK.search(reason))


@dataclass(frozen=True)
class HelmCommands:
    """Every helm command line for one profile's release, as argv lists (without secrets).

    `plan` prints these and the installer runs them: the same builder, the same flags.
    """

    profile: Profile
    version: HelmVersion = HELM3

    @property
    def chart(self) -> str:
        """The chart as helm takes it: a local chart as an absolute path."""
        helm = self.profile.helm
        return str(self.profile.resolve(helm.chart)) if helm.local_chart else helm.chart

    @property
    def target(self) -> list[str]:
        """Where every release command points: namespace, and the profile's context if it names one."""
        helm = self.profile.helm
        flags = [f"--namespace={helm.namespace}"]
        if helm.kube_context:
            flags.append(f"--kube-context={helm.kube_context}")
        return flags

    def repo_add(self) -> list[str]:
        """Adds the repository, or re-points it when helm.repo_url changed since the last run."""
        helm = self.profile.helm
        return ["helm", "repo", "add", "--force-update", proc.positional(helm.repo_name), helm.repo_url]

    def repo_update(self) -> list[str]:
        return ["helm", "repo", "update", proc.positional(self.profile.helm.repo_name)]

    def upgrade(self, values_file: str) -> list[str]:
        """`helm upgrade --install`, waiting for the release and undoing it when it fails."""
        helm = self.profile.helm
        argv = ["helm", "upgrade", proc.positional(helm.release), proc.positional(self.chart), "--install"]
        if not helm.local_chart:
            argv.append(f"--version={helm.chart_version}")
        argv += [*self.target, f"--values={values_file}", f"--timeout={helm.timeout}"]
        argv += ["--wait", "--wait-for-jobs", self.version.rollback_flag]
        return argv

    def _on_release(self, verb: str) -> list[str]:
        helm = self.profile.helm
        return ["helm", verb, proc.positional(helm.release), *self.target, "--wait", f"--timeout={helm.timeout}"]

    def rollback(self) -> list[str]:
        """Back to the last deployed revision, waiting for the cluster to follow."""
        return self._on_release("rollback")

    def uninstall(self) -> list[str]:
        return self._on_release("uninstall")

    def status(self) -> list[str]:
        return ["helm", "status", proc.positional(self.profile.helm.release), *self.target, "--output=json"]

    def history(self) -> list[str]:
        """The latest revision with its chart and app version (`helm status -o json` has neither)."""
        release = proc.positional(self.profile.helm.release)
        return ["helm", "history", release, *self.target, "--max=1", "--output=json"]

    def get_values(self) -> list[str]:
        return ["helm", "get", "values", proc.positional(self.profile.helm.release), *self.target, "--output=json"]

    def list(self) -> list[str]:
        return ["helm", "list", *self.target, "--all", "--output=json"]

    def pull(self, destination: str) -> list[str]:
        helm = self.profile.helm
        return ["helm", "pull", proc.positional(helm.chart), f"--version={helm.chart_version}", f"--destination={destination}"]

    def package(self, chart_dir: str, destination: str) -> list[str]:
        """A chart directory as the .tgz a bundle carries."""
        return ["helm", "package", proc.positional(chart_dir), f"--destination={destination}"]

