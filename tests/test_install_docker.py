"""The Docker install engine against a real engine: happy paths, every fault, the CLI, the journal.

Each test gets its own container name, profile name and loopback-chosen port, and removes what
it made. Stand-in images come from `tests.docker_fixtures`; images a test must be able to remove
or must find absent are unique copies, so the shared stand-ins are never touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from tests.docker_fixtures import (
    STANDIN_REPOSITORY,
    DockerCleanup,
    LocalRegistry,
    StandinImages,
    free_port,
    http_get,
)
from tests.factories import docker_profile
from tests.netguard import sitecustomize as netguard
from wizard.core import store
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    Event,
    LogLine,
    Progress,
    Result,
    StepFinished,
    StepStarted,
    to_record,
)
from wizard.core.journal import Journal
from wizard.core.outcomes import last_outcome
from wizard.core.profile import Profile
from wizard.core.spec import CA_BUNDLE_MOUNT, LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_PROFILE
from wizard.install import VERIFY_COMMAND, WHERE_TO_SET_URL
from wizard.install.docker import BUNDLE_MANIFEST, PREVIOUS_SUFFIX, DockerInstaller, last_exit_code

REPO_ROOT = Path(__file__).resolve().parent.parent
HEALTHY_TAG = "self-hosted-v17.5.0-ee"
NEXT_TAG = "self-hosted-v17.6.0-ee"
GITLAB_URL = "https://gitlab.example.test"
# Short enough for a test, long enough for a stand-in on a busy CI host.
TEST_HEALTH_TIMEOUT = 20.0
WAIT_LIMIT = 60.0


# --- helpers ----------------------------------------------------------------------------------


@dataclass
class Gateway:
    """One test's installation: unique profile and container names, a free port."""

    name: str
    container_name: str
    port: int
    client: docker.DockerClient

    def profile(self, tag: str = HEALTHY_TAG, image: str = STANDIN_REPOSITORY, **gateway: Any) -> Profile:
        return docker_profile(
            gitlab={"url": GITLAB_URL},
            gateway={"hostname": "gateway.example.test", "port": self.port, "image": image, "tag": tag, **gateway},
            docker={"container_name": self.container_name},
        )

    def save(self, profile: Profile) -> Path:
        return store.save(profile, store.resolve(self.name))

    def installer(self, profile: Profile, cancel: threading.Event | None = None) -> DockerInstaller:
        installer = DockerInstaller(profile, self.name, cancel)
        installer.health_timeout = TEST_HEALTH_TIMEOUT
        return installer

    def container(self, suffix: str = "") -> Container | None:
        try:
            return self.client.containers.get(self.container_name + suffix)
        except docker.errors.NotFound:
            return None

    def healthy(self, port: int | None = None) -> bool:
        try:
            return http_get(f"http://127.0.0.1:{port or self.port}/monitoring/healthz")[0] == 200
        except OSError:
            return False


@pytest.fixture
def gateway(docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages) -> Gateway:
    suffix = uuid.uuid4().hex[:8]
    made = Gateway(f"gw-{suffix}", f"aigw-test-{suffix}", free_port(), docker_client)
    docker_cleanup.track_container(made.container_name)
    docker_cleanup.track_container(made.container_name + PREVIOUS_SUFFIX)
    return made


def unique_copy(client: docker.DockerClient, cleanup: DockerCleanup, source: str, tag: str = HEALTHY_TAG) -> str:
    """The stand-in under a repository no other test uses, so it may be removed or found absent."""
    repository = f"aigw-test/copy-{uuid.uuid4().hex[:8]}"
    client.images.get(source).tag(repository, tag)
    cleanup.track_image(f"{repository}:{tag}")
    return repository


def save_archive(client: docker.DockerClient, ref: str, path: Path) -> Path:
    with path.open("wb") as out:
        for chunk in client.images.get(ref).save(named=ref):
            out.write(chunk)
    return path


def image_present(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def run(events: Iterator[Event], name: str, command: str = "apply") -> list[Event]:
    """Drain an installer through a journal, as the CLI does, and check the journal got it all."""
    journal = Journal(name, command)
    seen = list(journal.follow(events))
    records = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert records[-len(seen):] == [json.loads(json.dumps(to_record(event))) for event in seen]
    assert isinstance(seen[-1], Result), "every run ends in a Result"
    assert sum(isinstance(event, Result) for event in seen) == 1
    return seen


def result(events: list[Event]) -> Result:
    final = events[-1]
    assert isinstance(final, Result)
    return final


def finished(events: list[Event]) -> dict[str, list[str]]:
    """Step id -> the statuses it finished with, in order."""
    statuses: dict[str, list[str]] = {}
    for event in events:
        if isinstance(event, StepFinished):
            statuses.setdefault(event.step, []).append(event.status)
    return statuses


def lines(events: list[Event], source: str) -> list[str]:
    return [event.text for event in events if isinstance(event, LogLine) and event.source == source]


def assert_steps_balanced(events: list[Event]) -> None:
    """Every step that started finished, before the next one started."""
    open_step = None
    for event in events:
        if isinstance(event, StepStarted):
            assert open_step is None, f"{event.step} started while {open_step} was open"
            open_step = event.step
        elif isinstance(event, StepFinished):
            assert event.step == open_step
            open_step = None
    assert open_step is None


def cancel_at(events: Iterator[Event], cancel: threading.Event, step: str) -> Iterator[Event]:
    """Pass events on, asking to cancel as soon as `step` starts (Ctrl-C at that moment)."""
    for event in events:
        if isinstance(event, StepStarted) and event.step == step:
            cancel.set()
        yield event


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_LIMIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def slow_tag(docker_client: docker.DockerClient, standin_images: StandinImages) -> Iterator[str]:
    """A healthy stand-in that takes 3 s to start listening: time to interrupt its health wait."""
    tag = f"slow-{uuid.uuid4().hex[:8]}"
    start = "trap 'exit 0' TERM; sleep 3 & wait $!; exec /bin/busybox sh /start.sh"
    dockerfile = f"FROM {standin_images.healthy}\nENTRYPOINT {json.dumps(['/bin/busybox', 'sh', '-c', start])}\n"
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=f"{STANDIN_REPOSITORY}:{tag}", pull=False, rm=True, forcerm=True
    )
    yield tag
    docker_client.images.remove(f"{STANDIN_REPOSITORY}:{tag}", force=True)


# --- the CLI in a subprocess, and its journal -------------------------------------------------


def journal_sizes() -> dict[Path, int]:
    folder = Path(os.environ["AIGW_WIZARD_CONFIG_DIR"]) / "logs"
    return {path: len(path.read_text().splitlines()) for path in folder.glob("*.jsonl")} if folder.is_dir() else {}


def new_records(before: dict[Path, int]) -> list[dict[str, Any]]:
    """Journal records written since `before` (runs in the same second share a file)."""
    records = []
    for path in sorted(journal_sizes()):
        records += [json.loads(line) for line in path.read_text().splitlines()[before.get(path, 0):]]
    return records


def wizard_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "wizard", *args]


def cli(*args: str, cwd: Path = REPO_ROOT) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run `aigw-wizard ARGS` as a user would; returns the process and its journal records."""
    before = journal_sizes()
    done = subprocess.run(
        wizard_argv(*args), capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=cwd, timeout=180,
        env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT)},
    )
    return done, new_records(before)


def record_result(records: list[dict[str, Any]]) -> dict[str, Any]:
    results = [record for record in records if record["event"] == "result"]
    assert len(results) == 1, records
    return results[0]


def started_step(records: list[dict[str, Any]], step: str) -> bool:
    return any(record["event"] == "step_started" and record["step"] == step for record in records)


def start_cli_until_step(*args: str, step: str) -> tuple[subprocess.Popen[str], dict[Path, int]]:
    """Start `aigw-wizard ARGS` and return once its journal shows `step` started."""
    before = journal_sizes()
    process = subprocess.Popen(
        wizard_argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT)},
    )
    wait_for(lambda: started_step(new_records(before), step) or process.poll() is not None, f"step {step}")
    assert process.poll() is None, process.communicate()
    return process, before


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("docker_host", ["tcp", "unix"])
def test_no_engine_fails_with_a_remedy(docker_host: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.checks_servers import closed_port

    with closed_port() as port:
        host = f"tcp://127.0.0.1:{port}" if docker_host == "tcp" else f"unix://{tmp_path}/no-such-docker.sock"
        monkeypatch.setenv("DOCKER_HOST", host)
        profile = docker_profile(gateway={"image": STANDIN_REPOSITORY})
        events = run(DockerInstaller(profile, "no-engine").apply(), "no-engine")
        status = DockerInstaller(profile, "no-engine").status()

    outcome = result(events)
    assert not outcome.ok
    assert f"cannot reach the Docker engine at DOCKER_HOST={host}" in outcome.summary
    assert any("systemctl start docker" in step for step in outcome.remedies)
    assert any("/var/run/docker.sock" in step for step in outcome.remedies)
    assert finished(events) == {"engine": ["failed"]}
    assert status.state.startswith("unknown: cannot reach the Docker engine")


@pytest.mark.docker
def test_port_taken_by_another_process_fails_before_creating_anything(gateway: Gateway) -> None:
    from tests.checks_servers import listening_port

    with listening_port() as port:
        gateway.port = port
        events = run(gateway.installer(gateway.profile()).apply(), gateway.name)

    outcome = result(events)
    assert not outcome.ok
    assert f"host port {port} is already in use by another process" in outcome.summary
    assert any("gateway.port" in step for step in outcome.remedies)
    assert finished(events)["port"] == ["failed"]
    assert "container" not in finished(events)
    assert gateway.container() is None


@pytest.mark.docker
def test_port_held_by_another_container_names_it(gateway: Gateway, docker_cleanup: DockerCleanup, standin_images: StandinImages) -> None:
    other = docker_cleanup.run(
        standin_images.healthy, name=f"{gateway.container_name}-other",
        environment={"AIGW_GITLAB_URL": GITLAB_URL}, ports={"5052/tcp": gateway.port},
    )
    events = run(gateway.installer(gateway.profile()).apply(), gateway.name)

    assert f"already in use by Docker container {other.name}" in result(events).summary
    assert gateway.container() is None


@pytest.mark.docker
@pytest.mark.parametrize(
    "labels, reason",
    [
        ({}, "was not created by aigw-wizard"),
        ({LABEL_MANAGED: "true", LABEL_PROFILE: "someone-else"}, "belongs to aigw-wizard profile 'someone-else'"),
    ],
    ids=["foreign", "other-profile"],
)
def test_name_taken_by_a_container_not_ours_is_never_touched(
    gateway: Gateway, docker_cleanup: DockerCleanup, standin_images: StandinImages, labels: dict[str, str], reason: str
) -> None:
    theirs = docker_cleanup.run(
        standin_images.healthy, name=gateway.container_name, labels=labels, environment={"AIGW_GITLAB_URL": GITLAB_URL}
    )
    profile = gateway.profile(tag=NEXT_TAG)
    applied = run(gateway.installer(profile).apply(), gateway.name)
    removed = run(gateway.installer(profile).uninstall(remove_image=False), gateway.name, "uninstall")
    status = gateway.installer(profile).status()

    for events in (applied, removed):
        outcome = result(events)
        assert not outcome.ok
        assert reason in outcome.summary and "left untouched" in outcome.summary
        assert any("docker.container_name" in step for step in outcome.remedies)
    assert finished(applied) == {"engine": ["ok"], "existing": ["failed"]}
    assert (status.installed, status.state) == (False, "not ours")
    theirs.reload()
    assert theirs.status == "running"
    assert theirs.attrs["Config"]["Image"] == standin_images.healthy


@pytest.mark.docker
def test_archive_missing(gateway: Gateway, tmp_path: Path) -> None:
    profile = gateway.profile(image=f"aigw-test/absent-{uuid.uuid4().hex[:8]}", image_archive=str(tmp_path / "gone.tar"))
    outcome = result(run(gateway.installer(profile).apply(), gateway.name))

    assert not outcome.ok
    assert "gone.tar does not exist" in outcome.summary
    assert gateway.container() is None


@pytest.mark.docker
@pytest.mark.parametrize("damage", ["not-a-tar", "truncated"])
def test_archive_corrupt(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages, tmp_path: Path, damage: str) -> None:
    repository = unique_copy(docker_client, docker_cleanup, standin_images.healthy)
    archive = save_archive(docker_client, f"{repository}:{HEALTHY_TAG}", tmp_path / "gateway.tar")
    docker_client.images.remove(f"{repository}:{HEALTHY_TAG}")
    data = archive.read_bytes()
    archive.write_bytes(b"this is no tarball\n" * 100 if damage == "not-a-tar" else data[: len(data) // 2])

    events = run(gateway.installer(gateway.profile(image=repository, image_archive=str(archive))).apply(), gateway.name)

    assert not result(events).ok
    assert "is not a readable docker save archive" in result(events).summary
    assert finished(events)["image"] == ["failed"]
    assert not image_present(docker_client, f"{repository}:{HEALTHY_TAG}")
    assert gateway.container() is None


@pytest.mark.docker
def test_archive_holding_a_different_image(gateway: Gateway, docker_client: docker.DockerClient, image_archive: Path, standin_images: StandinImages) -> None:
    repository = f"aigw-test/absent-{uuid.uuid4().hex[:8]}"
    profile = gateway.profile(image=repository, image_archive=str(image_archive))
    outcome = result(run(gateway.installer(profile).apply(), gateway.name))

    assert not outcome.ok
    assert f"holds {standin_images.healthy}, not {repository}:{HEALTHY_TAG}" in outcome.summary
    assert gateway.container() is None


@pytest.mark.docker
def test_archive_is_loaded_with_progress_and_started(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages, tmp_path: Path) -> None:
    repository = unique_copy(docker_client, docker_cleanup, standin_images.healthy)
    archive = save_archive(docker_client, f"{repository}:{HEALTHY_TAG}", tmp_path / "gateway.tar")
    docker_client.images.remove(f"{repository}:{HEALTHY_TAG}")

    profile = gateway.profile(image=repository, image_archive=str(archive))
    events = run(gateway.installer(profile).apply(), gateway.name)

    assert result(events).ok
    loaded = [event for event in events if isinstance(event, Progress) and event.key == "archive"]
    assert loaded and loaded[-1].current == loaded[-1].total == archive.stat().st_size
    assert image_present(docker_client, f"{repository}:{HEALTHY_TAG}")
    assert gateway.healthy()


@pytest.mark.docker
def test_a_gzipped_archive_is_loaded_in_one_pass_and_the_engine_names_what_it_held(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages, tmp_path: Path) -> None:
    import gzip

    repository = unique_copy(docker_client, docker_cleanup, standin_images.healthy)
    plain = save_archive(docker_client, f"{repository}:{HEALTHY_TAG}", tmp_path / "gateway.tar")
    archive = tmp_path / "gateway.tar.gz"
    archive.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
    docker_client.images.remove(f"{repository}:{HEALTHY_TAG}")

    wrong = gateway.profile(image=f"{repository}-other", image_archive=str(archive))
    events = run(gateway.installer(wrong).apply(), gateway.name)
    assert not result(events).ok
    assert f"did not provide {repository}-other:{HEALTHY_TAG} (it held {repository}:{HEALTHY_TAG})" in result(events).summary
    assert gateway.container() is None

    docker_client.images.remove(f"{repository}:{HEALTHY_TAG}")
    events = run(gateway.installer(gateway.profile(image=repository, image_archive=str(archive))).apply(), gateway.name)
    assert result(events).ok, result(events).summary
    sent = [event for event in events if isinstance(event, Progress) and event.key == "archive"]
    assert sent[-1].current == archive.stat().st_size  # the compressed bytes, each sent once
    assert gateway.healthy()


@pytest.mark.docker
def test_a_rebuilt_archive_with_an_unchanged_tag_is_loaded_again(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages, tmp_path: Path) -> None:
    repository = unique_copy(docker_client, docker_cleanup, standin_images.healthy)
    ref = f"{repository}:{HEALTHY_TAG}"
    dockerfile = f"FROM {standin_images.healthy}\nRUN echo {uuid.uuid4().hex} > /build-id\n"
    rebuilt, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), pull=False, rm=True, forcerm=True)
    rebuilt.tag(repository, HEALTHY_TAG)
    docker_cleanup.track_image(rebuilt.id)  # after the tag: removed once the tag is
    archive = save_archive(docker_client, ref, tmp_path / "gateway.tar")
    docker_client.images.get(standin_images.healthy).tag(repository, HEALTHY_TAG)  # the engine keeps the old build
    old_id = docker_client.images.get(ref).id
    profile = gateway.profile(image=repository, image_archive=str(archive))

    events = run(gateway.installer(profile).apply(), gateway.name)

    assert result(events).ok, result(events).summary
    assert finished(events)["image"] == ["ok"]
    assert docker_client.images.get(ref).id == rebuilt.id != old_id
    assert any("another build" in text for text in lines(events, "wizard"))
    again = run(gateway.installer(profile).apply(), gateway.name)  # same build now: nothing to load
    assert result(again).ok and not result(again).changed
    newer, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.replace("echo", "echo again").encode()), pull=False, rm=True, forcerm=True)
    newer.tag(repository, HEALTHY_TAG)
    docker_cleanup.track_image(newer.id)
    save_archive(docker_client, ref, archive)  # rebuilt and copied again while the gateway runs
    docker_client.images.get(rebuilt.id).tag(repository, HEALTHY_TAG)
    third = run(gateway.installer(profile).apply(), gateway.name)
    assert result(third).ok and result(third).changed, result(third).summary
    assert finished(third)["image"] == ["ok"]
    container = gateway.container()
    assert container is not None and container.attrs["Image"] == newer.id

@pytest.mark.docker
def test_image_that_crashes_on_start(gateway: Gateway) -> None:
    events = run(gateway.installer(gateway.profile(tag="crash")).apply(), gateway.name)

    outcome = result(events)
    assert not outcome.ok
    assert "exited with code 3 before it became healthy" in outcome.summary
    assert "fatal: simulated startup crash" in outcome.log_tail  # the log tail, a field of its own
    assert "fatal: simulated startup crash" not in outcome.summary
    assert "fatal: simulated startup crash" in lines(events, "container")  # streamed live too
    assert finished(events)["health"] == ["failed"]
    assert finished(events)["rollback"] == ["ok"]
    assert_steps_balanced(events)
    assert gateway.container() is None


@pytest.mark.docker
def test_exit_code_survives_a_restart_policy(docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages) -> None:
    crashing = docker_cleanup.run(standin_images.crash, restart_policy={"Name": "always"})

    def restarted() -> bool:
        crashing.reload()
        return crashing.status == "running" and crashing.attrs["RestartCount"] > 0

    wait_for(restarted, "the engine to restart the crashed container")
    assert crashing.attrs["State"]["ExitCode"] == 0  # the state forgot; the engine's events did not
    assert last_exit_code(docker_client, crashing) == 3


@pytest.mark.docker
def test_image_never_healthy_times_out_and_leaves_nothing(gateway: Gateway) -> None:
    installer = gateway.installer(gateway.profile(tag="never-healthy"))
    installer.health_timeout = 2.0
    started = time.monotonic()
    events = run(installer.apply(), gateway.name)

    outcome = result(events)
    assert not outcome.ok
    assert f"did not answer http://127.0.0.1:{gateway.port}/monitoring/healthz within 2s" in outcome.summary
    assert any("this stand-in never becomes healthy" in line for line in outcome.log_tail)
    assert time.monotonic() - started < 15
    assert gateway.container() is None


@pytest.mark.docker
def test_cancel_during_health_wait_removes_the_new_container(gateway: Gateway) -> None:
    cancel = threading.Event()
    installer = gateway.installer(gateway.profile(tag="never-healthy"), cancel)
    installer.health_timeout = 120.0  # only the cancel may end this wait
    started = time.monotonic()
    events = run(cancel_at(installer.apply(), cancel, "health"), gateway.name)

    outcome = result(events)
    assert not outcome.ok and "cancelled at your request" in outcome.summary
    assert finished(events)["health"] == ["cancelled"]
    assert time.monotonic() - started < 20
    assert gateway.container() is None


@pytest.mark.docker
def test_pull_from_a_registry_reports_per_layer_progress(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, local_registry: LocalRegistry, standin_images: StandinImages) -> None:
    # A layer of random bytes no other image has, so the engine must download it.
    repository = f"aigw-test/pull-{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {standin_images.healthy}\nRUN head -c 3000000 /dev/urandom > /filler\n"
    built, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), pull=False, rm=True, forcerm=True)
    built.tag(repository, HEALTHY_TAG)
    remote = local_registry.push(docker_client, f"{repository}:{HEALTHY_TAG}", repository, HEALTHY_TAG)
    docker_cleanup.track_image(remote)
    for ref in (remote, f"{repository}:{HEALTHY_TAG}"):
        docker_client.images.remove(ref)
    assert not image_present(docker_client, remote)

    events = run(gateway.installer(gateway.profile(image=remote.rsplit(":", 1)[0])).apply(), gateway.name)

    assert result(events).ok, result(events).summary
    layers = [event for event in events if isinstance(event, Progress) and event.step == "image"]
    downloaded = [event for event in layers if event.total and event.current == event.total]
    assert downloaded, layers
    assert all(len(event.key) == 12 for event in layers)  # short layer ids
    assert any("Downloaded newer image" in text for text in lines(events, "docker"))
    assert gateway.healthy()


@pytest.mark.docker
def test_a_piped_apply_of_a_fresh_pull_prints_every_layer_state_and_never_falls_silent(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, local_registry: LocalRegistry, standin_images: StandinImages) -> None:
    repository = f"aigw-test/pull-{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {standin_images.healthy}\nRUN head -c 4000000 /dev/urandom > /a\nRUN head -c 3000000 /dev/urandom > /b\n"
    built, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), pull=False, rm=True, forcerm=True)
    built.tag(repository, HEALTHY_TAG)
    remote = local_registry.push(docker_client, f"{repository}:{HEALTHY_TAG}", repository, HEALTHY_TAG)
    docker_cleanup.track_image(remote)
    for ref in (remote, f"{repository}:{HEALTHY_TAG}"):
        docker_client.images.remove(ref)
    gateway.save(gateway.profile(image=remote.rsplit(":", 1)[0]))

    process = subprocess.Popen(
        wizard_argv("apply", gateway.name, "--yes", "--skip-checks"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT)},
    )
    assert process.stdout is not None
    stamps, output = [time.monotonic()], []
    for line in process.stdout:
        stamps.append(time.monotonic())
        output.append(line.rstrip("\n"))
    assert process.wait(timeout=WAIT_LIMIT) == 0, "\n".join(output)
    states = [line.split("] ", 1)[1] for line in output if line.startswith("    [pull] ")]
    layers = {state.split(": ", 1)[0] for state in states}
    assert len(layers) >= 2, output  # the two new layers at least, each by its short id
    for layer in layers:
        said = [state.split(": ", 1)[1] for state in states if state.startswith(f"{layer}: ")]
        assert said[-1] in ("Pull complete", "Already exists"), said
        assert len(said) == len(set(said)) or said.count("Downloading") <= 1  # one line per change
    new = [layer for layer in layers if any(state == f"{layer}: Pull complete" for state in states)]
    assert all(any(state == f"{layer}: Download complete" for state in states) for layer in new)
    assert any("of" in line and "%" in line for line in output), output  # a progress line: bytes and percent
    assert max(later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)) < 5.0
    assert gateway.healthy()


@pytest.mark.docker
def test_pull_of_a_missing_tag_fails_with_a_remedy(gateway: Gateway, local_registry: LocalRegistry) -> None:
    events = run(gateway.installer(gateway.profile(image=f"{local_registry.host}/aigw-test/absent")).apply(), gateway.name)

    outcome = result(events)
    assert not outcome.ok and "pulling" in outcome.summary
    assert any("gateway.image_archive" in step for step in outcome.remedies)
    assert gateway.container() is None


# --- happy paths, in-process ------------------------------------------------------------------


@pytest.mark.docker
def test_apply_runs_the_spec_and_is_idempotent(gateway: Gateway, tmp_path: Path) -> None:
    ca_bundle = tmp_path / "ca.pem"
    ca_bundle.write_text("-----BEGIN CERTIFICATE-----\nnot checked by the stand-in\n-----END CERTIFICATE-----\n")
    profile = gateway.profile(ca_bundle=str(ca_bundle), auth_bypass=True, extra_env={"AIGW_LOGGING__LEVEL": "debug"})
    first = run(gateway.installer(profile).apply(), gateway.name)
    second = run(gateway.installer(profile).apply(), gateway.name)

    outcome = result(first)
    assert outcome.ok and outcome.changed
    assert outcome.url(GATEWAY_URL_LABEL) == f"http://gateway.example.test:{gateway.port}"
    assert WHERE_TO_SET_URL in outcome.remedies
    assert any(VERIFY_COMMAND in step for step in outcome.remedies)
    assert_steps_balanced(first)
    assert f"SSL_CERT_FILE is set: {CA_BUNDLE_MOUNT} (readable)" in lines(first, "container")
    for events in (first, second):  # the bypass warning comes every run
        assert any(e.level == "warning" and "auth_bypass" in e.text for e in events if isinstance(e, LogLine))

    again = result(second)
    assert again.ok and not again.changed and again.summary.startswith("already up to date")
    assert finished(second) == {"engine": ["ok"], "existing": ["ok"], "health": ["ok"]}
    assert not lines(second, "container")  # an old log is not news

    container = gateway.container()
    assert container is not None
    attrs = container.attrs
    env = dict(pair.split("=", 1) for pair in attrs["Config"]["Env"])
    assert env["AIGW_GITLAB_URL"] == GITLAB_URL
    assert env["AIGW_AUTH__BYPASS_EXTERNAL"] == "true"
    assert env["AIGW_LOGGING__LEVEL"] == "debug"
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == CA_BUNDLE_MOUNT
    assert attrs["HostConfig"]["PortBindings"] == {"5052/tcp": [{"HostIp": "", "HostPort": str(gateway.port)}]}
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    [mount] = attrs["Mounts"]
    assert (mount["Source"], mount["Destination"], mount["RW"]) == (str(ca_bundle), CA_BUNDLE_MOUNT, False)
    assert container.labels[LABEL_PROFILE] == gateway.name
    assert container.labels[LABEL_CONFIG_HASH] == gateway.installer(profile).spec.config_hash()


@pytest.mark.docker
def test_changed_profile_upgrades_and_removes_the_old_container(gateway: Gateway) -> None:
    run(gateway.installer(gateway.profile()).apply(), gateway.name)
    old = gateway.container()
    events = run(gateway.installer(gateway.profile(tag=NEXT_TAG)).apply(), gateway.name)

    outcome = result(events)
    assert outcome.ok and outcome.changed and "previous container was removed" in outcome.summary
    assert finished(events)["cleanup"] == ["ok"]
    new = gateway.container()
    assert new is not None and old is not None and new.id != old.id
    assert new.attrs["Config"]["Image"] == f"{STANDIN_REPOSITORY}:{NEXT_TAG}"
    assert gateway.container(PREVIOUS_SUFFIX) is None
    assert gateway.healthy()


@pytest.mark.docker
def test_cancel_during_upgrade_health_wait_restores_the_old_container(gateway: Gateway) -> None:
    run(gateway.installer(gateway.profile()).apply(), gateway.name)
    old = gateway.container()
    cancel = threading.Event()
    installer = gateway.installer(gateway.profile(tag="never-healthy"), cancel)
    installer.health_timeout = 120.0
    events = run(cancel_at(installer.apply(), cancel, "health"), gateway.name)

    outcome = result(events)
    assert not outcome.ok
    assert outcome.summary == "cancelled at your request; the previous container is back and healthy"
    assert finished(events)["health"] == ["cancelled"] and finished(events)["rollback"] == ["ok"]
    back = gateway.container()
    assert back is not None and old is not None and back.id == old.id and back.status == "running"
    assert gateway.container(PREVIOUS_SUFFIX) is None
    assert gateway.healthy()


@pytest.mark.docker
def test_leftover_previous_from_a_killed_upgrade_is_put_back(gateway: Gateway) -> None:
    """Killed between renaming the old container and creating the new one."""
    profile = gateway.profile()
    run(gateway.installer(profile).apply(), gateway.name)
    old = gateway.container()
    assert old is not None
    old.rename(gateway.container_name + PREVIOUS_SUFFIX)
    old.stop()

    events = run(gateway.installer(profile).apply(), gateway.name)

    outcome = result(events)
    assert outcome.ok and outcome.changed
    assert outcome.summary.startswith("undid the interrupted upgrade")
    back = gateway.container()
    assert back is not None and back.id == old.id
    assert gateway.container(PREVIOUS_SUFFIX) is None


@pytest.mark.docker
def test_status_reports_every_drifted_field(gateway: Gateway, tmp_path: Path) -> None:
    profile = gateway.profile()
    run(gateway.installer(profile).apply(), gateway.name)
    clean = gateway.installer(profile).status()
    ca_bundle = tmp_path / "ca.pem"
    ca_bundle.write_text("")
    edited = gateway.profile(
        tag=NEXT_TAG, port=gateway.port + 1, ca_bundle=str(ca_bundle), extra_env={"AIGW_LOGGING__LEVEL": "debug"}
    )
    edited.docker.restart_policy = "always"
    edited.gitlab.url = "https://other.example.test"
    drift = {item.field: (item.profile, item.actual) for item in gateway.installer(edited).status().drift}

    assert clean.installed and clean.state == "running" and clean.healthy is True and not clean.drift
    assert {"uptime", "ports", "restart policy", "container"} <= clean.details.keys()
    assert drift == {
        "image": (f"{STANDIN_REPOSITORY}:{NEXT_TAG}", f"{STANDIN_REPOSITORY}:{HEALTHY_TAG}"),
        "env.AIGW_GITLAB_URL": ("https://other.example.test", GITLAB_URL),
        "env.AIGW_GITLAB_API_URL": ("https://other.example.test/api/v4/", f"{GITLAB_URL}/api/v4/"),
        "env.AIGW_LOGGING__LEVEL": ("debug", "(unset)"),
        "env.SSL_CERT_FILE": (CA_BUNDLE_MOUNT, "(unset)"),
        "env.REQUESTS_CA_BUNDLE": (CA_BUNDLE_MOUNT, "(unset)"),
        "port": (str(gateway.port + 1), str(gateway.port)),
        "ca_bundle": (str(ca_bundle), "(none)"),
        "restart_policy": ("always", "unless-stopped"),
    }


@pytest.mark.docker
def test_status_of_nothing_installed(gateway: Gateway) -> None:
    report = gateway.installer(gateway.profile()).status()
    assert (report.installed, report.state, report.drift) == (False, "not installed", [])


@pytest.mark.docker
def test_uninstall_removes_only_ours_and_the_image_on_request(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages) -> None:
    repository = unique_copy(docker_client, docker_cleanup, standin_images.healthy)
    profile = gateway.profile(image=repository)
    run(gateway.installer(profile).apply(), gateway.name)
    events = run(gateway.installer(profile).uninstall(remove_image=True), gateway.name, "uninstall")
    again = run(gateway.installer(profile).uninstall(), gateway.name, "uninstall")

    assert result(events).ok and result(events).changed
    assert gateway.container() is None
    assert not image_present(docker_client, f"{repository}:{HEALTHY_TAG}")
    assert image_present(docker_client, standin_images.healthy)  # the same image under its other tag
    assert result(again).ok and not result(again).changed
    assert finished(again) == {"engine": ["ok"], "container": ["skipped"]}


# --- the CLI, as a user runs it -----------------------------------------------------------------


@pytest.mark.docker
def test_cli_apply_twice_then_status_drift_then_uninstall(gateway: Gateway) -> None:
    path = gateway.save(gateway.profile())

    applied, records = cli("apply", gateway.name, "--yes", "--skip-checks")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert f"Local AI Gateway URL: http://gateway.example.test:{gateway.port}" in applied.stdout
    assert "[container] listening on 0.0.0.0:5052" in applied.stdout
    assert record_result(records)["ok"] and record_result(records)["changed"]
    assert {record["event"] for record in records} >= {"step_started", "step_finished", "log", "result"}
    assert last_outcome(gateway.name)["ok"] is True

    again, records = cli("apply", gateway.name, "--yes", "--skip-checks")
    assert again.returncode == 0 and "already up to date" in again.stdout
    assert record_result(records)["changed"] is False

    path.write_text(path.read_text().replace(GITLAB_URL, "https://moved.example.test"))
    status, _ = cli("status", gateway.name)
    assert status.returncode == 1
    assert f"{gateway.name}: running, healthy" in status.stdout
    assert "env.AIGW_GITLAB_URL: running 'https://gitlab.example.test', profile says 'https://moved.example.test'" in status.stdout
    as_json, _ = cli("status", gateway.name, "--json")
    assert {item["field"] for item in json.loads(as_json.stdout)["drift"]} == {"env.AIGW_GITLAB_URL", "env.AIGW_GITLAB_API_URL"}

    removed, records = cli("uninstall", gateway.name, "--yes")
    assert removed.returncode == 0 and record_result(records)["ok"]
    assert gateway.container() is None and gateway.container(PREVIOUS_SUFFIX) is None
    gone, _ = cli("status", gateway.name)
    assert gone.stdout.startswith(f"{gateway.name}: not installed")


@pytest.mark.docker
def test_cli_upgrade_to_a_crashing_tag_rolls_back(gateway: Gateway) -> None:
    path = gateway.save(gateway.profile())
    cli("apply", gateway.name, "--yes", "--skip-checks")
    old = gateway.container()

    failed, records = cli("upgrade", gateway.name, "--tag", "crash", "--yes")

    assert failed.returncode == 1
    outcome = record_result(records)
    assert not outcome["ok"]
    assert outcome["summary"].startswith(
        "the gateway container exited with code 3 before it became healthy; the previous container is back and healthy"
    )
    back = gateway.container()
    assert back is not None and old is not None and back.id == old.id and back.status == "running"
    assert gateway.healthy()
    assert store.load(path).gateway.tag == HEALTHY_TAG  # a failed upgrade does not change the profile

    upgraded, _ = cli("upgrade", gateway.name, "--tag", NEXT_TAG, "--yes")
    assert upgraded.returncode == 0, upgraded.stdout
    assert store.load(path).gateway.tag == NEXT_TAG
    current = gateway.container()
    assert current is not None and current.attrs["Config"]["Image"] == f"{STANDIN_REPOSITORY}:{NEXT_TAG}"


@pytest.mark.docker
def test_cli_sighup_during_health_wait_then_apply_finishes(gateway: Gateway, slow_tag: str) -> None:
    gateway.save(gateway.profile(tag=slow_tag))
    process, before = start_cli_until_step("apply", gateway.name, "--yes", "--skip-checks", step="health")
    process.send_signal(signal.SIGHUP)  # the SSH session dropped
    process.communicate(timeout=WAIT_LIMIT)

    assert process.returncode == 1
    records = new_records(before)
    assert {"event": "step_finished", "step": "health", "status": "cancelled"}.items() <= next(
        record for record in records if record["event"] == "step_finished" and record["step"] == "health"
    ).items()
    assert not record_result(records)["ok"]
    assert gateway.container() is None

    finished_run, records = cli("apply", gateway.name, "--yes", "--skip-checks")
    assert finished_run.returncode == 0, finished_run.stdout
    assert record_result(records)["ok"] and gateway.healthy()


@pytest.mark.docker
def test_cli_killed_mid_upgrade_then_apply_finishes_it(gateway: Gateway, slow_tag: str) -> None:
    gateway.save(gateway.profile())
    cli("apply", gateway.name, "--yes", "--skip-checks")
    gateway.save(gateway.profile(tag=slow_tag))
    process, _ = start_cli_until_step("apply", gateway.name, "--yes", "--skip-checks", step="health")
    process.kill()  # no chance to clean up
    process.communicate(timeout=WAIT_LIMIT)
    assert gateway.container(PREVIOUS_SUFFIX) is not None

    finished_run, records = cli("apply", gateway.name, "--yes", "--skip-checks")

    assert finished_run.returncode == 0, finished_run.stdout
    assert record_result(records)["summary"].startswith("finished the interrupted upgrade")
    assert gateway.container(PREVIOUS_SUFFIX) is None
    current = gateway.container()
    assert current is not None and current.attrs["Config"]["Image"] == f"{STANDIN_REPOSITORY}:{slow_tag}"
    assert gateway.healthy()


@pytest.mark.docker
def test_cli_bundle_then_apply_from_the_bundle(gateway: Gateway, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, standin_images: StandinImages, tmp_path: Path) -> None:
    repository = unique_copy(docker_client, docker_cleanup, standin_images.healthy)
    ca_bundle = tmp_path / "corporate-ca.pem"
    ca_bundle.write_text("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n")
    gateway.save(gateway.profile(image=repository, ca_bundle=str(ca_bundle)))
    bundle_dir = tmp_path / "carry" / "aigw-bundle"

    bundled, _ = cli("bundle", gateway.name, str(bundle_dir))

    assert bundled.returncode == 0, bundled.stdout
    manifest = json.loads((bundle_dir / BUNDLE_MANIFEST).read_text())
    names = {entry["name"] for entry in manifest["files"]}
    tarball = f"copy-{repository.rsplit('-', 1)[-1]}-{HEALTHY_TAG}.tar"
    assert names == {tarball, "ca-bundle.pem", f"{gateway.name}.toml"}
    for entry in manifest["files"]:
        assert hashlib.sha256((bundle_dir / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    carried = store.load(bundle_dir / f"{gateway.name}.toml")
    assert (carried.gateway.image_archive, carried.gateway.ca_bundle) == (tarball, "ca-bundle.pem")

    # The air-gapped host: no image in the engine, a damaged copy first, then a good one.
    docker_client.images.remove(f"{repository}:{HEALTHY_TAG}")
    damaged_dir = tmp_path / "damaged"
    damaged_dir.mkdir()
    for entry in names | {BUNDLE_MANIFEST}:
        (damaged_dir / entry).write_bytes((bundle_dir / entry).read_bytes())
    with (damaged_dir / tarball).open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\xff")
    damaged, _ = cli("apply", f"damaged/{gateway.name}.toml", "--yes", "--skip-checks", cwd=tmp_path)
    assert damaged.returncode == 1
    assert f"{tarball} does not match its SHA-256 in manifest.json" in damaged.stdout

    applied, records = cli("apply", f"aigw-bundle/{gateway.name}.toml", "--yes", "--skip-checks", cwd=bundle_dir.parent)
    assert applied.returncode == 0, applied.stdout
    assert any(record["event"] == "progress" and record["key"] == "archive" for record in records)
    assert f"SSL_CERT_FILE is set: {CA_BUNDLE_MOUNT} (readable)" in applied.stdout
    assert image_present(docker_client, f"{repository}:{HEALTHY_TAG}")
    assert gateway.healthy()


@pytest.mark.docker
def test_cli_apply_with_the_preflight_checks(gateway: Gateway) -> None:
    from tests.checks_servers import fake_gitlab

    with fake_gitlab() as gitlab:
        profile = gateway.profile()
        profile.gitlab.url = gitlab.url
        profile.gateway.hostname = "192.0.2.10"  # an address: nothing to resolve
        gateway.save(profile)
        applied, records = cli("apply", gateway.name, "--yes")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "docker.engine" in applied.stdout and "gateway.port" in applied.stdout
    assert record_result(records)["ok"]
    assert gateway.healthy()
