"""The profile file itself: nobody but its owner can change what gets installed."""

from __future__ import annotations

import os

from wizard.checks.base import CheckContext, Outcome, check
from wizard.core.files import loose_permissions


@check("profile.file", "Only you can change the profile", timeout=0.5)
def permissions(context: CheckContext) -> Outcome:
    path = context.profile._source
    if path is None:
        return Outcome("skip", "the profile has not been saved to a file yet")
    problem = loose_permissions(path)
    if problem is None:
        return Outcome("pass", f"{path} is yours and writable by you alone")
    as_root = " and aigw-wizard runs as root: whoever can edit it decides what root installs" if os.geteuid() == 0 else ""
    return Outcome(
        "warn",
        f"{problem}{as_root}",
        f"make it yours and private: `chown {os.geteuid()} {path} && chmod 600 {path}` (and check what it says)",
    )
