"""The words every install ends with: what to set on the GitLab side, then how to verify it.

Both engines' `Result`s and `status` take them from here, built from
`wizard.core.spec.gitlab_settings(profile)`: one `Address` per GitLab setting
("Local AI Gateway URL" `http(s)://HOST:PORT`; for releases with the Duo Agent Platform
"Local URL for the GitLab Duo Agent Platform service" `HOST:PORT`, no scheme), then
the remedies: where the settings are, the TLS checkbox and the 300 s timeout advice,
the verify command, and `aigw-wizard connect NAME`, which sets them through the API.
A 17.x profile ends exactly as it always did, plus the `connect` hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wizard.core.events import GATEWAY_URL_LABEL, Address
from wizard.core.profile import Profile
from wizard.core.release import parse_tag
from wizard.core.spec import gitlab_settings
from wizard.install.base import VERIFY_COMMAND, WHERE_TO_SET_URL, StatusReport

if TYPE_CHECKING:
    from wizard.tools.tags import TagResolution

AGENT_PLATFORM_URL_LABEL = "Local URL for the GitLab Duo Agent Platform service"
WHERE_TO_SET_BOTH = (
    "In GitLab, go to Admin > GitLab Duo > Change configuration and set both URLs above "
    "(the Agent Platform one without http:// or https://)."
)


def addresses(profile: Profile) -> tuple[Address, ...]:
    """One Address per GitLab setting (the gateway URL; the Agent Platform's HOST:PORT from 18.0)."""
    settings = gitlab_settings(profile)
    found = [Address(GATEWAY_URL_LABEL, settings.ai_gateway_url)]
    if settings.agent_platform_url:
        found.append(Address(AGENT_PLATFORM_URL_LABEL, settings.agent_platform_url))
    return tuple(found)


def remedies(profile: Profile, profile_name: str, engine_notes: Sequence[str] = ()) -> tuple[str, ...]:
    """Where to set them, the checkbox and timeout, the engine's own notes (Helm: DNS, the
    gRPC proxy), then the verify command and `connect`."""
    settings = gitlab_settings(profile)
    connect = f"Or let aigw-wizard set them through GitLab's API: aigw-wizard connect {profile_name}"
    verify = f"Then, on the GitLab host, check the setup: {VERIFY_COMMAND}"
    if not settings.agent_platform_url:
        return (WHERE_TO_SET_URL, *engine_notes, verify, connect)
    # The URL lines are the Addresses; the rest of the settings are advice.
    advice = [line for line in settings.lines() if not line.startswith(("Local AI Gateway URL", AGENT_PLATFORM_URL_LABEL))]
    return (WHERE_TO_SET_BOTH, *advice, *engine_notes, verify, connect)


def lines(profile: Profile, profile_name: str) -> list[str]:
    """All of it as plain lines (status output): the settings, then verify and connect."""
    settings = gitlab_settings(profile)
    return [
        *settings.lines(),
        f"verify on the GitLab host: {VERIFY_COMMAND}",
        f"or run `aigw-wizard connect {profile_name}`",
    ]


def annotate_status(report: StatusReport, profile: Profile, profile_name: str, resolution: TagResolution | None) -> None:
    """Add to `status`: the resolved tag and an available newer patch, then the GitLab side."""
    if resolution is not None and resolution.tag:
        running = report.image.rpartition(":")[2] if report.image else ""
        newer = resolution.newer_available or (
            resolution.tag if running and running != resolution.tag and _newer(resolution.tag, running) else ""
        )
        report.details["tag"] = resolution.tag + (f" ({resolution.source})" if resolution.source != "pinned" else "")
        if newer:
            report.details["upgrade available"] = f"{newer}: run aigw-wizard apply {profile_name}"
    if report.installed:
        for number, line in enumerate(lines(profile, profile_name), 1):
            label, _, value = line.partition(": ")
            report.details[f"GitLab {number}" if not value else label] = value or line


def _newer(candidate: str, than: str) -> bool:
    new, old = parse_tag(candidate), parse_tag(than)
    return bool(new and old and new > old)
