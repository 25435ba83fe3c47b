"""Health that means something for the running container (which probes apply: `Release`).

- `ready`: `/monitoring/healthz` answers 200 **and**, for releases with `root_probe` (18.0+)
  and authentication on, `GET /` answers the gateway's own 401 JSON. This gates the
  install (the health wait polls it).
- `agent_platform_lines`: for releases with the Duo Agent Platform, an HTTP/2 (gRPC)
  probe of its published port, reported as a warning line, never gating.

Only loopback is probed. With native TLS the probes speak HTTPS without verifying the
certificate: this is a liveness probe of our own container on 127.0.0.1, not a trust
decision (the certificate names gateway.hostname, not 127.0.0.1).
"""

from __future__ import annotations

import http.client
import threading

from wizard.core.events import LogLine
from wizard.core.profile import Profile
from wizard.tools import health

LOOPBACK = "127.0.0.1"
AGENT_PLATFORM_TRIES = 10
AGENT_PLATFORM_INTERVAL = 0.5


def base_url(profile: Profile, port: int) -> str:
    return f"{'https' if profile.serves_tls else 'http'}://{LOOPBACK}:{port}"


def checks_auth(profile: Profile) -> bool:
    release = profile.release
    return bool(release and release.root_probe and not profile.gateway.auth_bypass)


NOT_READY = 503
"""What `health_status` says when healthz answers 200 but `/` does not enforce auth yet."""


def health_status(profile: Profile, port: int, timeout: float) -> int | None:
    """healthz's HTTP status (None: nothing answers). A 200 counts only when `/` also answers
    the 401 JSON where the release has it; otherwise NOT_READY (up, not ready)."""
    base = base_url(profile, port)
    try:
        status, _ = health.get(f"{base}/monitoring/healthz", timeout, tls=profile.serves_tls)
        if status != 200 or not checks_auth(profile):
            return status
        root, body = health.get(f"{base}/", timeout, tls=profile.serves_tls)
    except (OSError, http.client.HTTPException, ValueError):  # refused, reset mid-start-up
        return None
    return 200 if health.says_unauthorized(root, body) else NOT_READY


def ready(profile: Profile, port: int, timeout: float) -> bool:
    """healthz 200, and the 401 on `/` where the release has it (see the module docstring)."""
    return health_status(profile, port, timeout) == 200


def agent_platform_lines(profile: Profile, host_port: int | None, stop: threading.Event, timeout: float = 1.0) -> list[LogLine]:
    """One line about the Agent Platform port (warning when it does not answer); none for 17.x."""
    release = profile.release
    if release is None or not release.agent_platform_probe or host_port is None:
        return []
    probe = health.agent_platform(LOOPBACK, host_port, timeout)
    for _ in range(AGENT_PLATFORM_TRIES - 1):
        if probe.ok or stop.wait(AGENT_PLATFORM_INTERVAL):
            break
        probe = health.agent_platform(LOOPBACK, host_port, timeout)
    if probe.ok:
        return [LogLine(source="wizard", text=f"Duo Agent Platform: {probe.detail}")]
    return [
        LogLine(
            source="wizard",
            text=(
                f"Duo Agent Platform: {probe.detail} — the AI gateway is healthy, but GitLab Duo Agent "
                "Platform features will fail; read the container log (docker logs) for its error"
            ),
            level="warning",
        )
    ]
