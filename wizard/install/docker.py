"""The Docker engine: image, container, health, upgrade with rollback, status, uninstall, bundle.

Everything goes through the docker SDK (never the docker CLI) and follows the one container
definition in `wizard.core.spec`, so `plan` shows exactly what `apply` does. The only network
access besides the engine is the registry pull and the health check on 127.0.0.1.

Only containers carrying our managed label for this very profile are ever touched. An
upgrade keeps the old container as `NAME-previous` until the new one is healthy, so a run
that is killed half-way leaves a state the next `apply` recognises and finishes.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import socket
import tarfile
import threading
import time
import urllib.request
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent import futures
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import Mount

from wizard.core import store
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    Address,
    Event,
    LogLine,
    Progress,
    Result,
    StepFinished,
    StepStarted,
    StepStatus,
)
from wizard.core.profile import GATEWAY_CONTAINER_PORT, Profile
from wizard.core.spec import (
    CA_BUNDLE_MOUNT,
    LABEL_CONFIG_HASH,
    LABEL_MANAGED,
    LABEL_PROFILE,
    container_spec,
)
from wizard.install import (
    AUTH_BYPASS_WARNING,
    VERIFY_COMMAND,
    WHERE_TO_SET_URL,
    Cancelled,
    Drift,
    Installer,
    StatusReport,
)
from wizard.install.bundle import (
    ARCHIVE_CHUNK,
    BUNDLE_MANIFEST,
    archive_name,
    bundled_profile,
    manifest_digest,
    save_image,
    sha256_file,
    write_manifest,
)

T = TypeVar("T")
Run = Generator[Event, None, T]

PREVIOUS_SUFFIX = "-previous"
HEALTH_PATH = "/monitoring/healthz"
LOG_TAIL_LINES = 50
MAX_LOG_LINE = 2000
# Beyond these the engine has stopped the container at least once: it is not starting up.
_STOPPED_STATES = frozenset({"exited", "dead", "restarting"})
# Layer statuses worth a progress update; the rest ("Waiting", "Verifying Checksum") are noise.
_LAYER_PHASES = frozenset({"Downloading", "Extracting", "Download complete", "Pull complete"})
# The health check only ever talks to loopback: an HTTP(S)_PROXY from the environment must not apply.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))

class _Failed(Exception):
    """Ends a run: one-line reason, what to do about it, and the container's last log lines."""

    def __init__(self, reason: str, *remedies: str, log_tail: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.remedies = remedies
        self.log_tail = tuple(log_tail)
        self.outcome = ""
        """What rolling back achieved, when there was something to roll back."""

    @property
    def summary(self) -> str:
        text = self.reason + (f"; {self.outcome}" if self.outcome else "")
        if self.log_tail:
            lines = "\n".join(f"  | {line}" for line in self.log_tail)
            text += f"\nLast {len(self.log_tail)} lines of the container's log:\n{lines}"
        return text


def _engine_error(error: Exception) -> _Failed:
    text = error.explanation if isinstance(error, APIError) and error.explanation else str(error)
    return _Failed(
        f"the Docker engine reported an error: {text}",
        "Check that the engine is healthy (docker info; journalctl -u docker), then run apply "
        "again: it finishes or undoes what this run started.",
    )


class EventQueue:
    """Events put by background threads, handed on by the generator that owns them."""

    def __init__(self) -> None:
        self._queue: SimpleQueue[Event] = SimpleQueue()

    def put(self, event: Event) -> None:
        self._queue.put(event)

    def drain(self) -> Iterator[Event]:
        while True:
            try:
                yield self._queue.get_nowait()
            except Empty:
                return


class LogFollower:
    """Streams a container's output as `LogLine(source="container")` events from a thread.

    `since` (epoch seconds) skips older output: a long-running container's whole log is not
    news. The engine ends the stream when the container stops; `stop()` ends it early.
    """

    def __init__(self, container: Container, events: EventQueue, since: float | None = None) -> None:
        self._stream = container.logs(stream=True, follow=True, since=since)
        self._events = events
        self._thread = threading.Thread(target=self._read, name=f"logs-{container.name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        pending = b""
        try:
            for chunk in self._stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._emit(line)
        except (OSError, ValueError, requests.RequestException, DockerException):
            pass  # the stream was closed under us: stop() did it, or the engine went away
        self._emit(pending)

    def _emit(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip()
        if text:
            self._events.put(LogLine(source="container", text=text[:MAX_LOG_LINE]))

    def finish(self, timeout: float) -> None:
        """Let the last lines of a stopped container arrive, then stop."""
        self._thread.join(timeout)
        self.stop()

    def stop(self) -> None:
        self._stream.close()
        self._thread.join(1.0)


def in_background(work: Callable[[], T], events: EventQueue, interval: float) -> Run[T]:
    """Run a blocking call in a thread, passing on what it puts in `events` meanwhile."""
    done: futures.Future[T] = futures.Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as error:  # handed to the generator, which re-raises it
            done.set_exception(error)

    threading.Thread(target=run, name="aigw-docker-work", daemon=True).start()
    while not futures.wait([done], timeout=interval).done:
        yield from events.drain()
    yield from events.drain()
    return done.result()


class _LayerProgress:
    """Turns the engine's pull messages into per-layer Progress events, at most one per percent."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, int]] = {}
        self._totals: dict[str, int] = {}

    def event(self, message: dict[str, Any]) -> Event | None:
        status = str(message.get("status", ""))
        layer = str(message.get("id", ""))
        if "progressDetail" not in message or not layer:
            text = f"{layer}: {status}" if layer else status
            return LogLine(source="docker", text=text) if text else None
        if status not in _LAYER_PHASES:
            return None
        detail = message["progressDetail"] or {}
        if "total" in detail:
            self._totals[layer] = int(detail["total"])
        total = self._totals.get(layer)
        current = int(detail.get("current", total or 0))
        last_status, last_current = self._last.get(layer, ("", -1))
        step = max((total or 0) // 100, 1)
        if status == last_status and current - last_current < step and current != total:
            return None
        self._last[layer] = (status, current)
        return Progress(step="image", key=layer, current=current, total=total, label=f"{layer} {status.lower()}")


class DockerInstaller(Installer):
    """Runs the gateway as one Docker container, as `wizard.core.spec.container_spec` defines it."""

    health_timeout: float = 180.0
    """Seconds a started container has to answer its health check."""
    poll_interval: float = 0.05
    """Pause between health probes while a quick start is likely; waits end early on cancel."""
    patient_poll_interval: float = 0.5
    """Pause between probes after `fast_poll_seconds`: each probe is a log line in the gateway."""
    fast_poll_seconds: float = 2.0
    probe_timeout: float = 1.0
    """Seconds one health request may take."""
    stop_timeout: int = 10
    """Seconds `docker stop` gives the old gateway before killing it."""
    client_timeout: int = 300
    """Seconds one engine request may take (image loads and saves are long)."""

    def __init__(self, profile: Profile, profile_name: str, cancel: threading.Event | None = None) -> None:
        super().__init__(profile, profile_name, cancel)
        self.spec = container_spec(profile, profile_name)
        self._client: docker.DockerClient | None = None
        self._step: str | None = None

    # --- the verbs ----------------------------------------------------------------------------

    def apply(self) -> Iterator[Event]:
        return self._run(self._apply())

    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]:
        return self._run(self._uninstall(remove_image, purge))

    def bundle(self, directory: Path) -> Iterator[Event]:
        return self._run(self._bundle(directory))

    def status(self) -> StatusReport:
        try:
            self._connect()
        except _Failed as failure:
            return StatusReport(installed=False, state=f"unknown: {failure.reason}")
        try:
            return self._status()
        finally:
            self._close()

    # --- steps and failures -------------------------------------------------------------------

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

    def _begin(self, step: str, title: str, *, cancellable: bool = True) -> StepStarted:
        if cancellable:
            self.check_cancel()  # every step boundary is a place to stop
        self._step = step
        return StepStarted(step, title)

    def _end(self, status: StepStatus = "ok", detail: str = "") -> StepFinished:
        step, self._step = self._step or "", None
        return StepFinished(step, status, detail)

    def _close_step(self, problem: Cancelled | _Failed) -> Iterator[StepFinished]:
        if self._step is None:
            return
        if isinstance(problem, Cancelled):
            yield self._end("cancelled", "stopped at your request")
        else:
            yield self._end("failed", problem.reason)

    def _run(self, body: Run[Result]) -> Iterator[Event]:
        """Drive a verb: whatever goes wrong closes the open step and ends in a failed Result."""
        try:
            result = yield from body
        except Cancelled as stop:
            yield from self._close_step(stop)
            yield Result(ok=False, summary=str(stop) or "cancelled at your request")
        except (_Failed, DockerException, requests.RequestException) as problem:
            failure = problem if isinstance(problem, _Failed) else _engine_error(problem)
            yield from self._close_step(failure)
            yield Result(ok=False, summary=failure.summary, remedies=failure.remedies)
        else:
            yield result
        finally:
            self._close()

    def _succeeded(self, summary: str, *, changed: bool) -> Result:
        return Result(
            ok=True,
            summary=summary,
            urls=(Address(GATEWAY_URL_LABEL, self.profile.gateway_url),),
            remedies=(WHERE_TO_SET_URL, f"Then, on the GitLab host, check the setup: {VERIFY_COMMAND}"),
            changed=changed,
        )

    # --- engine and containers ----------------------------------------------------------------

    def _connect(self) -> None:
        host = os.environ.get("DOCKER_HOST", "")
        try:
            self._client = docker.from_env(timeout=self.client_timeout)
        except DockerException as error:
            where = f"DOCKER_HOST={host}" if host else "the default socket /var/run/docker.sock"
            remedies = [
                "Start the Docker engine: sudo systemctl start docker (or run dockerd).",
                f"Check DOCKER_HOST: now {where}.",
            ]
            permission = "Permission denied" in str(error) or "PermissionError" in str(error)
            socket_hint = (
                "Let your user use /var/run/docker.sock: sudo usermod -aG docker $USER, "
                "then log in again (or run aigw-wizard as root)."
            )
            remedies.insert(0 if permission else len(remedies), socket_hint)
            raise _Failed(f"cannot reach the Docker engine at {where} ({error})", *remedies) from None

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _connect_step(self) -> Iterator[Event]:
        yield self._begin("engine", "Connect to the Docker engine")
        self._connect()
        yield self._end(detail=f"API {self.client.api.api_version}")

    def _lookup(self, name: str) -> Container | None:
        try:
            container = self.client.containers.get(name)
        except NotFound:
            return None
        return container if container.name == name else None  # `get` also matches id prefixes

    def _foreign(self, container: Container) -> _Failed | None:
        """Why `container` is not ours to touch, or None when it is."""
        name, labels = container.name, container.labels
        if labels.get(LABEL_MANAGED) != "true":
            return _Failed(
                f"a container named {name} already exists and was not created by aigw-wizard; "
                "it was left untouched",
                f"Rename or remove it yourself (docker rename {name} {name}-old), "
                "or set docker.container_name to another name in the profile.",
            )
        owner = labels.get(LABEL_PROFILE, "")
        if owner != self.profile_name:
            return _Failed(
                f"container {name} belongs to aigw-wizard profile {owner!r}, not "
                f"{self.profile_name!r}; it was left untouched",
                f"Manage it with that profile (aigw-wizard status {owner}), "
                "or set docker.container_name to another name in the profile.",
            )
        return None

    def _ours(self, name: str) -> Container | None:
        container = self._lookup(name)
        if container is not None and (refusal := self._foreign(container)):
            raise refusal
        return container

    def _matches(self, container: Container) -> bool:
        return container.labels.get(LABEL_CONFIG_HASH) == self.spec.config_hash()

    def _probe(self, port: int) -> bool:
        try:
            with _LOOPBACK.open(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=self.probe_timeout) as answer:
                return int(answer.status) == 200
        except (OSError, http.client.HTTPException):  # refused, reset mid-start-up, HTTP errors
            return False

    # --- apply --------------------------------------------------------------------------------

    def _apply(self) -> Run[Result]:
        if self.profile.gateway.auth_bypass:
            yield LogLine(source="wizard", text=AUTH_BYPASS_WARNING, level="warning")
        if self.spec.ca_bundle and not Path(self.spec.ca_bundle).is_file():
            raise _Failed(
                f"gateway.ca_bundle: {self.spec.ca_bundle} does not exist or is not a file",
                "Point gateway.ca_bundle at the PEM bundle of the CA that signed GitLab's certificate.",
            )
        yield from self._connect_step()
        yield self._begin("existing", f"Look for an existing {self.spec.name} container")
        current, recovered = yield from self._survey()
        if current is not None and self._matches(current) and current.status == "running":
            yield self._begin("health", "Check the running gateway")
            if (yield from self._becomes_healthy(current)):
                yield self._end(detail=f"{self.health_url} answers")
                state = f"{self.spec.name} is running, healthy and matches the profile"
                summary = f"{recovered}; {state}" if recovered else f"already up to date: {state}"
                return self._succeeded(summary, changed=bool(recovered))
            yield self._end("failed", "not healthy: it will be replaced")
        yield self._begin("port", f"Check that host port {self.spec.host_port} is free")
        yield self._end(detail=self._check_port(current))
        yield from self._image_step()
        return (yield from self._replace(current))

    def _survey(self) -> Run[tuple[Container | None, str]]:
        """Refuse names that are not ours; finish or undo an upgrade that was killed half-way.

        Returns our container (if any) and what was done about an interrupted upgrade.
        """
        current = self._ours(self.spec.name)
        previous = self._ours(self.previous_name)
        if previous is None:
            yield self._end(detail=_describe(current))
            return current, ""
        yield LogLine(source="wizard", text=f"{self.previous_name} is left from an interrupted upgrade")
        if current is not None and self._matches(current) and current.status == "running":
            if (yield from self._becomes_healthy(current)):
                previous.remove(force=True, v=True)
                yield self._end(detail=f"the new container is healthy: removed {self.previous_name}")
                return current, "finished the interrupted upgrade"
        if current is not None:
            current.remove(force=True, v=True)
        previous.rename(self.spec.name)
        previous.start()
        previous.reload()
        yield self._end(detail=f"{self.spec.name} is the previous container again")
        return previous, "undid the interrupted upgrade"

    def _becomes_healthy(self, container: Container) -> Run[bool]:
        """Wait for a container an earlier run started (it may still be starting up)."""
        port = _host_port(container)
        if port is None:
            return False
        try:
            yield from self._wait_healthy(container, port, self.cancel, since=time.time())
        except _Failed as failure:
            yield LogLine(source="wizard", text=failure.reason, level="warning")
            return False
        return True

    def _check_port(self, current: Container | None) -> str:
        port = self.spec.host_port
        if current is not None and current.status == "running" and _host_port(current) == port:
            return "held by the current gateway container, which the new one replaces"
        if _port_free(port):
            return "free"
        holder = self._container_publishing(port)
        who = f"Docker container {holder}" if holder else "another process"
        raise _Failed(
            f"host port {port} is already in use by {who}",
            f"Free port {port} (see who holds it: sudo ss -ltnp 'sport = :{port}'), "
            "or set gateway.port to a free port in the profile.",
        )

    def _container_publishing(self, port: int) -> str:
        for row in self.client.api.containers():
            if any(binding.get("PublicPort") == port for binding in row.get("Ports") or []):
                return str(row["Names"][0]).lstrip("/")
        return ""

    def _replace(self, old: Container | None) -> Run[Result]:
        """Start the new container; the old one waits, stopped, as NAME-previous until it is healthy."""
        old_was_running = old is not None and old.status == "running"
        new: Container | None = None
        try:
            yield self._begin("container", f"Start the gateway container {self.spec.name}")
            if old is not None:
                old.rename(self.previous_name)
                if old_was_running:
                    old.stop(timeout=self.stop_timeout)
                yield LogLine(
                    source="wizard",
                    text=f"kept the current container as {self.previous_name} (stopped) until the new one is healthy",
                )
                self.check_cancel()
            new = self._create()
            new.start()
            yield self._end(detail=f"{new.short_id} from {self.spec.image}")
            yield self._begin("health", f"Wait for {self.health_url} to answer")
            waited = yield from self._wait_healthy(new, self.spec.host_port, self.cancel)
            yield self._end(detail=f"healthy after {waited:.1f}s")
        except (Cancelled, _Failed, DockerException, requests.RequestException) as problem:
            failure = problem if isinstance(problem, Cancelled | _Failed) else _engine_error(problem)
            yield from self._close_step(failure)
            outcome = yield from self._roll_back(new, old, old_was_running)
            if isinstance(failure, Cancelled):
                raise Cancelled(f"cancelled at your request; {outcome}") from None
            failure.outcome = outcome
            raise failure from None
        if old is None:
            return self._succeeded(f"the AI gateway is running and healthy ({self.spec.image})", changed=True)
        yield self._begin("cleanup", f"Remove {self.previous_name}", cancellable=False)
        old.remove(force=True, v=True)
        yield self._end()
        return self._succeeded(
            f"the AI gateway now runs {self.spec.image} and is healthy; the previous container was removed",
            changed=True,
        )

    def _create(self) -> Container:
        spec = self.spec
        # A Mount (unlike a -v bind) refuses a missing source instead of creating a directory there.
        mounts = [Mount(CA_BUNDLE_MOUNT, spec.ca_bundle, type="bind", read_only=True)] if spec.ca_bundle else []
        return self.client.containers.create(
            spec.image,
            name=spec.name,
            environment=spec.environment,
            ports={spec.container_port: spec.host_port},
            mounts=mounts,
            restart_policy={"Name": spec.restart_policy},
            labels=spec.labels,
        )

    def _roll_back(self, new: Container | None, old: Container | None, old_was_running: bool) -> Run[str]:
        """Remove what this run made and put the old container back as it was; never cancelled."""
        title = f"Put back the previous {self.spec.name}" if old is not None else "Remove what this run made"
        yield self._begin("rollback", title, cancellable=False)
        try:
            if new is not None:
                new.remove(force=True, v=True)
            if old is None:
                yield self._end(detail="nothing left behind")
                return "nothing was left behind"
            old.rename(self.spec.name)
            if not old_was_running:
                yield self._end(detail=f"{self.spec.name} is back, {old.status} as before")
                return f"the previous container is back ({old.status}, as before)"
            restarted = time.time()
            old.start()
            port = _host_port(old) or self.spec.host_port
            yield from self._wait_healthy(old, port, threading.Event(), since=restarted)
        except _Failed as failure:
            yield self._end("failed", failure.reason)
            return f"the previous container is back but not healthy: {failure.reason}"
        except (DockerException, requests.RequestException) as error:
            reason = _engine_error(error).reason
            yield self._end("failed", reason)
            return f"rolling back failed too ({reason}); run apply again to finish it"
        yield self._end(detail=f"{self.spec.name} is back and healthy")
        return "the previous container is back and healthy"

    def _wait_healthy(
        self, container: Container, port: int, stop: threading.Event, since: float | None = None
    ) -> Run[float]:
        """Poll the health URL until it answers 200, streaming the container's log meanwhile.

        Fails when the container stops (with its exit code) or the timeout passes; returns the
        seconds waited. `stop` cancels the wait (rollbacks pass an event nobody sets); `since`
        limits the streamed log to what is new.
        """
        started = time.monotonic()
        if self._probe(port):
            return 0.0
        url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
        restarts = _restarts(container)
        events = EventQueue()
        logs = LogFollower(container, events, since)
        try:
            while not self._probe(port):
                yield from events.drain()
                if stop.is_set():
                    raise Cancelled
                container.reload()
                # A restart policy brings a crashed container back: count restarts, not just states.
                if container.status in _STOPPED_STATES or _restarts(container) > restarts:
                    logs.finish(timeout=2.0)
                    yield from events.drain()
                    raise _Failed(
                        f"the gateway container exited with code {last_exit_code(self.client, container)} "
                        "before it became healthy",
                        "Fix what its log says (often gitlab.url, the CA bundle or a wrong image), "
                        "then run apply again.",
                        log_tail=self._log_tail(container),
                    )
                if time.monotonic() - started >= self.health_timeout:
                    raise _Failed(
                        f"the gateway did not answer {url} within {self.health_timeout:g}s",
                        "Read its log above; a slow host may need more time, and the image must be "
                        "an AI gateway image (self-hosted-vX.Y.Z-ee).",
                        log_tail=self._log_tail(container),
                    )
                quick = time.monotonic() - started < self.fast_poll_seconds
                stop.wait(self.poll_interval if quick else self.patient_poll_interval)
        finally:
            logs.stop()
        yield from events.drain()
        return time.monotonic() - started

    def _log_tail(self, container: Container) -> list[str]:
        raw: bytes = container.logs(tail=LOG_TAIL_LINES)
        return [line[:MAX_LOG_LINE] for line in raw.decode("utf-8", "replace").splitlines()]

    # --- image --------------------------------------------------------------------------------

    def _image_step(self) -> Iterator[Event]:
        ref = self.spec.image
        yield self._begin("image", f"Get the image {ref}")
        try:
            self.client.images.get(ref)
        except ImageNotFound:
            pass
        else:
            yield self._end("skipped", "already present")
            return
        archive = self.profile.gateway.image_archive
        if archive:
            yield from self._load(self.profile.resolve(archive))
            yield self._end(detail=f"loaded from {archive}")
        else:
            yield from self._pull()
            yield self._end(detail="pulled")

    def _pull(self) -> Iterator[Event]:
        repository, tag = self.profile.gateway.image, self.profile.image_tag
        remedies = (
            "Check gateway.image and gateway.tag; for a private registry run docker login first.",
            "On a host without registry access, set gateway.image_archive to a docker save "
            "tarball (aigw-wizard bundle makes one on a connected host).",
        )
        layers = _LayerProgress()
        try:
            stream = self.client.api.pull(repository, tag=tag, stream=True, decode=True)
            try:
                for message in stream:
                    self.check_cancel()
                    if "error" in message:
                        raise _Failed(f"pulling {self.spec.image} failed: {message['error']}", *remedies)
                    if (event := layers.event(message)) is not None:
                        yield event
            finally:
                stream.close()
        except APIError as error:
            raise _Failed(f"pulling {self.spec.image} failed: {error.explanation or error}", *remedies) from None

    def _load(self, archive: Path) -> Iterator[Event]:
        ref = self.spec.image
        remedy = (
            "Point gateway.image_archive at a docker save tarball of "
            f"{ref} (aigw-wizard bundle makes one), or clear it to pull from the registry."
        )
        if not archive.is_file():
            raise _Failed(f"gateway.image_archive: {archive} does not exist or is not a file", remedy)
        yield from self._verify_checksum(archive)
        tags = _archive_tags(archive, remedy)
        if not any(_same_image(tag, ref) for tag in tags):
            held = ", ".join(tags) or "no tagged image"
            raise _Failed(f"{archive} holds {held}, not {ref}", remedy)
        events = EventQueue()
        size = archive.stat().st_size

        def chunks() -> Iterator[bytes]:
            sent = 0
            with archive.open("rb") as handle:
                while chunk := handle.read(ARCHIVE_CHUNK):
                    if self.cancel.is_set():
                        return  # the engine refuses the cut-off archive: nothing gets tagged
                    sent += len(chunk)
                    events.put(Progress(step="image", key="archive", current=sent, total=size, label=archive.name))
                    yield chunk

        try:
            images = yield from in_background(lambda: self.client.images.load(chunks()), events, self.poll_interval)
        except DockerException as error:
            self.check_cancel()
            raise _Failed(f"the engine could not load {archive}: {error}", remedy) from None
        self.check_cancel()
        if not any(_same_image(tag, ref) for image in images for tag in image.tags):
            raise _Failed(f"loading {archive} did not provide {ref}", remedy)

    def _verify_checksum(self, archive: Path) -> Iterator[Event]:
        """Check the archive against the manifest `bundle` wrote beside it, if there is one."""
        expected = manifest_digest(archive)
        if expected is None:
            return
        yield LogLine(source="wizard", text=f"checking {archive.name} against {BUNDLE_MANIFEST}")
        if sha256_file(archive, self.check_cancel) != expected:
            raise _Failed(
                f"{archive} does not match its SHA-256 in {BUNDLE_MANIFEST}: the copy is damaged or incomplete",
                "Copy the bundle again from the connected host (or run aigw-wizard bundle there again).",
            )

    # --- status -------------------------------------------------------------------------------

    def _status(self) -> StatusReport:
        container = self._lookup(self.spec.name)
        if container is None:
            return StatusReport(installed=False, state="not installed")
        refusal = self._foreign(container)
        if refusal is not None:
            return StatusReport(installed=False, state="not ours", details={"container": refusal.reason})
        attrs = container.attrs
        port = _host_port(container)
        running = container.status == "running"
        healthy = (self._probe(port) if port else None) if running else False
        details = {"container": f"{container.name} ({container.short_id})"}
        started = _parse_time(attrs["State"].get("StartedAt", ""))
        if running and started is not None:
            details["uptime"] = _duration(time.time() - started.timestamp())
        details["ports"] = _ports(attrs) or "none published"
        details["restart policy"] = _restart_policy(attrs)
        if self._lookup(self.previous_name) is not None:
            details["interrupted upgrade"] = f"{self.previous_name} is still there: run apply to finish"
        return StatusReport(
            installed=True,
            state=container.status,
            healthy=healthy,
            image=str(attrs["Config"]["Image"]),
            details=details,
            drift=self._drift(container),
        )

    def _drift(self, container: Container) -> list[Drift]:
        """Every field where the container differs from what the profile would run."""
        attrs, wanted = container.attrs, self.spec
        found: list[Drift] = []

        def compare(field: str, profile: str, actual: str) -> None:
            if profile != actual:
                found.append(Drift(field, profile, actual))

        compare("image", wanted.image, str(attrs["Config"]["Image"]))
        running_env = _env(attrs["Config"].get("Env"))
        for key, value in wanted.environment.items():
            compare(f"env.{key}", value, running_env.get(key, "(unset)"))
        image_env = self._image_env(str(attrs["Image"]))
        for key in sorted(running_env.keys() - wanted.environment.keys()):
            if image_env.get(key) != running_env[key]:  # set at `run`, not baked into the image
                compare(f"env.{key}", "(unset)", running_env[key])
        port = _host_port(container)
        compare("port", str(wanted.host_port), str(port) if port else "(not published)")
        compare("ca_bundle", wanted.ca_bundle or "(none)", _ca_mount(attrs) or "(none)")
        compare("restart_policy", wanted.restart_policy, _restart_policy(attrs))
        return found

    def _image_env(self, image_id: str) -> dict[str, str]:
        try:
            return _env(self.client.images.get(image_id).attrs["Config"].get("Env"))
        except ImageNotFound:
            return {}

    # --- uninstall ----------------------------------------------------------------------------

    def _uninstall(self, remove_image: bool, purge: bool) -> Run[Result]:
        yield from self._connect_step()
        yield self._begin("container", f"Remove the container {self.spec.name}")
        removed = []
        for name in (self.spec.name, self.previous_name):
            container = self._ours(name)
            if container is not None:
                container.remove(force=True, v=True)
                removed.append(name)
        yield self._end("ok" if removed else "skipped", ", ".join(removed) or "no container to remove")
        image_removed = False
        if remove_image:
            yield self._begin("image", f"Remove the image {self.spec.image}")
            try:
                self.client.images.remove(self.spec.image)
            except ImageNotFound:
                yield self._end("skipped", "not present")
            except APIError as error:
                if error.status_code != 409:
                    raise
                raise _Failed(
                    f"the image {self.spec.image} is still used by other containers ({error.explanation})",
                    "Remove those containers first, or uninstall without --remove-image.",
                ) from None
            else:
                image_removed = True
                yield self._end(detail="removed")
        if purge:
            yield LogLine(source="wizard", text="--purge only applies to Helm installs: nothing more to remove")
        done = removed + ([self.spec.image] if image_removed else [])
        summary = f"removed {', '.join(done)}" if done else "nothing to remove: the gateway was not installed"
        return Result(ok=True, summary=summary, changed=bool(done))

    # --- bundle -------------------------------------------------------------------------------

    def _bundle(self, directory: Path) -> Run[Result]:
        yield from self._connect_step()
        yield from self._image_step()
        archive = directory / archive_name(self.profile.gateway.image, self.profile.image_tag)
        yield self._begin("save", f"Save {self.spec.image} into {directory}")
        directory.mkdir(parents=True, exist_ok=True)
        written = yield from save_image(self.client, self.spec.image, archive, self.check_cancel, "save")
        yield self._end(detail=f"{archive.name}, {written / 2**20:.1f} MiB")
        yield self._begin("profile", "Write the profile and the SHA-256 manifest")
        bundled, copied = bundled_profile(self.profile, directory, archive.name)
        try:
            profile_path = store.save(bundled, directory / f"{self.profile_name}.toml")
        except store.ProfileError as error:
            raise _Failed(str(error), "Remove that file, or bundle into another folder.") from None
        files = [archive, *copied, profile_path]
        manifest = write_manifest(directory, self.spec.image, files)
        yield self._end(detail=", ".join(path.name for path in [*files, manifest]))
        return Result(
            ok=True,
            summary=f"bundle for {self.profile_name} written to {directory}",
            remedies=(
                f"Copy {directory} to the air-gapped host, then run there: "
                f"aigw-wizard apply {directory.name}/{profile_path.name} --yes",
            ),
        )


# --- small pure helpers -------------------------------------------------------------------------


def _describe(container: Container | None) -> str:
    if container is None:
        return "none: this is a new install"
    return f"{container.name} is {container.status}"


def _restarts(container: Container) -> int:
    return int(container.attrs.get("RestartCount", 0))


def last_exit_code(client: docker.DockerClient, container: Container) -> int:
    """The code the container last exited with, even if its restart policy restarted it since."""
    state = container.attrs["State"]
    created = _parse_time(container.attrs.get("Created", ""))
    if state["Status"] in ("exited", "dead") or created is None:
        return int(state["ExitCode"])
    stream = client.events(
        since=int(created.timestamp()),
        until=f"{time.time():.6f}",  # now, not later: the engine streams until `until`
        filters={"container": container.id, "event": "die"},
        decode=True,
    )
    try:
        codes = [int(event["Actor"]["Attributes"]["exitCode"]) for event in stream]
    finally:
        stream.close()
    return codes[-1] if codes else int(state["ExitCode"])


def _port_free(port: int) -> bool:
    """Whether Docker could publish `port` on all interfaces; only a listener counts as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            probe.bind(("0.0.0.0", port))  # the gateway is published on all interfaces
        except OSError as error:
            return error.errno != errno.EADDRINUSE  # e.g. EACCES below 1024: dockerd binds as root
    return True


def _host_port(container: Container) -> int | None:
    bindings = (container.attrs["HostConfig"].get("PortBindings") or {}).get(f"{GATEWAY_CONTAINER_PORT}/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def _ports(attrs: dict[str, Any]) -> str:
    published = attrs["NetworkSettings"].get("Ports") or attrs["HostConfig"].get("PortBindings") or {}
    shown = []
    for container_port, bindings in published.items():
        for binding in bindings or []:
            host_ip = binding.get("HostIp") or "0.0.0.0"
            host = f"[{host_ip}]" if ":" in host_ip else host_ip
            shown.append(f"{host}:{binding.get('HostPort')}->{container_port}")
    return ", ".join(shown)


def _restart_policy(attrs: dict[str, Any]) -> str:
    return str((attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no")


def _ca_mount(attrs: dict[str, Any]) -> str:
    for mount in attrs.get("Mounts") or []:
        if mount.get("Destination") == CA_BUNDLE_MOUNT:
            return str(mount.get("Source", ""))
    return ""


def _env(pairs: list[str] | None) -> dict[str, str]:
    return dict(pair.partition("=")[::2] for pair in pairs or [])


def _parse_time(value: str) -> datetime | None:
    """The engine's RFC 3339 times carry nanoseconds; Python takes microseconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", value)
    if not match or match.group(1).startswith("0001"):  # the zero time: never started
        return None
    fraction = (match.group(2) or ".0")[:7]
    return datetime.fromisoformat(match.group(1) + fraction).replace(tzinfo=UTC)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _same_image(tag: str, ref: str) -> bool:
    """Compare references as the engine means them (`ubuntu:22` is `docker.io/library/ubuntu:22`)."""

    def canonical(value: str) -> str:
        for prefix in ("docker.io/", "index.docker.io/"):
            value = value.removeprefix(prefix)
        return value.removeprefix("library/")

    return canonical(tag) == canonical(ref)


def _archive_tags(archive: Path, remedy: str) -> list[str]:
    """The image references a `docker save` tarball says it holds (read without loading it)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest = json.load(member)
        return [str(tag) for entry in manifest for tag in entry.get("RepoTags") or []]
    except (tarfile.TarError, KeyError, ValueError, OSError, EOFError, AttributeError, TypeError) as error:
        raise _Failed(f"{archive} is not a readable docker save archive ({error})", remedy) from None


