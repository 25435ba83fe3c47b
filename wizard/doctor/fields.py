"""Profile facts the doctor and `connect` need, read in ONE place from the profile and its
release model (`wizard.core.release`), never decided here again."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.core.profile import Profile
from wizard.core.release import AGENT_PLATFORM_PORT
from wizard.core.spec import GITLAB_TIMEOUT_ADVICE_S

AGENT_PLATFORM_TIMEOUT_S = GITLAB_TIMEOUT_ADVICE_S
__all__ = ["AGENT_PLATFORM_PORT", "AGENT_PLATFORM_TIMEOUT_S", "ProfileFacts", "facts"]


@dataclass(frozen=True)
class ProfileFacts:
    agent_platform: bool
    """The release ships the Duo Agent Platform (GitLab 18 and later)."""
    agent_platform_port: int
    """The host port published to the Agent Platform's container port."""
    offline_license: bool
    extra_hosts: dict[str, str]


def facts(profile: Profile) -> ProfileFacts:
    release = profile.release
    return ProfileFacts(
        agent_platform=bool(release and release.agent_platform),
        agent_platform_port=profile.gateway.agent_platform_port,
        offline_license=profile.gitlab.offline_license,
        extra_hosts=dict(profile.docker.extra_hosts),
    )
