"""Which image tag a profile runs, and which platforms that image is built for.

`gateway.tag = ""` means: the newest `self-hosted-vX.Y.*-ee` for GitLab `X.Y` (the gateway
cuts its own patch numbers on its stable branch). Looked for, in order, and the first place
that has one wins:

1. the archive, when `gateway.image_archive` is set — and then *only* there (an air-gapped
   host has nothing else): the references its index names (`wizard.tools.archive`);
2. the engine's local images of the repository;
3. the registry's tag list (`wizard.tools.registry`).

Nothing found → the exact `self-hosted-vX.Y.Z-ee`, with a warning naming what was searched.
A pinned `gateway.tag` is used as it is; with `check_newer` the same places are asked for a
newer patch of its line, which `newer_available` reports (also against the `current` tag
that runs now). The archive and registry are read without running anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wizard.core import release as releases
from wizard.core.errors import WizardError
from wizard.core.text import clean
from wizard.tools.archive import saved_images
from wizard.tools.registry import (
    Platform,
    RegistryClient,
    RegistryError,
    canonical_reference,
    parse_repository,
)

if TYPE_CHECKING:
    from wizard.core.profile import Profile

Source = Literal["pinned", "archive", "engine", "registry", "exact", "none"]

#: Lists the tags of one repository (canonical name in, tags out); raises WizardError when it cannot.
TagLister = Callable[[str], list[str]]


@dataclass(frozen=True)
class TagResolution:
    tag: str
    """The tag to run ("" only when the profile names neither a tag nor a GitLab version)."""
    source: Source
    """Where `tag` came from: pinned in the profile, found in archive/engine/registry, or exact."""
    searched: tuple[str, ...] = ()
    """What was looked at, in words (`archive /srv/gw.tar`, `registry 127.0.0.1:5000`, …)."""
    warning: str = ""
    newer_available: str = ""
    """A newer patch of the same line than `tag` (or than the running `current`), if one was seen."""


@dataclass(frozen=True)
class Platforms:
    platforms: tuple[Platform, ...]
    source: Literal["archive", "engine", "registry", "unknown"]
    detail: str = ""

    @property
    def architectures(self) -> frozenset[str]:
        return frozenset(platform.architecture for platform in self.platforms)


# --- picking ----------------------------------------------------------------------------------


def newest_patch(tags: Iterable[str], line: tuple[int, int]) -> str:
    """The `self-hosted-vX.Y.Z-ee` with the highest Z for line (X, Y) among `tags`; "" if none."""
    best: releases.Version | None = None
    for tag in tags:
        version = releases.parse_tag(tag)
        if version is not None and (version.major, version.minor) == line and (best is None or version > best):
            best = version
    return releases.tag_for(best) if best else ""


def _newer(candidate: str, than: str) -> str:
    new, old = releases.parse_tag(candidate), releases.parse_tag(than)
    return candidate if new and old and new > old else ""


# --- sources ----------------------------------------------------------------------------------


def archive_tags(path: Path, repository: str) -> list[str]:
    """Tags of `repository` in the archive (other repositories' tags are not ours to run)."""
    wanted = parse_repository(repository).canonical
    tags = []
    for image in saved_images(path):
        for ref in image.refs:
            name, _, tag = canonical_reference(ref).rpartition(":")
            if name == wanted:
                tags.append(tag)
    return tags


def engine_lister(client: Any) -> TagLister:
    """Tags of local images in the engine (a docker SDK client)."""

    def tags(repository: str) -> list[str]:
        from docker.errors import DockerException

        wanted = parse_repository(repository).canonical
        try:
            images = client.images.list()
        except DockerException as error:
            raise WizardError(f"the engine could not list images: {clean(str(error))}") from None
        found = []
        for image in images:
            for ref in image.tags:
                name, _, tag = canonical_reference(ref).rpartition(":")
                if name == wanted:
                    found.append(tag)
        return found

    return tags


def registry_lister(credentials: tuple[str, str] | None = None) -> TagLister:
    def tags(repository: str) -> list[str]:
        return RegistryClient.for_repository(repository, credentials=credentials).tags()

    return tags


# --- resolution -------------------------------------------------------------------------------


@dataclass
class _Search:
    line: tuple[int, int]
    searched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def ask(self, what: str, lister: Callable[[], list[str]]) -> str:
        self.searched.append(what)
        try:
            return newest_patch(lister(), self.line)
        except WizardError as error:
            self.problems.append(f"{what}: {error.message}")
            return ""


def resolve_tag(
    profile: Profile,
    *,
    engine: TagLister | None = None,
    registry: TagLister | None = None,
    check_newer: bool = False,
    current: str = "",
) -> TagResolution:
    """The tag `profile` runs. `engine`/`registry` are the places to ask (None: not asked)."""
    repository = profile.image_repository
    pinned = profile.gateway.tag
    release = profile.release
    if release is None:
        if pinned:
            return TagResolution(pinned, "pinned")
        return TagResolution("", "none", warning="set gitlab.version (it picks the image tag) or gateway.tag")
    search = _Search((release.version.major, release.version.minor))
    archive = profile.gateway.image_archive
    places: list[tuple[Source, str, Callable[[], list[str]]]] = []
    if archive:
        path = profile.resolve(archive)
        places.append(("archive", f"archive {path}", lambda: archive_tags(path, repository)))
    else:
        if engine is not None:
            places.append(("engine", f"local images of {repository}", lambda: engine(repository)))
        if registry is not None:
            host = parse_repository(repository).registry
            places.append(("registry", f"registry {host}", lambda: registry(repository)))

    if pinned:
        newest = ""
        if check_newer:
            for _source, what, lister in places:
                newest = max((newest, search.ask(what, lister)), key=_patch_key)
        newer = _newer(newest, pinned) or _newer(pinned, current)
        return TagResolution(pinned, "pinned", tuple(search.searched), _problems(search), newer)

    for index, (source, what, lister) in enumerate(places):
        found = search.ask(what, lister)
        if not found:
            continue
        newer = _newer(found, current)
        if check_newer:
            for _later, later_what, later in places[index + 1 :]:
                newer = max((newer, _newer(search.ask(later_what, later), found)), key=_patch_key)
        return TagResolution(found, source, tuple(search.searched), _problems(search), newer)

    exact = releases.tag_for(release.version)
    looked = ", ".join(search.searched) or "nowhere (no archive, engine or registry to ask)"
    warning = f"no self-hosted-v{release.version.line}.*-ee found in {looked}: using the exact {exact}"
    if search.problems:
        warning += " (" + "; ".join(search.problems) + ")"
    return TagResolution(exact, "exact", tuple(search.searched), warning, _newer(exact, current))


def _patch_key(tag: str) -> tuple[int, int, int]:
    version = releases.parse_tag(tag)
    return tuple(version) if version else (-1, -1, -1)  # type: ignore[return-value]


def _problems(search: _Search) -> str:
    return "; ".join(search.problems)


# --- platforms --------------------------------------------------------------------------------


def image_platforms(
    profile: Profile, tag: str, *, client: Any = None, registry: RegistryClient | None = None
) -> Platforms:
    """The platforms `image_repository:tag` is built for, from the archive, engine or registry."""
    repository = profile.image_repository
    ref = canonical_reference(f"{repository}:{tag}")
    if profile.gateway.image_archive:
        path = profile.resolve(profile.gateway.image_archive)
        for image in saved_images(path):
            if image.platform and any(canonical_reference(r) == ref for r in image.refs):
                return Platforms((image.platform,), "archive", str(path))
        return Platforms((), "unknown", f"{path} holds no {repository}:{tag}")
    if client is not None:
        from docker.errors import DockerException

        try:
            image = client.images.get(f"{repository}:{tag}")
            attrs = image.attrs
            platform = Platform(str(attrs.get("Os") or "linux"), str(attrs.get("Architecture") or ""), str(attrs.get("Variant") or ""))
            if platform.architecture:
                return Platforms((platform,), "engine")
        except DockerException:
            pass  # not local: ask the registry
    if registry is not None:
        try:
            return Platforms(tuple(registry.platforms(tag)), "registry", registry.name.registry)
        except RegistryError as error:
            return Platforms((), "unknown", error.message)
    return Platforms((), "unknown", "no archive, local image or registry to ask")
