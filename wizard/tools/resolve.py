"""Tag resolution once per run: the profile with a concrete `gateway.tag`, and how it was found.

`gateway.tag = ""` stays "" on disk; every verb that needs the concrete tag (`apply`,
`upgrade`, `bundle`, `plan`, `status`, the `gateway.tag` check) asks `resolve_profile`,
so they all name the same tag. The places asked are `wizard.tools.tags.resolve_tag`'s:
the archive (only it, when set), else the engine's local images, else the registry.
A pinned tag is used as it is; nothing is asked unless `check_newer` (or `current`) wants
to know about a newer patch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from wizard.core.profile import Profile
from wizard.tools import tags
from wizard.tools.tags import TagResolution

ENGINE_TIMEOUT = 5.0


def with_tag(profile: Profile, tag: str) -> Profile:
    """A copy of `profile` whose `gateway.tag` is `tag` (the file on disk is not touched)."""
    if profile.gateway.tag == tag:
        return profile
    return profile.model_copy(update={"gateway": profile.gateway.model_copy(update={"tag": tag})})


def engine_tags(profile: Profile, client: Any = None, environ: Mapping[str, str] | None = None) -> list[str] | None:
    """Tags of the profile's repository among the engine's local images; None when no engine answers."""
    from wizard.tools import docker as engine_tools

    try:
        if client is not None:
            return tags.engine_lister(client)(profile.image_repository)
        with engine_tools.engine(environ if environ is not None else os.environ, ENGINE_TIMEOUT) as opened:
            return tags.engine_lister(opened)(profile.image_repository)
    except Exception:  # WizardError, or the SDK's own: no engine to ask, the next place is
        return None


def resolve_profile(
    profile: Profile,
    *,
    client: Any = None,
    use_engine: bool | None = None,
    use_registry: bool = True,
    check_newer: bool = False,
    current: str = "",
    environ: Mapping[str, str] | None = None,
) -> tuple[Profile, TagResolution]:
    """(profile with a concrete tag, the resolution). `client`: a docker SDK client to reuse.

    `use_engine` defaults to the Docker target; the registry is asked unless `use_registry`
    is False or an archive is set (then the archive is the only place).
    """
    if profile.gateway.tag and not check_newer and not current:
        return profile, TagResolution(profile.gateway.tag, "pinned")
    if use_engine is None:
        use_engine = profile.target == "docker"
    local = engine_tags(profile, client, environ) if use_engine and not profile.gateway.image_archive else None
    resolution = tags.resolve_tag(
        profile,
        engine=(lambda _repository: local) if local is not None else None,
        registry=tags.registry_lister() if use_registry and not profile.gateway.image_archive else None,
        check_newer=check_newer,
        current=current,
    )
    if not resolution.tag:
        return profile, resolution
    return with_tag(profile, resolution.tag), resolution


def describe(resolution: TagResolution) -> str:
    """One line: the tag and where it was found (or the warning naming what was searched)."""
    where = {
        "pinned": "pinned in the profile",
        "exact": "the exact tag for gitlab.version",
        "none": "no tag",
    }.get(resolution.source, f"newest of its line in the {resolution.source}")
    line = f"image tag {resolution.tag or '(none)'} ({where})"
    if resolution.newer_available:
        line += f"; {resolution.newer_available} is available"
    if resolution.warning:
        line += f": {resolution.warning}"
    return line
