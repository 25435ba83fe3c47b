"""What the doctor reports: findings shaped like check results (status, detail, remedy, field)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from wizard.core.text import clean

Status = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    id: str
    """Stable id, e.g. "container.running", "log.jwks-empty"."""
    status: Status
    title: str
    detail: str
    remedy: str = ""
    field: str | None = None
    """Dotted profile field to change, if any."""

    def __post_init__(self) -> None:
        # Details quote container logs and GitLab's answers: never let control through.
        object.__setattr__(self, "detail", clean(self.detail))
        object.__setattr__(self, "remedy", clean(self.remedy))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed(findings: list[Finding]) -> bool:
    return any(finding.status == "fail" for finding in findings)
