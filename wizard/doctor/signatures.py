"""The gateway's known failure lines, and what each one means for the admin (pure data).

`scan(lines, target)` finds them in a log; each hit becomes a finding with the cause, the
profile field to change and the command to run. Sources: the gateway's authentication code
and GitLab's troubleshooting page (see the reference notes, "How the gateway authenticates").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wizard.core.profile import Target
from wizard.core.text import clean
from wizard.doctor.findings import Finding

MAX_EXAMPLE = 240


@dataclass(frozen=True)
class Signature:
    id: str
    needles: tuple[str, ...]
    """Any of these substrings marks the line (case-sensitive, as the gateway writes them)."""
    title: str
    cause: str
    remedy: str
    """May name {name} (the profile) and {reach_fields} (what makes GitLab reachable)."""
    field: str | None


_REACH = "{reach_fields}"
CATALOGUE: tuple[Signature, ...] = (
    Signature(
        "jwks-empty",
        ("No keys founds in JWKS", "No keys found in JWKS"),
        "The gateway found no keys to check tokens with",
        "the container cannot reach GitLab's OIDC discovery or JWKS (name resolution inside the "
        "container, a proxy, or a CA it does not trust), or the customer-portal URLs are wrong",
        f"make GitLab reachable from the container ({_REACH}), then `aigw-wizard apply {{name}}`",
        "docker.extra_hosts",
    ),
    Signature(
        "signature-failed",
        ("Signature verification failed",),
        "Tokens from GitLab do not verify",
        "keys were loaded but none signed the token: GitLab was unreachable while other keys "
        "loaded, or gitlab.url differs from the URL GitLab signs its tokens with",
        "set gitlab.url to GitLab's external URL exactly as GitLab knows it (and make it "
        f"reachable: {_REACH}), then `aigw-wizard apply {{name}}`",
        "gitlab.url",
    ),
    Signature(
        "jwk-error",
        ("JWKError", "Unable to load PEM file"),
        "A self-signed JWT key is missing or not PEM",
        "AIGW_SELF_SIGNED_JWT__* or DUO_WORKFLOW_SELF_SIGNED_JWT__* is empty or not a PEM key",
        "`aigw-wizard keys {name} --rotate`, then `aigw-wizard apply {name}`",
        None,
    ),
    Signature(
        "token-creation",
        ("Token creation failed",),
        "The gateway cannot sign its own tokens",
        "usually follows a JWT key error: the signing key cannot be loaded",
        "`aigw-wizard keys {name} --rotate`, then `aigw-wizard apply {name}`",
        None,
    ),
    Signature(
        "prefetch-keys",
        ("Could not prefetch keys",),
        "The Agent Platform could not fetch keys at start",
        "with DUO_WORKFLOW_AUTH__ENABLED the Agent Platform fetches GitLab's keys at start and "
        "stops when it cannot: GitLab (or the customer portal) is unreachable from the container",
        f"make GitLab reachable from the container ({_REACH}); with an offline licence point "
        "the customer-portal URLs at GitLab (gitlab.offline_license); then `aigw-wizard apply {name}`",
        "docker.extra_hosts",
    ),
)


@dataclass(frozen=True)
class Hit:
    signature: Signature
    count: int
    example: str


def scan(lines: Iterable[str]) -> list[Hit]:
    """Every signature that occurs in `lines`, in catalogue order, with a count and the last example."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for line in lines:
        for signature in CATALOGUE:
            if any(needle in line for needle in signature.needles):
                counts[signature.id] = counts.get(signature.id, 0) + 1
                examples[signature.id] = line
    return [
        Hit(signature, counts[signature.id], _example(examples[signature.id]))
        for signature in CATALOGUE
        if signature.id in counts
    ]


def _example(line: str) -> str:
    text = clean(line.strip())
    return text if len(text) <= MAX_EXAMPLE else text[:MAX_EXAMPLE] + "…"


def reach_fields(target: Target | None) -> tuple[str, str]:
    """(the fields that make GitLab reachable from the gateway, the main one)."""
    if target == "helm":
        return "gitlab.url, gateway.ca_bundle, the cluster's DNS", "gitlab.url"
    return "docker.extra_hosts for name resolution, gateway.ca_bundle for trust", "docker.extra_hosts"


def findings_for(hits: list[Hit], profile_name: str, target: Target | None, where: str) -> list[Finding]:
    fields, main_field = reach_fields(target)
    found = []
    for hit in hits:
        signature = hit.signature
        field = main_field if signature.field == "docker.extra_hosts" else signature.field
        times = "once" if hit.count == 1 else f"{hit.count} times"
        found.append(
            Finding(
                f"log.{signature.id}",
                "fail",
                signature.title,
                f"{where} logged {times}: {hit.example} — cause: {signature.cause}",
                signature.remedy.format(name=profile_name, reach_fields=fields),
                field,
            )
        )
    return found
