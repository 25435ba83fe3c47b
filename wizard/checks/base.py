"""The contract every preflight check follows.

A check is a function of a `CheckContext` returning an `Outcome`; `@check` registers it
with a stable id, the targets it applies to, its own timeout, and the profile field a
failure points at (the TUI jumps back to that field's screen). Checks never print.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from wizard.profile import Profile, Target

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Outcome:
    """What a check found: a failing or warning outcome always says what to do next."""

    status: Status
    detail: str
    remedy: str = ""


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: Status
    detail: str
    remedy: str = ""
    duration_ms: int = 0
    field: str | None = None
    """Dotted profile field the result is about (e.g. "tls.cert"), if any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckContext:
    """What checks read: the profile, plus anything injected for tests (host facts, env)."""

    profile: Profile
    profile_name: str
    environ: dict[str, str] = field(default_factory=dict)
    """GITLAB_TOKEN and friends, read once; never saved."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Injected facts for tests, e.g. {"host.memory_bytes": 256 * 2**20}."""


CheckFunction = Callable[[CheckContext], Outcome | Awaitable[Outcome]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: CheckFunction
    targets: frozenset[Target]
    timeout: float
    field: str | None


REGISTRY: dict[str, Check] = {}


def check(
    check_id: str,
    title: str,
    *,
    targets: tuple[Target, ...] = ("docker", "helm"),
    timeout: float = 2.0,
    field: str | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function (sync functions run in a worker thread)."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"duplicate check id {check_id}")
        REGISTRY[check_id] = Check(check_id, title, function, frozenset(targets), timeout, field)
        return function

    return register
