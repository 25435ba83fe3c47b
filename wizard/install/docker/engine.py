"""The Docker installer's shared state: the engine client, the step runner, our containers."""

from __future__ import annotations

import http.client
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Generator
from typing import TypeVar

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from wizard.core.events import Event
from wizard.core.profile import GATEWAY_CONTAINER_PORT, Profile
from wizard.core.spec import LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_PROFILE, container_spec
from wizard.install.base import Installer
from wizard.install.runner import Step, StepFailed, StepRunner
from wizard.tools import docker as engine_tools

T = TypeVar("T")
Run = Generator[Event, None, T]

PREVIOUS_SUFFIX = "-previous"
HEALTH_PATH = "/monitoring/healthz"
# The health check only ever talks to loopback: an HTTP(S)_PROXY from the environment must not apply.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DockerBase(Installer):
    """The state every part of the Docker engine reads; the verbs live in the package's `__init__`."""

    health_timeout: float = 180.0
    """Seconds a started container has to answer its health check."""
    poll_interval: float = 0.05
    """Pause between health probes while nothing answers; waits end early on cancel."""
    patient_poll_interval: float = 0.5
    """Pause between probes once the gateway answers (not yet 200): each is a line in its log."""
    inspect_interval: float = 1.0
    """Seconds between inspections of the container while waiting (its `die` event wakes us at once)."""
    settle_seconds: float = 3.0
    """Health means stable: after its first 200 a new container must stay up, unrestarted and
    healthy this long before the previous one is removed (the point of no return)."""
    settle_probe_interval: float = 0.5
    probe_timeout: float = 1.0
    """Seconds one health request may take."""
    stop_timeout: int = 10
    """Seconds `docker stop` gives the old gateway before killing it."""
    client_timeout: int = 300
    """Seconds one engine request may take (image loads and saves are long)."""

    def __init__(self, profile: Profile, profile_name: str, cancel: threading.Event | None = None) -> None:
        super().__init__(profile, profile_name, cancel)
        self.spec = container_spec(profile, profile_name)
        self.steps = StepRunner(self.cancel, diagnose=engine_tools.engine_error)
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        assert self._client is not None, "connect first"
        return self._client

    @property
    def previous_name(self) -> str:
        return self.spec.name + PREVIOUS_SUFFIX

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.spec.host_port}{HEALTH_PATH}"

    # --- the engine ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Raises `wizard.tools.docker.EngineUnreachable` (a WizardError) with its remedies."""
        self._client = engine_tools.connect(os.environ, self.client_timeout)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def connect_step(self) -> Run[None]:
        def body(step: Step) -> Run[None]:
            self.connect()
            step.done(f"API {self.client.api.api_version}")
            yield from ()

        yield from self.steps.step("engine", "Connect to the Docker engine", body)

    # --- our containers -----------------------------------------------------------------------

    def lookup(self, name: str) -> Container | None:
        try:
            container = self.client.containers.get(name)
        except NotFound:
            return None
        return container if container.name == name else None  # `get` also matches id prefixes

    def foreign(self, container: Container) -> StepFailed | None:
        """Why `container` is not ours to touch, or None when it is."""
        name, labels = container.name, container.labels
        if labels.get(LABEL_MANAGED) != "true":
            return StepFailed(
                f"a container named {name} already exists and was not created by aigw-wizard; "
                "it was left untouched",
                f"Rename or remove it yourself (docker rename {name} {name}-old), "
                "or set docker.container_name to another name in the profile.",
                field="docker.container_name",
            )
        owner = labels.get(LABEL_PROFILE, "")
        if owner != self.profile_name:
            return StepFailed(
                f"container {name} belongs to aigw-wizard profile {owner!r}, not "
                f"{self.profile_name!r}; it was left untouched",
                f"Manage it with that profile (aigw-wizard status {owner}), "
                "or set docker.container_name to another name in the profile.",
                field="docker.container_name",
            )
        return None

    def ours(self, name: str) -> Container | None:
        container = self.lookup(name)
        if container is not None and (refusal := self.foreign(container)):
            raise refusal
        return container

    def matches(self, container: Container) -> bool:
        return container.labels.get(LABEL_CONFIG_HASH) == self.spec.config_hash()

    def probe(self, port: int) -> bool:
        return self.probe_status(port) == 200

    def probe_status(self, port: int) -> int | None:
        """The health URL's HTTP status, or None when nothing answered (refused, reset, timeout)."""
        try:
            with _LOOPBACK.open(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=self.probe_timeout) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (OSError, http.client.HTTPException):  # refused, reset mid-start-up
            return None


def host_port(container: Container) -> int | None:
    bindings = (container.attrs["HostConfig"].get("PortBindings") or {}).get(f"{GATEWAY_CONTAINER_PORT}/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None
