"""Point GitLab at this gateway: the Duo settings a profile calls for, read, changed, read back.

The CLI (`aigw-wizard connect`) and the TUI's "Point GitLab at this gateway" step call the
same three functions: `open_client`, `read_plan`, `apply_plan`. The token is a parameter:
callers read it from the environment (CLI) or a no-echo input (TUI) and forget it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from wizard.core.profile import Profile
from wizard.doctor.fields import AGENT_PLATFORM_TIMEOUT_S, facts
from wizard.tools.gitlab import (
    DUO_SETTINGS_MUTATION,
    DuoSettings,
    GitLabClient,
    NoToken,
    check_token_transport,
    shown,
)

LABELS = {
    "ai_gateway_url": "Local AI Gateway URL",
    "agent_platform_url": "Duo Agent Platform service URL",
    "timeout_seconds": "AI gateway request timeout (s)",
}


@dataclass(frozen=True)
class Change:
    label: str
    current: str
    wanted: str

    @property
    def changed(self) -> bool:
        return self.current != self.wanted


@dataclass(frozen=True)
class ConnectPlan:
    current: DuoSettings | None
    """What GitLab holds now (None in a dry run: nothing was asked)."""
    wanted: DuoSettings

    def changes(self) -> list[Change]:
        rows = []
        for name, label in LABELS.items():
            wanted = getattr(self.wanted, name)
            if wanted is None:
                continue
            current = getattr(self.current, name) if self.current else None
            rows.append(Change(label, _show(current) if self.current else "(not read)", _show(wanted)))
        return rows

    @property
    def needed(self) -> bool:
        return any(change.changed for change in self.changes())

    def mutation(self) -> str:
        """The mutation exactly as it is sent: query and variables."""
        return json.dumps({"query": DUO_SETTINGS_MUTATION, "variables": {"input": self.wanted.to_input()}}, indent=2)


def _show(value: object) -> str:
    return "(not set)" if value in (None, "") else shown(value)


def wanted_settings(profile: Profile) -> DuoSettings:
    """The Duo settings this profile's gateway needs GitLab to hold."""
    known = facts(profile)
    agent = None
    timeout = None
    if known.agent_platform:
        host = profile.gateway.hostname
        agent = f"[{host}]:{known.agent_platform_port}" if ":" in host else f"{host}:{known.agent_platform_port}"
        if profile.target == "helm":
            agent = f"[{host}]:443" if ":" in host else f"{host}:443"  # the chart's gRPC ingress
        timeout = AGENT_PLATFORM_TIMEOUT_S
    return DuoSettings(ai_gateway_url=profile.gateway_url, timeout_seconds=timeout, agent_platform_url=agent)


def open_client(profile: Profile, token: str, *, allow_http: bool = False) -> GitLabClient:
    """A client for the profile's GitLab that may carry `token` (rule checked before anything is sent)."""
    if not token:
        raise NoToken()
    check_token_transport(profile.gitlab.url, allow_http=allow_http)
    bundle = profile.resolve(profile.gateway.ca_bundle) if profile.gateway.ca_bundle else None
    return GitLabClient(profile.gitlab.url, api_url=profile.gitlab.effective_api_url, ca_bundle=bundle, token=token, allow_http=allow_http)


def dry_run_plan(profile: Profile) -> ConnectPlan:
    return ConnectPlan(current=None, wanted=wanted_settings(profile))


def read_plan(client: GitLabClient, profile: Profile) -> ConnectPlan:
    return ConnectPlan(current=client.duo_settings(), wanted=wanted_settings(profile))


def apply_plan(client: GitLabClient, plan: ConnectPlan) -> DuoSettings:
    """Send the mutation, then read the settings back (what GitLab really holds now)."""
    client.update_duo_settings(plan.wanted)
    return client.duo_settings()


def read_back_matches(plan: ConnectPlan, read_back: DuoSettings) -> list[str]:
    """Settings GitLab did not take as sent (trailing slashes aside): empty when all did."""
    problems = []
    for name, label in LABELS.items():
        wanted = getattr(plan.wanted, name)
        got = getattr(read_back, name)
        if wanted is None:
            continue
        if (wanted.rstrip("/") if isinstance(wanted, str) else wanted) != got:
            problems.append(f"{label}: GitLab holds {_show(got)}, not {_show(wanted)}")
    return problems
