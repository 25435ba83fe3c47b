"""What a release's pods are doing while Helm waits, as events, and why one failed.

Helm's `--wait` is silent until it gives up; meanwhile `PodWatcher` watches the
release's pods and the namespace's events and follows the gateway containers' logs,
each in a thread of its own, queuing `LogLine`s the installer drains between Helm's
lines. It keeps the last events and log lines of every pod it saw, so a failure can
still be explained after Helm's `--atomic` rollback has deleted the pods.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wizard.core.events import LogLevel, LogLine
from wizard.tools import kube, kubestream

LOG_TAIL = 50
EVENT_TAIL = 5
#: Waiting reasons that mean the pod will not come up without a change.
TROUBLE = {
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "Error",
    "OOMKilled",
}


@dataclass
class PodState:
    """One pod as last seen, plus its recent events and log lines."""

    name: str
    phase: str = ""
    ready: bool = False
    reason: str = ""
    """Why a container is not running (waiting or terminated reason), if one is not."""
    message: str = ""
    restarts: int = 0
    last_exit: str = ""
    deleted: bool = False
    events: deque[str] = field(default_factory=lambda: deque(maxlen=EVENT_TAIL))
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))

    @property
    def settled(self) -> bool:
        """Ready, or finished (a completed job's pod is never Ready)."""
        return self.ready or self.phase == "Succeeded"

    def summary(self) -> str:
        parts = [self.phase or "Unknown"]
        if self.phase == "Running":
            parts.append("ready" if self.ready else "not ready")
        if self.reason:
            parts.append(self.reason + (f" ({self.message})" if self.message else ""))
        if self.restarts:
            parts.append(f"{self.restarts} restart{'s' if self.restarts != 1 else ''}")
        if self.last_exit:
            parts.append(f"last exit: {self.last_exit}")
        return ", ".join(parts)


def _observe(pod: dict[str, Any]) -> dict[str, Any]:
    """The facts we report on, from a raw Pod object."""
    status = pod.get("status") or {}
    ready = kube.pod_ready(pod)
    reason = message = last_exit = ""
    restarts = 0
    running: list[tuple[str, int]] = []  # (container, restart count) whose logs can be read
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        count = int(container.get("restartCount") or 0)
        restarts += count
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if (waiting or terminated) and not reason:
            detail = waiting or terminated
            reason, message = detail.get("reason", ""), detail.get("message", "")
        last = (container.get("lastState") or {}).get("terminated")
        if last:
            last_exit = f"{last.get('reason', 'terminated')}, code {last.get('exitCode', '?')}"
        # A crashed container's logs stay readable; one being created has none yet.
        if state.get("running") or terminated or (waiting and count):
            running.append((container.get("name", ""), count))
    if reason == "ContainerCreating" and status.get("phase") == "Pending":
        message = ""  # the expected state while images are pulled; events tell the detail
    return {
        "phase": status.get("phase", ""),
        "ready": ready,
        "reason": reason,
        "message": message,
        "restarts": restarts,
        "last_exit": last_exit,
        "loggable": running,
    }


class PodWatcher:
    """Watches one release's pods and events and follows their logs until `stop()`.

    Threads put `LogLine`s on a queue; `drain()` hands them to the installer's
    generator. A failed watch (e.g. RBAC without `watch`) is reported once and
    leaves the install running: the watcher only explains, Helm decides.
    """

    def __init__(self, cluster: kube.Cluster, namespace: str, release: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.release = release
        self.selector = kube.release_selector(release)
        self.pods: dict[str, PodState] = {}
        self.namespace_events: deque[str] = deque(maxlen=EVENT_TAIL)
        """Events about the release's other objects (a ReplicaSet's FailedCreate, …)."""
        self._lines: queue.Queue[LogLine] = queue.Queue()
        self._changed = threading.Condition()
        self._streams: list[kubestream.Stream] = []
        self._stopping = False
        self._followed: set[tuple[str, str, int]] = set()
        self._threads: list[threading.Thread] = []

    # life cycle

    def start(self) -> None:
        self._spawn("pods", self._watch_pods)
        self._spawn("events", self._watch_events)

    def stop(self) -> None:
        with self._changed:
            self._stopping = True  # a stream a thread opens from now on stops at once
            streams = list(self._streams)
        for stream in streams:
            stream.stop()
        for thread in self._threads:
            thread.join(timeout=self.cluster.timeout[0])

    def drain(self) -> Iterator[LogLine]:
        """The lines queued so far, without waiting."""
        while True:
            try:
                yield self._lines.get_nowait()
            except queue.Empty:
                return

    # what the installer asks

    def wait_ready(self, timeout: float, cancelled: Callable[[], bool]) -> list[PodState] | None:
        """Like `kubectl wait pod --for=condition=Ready`: the pods still not ready at the deadline.

        None when the release has no pods at all (a chart labelling them otherwise): after
        Helm's own --wait there is nothing more to wait for.
        """
        self._list_pods()
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                live = [pod for pod in self.pods.values() if not pod.deleted]
                if not live:
                    return None
                pending = [pod for pod in live if not pod.settled]
                if not pending:
                    return []
                remaining = deadline - time.monotonic()
                if remaining <= 0 or cancelled():
                    return pending
                self._changed.wait(timeout=min(remaining, 0.5))

    def ready(self) -> list[str]:
        """Names of the pods that are Ready now."""
        with self._changed:
            return sorted(pod.name for pod in self.pods.values() if pod.ready and not pod.deleted)

    def log_tail(self) -> list[str]:
        """The last log lines of the pod most likely to explain a failure (the least settled)."""
        with self._changed:
            pods = sorted(
                self.pods.values(), key=lambda pod: (pod.settled, not pod.reason, -pod.restarts)
            )
            return list(pods[0].logs) if pods else []

    def diagnosis(self) -> list[str]:
        """Which pod failed and why: its state, last events and last log lines."""
        with self._changed:
            pods = sorted(
                self.pods.values(), key=lambda pod: (pod.settled, not pod.reason, -pod.restarts)
            )
        if not pods:
            lines = [f"no pod of release {self.release} was seen in namespace {self.namespace}"]
            lines += [f"  event: {event}" for event in self.namespace_events]
            return lines
        lines: list[str] = []
        for pod in pods[:2]:
            if pod.settled and lines:
                break
            lines.append(f"pod {pod.name}: {pod.summary()}")
            lines += [f"  event: {event}" for event in pod.events]
            logs = list(pod.logs) or self._tail(pod)
            if logs:
                lines.append(f"  last {len(logs)} log lines:")
                lines += [f"    {line}" for line in logs]
        lines += [f"  event: {event}" for event in self.namespace_events]
        return lines

    # threads

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(
            target=self._guarded, args=(name, target, *args), name=f"podwatch-{name}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _guarded(self, name: str, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except kube.KubeError as error:
            self._say("wizard", f"cannot follow {name}: {error}", "warning")
        except Exception as error:  # noqa: BLE001 - a thread's traceback would land on the TUI
            self._say("wizard", f"cannot follow {name}: {type(error).__name__}: {error}", "warning")

    def _stream(self) -> kubestream.Stream:
        stream = kubestream.Stream()
        with self._changed:
            if self._stopping:
                stream.stop()
            self._streams.append(stream)
        return stream

    def _say(self, source: str, text: str, level: LogLevel = "info") -> None:
        self._lines.put(LogLine(source, text, level))

    def _watch_pods(self) -> None:
        core = self.cluster.core
        # Pods already Ready belong to the running release: shown, but their logs not replayed.
        version = self._list_pods(follow_ready=False)
        events = self._stream().watch(
            self.cluster,
            "pods",
            self.namespace,
            core.list_namespaced_pod,
            self.namespace,
            label_selector=self.selector,
            resource_version=version,
        )
        for event in events:
            self._update(event["object"], deleted=event["type"] == "DELETED")

    def _watch_events(self) -> None:
        core = self.cluster.core
        # Start from now: events of earlier runs would read as if they were happening again.
        current = self.cluster.call(
            "list", "events", self.namespace, core.list_namespaced_event, self.namespace
        )
        stream = self._stream().watch(
            self.cluster,
            "events",
            self.namespace,
            core.list_namespaced_event,
            self.namespace,
            resource_version=current.metadata.resource_version or "",
        )
        for event in stream:
            if event["type"] != "DELETED":
                self._record_event(event["object"])

    def _follow(self, pod: str, container: str) -> None:
        stream = self._stream().follow_log(self.cluster, self.namespace, pod, container)
        for line in stream:
            with self._changed:
                self.pods[pod].logs.append(line)
            self._say(f"pod/{pod}", line)

    # bookkeeping

    def _list_pods(self, *, follow_ready: bool = True) -> str:
        """Bring every pod up to date from a fresh list; returns the list's resourceVersion."""
        pods, version = kube.list_release_pods(self.cluster, self.namespace, self.release)
        names = set()
        for pod in pods:
            names.add(pod["metadata"]["name"])
            self._update(pod, deleted=False, follow_ready=follow_ready)
        with self._changed:
            for state in self.pods.values():
                state.deleted = state.deleted or state.name not in names
            self._changed.notify_all()
        return version

    def _update(self, pod: dict[str, Any], *, deleted: bool, follow_ready: bool = True) -> None:
        name = pod["metadata"]["name"]
        seen = _observe(pod)
        with self._changed:
            state = self.pods.get(name)
            fresh = state is None
            if state is None:
                state = self.pods[name] = PodState(name)
            before = (state.phase, state.ready, state.reason, state.restarts, state.deleted)
            state.phase, state.ready, state.reason = seen["phase"], seen["ready"], seen["reason"]
            state.message, state.last_exit, state.deleted = (
                seen["message"],
                seen["last_exit"],
                deleted,
            )
            restarted = seen["restarts"] > state.restarts
            state.restarts = seen["restarts"]
            to_follow = [
                (container, count)
                for container, count in seen["loggable"]
                if not deleted
                and (follow_ready or not seen["ready"])
                and (name, container, count) not in self._followed
            ]
            self._followed.update((name, container, count) for container, count in to_follow)
            self._changed.notify_all()
        if fresh:
            self._say("kube", f"pod/{name}: {state.summary()}")
        elif deleted:
            self._say("kube", f"pod/{name}: deleted")
        elif before != (state.phase, state.ready, state.reason, state.restarts, state.deleted):
            trouble = state.reason in TROUBLE or restarted
            self._say("kube", f"pod/{name}: {state.summary()}", "warning" if trouble else "info")
        for container, _count in to_follow:
            self._spawn(f"the logs of {name}", self._follow, name, container)

    def _record_event(self, event: dict[str, Any]) -> None:
        involved = event.get("involvedObject") or {}
        name, kind = involved.get("name", ""), involved.get("kind", "")
        with self._changed:
            ours = name in self.pods or name == self.release or name.startswith(self.release + "-")
            if not ours:
                return
            text = f"{event.get('reason', '')}: {event.get('message', '')}".strip(": ")
            if kind == "Pod":
                self.pods.setdefault(name, PodState(name)).events.append(text)
            else:
                self.namespace_events.append(f"{kind.lower()}/{name}: {text}")
        level: LogLevel = "warning" if event.get("type") == "Warning" else "info"
        self._say("kube", f"{kind.lower()}/{name}: {text}", level)

    def _tail(self, pod: PodState) -> list[str]:
        """Logs read after the fact, for a pod whose logs we never got to follow."""
        if pod.deleted:
            return []
        core = self.cluster.core
        try:
            text = self.cluster.call(
                "get",
                "pods/log",
                self.namespace,
                core.read_namespaced_pod_log,
                pod.name,
                self.namespace,
                tail_lines=LOG_TAIL,
                previous=pod.restarts > 0,
            )
        except kube.KubeError:
            return []  # already explaining a failure; a missing log is not worth a second one
        return str(text).splitlines()
