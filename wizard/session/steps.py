"""The wizard's steps, the one registry the session and the app both derive from, and how a
form field's text becomes a profile value (and back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.core.profile import Profile, Target

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
_PORT_FIELDS = ("gateway.port", "gateway.agent_platform_port")
_TEXT_FIELDS = ("gateway.extra_env", "docker.extra_hosts")
"""Table fields whose converter returns a plain-words error as a string."""


def field_value(field: str, raw: Any) -> tuple[Any, str | None]:
    """What a form field's text means for the profile model: (value, None), or (raw, the
    plain-words reason it cannot mean anything) before the model is even asked."""
    value = _CONVERTERS.get(field, lambda x: x)(raw)
    if field in _PORT_FIELDS and isinstance(value, str):
        return raw, "must be a whole number from 1 to 65535"
    if field in _TEXT_FIELDS and isinstance(value, str):
        return raw, value
    return value, None


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
