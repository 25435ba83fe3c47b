"""The wizard's state between screens, free of any UI: which steps exist, where to resume,
and setting fields with the profile model's own validation, saved the moment they are valid.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.core import paths, store
from wizard.core.profile import Profile, Target, problems, validate_field


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    fields: tuple[str, ...] = ()
    only_for: Target | None = None


STEPS: tuple[Step, ...] = (
    Step("target", "Target", ("target",)),
    Step("gitlab", "GitLab", ("gitlab.url", "gitlab.api_url", "gitlab.version")),
    Step(
        "gateway",
        "Gateway",
        (
            "gateway.hostname", "gateway.port", "gateway.image", "gateway.tag",
            "gateway.image_archive", "gateway.ca_bundle", "gateway.auth_bypass",
            "gateway.extra_env", "docker.container_name", "docker.restart_policy",
        ),
    ),
    Step("tls", "TLS", ("tls.cert", "tls.key")),
    Step(
        "helm",
        "Helm",
        (
            "helm.kube_context", "helm.namespace", "helm.release", "helm.chart",
            "helm.chart_version", "helm.repo_url", "helm.ingress_class", "helm.tls_secret",
            "helm.timeout",
        ),
        only_for="helm",
    ),
    Step("preflight", "Checks"),
    Step("review", "Review"),
    Step("install", "Install"),
    Step("done", "Done"),
)
FORM_STEPS = ("target", "gitlab", "gateway", "tls", "helm")


def steps_for(target: Target | None) -> list[Step]:
    return [step for step in STEPS if step.only_for in (None, target)]


def step_of_field(field: str) -> str | None:
    for step in STEPS:
        if field in step.fields or any(field.startswith(name + ".") for name in step.fields):
            return step.id
    return None


def _to_int(raw: Any) -> int | str:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return raw


_CONVERTERS = {"gateway.port": _to_int}


class WizardSession:
    """One profile being edited: every valid change is written to disk at once."""

    def __init__(self, name: str, path: Path, profile: Profile) -> None:
        self.name = name
        self.path = path
        self.profile = profile

    @classmethod
    def open(cls, ref: str) -> WizardSession:
        """Load a saved profile (raises store.ProfileError with a one-line reason)."""
        path = store.resolve(ref)
        return cls(store.name_of(path), path, store.load(path))

    @classmethod
    def create(cls, name: str) -> WizardSession:
        path = store.create(name)
        session = cls(name, path, store.load(path))
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
        paths.ensure_private_dir(target.parent)
        temporary = target.with_suffix(".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(sorted(steps), handle)
            os.replace(temporary, target)
        except OSError:
            pass  # losing the resume hint is harmless: completeness still decides

    def set(self, field: str, raw: Any) -> str | None:
        """Validate and, when valid and changed, save; returns the plain-words error or None."""
        value = _CONVERTERS.get(field, lambda x: x)(raw)
        if field == "gateway.port" and isinstance(value, str):
            return "must be a whole number from 1 to 65535"
        updated, error = validate_field(self.profile, field, value)
        if updated is None:
            return error
        if updated.model_dump() != self.profile.model_dump():
            try:
                store.save(updated, self.path)
            except (store.ProfileError, OSError) as failure:
                return f"could not save the profile: {failure}"
            self.profile = updated
        return None

    def step_problems(self, step_id: str) -> list[str]:
        step = next(step for step in STEPS if step.id == step_id)
        return [str(problem) for problem in problems(self.profile) if problem.field in step.fields]

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
