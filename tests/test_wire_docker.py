"""Today's gateway through the Docker engine, the checks, plan and the CLI (issue 12, phase 2).

The done-when, as a user would run it: a GitLab 19.2.1 profile with an empty tag installs
`self-hosted-v19.2.3-ee`, the newest 19.2 patch in a local `docker-registry` that also holds
19.2.0, 19.2.2 and 19.3.0 (the 19.x stand-in pushed under each), with all four keys, the
Agent Platform port, the offline licence and an extra host; the output names both GitLab
settings; no key text is written outside the key folder. A 17.5 profile runs exactly as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.docker_fixtures import DockerCleanup, LocalRegistry, free_port
from tests.factories import docker_profile
from tests.netguard import sitecustomize as netguard
from tests.standins import (
    AGENT_PLATFORM_PORT,
    JWK_ERROR,
    TOKEN_FAILED,
    generation_standins,  # noqa: F401 - the fixture
)
from wizard.core import paths, store
from wizard.core.profile import Profile
from wizard.core.release import ALL_KEY_VARIABLES
from wizard.core.spec import LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_PROFILE, container_spec
from wizard.install import plan
from wizard.install.docker.container import create_arguments
from wizard.install.keylabels import LABEL_KEYS
from wizard.tools import keys as key_tools
from wizard.tools.resolve import resolve_profile

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parent.parent
REPO = "aigwh10-wire/model-gateway"
PATCH_TAGS = ("self-hosted-v19.2.0-ee", "self-hosted-v19.2.2-ee", "self-hosted-v19.2.3-ee", "self-hosted-v19.3.0-ee")
GITLAB_URL = "http://gitlab.aigwh10.test"
GITLAB_HOST = "gitlab.aigwh10.test"
GITLAB_ADDRESS = "10.0.0.5"  # only written into the container's /etc/hosts: nothing connects to it
HOSTNAME = "gateway.aigwh10.test"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT, timeout=240, env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(REPO_ROOT)},
    )


@pytest.fixture(scope="module")
def patch_registry(
    docker_client: docker.DockerClient, local_registry: LocalRegistry, generation_standins: dict[str, str]  # noqa: F811
) -> Iterator[str]:
    """The registry's repository holding the 19.x stand-in under four patch tags (none kept locally)."""
    for tag in PATCH_TAGS:
        pushed = local_registry.push(docker_client, generation_standins["19"], REPO, tag)
        docker_client.images.remove(pushed)
    yield f"{local_registry.host}/{REPO}"


def current_profile(repository: str, container_name: str, **gateway: Any) -> Profile:
    return docker_profile(
        gitlab={"url": GITLAB_URL, "version": "19.2.1", "offline_license": True},
        gateway={
            "hostname": HOSTNAME, "port": free_port(), "agent_platform_port": free_port(),
            "image": repository, "tag": "", **gateway,
        },
        docker={"container_name": container_name, "extra_hosts": {GITLAB_HOST: GITLAB_ADDRESS}},
    )


@pytest.fixture
def names(docker_cleanup: DockerCleanup, docker_client: docker.DockerClient, patch_registry: str) -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    name, container = f"aigwh10-{suffix}", f"aigwh10-gw-{suffix}"
    docker_cleanup.track_container(container)
    docker_cleanup.track_container(container + "-previous")
    yield name, container
    for tag in PATCH_TAGS:  # what apply pulled: the next test resolves from the registry again
        try:
            docker_client.images.remove(f"{patch_registry}:{tag}")
        except docker.errors.ImageNotFound:
            pass


def key_bodies(name: str) -> list[str]:
    """Distinctive lines of every key body (the base64 lines, not the BEGIN/END armour)."""
    found = []
    for variable in ALL_KEY_VARIABLES:
        text = paths.key_file(name, variable).read_text()
        found += [line for line in text.splitlines() if line and not line.startswith("-----")][1:4]
    return found


def assert_no_secret_outside_keys(name: str, *outputs: str) -> None:
    bodies = key_bodies(name)
    keys_folder = paths.keys_dir(name).resolve()
    root = Path(os.environ["AIGW_WIZARD_CONFIG_DIR"])
    scanned = 0
    for path in root.rglob("*"):
        if not path.is_file() or keys_folder in path.resolve().parents:
            continue
        text = path.read_text(errors="replace")
        scanned += 1
        assert not any(body in text for body in bodies), f"key text in {path}"
    assert scanned >= 2  # the profile and the journals at least
    for output in outputs:
        assert not any(body in output for body in bodies)


def test_a_19_2_1_profile_installs_the_newest_19_2_patch_with_everything_today_needs(
    names: tuple[str, str], patch_registry: str, docker_client: docker.DockerClient
) -> None:
    name, container_name = names
    profile = current_profile(patch_registry, container_name)
    path = store.save(profile, store.resolve(name))

    planned = cli("plan", name)
    assert planned.returncode == 0, planned.stderr
    assert f"{patch_registry}:self-hosted-v19.2.3-ee" in planned.stdout
    assert f"-p {profile.gateway.agent_platform_port}:50052" in planned.stdout
    assert f"--add-host {GITLAB_HOST}:{GITLAB_ADDRESS}" in planned.stdout
    for variable in ALL_KEY_VARIABLES:
        assert f'-e {variable}="$(cat {paths.key_file(name, variable)})"' in planned.stdout
    assert "newest of its line in the registry" in planned.stderr

    checked = cli("check", name, "--only", "gateway.tag", "--json")
    row = json.loads(checked.stdout)["results"][0]
    assert row["status"] == "pass" and row["detail"].startswith("self-hosted-v19.2.3-ee (newest of its line in the registry")

    applied = cli("apply", name, "--yes", "--skip-checks")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    out = applied.stdout
    assert f"Local AI Gateway URL: http://{HOSTNAME}:{profile.gateway.port}" in out
    assert f"Local URL for the GitLab Duo Agent Platform service: {HOSTNAME}:{profile.gateway.agent_platform_port}" in out
    assert "300 s" in out and f"aigw-wizard connect {name}" in out and "gitlab:duo:verify_self_hosted_setup" in out
    assert f"Duo Agent Platform: 127.0.0.1:{profile.gateway.agent_platform_port} answers" in out

    container = docker_client.containers.get(container_name)
    attrs = container.attrs
    assert attrs["Config"]["Image"] == f"{patch_registry}:self-hosted-v19.2.3-ee"
    env = dict(pair.partition("=")[::2] for pair in attrs["Config"]["Env"])
    for variable in ALL_KEY_VARIABLES:
        assert env[variable] == paths.key_file(name, variable).read_text()
        assert paths.key_file(name, variable).stat().st_mode & 0o777 == 0o600
    assert env["DUO_WORKFLOW_AUTH__ENABLED"] == "true"
    assert env["AIGW_CUSTOMER_PORTAL_URL"] == env["DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL"] == GITLAB_URL
    bindings = attrs["HostConfig"]["PortBindings"]
    assert bindings[f"{AGENT_PLATFORM_PORT}/tcp"][0]["HostPort"] == str(profile.gateway.agent_platform_port)
    assert attrs["HostConfig"]["ExtraHosts"] == [f"{GITLAB_HOST}:{GITLAB_ADDRESS}"]
    logs = container.logs().decode(errors="replace")
    assert JWK_ERROR not in logs and TOKEN_FAILED not in logs
    assert store.load(path).gateway.tag == ""  # the profile on disk keeps "newest"

    status = cli("status", name)
    assert status.returncode == 0, status.stdout  # no drift: the key env is not compared or shown
    assert "tag: self-hosted-v19.2.3-ee" in status.stdout
    assert f"Local URL for the GitLab Duo Agent Platform service: {HOSTNAME}:{profile.gateway.agent_platform_port}" in status.stdout

    again = cli("apply", name, "--yes", "--skip-checks")
    assert again.returncode == 0 and "already up to date" in again.stdout
    assert docker_client.containers.get(container_name).id == container.id  # keys reused, nothing replaced

    assert_no_secret_outside_keys(name, planned.stdout, planned.stderr, applied.stdout, applied.stderr, status.stdout, again.stdout)

    old_digest = container.labels[LABEL_KEYS]
    rotated = cli("keys", name, "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    drifted = cli("status", name)
    assert drifted.returncode == 1 and "keys:" in drifted.stdout
    replaced = cli("apply", name, "--yes", "--skip-checks")
    assert replaced.returncode == 0, replaced.stdout
    fresh = docker_client.containers.get(container_name)
    assert fresh.id != container.id and fresh.labels[LABEL_KEYS] != old_digest
    fresh_env = dict(pair.partition("=")[::2] for pair in fresh.attrs["Config"]["Env"])
    assert fresh_env[ALL_KEY_VARIABLES[0]] == paths.key_file(name, ALL_KEY_VARIABLES[0]).read_text()
    assert_no_secret_outside_keys(name, rotated.stdout, drifted.stdout, replaced.stdout)


def test_a_17_5_profile_runs_exactly_as_before(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, generation_standins: dict[str, str]  # noqa: F811
) -> None:
    suffix = uuid.uuid4().hex[:8]
    name, container_name = f"aigwh10-{suffix}", f"aigwh10-gw-{suffix}"
    docker_cleanup.track_container(container_name)
    repository, tag = generation_standins["17"].rsplit(":", 1)
    port = free_port()
    profile = docker_profile(
        gitlab={"url": GITLAB_URL, "version": "17.5.0"},
        gateway={"hostname": HOSTNAME, "port": port, "image": repository, "tag": tag},
        docker={"container_name": container_name},
    )
    spec = container_spec(profile, name)
    arguments = create_arguments(spec, name)
    assert arguments == {  # today's create call, argument for argument
        "name": container_name,
        "environment": {"AIGW_GITLAB_URL": GITLAB_URL, "AIGW_GITLAB_API_URL": f"{GITLAB_URL}/api/v4/"},
        "ports": {"5052/tcp": port},
        "mounts": [],
        "restart_policy": {"Name": "unless-stopped"},
        "labels": {LABEL_MANAGED: "true", LABEL_PROFILE: name, LABEL_CONFIG_HASH: spec.config_hash()},
    }
    text = plan.render(plan.build(profile, name))
    assert "50052" not in text and "--add-host" not in text and "$(cat" not in text and "aigw-wizard keys" not in text

    store.save(profile, store.resolve(name))
    applied = cli("apply", name, "--yes", "--skip-checks")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Agent Platform" not in applied.stdout and f"Local AI Gateway URL: http://{HOSTNAME}:{port}" in applied.stdout
    attrs = docker_client.containers.get(container_name).attrs
    assert list(attrs["HostConfig"]["PortBindings"]) == ["5052/tcp"]
    assert not attrs["HostConfig"].get("ExtraHosts")
    assert LABEL_KEYS not in attrs["Config"]["Labels"]
    assert not paths.keys_dir(name).exists()  # no keys for 17.x


def test_resolution_is_pinned_once_and_asks_nothing_for_a_pinned_tag() -> None:
    profile = docker_profile(gateway={"image": "127.0.0.1:9/aigwh10-none/model-gateway", "tag": "self-hosted-v19.2.0-ee"})
    resolved, resolution = resolve_profile(profile)  # a closed loopback port: asked, it would warn
    assert resolved is profile and (resolution.tag, resolution.source, resolution.warning) == (
        "self-hosted-v19.2.0-ee", "pinned", ""
    )


def test_create_arguments_for_19_with_tls_mount_the_files_read_only(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text("cert"), key.write_text("key")
    profile = current_profile("127.0.0.1:9/aigwh10-none/model-gateway", "aigwh10-tls", tag="self-hosted-v19.2.3-ee")
    profile = profile.model_copy(update={"tls": profile.tls.model_copy(update={"cert": str(cert), "key": str(key)})})
    spec = container_spec(profile, "aigwh10-tls")
    arguments = create_arguments(spec, "aigwh10-tls")
    mounts = {mount["Target"]: (mount["Source"], mount["ReadOnly"]) for mount in arguments["mounts"]}
    assert mounts == {"/etc/aigw/tls/tls.crt": (str(cert), True), "/etc/aigw/tls/tls.key": (str(key), True)}
    assert arguments["environment"]["AIGW_FASTAPI__TLS__ENABLED"] == "true"
    assert arguments["environment"]["DUO_WORKFLOW_TLS__CERT_FILE"] == "/etc/aigw/tls/tls.crt"
    assert profile.gateway_url.startswith("https://")
    assert key_tools.describe_keys("aigwh10-tls").keys  # made on first create, as files
    text = plan.render(plan.build(profile, "aigwh10-tls"))
    assert f"-v {cert}:/etc/aigw/tls/tls.crt:ro" in text and "--insecure" in text and "https://127.0.0.1:" in text
    assert "BEGIN PRIVATE KEY" not in text


def test_a_taken_agent_platform_port_stops_the_install_at_the_port_step(
    docker_cleanup: DockerCleanup, generation_standins: dict[str, str]  # noqa: F811
) -> None:
    import socket

    from wizard.core.events import Result
    from wizard.install.docker import DockerInstaller

    suffix = uuid.uuid4().hex[:8]
    container_name = f"aigwh10-gw-{suffix}"
    docker_cleanup.track_container(container_name)
    repository, tag = generation_standins["19"].rsplit(":", 1)
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        profile = current_profile(repository, container_name, tag=tag, agent_platform_port=taken)
        events = list(DockerInstaller(profile, f"aigwh10-{suffix}").apply())
    result = events[-1]
    assert isinstance(result, Result) and not result.ok
    assert f"port {taken}" in result.summary and "Agent Platform" in result.summary
    assert not any(getattr(event, "step", "") == "container" for event in events)  # nothing was started
