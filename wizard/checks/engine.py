"""Preflight checks: every check that applies to a profile, concurrently, each on its own clock.

`run_checks` is a plain iterator for the CLI and the TUI's thread workers: each check runs
in its own daemon thread (blocking sockets, file reads, the Docker SDK), and each result is
yielded the moment its check finishes. One that overruns its timeout is reported as failed
and left behind without holding up the others or the process's exit. Plain threads, not an
event loop: importing asyncio alone cost every check run ~27 ms.
"""

from __future__ import annotations

import importlib
import os
import queue
import threading
import time
from collections.abc import Iterator

from wizard.checks.base import (
    REGISTRY,
    Check,
    CheckContext,
    CheckResult,
    Outcome,
    finish,
    guarded,
    timed_out,
)
from wizard.core.profile import Profile

__all__ = ["CheckContext", "CheckResult", "run_checks", "select_checks"]

_MODULES = ("host", "network", "gitlab", "tls", "docker", "kube", "profile_file", "auth")


#: Checks the release-aware ones replace in a full run (asked for by id, they still run).
SUPERSEDED = frozenset({"host.cpus", "host.arch"})


def _load_registry() -> None:
    for name in _MODULES:
        importlib.import_module(f"wizard.checks.{name}")
    importlib.import_module("wizard.checks.release").register()


def _applies(check: Check, profile: Profile) -> bool:
    if profile.target is None:  # target not chosen yet: only what every target shares
        return check.targets >= {"docker", "helm"}
    return profile.target in check.targets


def select_checks(profile: Profile, only: set[str] | None = None) -> tuple[list[Check], list[Check]]:
    """(checks to run, checks asked for by `only` that do not apply to this target).

    Raises ValueError naming the known ids when `only` holds an unknown one.
    """
    _load_registry()
    if only is not None:
        unknown = sorted(set(only) - REGISTRY.keys())
        if unknown:
            raise ValueError(
                f"unknown check id {', '.join(unknown)}; known ids: {', '.join(sorted(REGISTRY))}"
            )
    if only is None:  # everything that applies; the rest is not worth a row
        return [c for c in REGISTRY.values() if _applies(c, profile) and c.id not in SUPERSEDED], []
    wanted = [c for check_id, c in REGISTRY.items() if check_id in only]
    return [c for c in wanted if _applies(c, profile)], [c for c in wanted if not _applies(c, profile)]


def default_context(profile: Profile, profile_name: str) -> CheckContext:
    return CheckContext(profile, profile_name, environ=dict(os.environ))


def run_checks(
    profile: Profile,
    profile_name: str,
    only: set[str] | None = None,
    *,
    context: CheckContext | None = None,
) -> Iterator[CheckResult]:
    """Yield each applicable check's result as it finishes (ValueError at once for bad `only`)."""
    runnable, not_applicable = select_checks(profile, only)  # validates `only` now, not at next()
    return _results(runnable, not_applicable, context or default_context(profile, profile_name))


def _results(runnable: list[Check], not_applicable: list[Check], context: CheckContext) -> Iterator[CheckResult]:
    for check in not_applicable:
        skipped = Outcome("skip", f"does not apply to target {context.profile.target or '(unset)'}")
        yield finish(check, skipped, time.monotonic())
    token = context.environ.get("GITLAB_TOKEN")
    secrets = [token] if token else []
    finished: queue.SimpleQueue[tuple[Check, Outcome]] = queue.SimpleQueue()
    started = time.monotonic()
    pending = {check.id: check for check in runnable}
    for check in runnable:
        threading.Thread(target=_run_one, args=(check, context, finished), name=f"aigw-check-{check.id}",
                         daemon=True).start()
    while pending:
        deadline = min(started + check.timeout for check in pending.values())
        try:
            check, outcome = finished.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:  # the nearest timeout passed: report every check past its own
            now = time.monotonic()
            for late in [check for check in pending.values() if started + check.timeout <= now]:
                del pending[late.id]
                yield _redact(finish(late, timed_out(late, context.profile_name), started), secrets)
            continue
        if pending.pop(check.id, None) is not None:  # None: already reported as timed out
            yield _redact(finish(check, outcome, started), secrets)


def _run_one(check: Check, context: CheckContext, finished: queue.SimpleQueue[tuple[Check, Outcome]]) -> None:
    """In the check's own daemon thread: one that overruns is reported and left behind."""
    finished.put((check, guarded(check, lambda: check.run(context), context.profile_name)))


def _redact(result: CheckResult, secrets: list[str]) -> CheckResult:
    """Defence in depth: a token must never reach a screen or a log, whatever a check wrote."""
    if not any(secret in result.detail or secret in result.remedy for secret in secrets):
        return result
    detail, remedy = result.detail, result.remedy
    for secret in secrets:
        detail, remedy = detail.replace(secret, "***"), remedy.replace(secret, "***")
    return CheckResult(**{**result.to_dict(), "detail": detail, "remedy": remedy})
