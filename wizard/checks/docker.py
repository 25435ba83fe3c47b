from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from wizard.checks.base import (
    CheckContext,
    Outcome,
    check,
    file_problem,
    plain_error,
    resolve,
)
from wizard.core import validators
from wizard.tools import docker as engine_tools
from wizard.tools.archive import ArchiveError, read_archive
from wizard.tools.docker import (
    PREVIOUS_SUFFIX,
    normalized_ref,
    registry_host,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from docker import DockerClient

__all__ = ["engine_client", "engine_problem", "normalized_ref", "registry_host"]

ENGINE_TIMEOUT = 2.0
IMAGE_TIMEOUT = 2.5
LOOKUP_TIMEOUT = 1.0  # the engine lookup leaves time to judge the registry reference
MAX_ARCHIVE_BYTES = 64 * 1024**3


def engine_client(context: CheckContext, timeout: float) -> AbstractContextManager[DockerClient]:
    """A Docker SDK client for the engine `context.environ` points at (DOCKER_HOST & co.)."""
    return engine_tools.engine(context.environ, timeout)


def engine_problem(error: BaseException, context: CheckContext) -> Outcome:
    """Why the engine did not answer, with the fix for that particular reason (the installer's words)."""
    if isinstance(error, engine_tools.EngineUnreachable):
        found = error
    else:
        found = engine_tools.engine_error(error) or engine_tools.unreachable(error, context.environ)
    return Outcome("fail", found.message, " ".join(found.remedies))


@check("docker.engine", "Docker engine", targets=("docker",), timeout=ENGINE_TIMEOUT)
def engine(context: CheckContext) -> Outcome:
    try:
        with engine_client(context, ENGINE_TIMEOUT - 0.2) as client:
            version = client.version()
    except Exception as error:  # the SDK raises requests' and its own errors alike
        return engine_problem(error, context)
    return Outcome(
        "pass",
        f"Docker Engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) "
        f"on {version.get('Os', '?')}/{version.get('Arch', '?')}",
    )


def _archive_outcome(context: CheckContext, ref: str) -> Outcome:
    archive = context.profile.gateway.image_archive
    path = context.profile.resolve(archive)
    field = "gateway.image_archive"
    fix_path = "set gateway.image_archive to the `docker save` archive of the image (`aigw-wizard bundle` makes one)"
    problem = file_problem(path, MAX_ARCHIVE_BYTES)
    if problem:
        return Outcome("fail", problem, fix_path, field)
    try:
        index = read_archive(path)  # a plain tarball: a few header reads; a compressed one: its first
    except ArchiveError as error:
        return Outcome("fail", f"{path} is not a readable `docker save` archive: {error.reason}", fix_path, field)
    tags = index.tags
    if index.compressed:
        # Its manifest.json is the last member, behind every layer: reading it here would
        # inflate the whole archive once more than the load does.
        return Outcome(
            "pass",
            f"{path} is a compressed tar archive; the image it holds is checked while it loads "
            "(the engine names what it loaded), without contacting any registry",
        )
    if not index.is_docker_save:
        return Outcome("fail", f"{path} is a tar archive but not one made by `docker save` (no manifest.json)", fix_path, field)
    if index.holds(ref):
        return Outcome("pass", f"{path} holds {ref}; it is loaded without contacting any registry")
    held = ", ".join(sorted(tags)) or "untagged images only"
    return Outcome(
        "fail",
        f"{path} holds {held}, not {ref}",
        f"point gateway.image_archive at the archive of {ref}, or set gateway.image and gateway.tag "
        "to the image the archive holds",
        field,
    )


def _local_image(context: CheckContext, ref: str) -> tuple[str | None, str]:
    """(a description of the image when the engine has it, why we could not tell)."""
    import docker

    try:
        with engine_client(context, LOOKUP_TIMEOUT) as client:
            image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None, ""
    except Exception as error:  # engine unreachable: docker.engine says why
        return None, f" (could not look in the engine: {engine_problem(error, context).detail})"
    size = int(image.attrs.get("Size") or 0) // 1024**2
    return f"{ref} is present in the engine ({image.short_id}, {size} MB)", ""


def _registry_outcome(context: CheckContext, ref: str, note: str) -> Outcome:
    image = context.profile.gateway.image
    try:
        validators.image_repository(image)
        validators.image_tag(context.profile.image_tag)
    except ValueError as error:
        return Outcome("fail", f"{ref}: {error}", "fix gateway.image (repository, no tag) and gateway.tag", "gateway.image")
    registry = registry_host(image)
    lookup = "registry-1.docker.io" if registry == "docker.io" else registry.rsplit(":", 1)[0].strip("[]")
    try:
        resolve(context, lookup, IMAGE_TIMEOUT - LOOKUP_TIMEOUT - 0.3)
    except (socket.gaierror, UnicodeError, TimeoutError) as error:
        return Outcome(
            "fail",
            f"{ref} is not in the engine and the registry host {lookup} does not resolve ({plain_error(error)}){note}",
            "fix DNS (or the proxy) for the registry, or on a connected host run `aigw-wizard bundle` "
            "and set gateway.image_archive to the saved archive",
            "gateway.image",
        )
    return Outcome("pass", f"{ref} is not in the engine yet; it will be pulled from {registry}{note}")


@check("docker.image", "Gateway image", targets=("docker",), timeout=IMAGE_TIMEOUT, field="gateway.image")
def image(context: CheckContext) -> Outcome:
    profile = context.profile
    if not profile.image_tag:
        return Outcome(
            "fail",
            "no image tag: neither gitlab.version nor gateway.tag is set",
            "set gitlab.version (X.Y.Z picks self-hosted-vX.Y.Z-ee) or gateway.tag",
            "gateway.tag",
        )
    ref = profile.image_ref
    if profile.gateway.image_archive:
        return _archive_outcome(context, ref)
    present, note = _local_image(context, ref)
    if present:
        return Outcome("pass", present)
    return _registry_outcome(context, ref, note)


@check("docker.name", "Container name", targets=("docker",), timeout=ENGINE_TIMEOUT, field="docker.container_name")
def container_name(context: CheckContext) -> Outcome:
    """The container names apply will use are free or this profile's (the installer's own rule)."""
    name = context.profile.docker.container_name
    try:
        with engine_client(context, ENGINE_TIMEOUT - 0.2) as client:
            held = {each: engine_tools.named_labels(client, each) for each in (name, name + PREVIOUS_SUFFIX)}
    except Exception as error:
        return Outcome("skip", f"could not look in the engine: {engine_problem(error, context).detail}")
    for each, labels in held.items():
        if labels is not None and (conflict := engine_tools.name_conflict(each, labels, context.profile_name)):
            return Outcome("fail", conflict.message, " ".join(conflict.remedies), conflict.field)
    if held[name] is not None:
        return Outcome("pass", f"{name} is this profile's container: apply replaces it if the profile changed")
    return Outcome("pass", f"{name} is free")
