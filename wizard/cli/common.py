"""What every verb shares: exit codes, the one-line command error, loading a profile."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core.errors import WizardError

if TYPE_CHECKING:
    from wizard.core.profile import Profile

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandError(WizardError):
    """Ends a command with a one-line message and an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE, remedies: Iterable[str] = ()) -> None:
        super().__init__(message, remedies)
        self.code = code


def load_profile(ref: str, *, ready: bool = False) -> tuple[Profile, str, Path]:
    """Load NAME or PATH; with `ready`, also refuse a profile that cannot be applied yet."""
    from wizard.core import store
    from wizard.core.profile import problems

    try:
        path = store.resolve(ref)
        profile = store.load(path)
    except store.ProfileError as error:
        raise CommandError(str(error)) from None
    if ready:
        found = problems(profile)
        if found:
            lines = "\n".join(f"{path}: {problem}" for problem in found)
            raise CommandError(f"{lines}\nthe profile is not complete: fix these (or finish it in the wizard)")
    return profile, store.name_of(path), path


