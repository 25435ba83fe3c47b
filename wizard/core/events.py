"""Typed progress events: what installers emit and both faces (TUI, CLI) consume.

Installers are generators of `Event`s; they never see a widget or a terminal.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

StepStatus = Literal["ok", "skipped", "failed", "cancelled"]
LogLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class StepStarted:
    step: str
    """Stable id, e.g. "image", "container", "health"."""
    title: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StepFinished:
    step: str
    status: StepStatus
    detail: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LogLine:
    source: str
    """Where the line came from: "docker", "container", "helm", "pod/NAME", "wizard"."""
    text: str
    level: LogLevel = "info"
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Progress:
    step: str
    key: str
    """What is progressing within the step, e.g. an image layer id."""
    current: int
    total: int | None
    label: str = ""
    at: float = field(default_factory=time.time)


GATEWAY_URL_LABEL = "Local AI Gateway URL"
"""GitLab's own name for the setting that takes the gateway's URL."""
INGRESS_ADDRESS_LABEL = "Ingress address"


@dataclass(frozen=True)
class Address:
    """Something the user must know or type elsewhere, e.g. the URL to set in GitLab."""

    label: str
    value: str


@dataclass(frozen=True)
class Result:
    """How a run ended; the last event of every run, the same shape for both engines."""

    ok: bool
    summary: str
    remedies: tuple[str, ...] = ()
    """What to do next: after a failure, how to fix it; after success, what is left to do."""
    log_tail: tuple[str, ...] = ()
    """The gateway's last log lines, when they explain a failure."""
    urls: tuple[Address, ...] = ()
    """Every address the user must know (gateway URL, ingress address, …)."""
    changed: bool = True
    at: float = field(default_factory=time.time)

    def url(self, label: str) -> str:
        """The address with this label, or ""."""
        return next((address.value for address in self.urls if address.label == label), "")


Event = StepStarted | StepFinished | LogLine | Progress | Result

_KINDS: dict[type, str] = {
    StepStarted: "step_started",
    StepFinished: "step_finished",
    LogLine: "log",
    Progress: "progress",
    Result: "result",
}


def to_record(event: Event) -> dict[str, Any]:
    """A JSON-ready dict for the journal."""
    return {"event": _KINDS[type(event)], **asdict(event)}
