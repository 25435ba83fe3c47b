"""The Docker installer's shared state: the engine client, the step runner, our containers."""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import docker
from docker.errors import ImageNotFound, NotFound
from docker.models.containers import Container

from wizard.core.events import Event, LogLine
from wizard.core.profile import GATEWAY_CONTAINER_PORT, Profile
from wizard.core.spec import CA_BUNDLE_MOUNT, LABEL_CONFIG_HASH, container_spec
from wizard.install.base import Drift, Installer
from wizard.install.docker import probes
from wizard.install.docker.container import drift as release_drift
from wizard.install.docker.container import published_host_ports, secret_variables
from wizard.install.keylabels import expected_hash
from wizard.install.runner import Step, StepFailed, StepRunner
from wizard.tools import docker as engine_tools
from wizard.tools.docker import PREVIOUS_SUFFIX
from wizard.tools.resolve import describe as describe_resolution
from wizard.tools.resolve import resolve_profile

__all__ = ["PREVIOUS_SUFFIX", "DockerBase", "host_port"]

T = TypeVar("T")
Run = Generator[Event, None, T]

HEALTH_PATH = "/monitoring/healthz"


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
    engine_timeout: float = 10.0
    """Seconds an engine call a user waits on may take: connecting, `status`, the survey. A
    hung engine is one clear line after this, never a 300 s silence."""

    def __init__(self, profile: Profile, profile_name: str, cancel: threading.Event | None = None) -> None:
        super().__init__(profile, profile_name, cancel)
        self.spec = container_spec(profile, profile_name)
        self.steps = StepRunner(self.cancel, diagnose=engine_tools.engine_error)
        self._client: docker.DockerClient | None = None

    def resolve_tag(self) -> Generator[Event, None, None]:
        """Find the tag once for this run (`wizard.tools.resolve`); the spec follows it."""
        self.profile, resolution = resolve_profile(self.profile)
        self.spec = container_spec(self.profile, self.profile_name)
        yield LogLine(source="wizard", text=describe_resolution(resolution), level="warning" if resolution.warning else "info")

    @property
    def client(self) -> docker.DockerClient:
        assert self._client is not None, "connect first"
        return self._client

    @property
    def previous_name(self) -> str:
        return self.spec.name + PREVIOUS_SUFFIX

    @property
    def health_url(self) -> str:
        return f"{probes.base_url(self.profile, self.spec.host_port)}{HEALTH_PATH}"

    # --- the engine ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Raises `wizard.tools.docker.EngineUnreachable` (a WizardError) with its remedies."""
        self._client = engine_tools.connect(os.environ, self.engine_timeout)  # negotiates the API: quick
        self._client.api.timeout = self.client_timeout

    @contextmanager
    def quick(self) -> Iterator[None]:
        """Engine calls inside answer within `engine_timeout` (never around a log or event stream)."""
        api = self.client.api
        saved, api.timeout = api.timeout, self.engine_timeout
        try:
            yield
        finally:
            api.timeout = saved

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
        """Why `container` is not ours to touch, or None when it is (the `docker.name` check's words)."""
        conflict = engine_tools.name_conflict(str(container.name), container.labels, self.profile_name)
        if conflict is None:
            return None
        return StepFailed(conflict.message, *conflict.remedies, field=conflict.field)

    def ours(self, name: str) -> Container | None:
        container = self.lookup(name)
        if container is not None and (refusal := self.foreign(container)):
            raise refusal
        return container

    def matches(self, container: Container) -> bool:
        return not self.drift(container)

    def drift(self, container: Container) -> list[Drift]:
        """Every field where the container differs from what the profile would run: the one
        comparison `status` reports and `apply` acts on (a container that drifts is replaced)."""
        attrs, wanted = container.attrs, self.spec
        found: list[Drift] = []

        def compare(field: str, profile: str, actual: str) -> None:
            if profile != actual:
                found.append(Drift(field, profile, actual))

        compare("image", wanted.image, str(attrs["Config"]["Image"]))
        running_env = _env(attrs["Config"].get("Env"))
        secret = secret_variables(wanted)  # key text: never compared here, never shown
        running_env = {key: value for key, value in running_env.items() if key not in secret}
        for key, value in wanted.environment.items():
            compare(f"env.{key}", value, running_env.get(key, "(unset)"))
        image_env = self._image_env(str(attrs["Image"]))
        for key in sorted(running_env.keys() - wanted.environment.keys()):
            if image_env.get(key) != running_env[key]:  # set at `run`, not baked into the image
                compare(f"env.{key}", "(unset)", running_env[key])
        port = host_port(container)
        compare("port", str(wanted.host_port), str(port) if port else "(not published)")
        compare("ca_bundle", wanted.ca_bundle or "(none)", _ca_mount(attrs) or "(none)")
        compare("restart_policy", wanted.restart_policy, restart_policy(attrs))
        found += release_drift(attrs, container.labels, wanted, self.profile_name)  # ports, hosts, keys
        if not found:  # what the fields above do not show (a hand-edited label, a newer wizard)
            expected = expected_hash(wanted, self.profile_name)
            compare("config_hash", expected, str(container.labels.get(LABEL_CONFIG_HASH, "(none)")))
        return found

    def _image_env(self, image_id: str) -> dict[str, str]:
        try:
            return _env(self.client.images.get(image_id).attrs["Config"].get("Env"))
        except ImageNotFound:
            return {}

    def probe(self, port: int) -> bool:
        return self.probe_status(port) == 200

    def probe_status(self, port: int) -> int | None:
        """The gateway's health as an HTTP status (None: nothing answers); 200 only when it is
        ready as its release defines it (`probes.health_status`)."""
        return probes.health_status(self.profile, port, self.probe_timeout)

    def after_health(self, stop: threading.Event) -> Generator[Event, None, None]:
        """Probes reported once healthy, never gating (the Agent Platform port, 18.0+)."""
        yield from probes.agent_platform_lines(self.profile, self.spec.agent_platform_host_port, stop)


def host_port(container: Container, container_port: int = GATEWAY_CONTAINER_PORT) -> int | None:
    """The host port published to `container_port` (the gateway's 5052 unless told)."""
    published = published_host_ports(container.attrs, container_port)
    return int(published[0]) if published else None


def restart_policy(attrs: dict[str, Any]) -> str:
    return str((attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no")


def _ca_mount(attrs: dict[str, Any]) -> str:
    for mount in attrs.get("Mounts") or []:
        if mount.get("Destination") == CA_BUNDLE_MOUNT:
            return str(mount.get("Source", ""))
    return ""


def _env(pairs: list[str] | None) -> dict[str, str]:
    return dict(pair.partition("=")[::2] for pair in pairs or [])
