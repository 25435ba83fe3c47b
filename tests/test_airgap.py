"""Air-gapped install: `apply` inside a network namespace that has nothing but loopback.

The profile names the real registry image (`registry.gitlab.com/…/model-gateway`), so without
its `docker save` tarball the install would have to pull. Inside the namespace there is no
interface but `lo` and no route; the Docker engine is reached over its UNIX socket (a path,
which namespaces share) and does its work outside, so whether the engine *pulled* is read from
the run's journal and from the engine's own event stream.

The preflight checks run too, for real: GitLab is a fake API on the namespace's own loopback
(started inside it by `tests.netns`), and the gateway host name resolves through the
namespace's /etc/hosts (`ip netns exec` mounts /etc/netns/NS/hosts there) to a TEST-NET
address — the way an air-gapped host names itself without DNS. The gateway's published port
lives on the host's loopback; the one relay out of the namespace leads there and nowhere else.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.docker_fixtures import (
    STANDIN_LABEL,
    DockerCleanup,
    StandinImages,
    enforce,
    free_port,
    http_get,
)
from tests.factories import docker_profile
from tests.netguard import sitecustomize as netguard
from tests.netns import LoopbackNamespace, NamespaceHelper, leftover_namespaces, loopback_namespace
from wizard.core import store
from wizard.core.profile import DEFAULT_IMAGE, Profile
from wizard.install.docker import BUNDLE_MANIFEST, PREVIOUS_SUFFIX

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
TAG = "self-hosted-v17.5.0-ee"
REAL_REF = f"{DEFAULT_IMAGE}:{TAG}"
GATEWAY_HOST = "aigw.airgap.test"
GATEWAY_ADDRESS = "192.0.2.10"  # TEST-NET-1: only ever a name in the namespace's /etc/hosts
RUN_TIMEOUT = 120
REAL_REF_LOCK = Path(tempfile.gettempdir()) / "aigw-test-real-image-name.lock"


@dataclass
class Airgap:
    namespace: LoopbackNamespace
    helper: NamespaceHelper
    name: str
    container_name: str
    port: int

    def profile(self, **gateway: Any) -> Profile:
        return docker_profile(
            gitlab={"url": self.helper.gitlab_url, "version": "17.5.0"},
            gateway={"hostname": GATEWAY_HOST, "port": self.port, **gateway},
            docker={"container_name": self.container_name},
        )

    def wizard_inside(self, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        """`aigw-wizard ARGS` in the namespace, with the relay to the gateway's port armed."""
        with self.helper.relay_when_published(self.port) as relay:
            done = wizard(*args, cwd=cwd, inside=self.namespace)
        assert not relay.problem, relay.problem
        assert relay.connections > 0, "the health check never went through the relay"
        return done


def wizard(*args: str, cwd: Path = ROOT, inside: LoopbackNamespace | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "wizard", *args]
    return subprocess.run(
        inside.argv(*argv) if inside else argv,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.fixture
def airgap(docker_client: docker.DockerClient, docker_cleanup: DockerCleanup) -> Iterator[Airgap]:
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        enforce(f"DOCKER_HOST={host} cannot be reached from a namespace with only loopback")
    suffix = uuid.uuid4().hex[:8]
    with loopback_namespace(hosts={GATEWAY_HOST: GATEWAY_ADDRESS}) as namespace:
        # Nothing but loopback, and no route anywhere: the proof rests on this.
        assert namespace.interfaces() == ["lo"]
        assert namespace.routes() == []
        with NamespaceHelper(namespace) as helper:
            made = Airgap(namespace, helper, f"airgap-{suffix}", f"aigw-test-{suffix}", free_port())
            docker_cleanup.track_container(made.container_name)
            docker_cleanup.track_container(made.container_name + PREVIOUS_SUFFIX)
            yield made
    assert namespace.name not in leftover_namespaces()


def _present(client: docker.DockerClient, ref: str) -> docker.models.images.Image | None:
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


@pytest.fixture
def real_name(docker_client: docker.DockerClient, standin_images: StandinImages) -> Iterator[str]:
    """The stand-in under the real registry name (removed again after the test).

    The name is one for the whole engine: a lock serialises test runs that share the engine."""
    with REAL_REF_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = _present(docker_client, REAL_REF)
        if existing is not None and STANDIN_LABEL not in existing.labels:
            enforce(f"{REAL_REF} is a real image in this engine; this test would untag it")
        docker_client.images.get(standin_images.healthy).tag(DEFAULT_IMAGE, TAG)
        yield REAL_REF
        if _present(docker_client, REAL_REF) is not None:
            docker_client.images.remove(REAL_REF)  # untags only: the stand-in keeps its own name


def save(client: docker.DockerClient, ref: str, path: Path) -> Path:
    with path.open("wb") as out:
        for chunk in client.images.get(ref).save(named=ref):
            out.write(chunk)
    return path


def journal(config_dir: Path, command: str) -> list[dict[str, Any]]:
    [path] = (config_dir / "logs").glob(f"*-{command}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def engine_image_events(client: docker.DockerClient, since: float) -> list[tuple[str, str]]:
    """(action, image) for what the engine did to images since `since`, by its own account.

    Other tests may share the engine: callers pick out the events about their image."""
    stream = client.events(since=int(since), until=f"{time.time():.6f}", filters={"type": "image"}, decode=True)
    try:
        return [
            (str(event.get("Action")), f"{event['Actor']['ID']} {event['Actor'].get('Attributes', {}).get('name', '')}")
            for event in stream
        ]
    finally:
        stream.close()


def assert_installed_without_pulling(
    done: subprocess.CompletedProcess[str],
    airgap: Airgap,
    records: list[dict[str, Any]],
    client: docker.DockerClient,
    standin_images: StandinImages,
    started: float,
) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # The checks ran, inside: GitLab answered on the namespace's loopback, the name resolved.
    assert "preflight checks failed" not in output
    assert f"a GitLab API answered at {airgap.helper.gitlab_url}/api/v4/version" in output
    assert f"{GATEWAY_HOST} → {GATEWAY_ADDRESS}" in output
    assert airgap.helper.gitlab_requests() > 0
    # The journal: loaded from the archive, never pulled.
    [result] = [record for record in records if record["event"] == "result"]
    assert result["ok"], result
    [image_step] = [r for r in records if r["event"] == "step_finished" and r["step"] == "image"]
    assert image_step["status"] == "ok" and image_step["detail"].startswith("loaded from"), image_step
    assert not [r for r in records if r["event"] == "log" and r["source"] == "docker"]  # pull messages
    progress = {r["key"] for r in records if r["event"] == "progress" and r["step"] == "image"}
    assert progress == {"archive"}
    # The engine's own account: it loaded the image, and pulled nothing of that name.
    events = engine_image_events(client, started)
    assert not [image for action, image in events if action == "pull" and DEFAULT_IMAGE in image], events
    assert ("load", standin_images.image_ids["healthy"]) in [(a, image.split()[0]) for a, image in events], events
    # What runs: the stand-in under the real name, healthy on the host's port.
    image = client.images.get(REAL_REF)
    assert image.id == standin_images.image_ids["healthy"]
    container = client.containers.get(airgap.container_name)
    assert container.status == "running" and container.attrs["Config"]["Image"] == REAL_REF
    assert http_get(f"http://127.0.0.1:{airgap.port}/monitoring/healthz")[0] == 200


def test_apply_from_an_image_archive_with_only_loopback(
    airgap: Airgap,
    real_name: str,
    docker_client: docker.DockerClient,
    standin_images: StandinImages,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    archive = save(docker_client, real_name, tmp_path / "model-gateway.tar")
    docker_client.images.remove(real_name)  # now only the archive has it: apply must load it
    path = store.save(airgap.profile(), store.resolve(airgap.name))
    # Without the archive this profile needs the registry, which the namespace cannot reach.
    offline = wizard("check", airgap.name, "--only", "docker.image", inside=airgap.namespace)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert "the registry host registry.gitlab.com does not resolve" in offline.stdout
    store.save(airgap.profile(image_archive=str(archive)), path)

    started = time.time()
    done = airgap.wizard_inside("apply", airgap.name, "--yes")

    assert_installed_without_pulling(done, airgap, journal(config_dir, "apply"), docker_client, standin_images, started)


def test_bundle_on_the_connected_side_then_apply_with_only_loopback(
    airgap: Airgap,
    real_name: str,
    docker_client: docker.DockerClient,
    standin_images: StandinImages,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    store.save(airgap.profile(), store.resolve(airgap.name))
    carry = tmp_path / "carry"
    bundled = wizard("bundle", airgap.name, str(carry / "aigw-bundle"))  # the connected host
    assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    manifest = json.loads((carry / "aigw-bundle" / BUNDLE_MANIFEST).read_text())
    assert manifest["image"] == real_name
    docker_client.images.remove(real_name)  # the air-gapped host has never seen the image

    started = time.time()
    done = airgap.wizard_inside("apply", f"aigw-bundle/{airgap.name}.toml", "--yes", cwd=carry)

    archive = store.load(carry / "aigw-bundle" / f"{airgap.name}.toml").gateway.image_archive
    assert f"checking {archive} against {BUNDLE_MANIFEST}" in done.stdout  # the copy is verified
    assert_installed_without_pulling(done, airgap, journal(config_dir, "apply"), docker_client, standin_images, started)
