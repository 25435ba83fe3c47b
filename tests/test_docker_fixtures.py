"""The docker scaffolding itself: stand-in images, registry round-trip, archive, marker logic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import docker
import pytest

from tests.docker_fixtures import (
    REQUIRE_ENV,
    DockerCleanup,
    LocalRegistry,
    StandinImages,
    docker_verdict,
    free_port,
    http_get,
    wait_http,
)
from tests.netguard import sitecustomize as netguard

GITLAB_URL = "https://gitlab.example.test"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _wait_exit(container: docker.models.containers.Container, timeout: float = 30) -> int:
    return int(container.wait(timeout=timeout)["StatusCode"])


def _logs(container: docker.models.containers.Container, **kwargs: bool) -> str:
    return container.logs(**kwargs).decode()


@pytest.mark.docker
def test_healthy_standin_serves_healthz_on_loopback(
    standin_images: StandinImages, docker_cleanup: DockerCleanup
) -> None:
    port = free_port()
    container = docker_cleanup.run(
        standin_images.healthy,
        environment={"AIGW_GITLAB_URL": GITLAB_URL},
        ports={"5052/tcp": ("127.0.0.1", port)},
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/monitoring/healthz", timeout=20)

    status, body = http_get(f"{base}/monitoring/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert http_get(f"{base}/docs")[0] == 200
    logs = _logs(container)
    assert "self-hosted-v17.5.0-ee" in logs
    assert f"gitlab url: {GITLAB_URL}" in logs
    assert "SSL_CERT_FILE is not set" in logs


@pytest.mark.docker
def test_healthy_standin_refuses_to_start_without_gitlab_url(
    standin_images: StandinImages, docker_cleanup: DockerCleanup
) -> None:
    container = docker_cleanup.run(standin_images.healthy)

    assert _wait_exit(container) == 2
    assert "error: AIGW_GITLAB_URL is not set" in _logs(container, stdout=False, stderr=True)


@pytest.mark.docker
def test_healthy_standin_stops_promptly(
    standin_images: StandinImages, docker_cleanup: DockerCleanup
) -> None:
    # Upgrade tests stop the old gateway; the stand-in must honour SIGTERM, not wait for SIGKILL.
    port = free_port()
    container = docker_cleanup.run(
        standin_images.healthy_next,
        environment={"AIGW_GITLAB_URL": GITLAB_URL},
        ports={"5052/tcp": ("127.0.0.1", port)},
    )
    wait_http(f"http://127.0.0.1:{port}/monitoring/healthz", timeout=20)

    started = time.monotonic()
    container.stop(timeout=10)
    assert time.monotonic() - started < 5
    assert _wait_exit(container) == 0
    assert "self-hosted-v17.6.0-ee" in _logs(container)


@pytest.mark.docker
def test_crash_standin_exits_3(
    standin_images: StandinImages, docker_cleanup: DockerCleanup
) -> None:
    container = docker_cleanup.run(
        standin_images.crash, environment={"AIGW_GITLAB_URL": GITLAB_URL}
    )

    assert _wait_exit(container) == 3
    assert "fatal: simulated startup crash" in _logs(container)


@pytest.mark.docker
def test_never_healthy_standin_serves_but_not_healthz(
    standin_images: StandinImages, docker_cleanup: DockerCleanup
) -> None:
    port = free_port()
    container = docker_cleanup.run(
        standin_images.never_healthy,
        environment={"AIGW_GITLAB_URL": GITLAB_URL},
        ports={"5052/tcp": ("127.0.0.1", port)},
    )
    wait_http(f"http://127.0.0.1:{port}/docs", timeout=20)

    assert http_get(f"http://127.0.0.1:{port}/monitoring/healthz")[0] == 404
    container.reload()
    assert container.status == "running"


@pytest.mark.docker
def test_registry_round_trip(
    docker_client: docker.DockerClient,
    standin_images: StandinImages,
    local_registry: LocalRegistry,
    docker_cleanup: DockerCleanup,
) -> None:
    repo, tag = "gitlab-org/model-gateway", standin_images.tags["healthy"]
    ref = local_registry.push(docker_client, standin_images.healthy, repo, tag)
    assert ref == f"{local_registry.host}/{repo}:{tag}"
    assert local_registry.host.startswith("127.0.0.1:")
    tags = json.loads(http_get(f"{local_registry.url}/v2/{repo}/tags/list")[1])
    assert tags == {"name": repo, "tags": [tag]}

    docker_client.images.remove(ref)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(ref)
    docker_cleanup.track_image(ref)
    pulled = docker_client.images.pull(f"{local_registry.host}/{repo}", tag=tag)

    assert ref in pulled.tags
    assert pulled.id == standin_images.image_ids["healthy"]
    assert any(
        d.startswith(f"{local_registry.host}/{repo}@sha256:") for d in pulled.attrs["RepoDigests"]
    )


@pytest.mark.docker
def test_image_archive_loads_back(
    docker_client: docker.DockerClient, standin_images: StandinImages, image_archive: Path
) -> None:
    with tarfile.open(image_archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == [standin_images.healthy]

    loaded = docker_client.images.load(image_archive.read_bytes())

    assert [image.id for image in loaded] == [standin_images.image_ids["healthy"]]
    assert standin_images.healthy in loaded[0].tags


# --- marker semantics (no engine needed) ------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "required", "expected"),
    [
        (None, False, "run"),
        (None, True, "run"),
        ("no engine", False, "skip"),
        ("no engine", True, "fail"),
    ],
)
def test_docker_verdict(problem: str | None, required: bool, expected: str) -> None:
    assert docker_verdict(problem, required) == expected


_NO_ENGINE_TESTS = """\
import pytest

@pytest.mark.docker
def test_marked():
    pass

def test_uses_fixture(docker_client):
    pass

def test_plain():
    pass
"""


@pytest.mark.parametrize(("required", "outcome"), [("", "2 skipped"), ("1", "2 errors")])
def test_marker_without_engine_skips_or_fails(tmp_path: Path, required: str, outcome: str) -> None:
    # A real pytest run against an engine that cannot exist proves the hooks end to end.
    (tmp_path / "test_no_engine.py").write_text(_NO_ENGINE_TESTS)
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{tmp_path}/no-such-docker.sock",
        REQUIRE_ENV: required,
        "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTEST_ADDOPTS": "",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rA",
            "-p",
            "tests.docker_fixtures",
            "-p",
            "no:cacheprovider",
            "test_no_engine.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert f"1 passed, {outcome}" in result.stdout, result.stdout + result.stderr
    assert "no Docker engine reachable" in result.stdout
    assert result.returncode == (1 if required else 0)
