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
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.docker_fixtures import DockerCleanup, StandinImages, free_port
from tests.factories import docker_profile
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


@pytest.fixture(scope="module")
def standins(docker_client: docker.DockerClient, standin_images: StandinImages) -> Iterator[dict[str, str]]:
    tags = {}
    for variant, start in (("slow", SLOW), ("dies", ANSWERS_THEN_DIES)):
        tag = f"{variant}-{uuid.uuid4().hex[:8]}"
        dockerfile = f"FROM {standin_images.healthy}\nENTRYPOINT {json.dumps(['/bin/busybox', 'sh', '-c', start])}\n"
        docker_client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=f"{REPOSITORY}:{tag}", pull=False, rm=True, forcerm=True
        )
        tags[variant] = tag
    docker_client.images.get(standin_images.healthy).tag(REPOSITORY, HEALTHY_TAG)
    yield tags
    for tag in [*tags.values(), HEALTHY_TAG]:
        docker_client.images.remove(f"{REPOSITORY}:{tag}", force=True)


@pytest.fixture
def gw(docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standins: dict[str, str]) -> Gateway:
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
        stdin=subprocess.DEVNULL, text=True, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
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
