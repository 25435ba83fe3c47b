"""The engine under faults: runs that survive their terminal, health that means stable,
status that tells the truth, timeouts on a hung engine.

Containers, images and ports made here carry the prefix `aigwh8-`; stand-ins are built
FROM the shared healthy stand-in and removed afterwards.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.docker_fixtures import DockerCleanup, StandinImages, free_port
from tests.factories import docker_profile
from tests.netguard import sitecustomize as netguard
from tests.test_install_docker import (
    HEALTHY_TAG,
    REPO_ROOT,
    WAIT_LIMIT,
    Gateway,
    cli,
    journal_sizes,
    new_records,
    record_result,
    started_step,
    wait_for,
    wizard_argv,
)
from wizard.core.events import Event, Result, StepFinished, StepStarted
from wizard.install.base import Installer, StatusReport
from wizard.install.docker import PREVIOUS_SUFFIX
from wizard.install.run import run

PREFIX = "aigwh8-"
REPOSITORY = f"{PREFIX}standin"

# Stand-ins, each a start command over the healthy stand-in's /start.sh.
SLOW = "trap 'exit 0' TERM; sleep 3 & wait $!; exec /bin/busybox sh /start.sh"
"""Takes 3 s to start listening: time to drop the session while its health is awaited."""
ANSWERS_THEN_DIES = (
    "trap 'kill $pid; exit 0' TERM; /bin/busybox sh /start.sh & pid=$!; "
    "sleep 2.5; kill $pid; echo 'fatal: lost the database' >&2; exit 4"
)
"""Answers healthz after 0.5 s, dies 2 s later (inside the 3 s settle window)."""


def _ensure(client: docker.DockerClient, source: str, tag: str, start: str | None) -> None:
    """Our own image (a LABEL makes it distinct from the shared stand-in), built when missing."""
    try:
        client.images.get(f"{REPOSITORY}:{tag}")
        return
    except docker.errors.ImageNotFound:
        pass
    entrypoint = f"ENTRYPOINT {json.dumps(['/bin/busybox', 'sh', '-c', start])}\n" if start else ""
    dockerfile = f"FROM {source}\nLABEL aigwh8.standin={tag}\n{entrypoint}"
    client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=f"{REPOSITORY}:{tag}", pull=False, rm=True, forcerm=True
    )


@pytest.fixture(scope="module")
def standins(docker_client: docker.DockerClient, standin_images: StandinImages) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    tags = {"slow": f"slow-{suffix}", "dies": f"dies-{suffix}"}
    yield tags
    for tag in [*tags.values(), HEALTHY_TAG]:
        try:
            docker_client.images.remove(f"{REPOSITORY}:{tag}", force=True)
        except docker.errors.ImageNotFound:
            pass


@pytest.fixture
def gw(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages,
    standins: dict[str, str],
) -> Gateway:
    # Checked for every test: an image gone missing would make the engine try a registry.
    _ensure(docker_client, standin_images.healthy, HEALTHY_TAG, None)
    _ensure(docker_client, standin_images.healthy, standins["slow"], SLOW)
    _ensure(docker_client, standin_images.healthy, standins["dies"], ANSWERS_THEN_DIES)
    suffix = uuid.uuid4().hex[:8]
    made = Gateway(f"{PREFIX}{suffix}", f"{PREFIX}{suffix}", free_port(), docker_client)
    docker_cleanup.track_container(made.container_name)
    docker_cleanup.track_container(made.container_name + PREVIOUS_SUFFIX)
    return made


def installed(gw: Gateway, tag: str = HEALTHY_TAG) -> str:
    """Install `tag` through the CLI; returns the container id."""
    gw.save(gw.profile(tag=tag, image=REPOSITORY))
    done, _ = cli("apply", gw.name, "--yes", "--skip-checks")
    assert done.returncode == 0, done.stdout + done.stderr
    container = gw.container()
    assert container is not None
    return str(container.id)


def assert_one_healthy_gateway(gw: Gateway) -> str:
    """Exactly one container of ours, no NAME-previous, answering healthz (within the timeout)."""
    names = [c.name for c in gw.client.containers.list(all=True, filters={"name": gw.container_name})]
    assert names == [gw.container_name], names
    wait_for(gw.healthy, "the gateway to be healthy", timeout=30)
    container = gw.container()
    assert container is not None and container.status == "running"
    return str(container.attrs["Config"]["Image"])


def upgrade_cli(gw: Gateway, tag: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        wizard_argv("upgrade", gw.name, "--tag", tag, "--yes"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT)},
    )


# --- #15.3: runs survive their terminal -------------------------------------------------------


class Patient(Installer):
    """Works until cancelled, then rolls back; records what reached it."""

    seen: list[str] = []

    def apply(self) -> Iterator[Event]:
        try:
            yield StepStarted("work", "Work")
            for index in range(10_000):  # far more than the queue holds: the consumer stops reading
                if self.cancel.is_set():
                    time.sleep(0.3)  # the rollback takes a while
                    Patient.seen.append("rolled back")
                    yield StepFinished("work", "cancelled", "stopped")
                    yield Result(ok=False, summary="cancelled; the previous container is back and healthy")
                    return
                yield StepFinished("work", "ok", str(index)) if index % 2 else StepStarted("work", "Work")
                time.sleep(0.001)
            yield Result(ok=True, summary="done")
        except GeneratorExit:
            Patient.seen.append("closed at a yield")
            raise

    def status(self) -> StatusReport:
        return StatusReport(installed=False, state="not installed")

    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]:
        yield Result(ok=True, summary="")

    def bundle(self, directory: Path) -> Iterator[Event]:
        yield Result(ok=True, summary="")


def test_a_consumer_that_goes_away_cancels_and_the_rollback_runs_to_its_end() -> None:
    Patient.seen = []
    stream = run(docker_profile(), "p", "apply", installer_for=Patient)
    next(stream)
    time.sleep(0.5)  # the engine fills the queue and waits: it is never closed at a yield
    stream.close()
    assert Patient.seen == ["rolled back"]
    assert not stream.running
    assert stream.result is not None and "previous container is back" in stream.result.summary
    records = [json.loads(line) for line in stream.log_path.read_text().splitlines()]
    assert records[-1]["event"] == "result" and not records[-1]["ok"]


def test_a_consumer_that_stalls_never_holds_the_engine_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import wizard.install.run as run_module

    monkeypatch.setattr(run_module, "STALL_WAIT", 0.2)
    Patient.seen = []
    stream = run(docker_profile(), "p", "apply", installer_for=Patient)
    next(stream)
    wait_for(lambda: not stream.running, "the engine to finish without its reader", timeout=60)
    rest = list(stream)  # the reader wakes up: a note about what it missed, then the Result
    assert isinstance(rest[-1], Result) and rest[-1].ok
    assert any("earlier events were not shown while nobody read them" in getattr(event, "text", "") for event in rest)
    records = [json.loads(line) for line in stream.log_path.read_text().splitlines()]
    assert len(records) > len(rest)  # the journal has everything


@pytest.mark.docker
@pytest.mark.parametrize("reader_exits_after", ["first line", "Start the gateway container", "Wait for http"])
def test_a_pipe_whose_reader_exits_mid_upgrade_leaves_one_healthy_gateway(
    gw: Gateway, standins: dict[str, str], reader_exits_after: str
) -> None:
    old = installed(gw)
    process = upgrade_cli(gw, standins["slow"])
    assert process.stdout is not None
    for line in process.stdout:  # `| head -1` and friends: read up to a line, then exit
        if reader_exits_after == "first line" or reader_exits_after in line:
            break
    process.stdout.close()
    process.wait(timeout=WAIT_LIMIT)
    assert process.returncode == 1  # cancelled: the upgrade did not happen
    assert_one_healthy_gateway(gw)
    container = gw.container()
    assert container is not None and container.id == old


@pytest.mark.docker
@pytest.mark.parametrize("step", ["engine", "existing", "port", "image", "container", "health", "settle"])
def test_a_hang_up_at_any_step_of_an_upgrade_leaves_one_healthy_gateway(
    gw: Gateway, standins: dict[str, str], step: str
) -> None:
    installed(gw)
    before = journal_sizes()
    process = upgrade_cli(gw, standins["slow"])
    wait_for(lambda: started_step(new_records(before), step) or process.poll() is not None, f"step {step}")
    process.send_signal(signal.SIGHUP)  # the SSH session dropped: a hang-up, and the pty is gone
    assert process.stdout is not None
    process.stdout.close()
    process.wait(timeout=WAIT_LIMIT)
    outcome = record_result(new_records(before))
    image = assert_one_healthy_gateway(gw)
    # Cancelled before the point of no return: the old gateway; after it, the new one.
    assert image == f"{REPOSITORY}:{standins['slow'] if outcome['ok'] else HEALTHY_TAG}"


# --- #15.7: health means stable ---------------------------------------------------------------


@pytest.mark.docker
def test_an_image_that_answers_once_then_dies_is_rolled_back(gw: Gateway, standins: dict[str, str]) -> None:
    old = installed(gw)

    failed, records = cli("upgrade", gw.name, "--tag", standins["dies"], "--yes")

    assert failed.returncode == 1
    outcome = record_result(records)
    assert "answered its health check, then exited with code 4 within the 3s" in outcome["summary"]
    assert "the previous container is back and healthy" in outcome["summary"]
    settle = [r for r in records if r["event"] == "step_finished" and r["step"] == "settle"]
    assert settle and settle[0]["status"] == "failed"
    assert_one_healthy_gateway(gw)
    container = gw.container()
    assert container is not None and container.id == old


# --- #15.6: status tells the truth ------------------------------------------------------------


def status_of(gw: Gateway, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, object]]:
    run_env = {**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT), **(env or {})}
    human = subprocess.run(wizard_argv("status", gw.name, *extra), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, cwd=REPO_ROOT, env=run_env, timeout=60)
    machine = subprocess.run(wizard_argv("status", gw.name, "--json", *extra), capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, cwd=REPO_ROOT, env=run_env, timeout=60)
    assert machine.returncode == human.returncode, (human.stdout, machine.stdout)
    report = json.loads(machine.stdout)

    def one_line_strings(value: object) -> None:
        if isinstance(value, str):
            assert "\n" not in value and "\x1b" not in value, value
        elif isinstance(value, dict):
            for item in value.values():
                one_line_strings(item)
        elif isinstance(value, list):
            for item in value:
                one_line_strings(item)

    one_line_strings(report)
    return human.returncode, human.stdout + human.stderr, report


@pytest.mark.docker
def test_status_exits_0_only_when_installed_running_healthy_and_undrifted(gw: Gateway) -> None:
    gw.save(gw.profile(image=REPOSITORY))
    code, text, report = status_of(gw)
    assert (code, report["installed"], report["state"]) == (1, False, "not installed")

    installed(gw)
    code, text, report = status_of(gw)
    assert code == 0 and report["ok"] is True and report["healthy"] is True, text
    assert "uptime" in report["details"]  # type: ignore[operator]

    container = gw.container()
    assert container is not None
    container.stop(timeout=1)
    code, text, report = status_of(gw)
    assert code == 1 and report["state"] == "exited" and report["healthy"] is False
    assert "replaces" in report["details"]["next apply"]  # type: ignore[index]

    code, text, report = status_of(gw, env={"DOCKER_HOST": f"unix://{REPO_ROOT}/no-such.sock"})
    assert code == 1 and str(report["state"]).startswith("unknown: cannot reach") and report["problems"]


@pytest.mark.docker
def test_status_of_an_interrupted_upgrade_says_what_apply_will_do(gw: Gateway) -> None:
    installed(gw)
    container = gw.container()
    assert container is not None
    container.stop(timeout=1)
    container.rename(gw.container_name + PREVIOUS_SUFFIX)  # what a kill -9 mid-upgrade leaves

    code, text, report = status_of(gw)

    assert code == 1 and report["installed"] is True and report["state"] == "interrupted upgrade"
    assert "run apply to finish" not in text
    assert f"puts {gw.container_name}{PREVIOUS_SUFFIX} back as {gw.container_name}" in text
    done, _ = cli("apply", gw.name, "--yes", "--skip-checks")
    assert done.returncode == 0
    assert status_of(gw)[0] == 0


@pytest.mark.docker
def test_apply_fixes_the_drift_status_reports_even_with_the_same_config_label(gw: Gateway) -> None:
    installed(gw)
    container = gw.container()
    assert container is not None
    container.update(restart_policy={"Name": "always"})  # by hand: the config-hash label still matches

    code, text, report = status_of(gw)
    assert code == 1
    assert report["drift"] == [{"field": "restart_policy", "profile": "unless-stopped", "actual": "always"}]

    fixed, records = cli("apply", gw.name, "--yes", "--skip-checks")
    assert fixed.returncode == 0 and record_result(records)["changed"] is True, fixed.stdout
    code, text, report = status_of(gw)
    assert code == 0 and report["drift"] == [], text


def test_status_flags_the_auth_bypass(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from wizard import cli as wizard_cli
    from wizard.core import store

    store.save(docker_profile(gateway={"auth_bypass": True}), store.resolve("bypass"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{REPO_ROOT}/no-such.sock")
    assert wizard_cli.main(["status", "bypass", "--json"]) == 1
    from wizard.install.base import AUTH_BYPASS_WARNING

    assert json.loads(capsys.readouterr().out)["warnings"] == [AUTH_BYPASS_WARNING]


# --- timeouts: a hung engine ------------------------------------------------------------------


@pytest.fixture
def hung_engine() -> Iterator[str]:
    """A loopback listener that accepts and never answers: DOCKER_HOST for an engine that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.parametrize("verb", [("status",), ("apply", "--yes", "--skip-checks")])
def test_a_hung_engine_is_one_line_within_seconds(hung_engine: str, verb: tuple[str, ...]) -> None:
    from wizard.core import store

    store.save(docker_profile(gateway={"port": free_port()}), store.resolve("hung"))
    started = time.monotonic()
    done = subprocess.run(
        wizard_argv(verb[0], "hung", *verb[1:]), capture_output=True, text=True, stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT), "DOCKER_HOST": hung_engine}, timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 1 and took < 20, (took, done.stdout, done.stderr)
    assert "did not answer in time" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_stops_status_on_a_hung_engine_at_once(hung_engine: str) -> None:
    from wizard.core import store

    store.save(docker_profile(), store.resolve("hung"))
    process = subprocess.Popen(
        wizard_argv("status", "hung"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT), "DOCKER_HOST": hung_engine},
    )
    time.sleep(1.5)  # the verb is waiting on the engine by now (imports take well under that)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _out, err = process.communicate(timeout=30)
    assert time.monotonic() - started < 1.5
    assert process.returncode == 130 and "Traceback" not in err


# --- a name conflict fails in Checks, in the installer's words --------------------------------


@pytest.mark.docker
def test_a_name_held_by_another_profile_or_not_by_us_fails_the_docker_name_check(
    gw: Gateway, docker_cleanup: DockerCleanup, standin_images: StandinImages
) -> None:
    from tests.checks_servers import context_for, run_one
    from wizard.core.spec import LABEL_MANAGED, LABEL_PROFILE

    profile = gw.profile(image=REPOSITORY)
    environ = {key: value for key, value in os.environ.items() if key.startswith("DOCKER_")}
    free = run_one("docker.name", context_for(profile, environ=environ, name=gw.name))
    assert free.status == "pass" and "is free" in free.detail

    docker_cleanup.run(standin_images.healthy, name=gw.container_name, labels={LABEL_MANAGED: "true", LABEL_PROFILE: "other"})
    taken = run_one("docker.name", context_for(profile, environ=environ, name=gw.name))
    assert taken.status == "fail" and "belongs to aigw-wizard profile 'other'" in taken.detail
    assert taken.field == "docker.container_name"
    gw.client.containers.get(gw.container_name).remove(force=True)

    docker_cleanup.run(standin_images.healthy, name=gw.container_name + PREVIOUS_SUFFIX)
    foreign = run_one("docker.name", context_for(profile, environ=environ, name=gw.name))
    assert foreign.status == "fail" and "was not created by aigw-wizard" in foreign.detail
    # The check and the install refuse in the same words.
    gw.save(profile)
    refused, records = cli("apply", gw.name, "--yes", "--skip-checks")
    assert refused.returncode == 1 and foreign.detail in record_result(records)["summary"]


def test_check_and_plan_flag_the_auth_bypass_in_the_shared_words(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.checks_servers import context_for, run_one
    from wizard import cli as wizard_cli
    from wizard.core import store
    from wizard.install.base import AUTH_BYPASS_WARNING

    bypassed = docker_profile(gateway={"auth_bypass": True})
    row = run_one("gateway.auth_bypass", context_for(bypassed))
    assert row.status == "warn" and row.detail == AUTH_BYPASS_WARNING
    assert run_one("gateway.auth_bypass", context_for(docker_profile())).status == "pass"
    store.save(bypassed, store.resolve("bypass"))
    assert wizard_cli.main(["plan", "bypass"]) == 0
    assert AUTH_BYPASS_WARNING in capsys.readouterr().err
