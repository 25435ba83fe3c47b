"""One profile being edited: where to resume, and setting fields with the profile model's own
validation, saved the moment they are valid."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.core import files, paths, store
from wizard.core.events import Event, Result
from wizard.core.profile import Profile, problems, validate_field
from wizard.session.services import Engines
from wizard.session.steps import FORM_STEPS, field_value, get_step, steps_for

if TYPE_CHECKING:
    from wizard.checks.base import CheckResult


class WizardSession:
    """One profile being edited: every valid change is written to disk at once."""

    def __init__(self, name: str, path: Path, profile: Profile, engines: Engines | None = None,
                 revision: store.Revision | None = None) -> None:
        self.name = name
        self.path = path
        self.profile = profile
        self.revision = revision
        """The file as the session last read or wrote it (`store.update_field` compares it)."""
        self.reloaded = False
        self.engines = engines or Engines()
        self.result: Result | None = None
        """How the last install of this session ended (the Done screen shows its addresses)."""

    @classmethod
    def open(cls, ref: str, engines: Engines | None = None) -> WizardSession:
        """Load a saved profile (raises store.ProfileError with a one-line reason)."""
        path = store.resolve(ref)
        profile, revision = store.load_with_revision(path)
        return cls(store.name_of(path), path, profile, engines, revision)

    @classmethod
    def create(cls, name: str, engines: Engines | None = None) -> WizardSession:
        path = store.create(name)
        profile, revision = store.load_with_revision(path)
        session = cls(name, path, profile, engines, revision)
        session._write_confirmed(set())  # from now on, resume where the user left off
        return session

    # Which screens the user has confirmed with Next: a valid prefix typed before a dropped
    # connection makes a step complete, but the user has not finished it yet.

    @property
    def _progress_file(self) -> Path:
        digest = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:10]
        return paths.state_dir() / f"{self.name}-{digest}.wizard.json"

    def confirmed_steps(self) -> set[str] | None:
        """None when the profile was not started in the wizard (e.g. written by hand)."""
        try:
            return set(json.loads(self._progress_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def confirm(self, step_id: str) -> None:
        confirmed = self.confirmed_steps()
        if confirmed is not None and step_id not in confirmed:
            self._write_confirmed(confirmed | {step_id})

    def _write_confirmed(self, steps: set[str]) -> None:
        target = self._progress_file
        try:
            paths.ensure_private_dir(target.parent)
            files.write_private(target, json.dumps(sorted(steps)))
        except OSError:
            pass  # losing the resume hint is harmless: completeness still decides

    def set(self, field: str, raw: Any) -> str | None:
        """Validate and, when valid and changed, save this one field on top of the file as it
        is on disk now; returns the plain-words error or None.

        When the file changed on disk since the session read it (a hand edit, the CLI), the
        session reloads it first (`reloaded` says so until the screen takes the news with
        `take_reloaded`), then applies this value on top of what is there now.
        """
        value, unreadable = field_value(field, raw)
        if unreadable:
            return unreadable
        updated, error = validate_field(self.profile, field, value)
        if updated is None:
            return error
        try:
            try:
                self.profile, self.revision = store.update_field(self.path, field, value, self.revision)
            except store.ProfileChanged as changed:
                if changed.profile is None or changed.revision is None:
                    return "the profile changed on disk and no longer loads: fix the file, then reopen it"
                self.profile, self.revision = changed.profile, changed.revision
                self.reloaded = True
                updated, error = validate_field(self.profile, field, value)
                if updated is None:
                    return error
                self.profile, self.revision = store.update_field(self.path, field, value, self.revision)
        except store.ProfileChanged:
            return "the profile keeps changing on disk; try again"
        except (store.ProfileError, OSError) as failure:
            return f"could not save the profile: {failure}"
        return None

    def take_reloaded(self) -> bool:
        """True once after `set` reloaded the profile from disk (the screen refreshes its fields)."""
        reloaded, self.reloaded = self.reloaded, False
        return reloaded

    def checks(self) -> Iterator[CheckResult]:
        """The preflight checks on the profile as it is now, one result as each finishes."""
        return self.engines.checks(self.profile, self.name)

    def apply(self, cancel: threading.Event) -> Iterator[Event]:
        """Install (or bring in line) the profile as it is now; the last event is the `Result`."""
        return self.engines.apply(self.profile, self.name, cancel)

    def step_problems(self, step_id: str) -> list[str]:
        fields = get_step(step_id).fields
        return [str(problem) for problem in problems(self.profile) if problem.field in fields]

    def step_complete(self, step_id: str) -> bool:
        if step_id not in FORM_STEPS:
            return False
        if step_id == "target":
            return self.profile.target is not None
        return not self.step_problems(step_id)

    def completed_steps(self) -> set[str]:
        """Form steps filled in (and confirmed, for wizard-made profiles), in order: a later
        step never counts before an earlier one."""
        confirmed = self.confirmed_steps()
        done: set[str] = set()
        for step in steps_for(self.profile.target):
            if step.id not in FORM_STEPS or not self.step_complete(step.id):
                break
            if confirmed is not None and step.id not in confirmed:
                break
            done.add(step.id)
        return done

    def resume_step(self) -> str:
        """The first screen not yet complete, or the checks when the form is complete."""
        done = self.completed_steps()
        for step in steps_for(self.profile.target):
            if step.id in FORM_STEPS and step.id not in done:
                return step.id
        return "preflight"

    def next_step(self, current: str) -> str | None:
        order = [step.id for step in steps_for(self.profile.target)]
        index = order.index(current)
        return order[index + 1] if index + 1 < len(order) else None

    def previous_step(self, current: str) -> str | None:
        order = [step.id for step in steps_for(self.profile.target)]
        index = order.index(current)
        return order[index - 1] if index > 0 else None
