"""Installers: one per target, each a source of typed events over a validated profile.

`installer_for()` picks the Docker or Helm engine and imports it only then, so the
CLI and the TUI start without loading the docker or kubernetes clients. The shared
contract lives in `wizard.install.base` (engines import it from there); the names are
re-exported here for the faces. `wizard.install.run.run` drives a verb with its journal.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from wizard.core.errors import Cancelled
from wizard.install.base import (
    AUTH_BYPASS_WARNING,
    VERIFY_COMMAND,
    WHERE_TO_SET_URL,
    Drift,
    Installer,
    StatusReport,
)

if TYPE_CHECKING:
    from wizard.core.profile import Profile

__all__ = [
    "AUTH_BYPASS_WARNING",
    "VERIFY_COMMAND",
    "WHERE_TO_SET_URL",
    "Cancelled",
    "Drift",
    "Installer",
    "StatusReport",
    "installer_for",
]


def installer_for(profile: Profile, profile_name: str, cancel: threading.Event | None = None) -> Installer:
    if profile.target == "helm":
        from wizard.install.helm import HelmInstaller

        return HelmInstaller(profile, profile_name, cancel)
    from wizard.install.docker import DockerInstaller

    return DockerInstaller(profile, profile_name, cancel)
