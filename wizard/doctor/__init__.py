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
        from wizard.doctor.helm import diagnose as diagnose_helm

        return diagnose_helm(profile, name)
    from wizard.doctor.docker import diagnose

    return diagnose(profile, name)
