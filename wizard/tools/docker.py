"""The Docker engine, as every layer asks it: one place for each fact about it.

- `connect` / `engine`: the SDK client for DOCKER_HOST & co., with a timeout on every call;
  `unreachable` says why the engine did not answer and what to do (the usermod hint only
  for a permission error on the default socket).
- `engine_error`: an engine's refusal or a broken connection as one plain line.
- `normalized_ref` / `same_image`: image references as the engine means them.
- `archive_tags`: the references a `docker save` tarball holds, without loading it.
- `port_holders`: the containers publishing a host port.

The checks and the Docker installer call these same functions, so a check predicts what
the install step will do. The SDK is imported inside the functions that need it: importing
this module costs nothing.
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.core.errors import WizardError
from wizard.core.spec import LABEL_MANAGED, LABEL_PROFILE
from wizard.tools.oserrors import plain_error, root_os_error

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_SOCKET = "/var/run/docker.sock"
MAX_INDEX_BYTES = 1024 * 1024
_INDEX_FILES = ("manifest.json", "repositories", "index.json")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
START_ENGINE = "Start the Docker engine: sudo systemctl start docker (or run dockerd)."
USERMOD_HINT = (
    f"Let your user use {DEFAULT_SOCKET}: sudo usermod -aG docker $USER, "
    "then log in again (or run aigw-wizard as root)."
)
RETRY = "Check that the engine is healthy (docker info; journalctl -u docker), then run apply again: it finishes or undoes what this run started."


class EngineUnreachable(WizardError):
    """The Docker engine did not answer: where we looked, why, and what to do."""


def _where(environ: Mapping[str, str]) -> str:
    host = environ.get("DOCKER_HOST", "")
    return f"DOCKER_HOST={host}" if host else f"the default socket {DEFAULT_SOCKET}"


def unreachable(error: BaseException, environ: Mapping[str, str]) -> EngineUnreachable:
    """Why the engine at DOCKER_HOST (or the default socket) did not answer, with the fix."""
    host = environ.get("DOCKER_HOST", "")
    where = _where(environ)
    cause = root_os_error(error)
    remedies = [START_ENGINE]
    remedies.append(
        f"Check DOCKER_HOST: now {host}; unset it to use the local socket {DEFAULT_SOCKET}."
        if host
        else "Or set DOCKER_HOST to the engine to use."
    )
    if isinstance(cause, PermissionError):
        why = "permission denied"
        remedies = [USERMOD_HINT, *remedies] if not host else [f"Check who may use {host}.", *remedies]
    elif isinstance(cause, FileNotFoundError | ConnectionRefusedError):
        why = "no Docker engine is listening there"
    elif isinstance(cause, TimeoutError) or "timed out" in str(error).lower():
        why = "it did not answer in time"
    else:
        why = plain_error(error)
    return EngineUnreachable(f"cannot reach the Docker engine at {where}: {why}", remedies)


def connect(environ: Mapping[str, str], timeout: float) -> DockerClient:
    """A client for the engine `environ` points at; raises EngineUnreachable when it does not answer.

    `timeout` bounds every request the client makes (connecting included).
    """
    import docker  # heavy: only when the engine is actually used

    try:
        return docker.from_env(timeout=timeout, environment=dict(environ))  # type: ignore[arg-type]
    except Exception as error:  # the SDK raises requests' and its own errors alike
        raise unreachable(error, environ) from None


@contextmanager
def engine(environ: Mapping[str, str], timeout: float) -> Iterator[DockerClient]:
    """`connect`, closed again on leaving the block."""
    client = connect(environ, timeout)
    try:
        yield client
    finally:
        client.close()


def engine_error(error: BaseException) -> WizardError | None:
    """An engine's refusal, or a broken engine connection, as one plain line; None if neither."""
    import requests
    from docker.errors import APIError, DockerException

    if isinstance(error, APIError):
        said = plain_error(Exception(error.explanation or "")) if error.explanation else plain_error(error)
        if error.status_code == 409:
            return WizardError(
                f"the Docker engine refused: {said}",
                [
                    "A container or image of that name is in the way: see `docker ps -a`, remove or "
                    "rename it, or set docker.container_name to another name in the profile; then run apply again."
                ],
            )
        return WizardError(f"the Docker engine reported an error: {said}", [RETRY])
    if isinstance(error, requests.Timeout):
        return WizardError("the Docker engine did not answer in time", [RETRY])
    if isinstance(error, requests.ConnectionError):
        return WizardError("the connection to the Docker engine was lost", [RETRY])
    if isinstance(error, DockerException | requests.RequestException):
        return WizardError(f"the Docker engine reported an error: {plain_error(error)}", [RETRY])
    return None


def describe(error: BaseException, environ: Mapping[str, str]) -> str:
    """One line for any failure talking to the engine (checks quote it in their details)."""
    if isinstance(error, WizardError):
        return error.message
    diagnosed = engine_error(error)
    return diagnosed.message if diagnosed is not None else unreachable(error, environ).message


# --- image references -------------------------------------------------------------------------


def registry_host(repository: str) -> str:
    """The registry an image name pulls from: its first component when that is a host."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return "docker.io" if first in _DOCKER_HUB else first
    return "docker.io"


def normalized_ref(ref: str) -> str:
    """A reference as the engine means it: `busybox`, `busybox:latest`,
    `docker.io/library/busybox:latest` and `index.docker.io/library/busybox` are all
    `docker.io/library/busybox:latest`; a digest is kept and gets no default tag."""
    name, at, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
    else:
        tag = "" if at else "latest"
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", name
    if host in _DOCKER_HUB:
        host = "docker.io"
        path = path if "/" in path else f"library/{path}"
    return f"{host}/{path}" + (f":{tag}" if tag else "") + (f"@{digest}" if at else "")


def same_image(one: str, other: str) -> bool:
    return normalized_ref(one) == normalized_ref(other)


# --- docker save archives ---------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveIndex:
    """What a `docker save` tarball says it holds."""

    tags: frozenset[str] = field(default_factory=frozenset)
    found: frozenset[str] = field(default_factory=frozenset)
    """The index files found (manifest.json, repositories, index.json)."""
    complete: bool = True
    """False when the budget ran out before the whole archive was read."""

    @property
    def is_docker_save(self) -> bool:
        return bool(self.found)

    def holds(self, ref: str) -> bool:
        return any(same_image(tag, ref) for tag in self.tags)


class ArchiveUnreadable(WizardError):
    """Not a tar archive, or a damaged one; `reason` is the plain cause."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is not a readable docker save archive ({reason})")
        self.path = path
        self.reason = reason


def _tags_in(name: str, data: Any) -> set[str]:
    """Image references a `docker save` (or OCI layout) index file names."""
    if name == "manifest.json" and isinstance(data, list):
        return {str(tag) for entry in data if isinstance(entry, dict) for tag in entry.get("RepoTags") or []}
    if name == "repositories" and isinstance(data, dict):
        return {f"{repo}:{tag}" for repo, tags in data.items() if isinstance(tags, dict) for tag in tags}
    if name == "index.json" and isinstance(data, dict):
        annotations = [entry.get("annotations") or {} for entry in data.get("manifests") or [] if isinstance(entry, dict)]
        return {str(a["io.containerd.image.name"]) for a in annotations if "io.containerd.image.name" in a}
    return set()


def archive_tags(path: Path, budget: float | None = None) -> ArchiveIndex:
    """The references a `docker save` tarball names, read without loading it.

    With `budget` (seconds), a big compressed archive is not read to its end. Raises
    ArchiveUnreadable for a file that is not a (whole) tar archive.
    """
    deadline = None if budget is None else time.monotonic() + budget
    tags: set[str] = set()
    found: set[str] = set()
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                if member.name in _INDEX_FILES and member.isfile() and member.size <= MAX_INDEX_BYTES:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        tags |= _tags_in(member.name, json.load(handle))
                        found.add(member.name)
                if {"manifest.json", "repositories"} <= found:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    return ArchiveIndex(frozenset(tags), frozenset(found), complete=False)
    except (tarfile.TarError, EOFError, OSError, ValueError, AttributeError, TypeError) as error:
        raise ArchiveUnreadable(path, plain_error(error)) from None  # ValueError: broken JSON
    return ArchiveIndex(frozenset(tags), frozenset(found))


# --- ports ------------------------------------------------------------------------------------


def port_holders(client: DockerClient, port: int, profile_name: str) -> list[tuple[str, bool]]:
    """(name, is it this profile's) of every running container publishing `port` on the host."""
    return [
        (str(container.name), container.labels.get(LABEL_PROFILE) == profile_name)
        for container in client.containers.list(filters={"publish": f"{port}/tcp"})
    ]


# --- container names --------------------------------------------------------------------------


PREVIOUS_SUFFIX = "-previous"
"""An upgrade keeps the current container as NAME-previous until the new one is stable."""


class NameTaken(WizardError):
    """A container name the profile wants is held by a container that is not this profile's."""


def name_conflict(name: str, labels: Mapping[str, str], profile_name: str) -> NameTaken | None:
    """Why the container `name` (with `labels`) is not this profile's to touch, or None when it is.
    The installer refuses with it; the `docker.name` check predicts that refusal."""
    if labels.get(LABEL_MANAGED) != "true":
        return NameTaken(
            f"a container named {name} already exists and was not created by aigw-wizard; "
            "it was left untouched",
            [
                f"Rename or remove it yourself (docker rename {name} {name}-old), "
                "or set docker.container_name to another name in the profile."
            ],
            "docker.container_name",
        )
    owner = labels.get(LABEL_PROFILE, "")
    if owner != profile_name:
        return NameTaken(
            f"container {name} belongs to aigw-wizard profile {owner!r}, not {profile_name!r}; it was left untouched",
            [
                f"Manage it with that profile (aigw-wizard status {owner}), "
                "or set docker.container_name to another name in the profile."
            ],
            "docker.container_name",
        )
    return None


def named_labels(client: DockerClient, name: str) -> dict[str, str] | None:
    """The labels of the container called exactly `name`, or None when there is none."""
    from docker.errors import NotFound

    try:
        container = client.containers.get(name)
    except NotFound:
        return None
    return dict(container.labels) if container.name == name else None  # `get` also matches id prefixes
