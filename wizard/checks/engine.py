"""Preflight checks: every check that applies to a profile, concurrently, each on its own clock.

`run_checks` is a plain iterator for the CLI and the TUI's thread workers: it runs an
asyncio loop in a background thread and yields each result the moment its check
finishes. Synchronous checks (blocking sockets, file reads, the Docker SDK) each get a
daemon thread, so one that overruns its timeout is reported as failed and left behind
without holding up the others, the loop's shutdown, or the process's exit.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from wizard.checks.base import (
    REGISTRY,
    Check,
    CheckContext,
    CheckResult,
    Outcome,
    crashed,
    finish,
    timed_out,
)
from wizard.core.profile import Profile

__all__ = ["CheckContext", "CheckResult", "arun_checks", "run_checks", "select_checks"]

_MODULES = ("host", "network", "gitlab", "tls", "docker", "kube", "profile_file", "auth")
_T = TypeVar("_T")


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
    select_checks(profile, only)  # validate `only` now, not at the first next()
    context = context or default_context(profile, profile_name)
    return _stream(arun_checks(profile, profile_name, only, context=context))


async def arun_checks(
    profile: Profile,
    profile_name: str,
    only: set[str] | None = None,
    *,
    context: CheckContext | None = None,
) -> AsyncIterator[CheckResult]:
    """The same results as `run_checks`, for code already inside an event loop."""
    runnable, not_applicable = select_checks(profile, only)
    context = context or default_context(profile, profile_name)
    for check in not_applicable:
        skipped = Outcome("skip", f"does not apply to target {profile.target or '(unset)'}")
        yield finish(check, skipped, time.monotonic())
    token = context.environ.get("GITLAB_TOKEN")
    secrets = [token] if token else []
    tasks = [asyncio.ensure_future(_run_one(check, context)) for check in runnable]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield _redact(await next_done, secrets)
    finally:
        for task in tasks:
            task.cancel()


async def _run_one(check: Check, context: CheckContext) -> CheckResult:
    started = time.monotonic()
    try:
        async with asyncio.timeout(check.timeout):
            if inspect.iscoroutinefunction(check.run):
                outcome = await check.run(context)  # type: ignore[misc]
            else:
                outcome = await _in_daemon_thread(check.run, context)  # type: ignore[arg-type]
    except TimeoutError:
        outcome = timed_out(check, context.profile_name)
    except Exception as error:  # one check's bug must not take the others down
        outcome = crashed(check, error, context.profile_name)
    return finish(check, outcome, started)


async def _in_daemon_thread(function: Callable[[CheckContext], _T], context: CheckContext) -> _T:
    """Like `asyncio.to_thread`, but a thread stuck past its timeout blocks nobody's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(value: _T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled by the timeout meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def work() -> None:
        value: _T | None = None
        error: BaseException | None = None
        try:
            value = function(context)
        except BaseException as caught:  # handed to the awaiting coroutine
            error = caught
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:
            pass  # the run is over and its loop closed: nobody waits for this result

    threading.Thread(target=work, name="aigw-check", daemon=True).start()
    return await future


def _redact(result: CheckResult, secrets: list[str]) -> CheckResult:
    """Defence in depth: a token must never reach a screen or a log, whatever a check wrote."""
    if not any(secret in result.detail or secret in result.remedy for secret in secrets):
        return result
    detail, remedy = result.detail, result.remedy
    for secret in secrets:
        detail, remedy = detail.replace(secret, "***"), remedy.replace(secret, "***")
    return CheckResult(**{**result.to_dict(), "detail": detail, "remedy": remedy})


_DONE = object()


def _stream(results: AsyncIterator[CheckResult]) -> Iterator[CheckResult]:
    """Drive `results` on a loop in a background thread; hand each item over as it comes."""
    handoff: queue.SimpleQueue[object] = queue.SimpleQueue()
    loop = asyncio.new_event_loop()

    async def pump() -> None:
        async for result in results:
            handoff.put(result)

    task = loop.create_task(pump())

    def drive() -> None:
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass  # the consumer stopped listening
        except BaseException as error:
            handoff.put(error)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()  # no wait for the default executor: no check uses it
            handoff.put(_DONE)

    threading.Thread(target=drive, name="aigw-checks-loop", daemon=True).start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass  # it closed between the test and the call
