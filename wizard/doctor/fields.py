"""Profile facts the doctor and `connect` need, in ONE place.

Some of these fields are being added to the profile in parallel (`gitlab.offline_license`,
`docker.extra_hosts`, `gateway.agent_platform_port`, the release model): until they land,
they are read here with `getattr` and a default, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.core.profile import Profile

AGENT_PLATFORM_PORT = 50052
AGENT_PLATFORM_SINCE = 18
AGENT_PLATFORM_TIMEOUT_S = 300


@dataclass(frozen=True)
class ProfileFacts:
    agent_platform: bool
    """The release ships the Duo Agent Platform (GitLab 18 and later)."""
    agent_platform_port: int
    offline_license: bool
    extra_hosts: dict[str, str]


def facts(profile: Profile) -> ProfileFacts:
    major = _major(profile.gitlab.version) or _major(profile.image_tag.removeprefix("self-hosted-v"))
    hosts = getattr(profile.docker, "extra_hosts", None) or {}
    if isinstance(hosts, list | tuple):  # "name:address" entries
        hosts = dict(str(entry).rsplit(":", 1) for entry in hosts if ":" in str(entry))
    return ProfileFacts(
        agent_platform=major is not None and major >= AGENT_PLATFORM_SINCE,
        agent_platform_port=int(getattr(profile.gateway, "agent_platform_port", AGENT_PLATFORM_PORT) or AGENT_PLATFORM_PORT),
        offline_license=bool(getattr(profile.gitlab, "offline_license", False)),
        extra_hosts={str(name): str(address) for name, address in dict(hosts).items()},
    )


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None
