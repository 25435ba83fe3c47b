"""Docker target: the engine answers, and the gateway image is there or can be had.

The image check never contacts a registry: with `gateway.image_archive` it reads the
archive's index; otherwise it looks in the engine and, failing that, only checks that
the reference is well formed and that the registry's host name resolves.
"""

from __future__ import annotations

import json
import socket
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.checks.base import (
    MAX_FILE_BYTES,
    CheckContext,
    Outcome,
    check,
    file_problem,
    plain_error,
    resolve,
    root_os_error,
)
from wizard.core import validators

if TYPE_CHECKING:
    from docker import DockerClient

ENGINE_TIMEOUT = 2.0
IMAGE_TIMEOUT = 2.5
LOOKUP_TIMEOUT = 1.0  # the engine lookup leaves time to judge the registry reference
ARCHIVE_BUDGET = 1.5  # a big compressed archive is not read to its end here
MAX_ARCHIVE_BYTES = 64 * 1024**3
_INDEX_FILES = ("manifest.json", "repositories", "index.json")


@contextmanager
def engine_client(context: CheckContext, timeout: float) -> Iterator[DockerClient]:
    """A Docker SDK client for the engine `context.environ` points at (DOCKER_HOST & co.)."""
    import docker  # heavy: only when a Docker check actually runs

    client = docker.from_env(timeout=timeout, environment=context.environ)
    try:
        yield client
    finally:
        client.close()


def engine_problem(error: BaseException, context: CheckContext) -> Outcome:
    """Why the engine did not answer, with the fix for that particular reason."""
    where = context.environ.get("DOCKER_HOST") or "the local socket (/var/run/docker.sock)"
    start = "start Docker (`sudo systemctl start docker`), or set DOCKER_HOST to the engine to use"
    cause = root_os_error(error)
    if isinstance(cause, PermissionError):
        return Outcome(
            "fail",
            f"permission denied on the Docker engine at {where}",
            "add this user to the docker group (`sudo usermod -aG docker $USER`, then log in again), or run as root",
        )
    if isinstance(cause, FileNotFoundError | ConnectionRefusedError):
        return Outcome("fail", f"no Docker engine is listening at {where}", start)
    if "timed out" in str(error).lower() or isinstance(cause, TimeoutError):
        return Outcome("fail", f"the Docker engine at {where} did not answer in time", start)
    return Outcome("fail", f"cannot use the Docker engine at {where}: {plain_error(error)}", start)


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


# --- image references -------------------------------------------------------------------------


def registry_host(repository: str) -> str:
    """The registry an image name pulls from: its first component when that is a host."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def normalized_ref(ref: str) -> str:
    """`busybox` and `docker.io/library/busybox:latest` are the same image to the engine."""
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        name, tag = ref, "latest"
    if registry_host(name) == "docker.io":
        name = name.removeprefix("docker.io/").removeprefix("index.docker.io/")
        name = "docker.io/" + (name if "/" in name else f"library/{name}")
    return f"{name}:{tag}"


def _tags_in(name: str, data: Any) -> set[str]:
    """Image references a `docker save` (or OCI layout) index file names."""
    if name == "manifest.json" and isinstance(data, list):
        return {tag for entry in data if isinstance(entry, dict) for tag in entry.get("RepoTags") or []}
    if name == "repositories" and isinstance(data, dict):
        return {f"{repo}:{tag}" for repo, tags in data.items() if isinstance(tags, dict) for tag in tags}
    if name == "index.json" and isinstance(data, dict):
        annotations = [entry.get("annotations") or {} for entry in data.get("manifests") or []]
        return {a["io.containerd.image.name"] for a in annotations if "io.containerd.image.name" in a}
    return set()


def archive_tags(path: Path, budget: float) -> tuple[set[str], set[str], bool]:
    """(references named inside, index files found, finished within `budget` seconds)."""
    deadline = time.monotonic() + budget
    tags: set[str] = set()
    found: set[str] = set()
    with tarfile.open(path, mode="r:*") as archive:
        for member in archive:
            if member.name in _INDEX_FILES and member.isfile() and member.size <= MAX_FILE_BYTES:
                handle = archive.extractfile(member)
                if handle is not None:
                    tags |= _tags_in(member.name, json.load(handle))
                    found.add(member.name)
            if {"manifest.json", "repositories"} <= found:
                return tags, found, True
            if time.monotonic() > deadline:
                return tags, found, False
    return tags, found, True


def _archive_outcome(context: CheckContext, ref: str) -> Outcome:
    archive = context.profile.gateway.image_archive
    path = context.profile.resolve(archive)
    field = "gateway.image_archive"
    fix_path = "set gateway.image_archive to the `docker save` archive of the image (`aigw-wizard bundle` makes one)"
    problem = file_problem(path, MAX_ARCHIVE_BYTES)
    if problem:
        return Outcome("fail", problem, fix_path, field)
    try:
        tags, found, complete = archive_tags(path, ARCHIVE_BUDGET)
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:  # ValueError: broken JSON
        return Outcome("fail", f"{path} is not a readable `docker save` archive: {plain_error(error)}", fix_path, field)
    if not complete and not tags:
        return Outcome(
            "warn",
            f"{path} is large and compressed: its index was not reached within {ARCHIVE_BUDGET:g} s; "
            "`docker load` checks it at install time",
            "save the archive uncompressed (`docker save -o FILE IMAGE`) so it can be checked at once",
            field,
        )
    if not found:
        return Outcome("fail", f"{path} is a tar archive but not one made by `docker save` (no manifest.json)", fix_path, field)
    if normalized_ref(ref) in {normalized_ref(tag) for tag in tags}:
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
