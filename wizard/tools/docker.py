"""The Docker engine, as every layer asks it: one place for each fact about it.

- `connect` / `engine`: the SDK client for DOCKER_HOST & co. (one per run, shared by the
  checks and the installer), with a timeout on every call;
  `unreachable` says why the engine did not answer and what to do (the usermod hint only
  for a permission error on the default socket).
- `engine_error`: an engine's refusal or a broken connection as one plain line.
- `normalized_ref` / `same_image`: image references as the engine means them.
- `loaded_from_reply`: what the engine says it loaded (what a `docker save` tarball holds
  before loading is `wizard.tools.archive`'s).
- `port_holders`: the containers publishing a host port.

The checks and the Docker installer call these same functions, so a check predicts what
the install step will do. The SDK is imported inside the functions that need it: importing
this module costs nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from wizard.core.errors import WizardError
from wizard.core.spec import LABEL_MANAGED, LABEL_PROFILE
from wizard.tools.oserrors import plain_error, root_os_error

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_SOCKET = "/var/run/docker.sock"
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


_ENGINE_VARIABLES = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
_SHARED: dict[tuple[str, ...], DockerClient] = {}
_SHARED_LOCK = threading.Lock()
_CALLER = threading.local()
"""This thread's timeout for engine calls, while inside `engine(...)`."""


def _shared_api_class() -> type:
    from docker import APIClient

    class SharedAPIClient(APIClient):  # type: ignore[misc]
        """One connection pool for the whole run; each thread may bound its own calls."""

        @property  # type: ignore[override]
        def timeout(self) -> float | None:
            return getattr(_CALLER, "timeout", None) or self._default_timeout

        @timeout.setter
        def timeout(self, value: float | None) -> None:
            self._default_timeout = value

        def close(self) -> None:
            """Shared: the connections stay for the next caller (and end with the process)."""

    return SharedAPIClient


def connect(environ: Mapping[str, str], timeout: float) -> DockerClient:
    """The client for the engine `environ` points at; raises EngineUnreachable when it does not answer.

    One client per engine address and process, shared by the checks and the installer: the
    SDK, the connection and the API version are set up once per run. `timeout` becomes the
    default bound of every request (connecting included); `engine()` bounds one thread's.
    """
    key = tuple(environ.get(name, "") for name in _ENGINE_VARIABLES)
    with _SHARED_LOCK:
        client = _SHARED.get(key)
        if client is None:
            import docker  # heavy: only when the engine is actually used
            from docker.utils import kwargs_from_env

            try:
                api = _shared_api_class()(timeout=timeout, **kwargs_from_env(environment=dict(environ)))
            except Exception as error:  # the SDK raises requests' and its own errors alike
                raise unreachable(error, environ) from None
            client = docker.DockerClient.__new__(docker.DockerClient)
            client.api = api
            _SHARED[key] = client
        client.api.timeout = timeout
        return client


@contextmanager
def engine(environ: Mapping[str, str], timeout: float) -> Iterator[DockerClient]:
    """The shared client, its requests from this thread bounded by `timeout` inside the block."""
    previous = getattr(_CALLER, "timeout", None)
    _CALLER.timeout = timeout
    try:
        with _SHARED_LOCK:
            client = _SHARED.get(tuple(environ.get(name, "") for name in _ENGINE_VARIABLES))
        yield client if client is not None else connect(environ, timeout)
    finally:
        _CALLER.timeout = previous


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


# --- docker load replies ---------------------------------------------------------------------


LOADED = re.compile(r"^Loaded image(?P<by_id> ID)?: (?P<what>\S+)\s*$")


def loaded_from_reply(messages: Iterator[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(references, image ids) an engine's `docker load` reply names; raises on its errors.

    The engine answers "Loaded image: REF" for each tag and "Loaded image ID: sha256:…"
    for an untagged image: what it read, learnt without reading the archive ourselves.
    """
    from docker.errors import ImageLoadError

    tags: set[str] = set()
    ids: set[str] = set()
    for message in messages:
        if "error" in message:
            raise ImageLoadError(str(message["error"]))
        for line in str(message.get("stream", "")).splitlines():
            if (match := LOADED.match(line)) is not None:
                (ids if match["by_id"] else tags).add(match["what"])
    return tags, ids


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
