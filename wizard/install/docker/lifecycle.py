"""Containers: survey and recovery, the port, start, health, upgrade with rollback.

An upgrade keeps the old container as `NAME-previous` until the new one is healthy, so a
run that is killed half-way leaves a state the next `apply` recognises and finishes.
"""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime

import docker
from docker.models.containers import Container

from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import LogLine
from wizard.core.profile import GATEWAY_CONTAINER_PORT
from wizard.core.release import AGENT_PLATFORM_PORT
from wizard.install.docker import probes
from wizard.install.docker.container import create_arguments
from wizard.install.docker.engine import HEALTH_PATH, DockerBase, Run, host_port
from wizard.install.docker.streams import MAX_LOG_LINE, DeathWatch, EventQueue, LogFollower
from wizard.install.runner import Step, StepFailed
from wizard.tools import docker as engine_tools
from wizard.tools.ports import probe_port

LOG_TAIL_LINES = 50
# Beyond these the engine has stopped the container at least once: it is not starting up.
_STOPPED_STATES = frozenset({"exited", "dead", "restarting"})


class Lifecycle(DockerBase):
    # --- what is there ------------------------------------------------------------------------

    def survey(self, step: Step) -> Run[tuple[Container | None, str]]:
        """Refuse names that are not ours; finish or undo an upgrade that was killed half-way.

        Returns our container (if any) and what was done about an interrupted upgrade.
        """
        with self.quick():
            current = self.ours(self.spec.name)
            previous = self.ours(self.previous_name)
        if previous is None:
            step.done(_describe(current))
            return current, ""
        yield LogLine(source="wizard", text=f"{self.previous_name} is left from an interrupted upgrade")
        if current is not None and self.matches(current) and current.status == "running":
            if (yield from self.becomes_healthy(current, settle=True)):
                previous.remove(force=True, v=True)
                step.done(f"the new container is healthy: removed {self.previous_name}")
                return current, "finished the interrupted upgrade"
        if current is not None:
            current.remove(force=True, v=True)
        previous.rename(self.spec.name)
        previous.start()
        previous.reload()
        step.done(f"{self.spec.name} is the previous container again")
        return previous, "undid the interrupted upgrade"

    def becomes_healthy(self, container: Container, *, settle: bool = False) -> Run[bool]:
        """Wait for a container an earlier run started (it may still be starting up); with
        `settle`, it must also stay healthy for the settle window."""
        port = host_port(container)
        if port is None:
            return False
        try:
            yield from self.wait_healthy(container, port, self.cancel, since=time.time())
            if settle and self.settle_seconds > 0:
                yield from self.stays_healthy(container, port, self.cancel)
        except StepFailed as failure:
            yield LogLine(source="wizard", text=failure.message, level="warning")
            return False
        return True

    def check_port(
        self,
        current: Container | None,
        port: int | None = None,
        container_port: int = GATEWAY_CONTAINER_PORT,
        field: str = "gateway.port",
        what: str = "",
    ) -> str:
        """The port check's own probe (`wizard.tools.ports.probe_port`), as a step: the
        gateway's port unless told, or another one we publish (the Agent Platform's)."""
        port = self.spec.host_port if port is None else port
        if current is not None and current.status == "running" and host_port(current, container_port) == port:
            return "held by the current gateway container, which the new one replaces"
        with self.quick():
            probe = probe_port(
                port,
                lambda: engine_tools.port_holders(self.client, port, self.profile_name),
                lambda error: engine_tools.describe(error, os.environ),
            )
        if probe.state == "ours":
            return f"held by this profile's container {probe.ours[0]}, which the new one replaces"
        if not probe.usable:
            problem = probe.problem(field)
            raise StepFailed(what + problem.message, *problem.remedies, field=problem.field)
        return "free" if probe.state == "free" else "privileged: the engine binds it as root"

    def check_agent_platform_port(self, current: Container | None) -> str:
        """The same step for the Agent Platform's host port; "" for releases without one."""
        port = self.spec.agent_platform_host_port
        if port is None:
            return ""
        verdict = self.check_port(current, port, AGENT_PLATFORM_PORT, "gateway.agent_platform_port", "Agent Platform ")
        return f"Agent Platform port {port}: {verdict}"

    # --- start, with rollback -----------------------------------------------------------------

    def replace(self, old: Container | None) -> Run[str]:
        """Start the new container; the old one waits, stopped, as NAME-previous until it is healthy.

        Returns the summary of success; on failure rolls back and re-raises with the outcome.
        """
        old_was_running = old is not None and old.status == "running"
        made: list[Container] = []
        moved: list[Container] = []  # the old container, once it is NAME-previous

        def start(step: Step) -> Run[Container]:
            if old is not None:
                old.rename(self.previous_name)
                moved.append(old)
                if old_was_running:
                    old.stop(timeout=self.stop_timeout)
                yield LogLine(
                    source="wizard",
                    text=f"kept the current container as {self.previous_name} (stopped) until the new one is healthy",
                )
                self.check_cancel()
            new = self.create()
            made.append(new)
            new.start()
            step.done(f"{new.short_id} from {self.spec.image}")
            return new

        def health(step: Step) -> Run[None]:
            waited = yield from self.wait_healthy(made[0], self.spec.host_port, self.cancel)
            step.done(f"healthy after {waited:.1f}s")

        def settle(step: Step) -> Run[None]:
            yield from self.stays_healthy(made[0], self.spec.host_port, self.cancel)
            step.done(f"up and healthy for {self.settle_seconds:g}s")

        try:
            yield from self.steps.step("container", f"Start the gateway container {self.spec.name}", start)
            yield from self.steps.step("health", f"Wait for {self.health_url} to answer", health)
            if old is not None and self.settle_seconds > 0:
                # The previous container stays until then: this is the point of no return. A first
                # install has nothing to fall back to, so it ends at its first healthy answer
                # (as `docker run` + a health loop would); `status` tells if it dies later.
                yield from self.steps.step(
                    "settle", f"Check that it stays healthy for {self.settle_seconds:g}s", settle
                )
        except WizardError as failure:  # the runner closed the step and diagnosed engine errors
            outcome = yield from self.roll_back(made[0] if made else None, moved[0] if moved else None, old_was_running)
            if isinstance(failure, Cancelled):
                raise Cancelled(f"cancelled at your request; {outcome}") from None
            if not isinstance(failure, StepFailed):
                failure = StepFailed(failure.message, *failure.remedies, field=failure.field)
            failure.outcome = outcome
            raise failure from None
        if old is None:
            return f"the AI gateway is running and healthy ({self.spec.image})"

        def cleanup(step: Step) -> Run[None]:
            old.remove(force=True, v=True)
            yield from ()

        yield from self.steps.step("cleanup", f"Remove {self.previous_name}", cleanup, cancellable=False)
        return f"the AI gateway now runs {self.spec.image} and is healthy; the previous container was removed"

    def create(self) -> Container:
        # Ports, extra hosts, read-only mounts and the keys' environment: `container.create_arguments`.
        return self.client.containers.create(self.spec.image, **create_arguments(self.spec, self.profile_name))

    def roll_back(self, new: Container | None, old: Container | None, old_was_running: bool) -> Run[str]:
        """Remove what this run made and put the old container back as it was; never cancelled."""
        title = f"Put back the previous {self.spec.name}" if old is not None else "Remove what this run made"
        outcome: list[str] = []

        def body(step: Step) -> Run[None]:
            outcome.append((yield from self._roll_back(step, new, old, old_was_running)))

        yield from self.steps.step("rollback", title, body, cancellable=False)
        return outcome[0]

    def _roll_back(self, step: Step, new: Container | None, old: Container | None, old_was_running: bool) -> Run[str]:
        try:
            if new is not None:
                new.remove(force=True, v=True)
            if old is None:
                step.done("nothing left behind")
                return "nothing was left behind"
            old.rename(self.spec.name)
            if not old_was_running:
                step.done(f"{self.spec.name} is back, {old.status} as before")
                return f"the previous container is back ({old.status}, as before)"
            restarted = time.time()
            old.start()
            port = host_port(old) or self.spec.host_port
            yield from self.wait_healthy(old, port, threading.Event(), since=restarted)
        except StepFailed as failure:
            step.done(failure.message, "failed")
            return f"the previous container is back but not healthy: {failure.message}"
        except Exception as error:  # an engine error: the rollback reports it, the run goes on to its Result
            reason = self.steps.failure(error).message
            step.done(reason, "failed")
            return f"rolling back failed too ({reason}); run apply again to finish it"
        step.done(f"{self.spec.name} is back and healthy")
        return "the previous container is back and healthy"

    # --- health -------------------------------------------------------------------------------

    def wait_healthy(
        self, container: Container, port: int, stop: threading.Event, since: float | None = None
    ) -> Run[float]:
        """Probe the health URL until it answers 200, streaming the container's log meanwhile.

        Cheap and quick: one plain HTTP request on loopback every `poll_interval` while nothing
        answers (no request reaches the gateway, so its log stays quiet), every
        `patient_poll_interval` once it answers something else than 200. The container is
        inspected only every `inspect_interval`, or at once when the engine reports it died.
        Fails when the container stops (with its exit code) or the timeout passes; returns the
        seconds waited. `stop` cancels the wait (rollbacks pass an event nobody sets); `since`
        limits the streamed log to what is new.
        """
        started = time.monotonic()
        if self.probe_status(port) == 200:
            yield from self.after_health(stop)
            return 0.0
        url = f"{probes.base_url(self.profile, port)}{HEALTH_PATH}"
        restarts = _restarts(container)
        events = EventQueue()
        logs = LogFollower(container, events, since)
        watch = DeathWatch(self.client, container)
        inspected = time.monotonic()
        try:
            while (answer := self.probe_status(port)) != 200:
                yield from events.drain()
                if stop.is_set():
                    raise Cancelled
                if watch.died.is_set() or time.monotonic() - inspected >= self.inspect_interval:
                    container.reload()
                    inspected = time.monotonic()
                    # A restart policy brings a crashed container back: count restarts, not just states.
                    if watch.died.is_set() or container.status in _STOPPED_STATES or _restarts(container) > restarts:
                        logs.finish(timeout=2.0)
                        yield from events.drain()
                        raise StepFailed(
                            f"the gateway container exited with code {last_exit_code(self.client, container)} "
                            "before it became healthy",
                            "Fix what its log says (often gitlab.url, the CA bundle or a wrong image), "
                            "then run apply again.",
                            log_tail=self.log_tail(container),
                        )
                if time.monotonic() - started >= self.health_timeout:
                    raise StepFailed(
                        f"the gateway did not answer {url} within {self.health_timeout:g}s",
                        "Read its log above; a slow host may need more time, and the image must be "
                        "an AI gateway image (self-hosted-vX.Y.Z-ee).",
                        log_tail=self.log_tail(container),
                    )
                stop.wait(self.poll_interval if answer is None else self.patient_poll_interval)
        finally:
            watch.stop()
            logs.stop()
        yield from events.drain()
        waited = time.monotonic() - started
        yield from self.after_health(stop)
        return waited

    def stays_healthy(self, container: Container, port: int, stop: threading.Event) -> Run[None]:
        """Health means stable: after its first 200 the container must stay up, unrestarted and
        answering for `settle_seconds`; fails (so the caller rolls back) when it does not."""
        container.reload()
        restarts = _restarts(container)
        events = EventQueue()
        logs = LogFollower(container, events, since=time.time())
        watch = DeathWatch(self.client, container)
        deadline = time.monotonic() + self.settle_seconds
        misses = 0
        try:
            while (left := deadline - time.monotonic()) > 0:
                stop.wait(min(self.settle_probe_interval, left))
                yield from events.drain()
                if stop.is_set():
                    raise Cancelled
                misses = 0 if self.probe_status(port) == 200 else misses + 1
                container.reload()
                died = watch.died.is_set() or container.status != "running" or _restarts(container) > restarts
                if died or misses >= 2:
                    logs.finish(timeout=1.0 if died else 0.0)
                    yield from events.drain()
                    what = (
                        f"exited with code {last_exit_code(self.client, container)}"
                        if died
                        else "stopped answering it"
                    )
                    raise StepFailed(
                        f"the gateway answered its health check, then {what} within the "
                        f"{self.settle_seconds:g}s it must stay healthy",
                        "Read its log above: it starts, then fails (often gitlab.url, the CA bundle, "
                        "or a wrong image); fix that, then run apply again.",
                        log_tail=self.log_tail(container),
                    )
        finally:
            watch.stop()
            logs.stop()
        yield from events.drain()

    def log_tail(self, container: Container) -> list[str]:
        raw: bytes = container.logs(tail=LOG_TAIL_LINES)
        return [line[:MAX_LOG_LINE] for line in raw.decode("utf-8", "replace").splitlines()]


def _describe(container: Container | None) -> str:
    if container is None:
        return "none: this is a new install"
    return f"{container.name} is {container.status}"


def _restarts(container: Container) -> int:
    return int(container.attrs.get("RestartCount", 0))


def parse_time(value: str) -> datetime | None:
    """The engine's RFC 3339 times carry nanoseconds; Python takes microseconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", value)
    if not match or match.group(1).startswith("0001"):  # the zero time: never started
        return None
    fraction = (match.group(2) or ".0")[:7]
    return datetime.fromisoformat(match.group(1) + fraction).replace(tzinfo=UTC)


def last_exit_code(client: docker.DockerClient, container: Container) -> int:
    """The code the container last exited with, even if its restart policy restarted it since."""
    state = container.attrs["State"]
    created = parse_time(container.attrs.get("Created", ""))
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
