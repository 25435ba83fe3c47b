"""Shared helpers for TUI tests: canned engines and deterministic profiles."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wizard.checks.base import CheckResult
from wizard.core import store
from wizard.core.events import Event, LogLine, Result, StepFinished, StepStarted
from wizard.core.profile import Profile

FIXED_MTIME = time.mktime((2026, 11, 25, 9, 30, 0, 0, 0, -1))


def save_profile(name: str, profile: Profile) -> Path:
    path = store.save(profile, name)
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))  # stable "Modified" column in snapshots
    return path


FAILED_CHECKS = [
    CheckResult("gitlab.tls", "GitLab TLS", "fail",
                "certificate verify failed: self-signed certificate (issuer CN=corp-root)",
                "set gateway.ca_bundle to a PEM with your private CA", 120, "gateway.ca_bundle"),
    CheckResult("host.memory", "Memory", "pass", "23.4 GiB total (needs 512 MiB)", "", 1, None),
    CheckResult("host.cpus", "CPUs", "warn", "1 CPU; 2 or more recommended", "add a CPU", 1, None),
    CheckResult("gateway.port", "Gateway port", "pass", "port 5052 is free", "", 2, "gateway.port"),
]


def canned_checks(results: list[CheckResult]) -> Any:
    def run(_profile: Profile, _name: str) -> Iterator[CheckResult]:
        yield from results
    return run


class CannedInstaller:
    """Replays a fixed event list, as a real installer would emit it."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def __call__(self, *_args: Any) -> CannedInstaller:
        return self

    def apply(self) -> Iterator[Event]:
        yield from self.events


FAILED_INSTALL = [
    StepStarted("image", "Image aigw-test/model-gateway:self-hosted-v17.5.0-ee", at=0),
    StepFinished("image", "ok", "already present", at=0),
    StepStarted("container", "Start container gitlab-aigw", at=0),
    StepFinished("container", "ok", "started", at=0),
    StepStarted("health", "Wait for http://127.0.0.1:5052/monitoring/healthz", at=0),
    LogLine("container", "gitlab url: https://gitlab.example.com", at=0),
    LogLine("container", "fatal: simulated startup crash", "error", at=0),
    StepFinished("health", "failed", "container exited with code 3", at=0),
    Result(False, "the gateway exited with code 3 before becoming healthy", at=0),
]


async def profiles_ready(pilot: Any) -> None:
    """The profile list shows names at once and reads the rest after the first frame."""
    for _ in range(250):
        await pilot.pause(0.02)
        if getattr(pilot.app.screen_stack[0], "entries", None) is not None:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            return
    raise AssertionError("the profile list never finished reading the profiles")


def screen_text(app: Any) -> str:
    """Every character the screen would send to the terminal, styles aside."""
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


async def until_on_screen(pilot: Any, *texts: str, timeout: float = 5.0) -> str:
    """The screen's text (wrapped lines joined) once every one of `texts` is on it: a screen
    draws a Result a frame or two after the worker that produced it has finished."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause(0.02)
        joined = " ".join(screen_text(pilot.app).split())
        if all(text in joined for text in texts):
            return joined
        if time.monotonic() > deadline:
            raise AssertionError(f"never on screen: {[t for t in texts if t not in joined]}\n{joined}")


def showing(step_id: str, timeout: float = 5.0) -> Any:
    """A snapshot's `run_before`: wait until the app opened the profile at `step_id`, so the
    keys the snapshot presses next go to that step, not to the profile list beneath it."""

    async def wait(pilot: Any) -> None:
        deadline = time.monotonic() + timeout
        while screen_step(pilot.app) != step_id:
            if time.monotonic() > deadline:
                raise AssertionError(f"the app shows {screen_step(pilot.app)}, not {step_id}")
            await pilot.pause(0.02)
        await pilot.pause()

    return wait


async def browse(pilot: Any, field: str, timeout: float = 5.0) -> Any:
    """Press a file field's Browse, as its button does; returns the field once the file
    picker is the screen showing."""
    from screens.dialogs import FilePickerModal
    from screens.widgets import FormField, field_id

    widget = pilot.app.screen.query_one(f"#{field_id(field)}", FormField)
    widget.post_message(FormField.Browse(widget))
    deadline = time.monotonic() + timeout
    while not isinstance(pilot.app.screen, FilePickerModal):
        if time.monotonic() > deadline:
            raise AssertionError(f"Browse on {field} opened no file picker")
        await pilot.pause(0.02)
    return widget


def screen_step(app: Any) -> str:
    """The wizard step showing (its id), or the class name of any other screen."""
    step = getattr(app.screen, "step", None)
    return step.id if step is not None else type(app.screen).__name__


async def type_into(pilot: Any, field: str, text: str) -> Any:
    """Clear a form field and type `text` key by key, as a user would; returns the field."""
    from screens.widgets import FormField, field_id

    widget = pilot.app.screen.query_one(f"#{field_id(field)}", FormField)
    widget.focus_input()
    widget.set_value("")
    await pilot.press(*text)
    await pilot.pause()
    return widget
