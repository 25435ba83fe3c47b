"""After an install: find why Duo does not work (`run_doctor`), and point GitLab at the
gateway (`connect`). Both read what is installed and the profile; neither changes the
installation.
"""

from __future__ import annotations

from wizard.core.profile import Profile
from wizard.doctor.findings import Finding, failed

__all__ = ["Finding", "failed", "run_doctor"]


def run_doctor(profile: Profile, name: str) -> list[Finding]:
    """Every finding about the installed gateway of profile `name` (never raises for what it finds)."""
    if profile.target == "helm":
        return [
            Finding(
                "target.helm", "warn", "Helm target",
                "the doctor does not inspect Helm releases yet (pods, their logs and reach are Docker-only for now)",
                f"`aigw-wizard status {name}` shows the release and its pods",
            )
        ]
    from wizard.doctor.docker import diagnose

    return diagnose(profile, name)
