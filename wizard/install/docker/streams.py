"""What the engine streams while a step waits: container logs, pull progress, background calls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from concurrent import futures
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

import requests
from docker import DockerClient
from docker.errors import DockerException
from docker.models.containers import Container

from wizard.core.events import Event, LogLine, Progress

T = TypeVar("T")
Run = Generator[Event, None, T]

MAX_LOG_LINE = 2000
# Layer statuses that carry bytes; every status change is also a line of its own.
_LAYER_PHASES = frozenset({"Downloading", "Extracting", "Download complete", "Pull complete"})
LAYER_SOURCE = "pull"
"""The LogLine source of a layer's state change ("ID: Pull complete")."""


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


class DeathWatch:
    """Sets `died` the moment the engine reports the container died (its `die` event), from a
    thread reading the engine's event stream filtered to that one container."""

    def __init__(self, client: DockerClient, container: Container) -> None:
        self.died = threading.Event()
        self._stream = client.events(filters={"container": container.id, "event": "die"}, decode=True)
        self._thread = threading.Thread(target=self._read, name=f"die-{container.name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for _event in self._stream:
                self.died.set()
        except (OSError, ValueError, AttributeError, requests.RequestException, DockerException):
            pass  # closed under us by stop(), or the engine went away: inspection still runs

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


class LayerProgress:
    """Turns the engine's pull messages into events, as `docker pull` would print them.

    Each layer's state change ("Pulling fs layer", "Waiting", "Downloading", "Verifying
    Checksum", "Download complete", "Extracting", "Pull complete", "Already exists") is one
    `LogLine(source=LAYER_SOURCE)`, "ID: State"; the bytes of "Downloading" and
    "Extracting" are `Progress` events keyed by the layer, at most one per percent. Lines
    without a layer ("Digest: …", "Status: …") are `LogLine(source="docker")`.
    """

    def __init__(self) -> None:
        self._state: dict[str, str] = {}
        self._last: dict[str, tuple[str, int]] = {}
        self._totals: dict[str, int] = {}

    def events(self, message: dict[str, Any]) -> list[Event]:
        status = str(message.get("status", ""))
        layer = str(message.get("id", ""))
        if "progressDetail" not in message or not layer:
            text = f"{layer}: {status}" if layer else status
            return [LogLine(source="docker", text=text[:MAX_LOG_LINE])] if text else []
        found: list[Event] = []
        if status and self._state.get(layer) != status:
            self._state[layer] = status
            found.append(LogLine(source=LAYER_SOURCE, text=f"{layer}: {status}"[:MAX_LOG_LINE]))
        if status in _LAYER_PHASES:
            progress = self._progress(layer, status, message["progressDetail"] or {})
            if progress is not None:
                found.append(progress)
        return found

    def _progress(self, layer: str, status: str, detail: dict[str, Any]) -> Progress | None:
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
