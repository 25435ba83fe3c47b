"""The release model: what one gateway release needs, asked instead of testing versions.

Every engine, check, plan line and screen asks `release_of(tag, gitlab_version)` (or the
profile's `release` property) what a gateway release expects: its ports, the variables it
reads, the JWT keys it needs, whether it serves TLS itself, how many CPUs it wants, which
health probes mean something for it, the Helm chart to install it with, and where its image
lives. Pure functions over the facts in docs `gateway-today.md`; no I/O.

Generations (the behaviour of the first release of each line applies up to the next one):

| from  | what changes |
|-------|--------------|
| 17.0  | one HTTP service on 5052; two URL variables; no keys; `/docs` is open; chart 0.1.1 |
| 18.0  | the Duo Agent Platform (gRPC, container port 50052) runs beside the gateway; 2 CPUs;
|       | `DUO_WORKFLOW_AUTH__ENABLED=true`; keys: `AIGW_SELF_SIGNED_JWT__SIGNING_KEY`,
|       | `AIGW_SELF_SIGNED_JWT__VALIDATION_KEY` (the gateway mints and checks its own tokens,
|       | "Token creation failed" without them) and `DUO_WORKFLOW_SELF_SIGNED_JWT__SIGNING_KEY`;
|       | `GET /` answers 401 (auth middleware); the Agent Platform port is probed; chart 0.8.0 |
| 19.0  | adds `DUO_WORKFLOW_SELF_SIGNED_JWT__VALIDATION_KEY` (all four keys, as the 19.x page) |
| 19.1  | native TLS: `AIGW_FASTAPI__TLS__*` and `DUO_WORKFLOW_TLS__*` |

Versions newer than the newest known line get its behaviour and a `warning`; versions older
than 17.0 get 17.x behaviour and a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

DEFAULT_IMAGE = "registry.gitlab.com/gitlab-org/modelops/applied-ml/code-suggestions/ai-assist/model-gateway"
FIPS_SUFFIX = "self-hosted-fips"
GATEWAY_PORT = 5052
AGENT_PLATFORM_PORT = 50052
LEGACY_CHART_VERSION = "0.1.1"
CURRENT_CHART_VERSION = "0.8.0"

AIGW_SIGNING_KEY = "AIGW_SELF_SIGNED_JWT__SIGNING_KEY"
AIGW_VALIDATION_KEY = "AIGW_SELF_SIGNED_JWT__VALIDATION_KEY"
DUO_SIGNING_KEY = "DUO_WORKFLOW_SELF_SIGNED_JWT__SIGNING_KEY"
DUO_VALIDATION_KEY = "DUO_WORKFLOW_SELF_SIGNED_JWT__VALIDATION_KEY"
#: Every JWT key variable any release reads, in the install page's order.
ALL_KEY_VARIABLES = (AIGW_SIGNING_KEY, AIGW_VALIDATION_KEY, DUO_SIGNING_KEY, DUO_VALIDATION_KEY)
#: The install page's file name for each key (also the key inside the wizard's Helm Secret).
KEY_FILE_NAMES = {
    AIGW_SIGNING_KEY: "aigw_signing.key",
    AIGW_VALIDATION_KEY: "aigw_validation.key",
    DUO_SIGNING_KEY: "duo_workflow_jwt.key",
    DUO_VALIDATION_KEY: "duo_workflow_validation.key",
}

CUSTOMER_PORTAL_VARIABLES_17 = ("AIGW_CUSTOMER_PORTAL_URL",)
CUSTOMER_PORTAL_VARIABLES = ("AIGW_CUSTOMER_PORTAL_URL", "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL")
AUTH_ENABLED = ("DUO_WORKFLOW_AUTH__ENABLED", "true")
BYPASS_VARIABLE = "AIGW_AUTH__BYPASS_EXTERNAL"

_TAG = re.compile(r"^self-hosted-v(\d+)\.(\d+)\.(\d+)-ee$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-ee|-ce)?$")


class Version(NamedTuple):
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def line(self) -> str:
        """`X.Y`: the stable line whose newest patch is the tag to use."""
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True)
class TLSVariables:
    """The three variables one service reads to serve TLS itself."""

    enabled: str
    cert_file: str
    key_file: str


GATEWAY_TLS = TLSVariables(
    "AIGW_FASTAPI__TLS__ENABLED", "AIGW_FASTAPI__TLS__CERT_FILE", "AIGW_FASTAPI__TLS__KEY_FILE"
)
AGENT_PLATFORM_TLS = TLSVariables(
    "DUO_WORKFLOW_TLS__ENABLED", "DUO_WORKFLOW_TLS__CERT_FILE", "DUO_WORKFLOW_TLS__KEY_FILE"
)


@dataclass(frozen=True)
class _Generation:
    since: Version
    agent_platform: bool
    key_variables: tuple[str, ...]
    native_tls: bool
    min_cpus: int
    root_probe: bool
    chart_version: str


_GENERATIONS = (
    _Generation(Version(17, 0, 0), False, (), False, 1, False, LEGACY_CHART_VERSION),
    _Generation(
        Version(18, 0, 0),
        True,
        (AIGW_SIGNING_KEY, AIGW_VALIDATION_KEY, DUO_SIGNING_KEY),
        False,
        2,
        True,
        CURRENT_CHART_VERSION,
    ),
    _Generation(Version(19, 0, 0), True, ALL_KEY_VARIABLES, False, 2, True, CURRENT_CHART_VERSION),
    _Generation(Version(19, 1, 0), True, ALL_KEY_VARIABLES, True, 2, True, CURRENT_CHART_VERSION),
)
#: The newest release line whose behaviour is known; later lines are assumed to behave like it.
NEWEST_KNOWN_LINE = (19, 2)
OLDEST_KNOWN = _GENERATIONS[0].since


@dataclass(frozen=True)
class Release:
    """What one gateway release needs. Build it with `release_of`, never by hand."""

    version: Version
    tag: str
    """The image tag: the one given, or `self-hosted-vX.Y.Z-ee` built from the version."""
    source: Literal["tag", "gitlab.version"]
    """Where `version` came from."""
    warning: str
    """Non-empty when the behaviour is assumed (an unknown or unparsable version)."""
    agent_platform: bool
    """The Duo Agent Platform (gRPC on container port 50052) runs beside the gateway."""
    key_variables: tuple[str, ...]
    """JWT key variables the release needs (PEM text each); empty = no keys."""
    native_tls: bool
    """The gateway and the Agent Platform can serve TLS themselves."""
    min_cpus: int
    """CPUs the container needs (one per service)."""
    root_probe: bool
    """`GET /` answers 401 `{"error":"No authorization header presented"}` when auth is up."""
    chart_version: str
    """The Helm chart version to install this release with by default."""
    http_port: int = GATEWAY_PORT

    @property
    def agent_platform_port(self) -> int | None:
        """The Agent Platform's container port, or None when the release has none."""
        return AGENT_PLATFORM_PORT if self.agent_platform else None

    @property
    def container_ports(self) -> tuple[int, ...]:
        return (self.http_port, AGENT_PLATFORM_PORT) if self.agent_platform else (self.http_port,)

    @property
    def needs_keys(self) -> bool:
        return bool(self.key_variables)

    @property
    def agent_platform_probe(self) -> bool:
        """A TCP/gRPC probe of the Agent Platform port means something (reported, not gating)."""
        return self.agent_platform

    @property
    def fixed_environment(self) -> dict[str, str]:
        """Variables every install of this release sets to the same value."""
        return dict([AUTH_ENABLED]) if self.agent_platform else {}

    @property
    def customer_portal_variables(self) -> tuple[str, ...]:
        """Variables pointed at GitLab for an offline (air-gapped) licence."""
        return CUSTOMER_PORTAL_VARIABLES if self.agent_platform else CUSTOMER_PORTAL_VARIABLES_17

    @property
    def tls_variables(self) -> tuple[TLSVariables, ...]:
        """Per service, the variables that turn native TLS on (empty without native TLS)."""
        if not self.native_tls:
            return ()
        return (GATEWAY_TLS, AGENT_PLATFORM_TLS)

    @property
    def managed_variables(self) -> frozenset[str]:
        """Every variable the wizard sets for this release (users may not set them in extra_env)."""
        names = set(self.key_variables) | set(self.fixed_environment) | set(self.customer_portal_variables)
        for tls in self.tls_variables:
            names.update((tls.enabled, tls.cert_file, tls.key_file))
        return frozenset(names)

    def image_repository(self, variant: str = "", base: str = DEFAULT_IMAGE) -> str:
        """The repository to pull from: `base`, or its `self-hosted-fips` sub-repository."""
        return image_repository(variant, base)


def image_repository(variant: str = "", base: str = DEFAULT_IMAGE) -> str:
    """`base` for the standard image; `base/self-hosted-fips` for `variant = "fips"`."""
    if variant == "fips" and not base.endswith("/" + FIPS_SUFFIX):
        return f"{base}/{FIPS_SUFFIX}"
    return base


def parse_tag(tag: str) -> Version | None:
    """`self-hosted-v19.2.3-ee` → 19.2.3; any other tag → None."""
    match = _TAG.match(tag.strip())
    return Version(*map(int, match.groups())) if match else None


def parse_version(value: str) -> Version | None:
    """`19.2.1` (also `v19.2.1`, `19.2.1-ee`) → 19.2.1; anything else → None."""
    match = _VERSION.match(value.strip())
    return Version(*map(int, match.groups())) if match else None


def tag_for(version: Version | str) -> str:
    """The exact tag for a version: `self-hosted-vX.Y.Z-ee`."""
    parsed = version if isinstance(version, Version) else parse_version(version)
    if parsed is None:
        raise ValueError(f"{version!r} is not a version like 19.2.1")
    return f"self-hosted-v{parsed}-ee"


def release_for(version: Version, tag: str = "", source: Literal["tag", "gitlab.version"] = "tag") -> Release:
    """The release of a known version (tag given or built from it)."""
    warning = ""
    if (version.major, version.minor) > NEWEST_KNOWN_LINE:
        warning = (
            f"gateway {version} is newer than the newest release aigw-wizard knows "
            f"({NEWEST_KNOWN_LINE[0]}.{NEWEST_KNOWN_LINE[1]}.x): assuming it needs what that one needs"
        )
    elif version < OLDEST_KNOWN:
        warning = f"gateway {version} is older than 17.0: treating it as a 17.x release"
    generation = _GENERATIONS[0]
    for candidate in _GENERATIONS:
        if version >= candidate.since:
            generation = candidate
    return Release(
        version=version,
        tag=tag or tag_for(version),
        source=source,
        warning=warning,
        agent_platform=generation.agent_platform,
        key_variables=generation.key_variables,
        native_tls=generation.native_tls,
        min_cpus=generation.min_cpus,
        root_probe=generation.root_probe,
        chart_version=generation.chart_version,
    )


def release_of(tag: str = "", gitlab_version: str = "") -> Release | None:
    """The release a profile runs: from its tag when that names a version, else from GitLab's.

    A custom tag (a mirror's own name) says nothing, so `gitlab.version` decides then, with a
    warning. None when neither tells a version: nothing is known about the release yet.
    """
    from_tag = parse_tag(tag) if tag else None
    if from_tag is not None:
        return release_for(from_tag, tag, "tag")
    from_gitlab = parse_version(gitlab_version) if gitlab_version else None
    if from_gitlab is None:
        return None
    release = release_for(from_gitlab, tag, "gitlab.version")
    if tag:
        note = f"tag {tag!r} names no version: assuming it is the gateway of GitLab {from_gitlab}"
        warning = f"{note}; {release.warning}" if release.warning else note
        release = _with_warning(release, warning)
    return release


def newest_release() -> Release:
    """The newest known behaviour (for a profile that names no version yet)."""
    major, minor = NEWEST_KNOWN_LINE
    return release_for(Version(major, minor, 0))


def default_chart_version(tag: str = "", gitlab_version: str = "") -> str:
    """The chart to install a profile's release with; "" while no release is known."""
    release = release_of(tag, gitlab_version)
    return release.chart_version if release else ""


def _with_warning(release: Release, warning: str) -> Release:
    return replace(release, warning=warning)
