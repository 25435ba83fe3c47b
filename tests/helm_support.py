"""Helpers for the Helm engine and kube check tests: certificates, saved profiles, event lists."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from tests.factories import helm_profile
from wizard.checks import run_checks
from wizard.checks.base import CheckContext, CheckResult
from wizard.core import store
from wizard.core.events import Event, LogLine, Result, StepFinished
from wizard.core.profile import Profile
from wizard.install.helm import HelmInstaller

HOST = "aigw.example.com"
NAME = "gw"


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    other_key: Path
    """A key that does not belong to `cert`."""

    def pem(self) -> tuple[bytes, bytes]:
        return self.cert.read_bytes(), self.key.read_bytes()


def make_tls(folder: Path, host: str = HOST) -> Tls:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(host)
    leaf.cert_chain_pems[0].write_to_path(str(folder / "tls.crt"))
    leaf.private_key_pem.write_to_path(str(folder / "tls.key"))
    ca.issue_cert("other.example.com").private_key_pem.write_to_path(str(folder / "other.key"))
    return Tls(folder / "tls.crt", folder / "tls.key", folder / "other.key")


def saved_profile(tls: Tls, /, **sections: dict[str, Any]) -> Profile:
    """A complete helm profile saved under the test's config dir, loaded back as the CLI would."""
    sections.setdefault("tls", {"cert": str(tls.cert), "key": str(tls.key)})
    path = store.save(helm_profile(**sections), NAME)
    return store.load(path)


def run(events: Iterable[Event]) -> list[Event]:
    return list(events)


def apply(profile: Profile, cancel: threading.Event | None = None) -> list[Event]:
    return run(HelmInstaller(profile, NAME, cancel).apply())


def result(events: list[Event]) -> Result:
    [outcome] = [event for event in events if isinstance(event, Result)]
    return outcome


def finished(events: list[Event]) -> dict[str, StepFinished]:
    return {event.step: event for event in events if isinstance(event, StepFinished)}


def lines(events: list[Event], source: str | None = None) -> list[str]:
    return [
        e.text for e in events if isinstance(e, LogLine) and (source is None or e.source == source)
    ]


def helm_calls(calls: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    """The helm double's recorded calls of one subcommand ("upgrade", "repo", …)."""
    return [call for call in calls if call["argv"][:1] == [command]]


def check(check_id: str, profile: Profile) -> CheckResult:
    """One check through the real engine (its thread, its timeout)."""
    context = CheckContext(profile, NAME)
    [outcome] = run_checks(profile, NAME, {check_id}, context=context)
    return outcome
