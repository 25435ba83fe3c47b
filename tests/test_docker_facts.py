"""One place per Docker fact (`wizard.tools.docker`, `wizard.tools.ports`): the image-reference
normaliser's equivalences, engine diagnosis, and the checks agreeing with the install steps
they predict (archives, the port, an unreachable engine). Reading archives: tests/test_archive.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.checks_servers import closed_port, context_for, listening_port, run_one
from tests.factories import docker_profile
from tests.test_archive import CONFIG_HEX, save_archive
from wizard.core.events import Result, StepFinished
from wizard.install.docker import DockerInstaller
from wizard.install.runner import StepFailed
from wizard.tools import docker as engine_tools
from wizard.tools.docker import normalized_ref, same_image
from wizard.tools.ports import probe_port

STANDIN = "aigw-test/model-gateway"
TAG = "self-hosted-v17.5.0-ee"


# --- references -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    ["busybox", "busybox:latest", "docker.io/library/busybox:latest", "index.docker.io/library/busybox",
     "docker.io/busybox", "registry-1.docker.io/library/busybox:latest"],
)
def test_every_spelling_of_busybox_is_one_image(ref: str) -> None:
    assert normalized_ref(ref) == "docker.io/library/busybox:latest"
    assert same_image(ref, "busybox")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("busybox:1.36", "busybox:latest"),  # another tag
        ("localhost:5000/busybox", "busybox"),  # another registry
        ("example/busybox", "busybox"),  # another namespace on Docker Hub
        ("busybox@sha256:" + "a" * 64, "busybox"),  # a digest is not the latest tag
    ],
)
def test_different_images_stay_different(one: str, other: str) -> None:
    assert not same_image(one, other)


def test_registries_with_ports_keep_their_tag_apart_from_the_port() -> None:
    assert normalized_ref("localhost:5000/a") == "localhost:5000/a:latest"
    assert normalized_ref("localhost:5000/a:b") == "localhost:5000/a:b"
    assert normalized_ref(f"{STANDIN}:{TAG}") == f"docker.io/{STANDIN}:{TAG}"


# --- engine diagnosis -------------------------------------------------------------------------


def test_the_usermod_hint_only_for_a_permission_error_on_the_default_socket() -> None:
    denied = PermissionError(13, "Permission denied")
    local = engine_tools.unreachable(denied, {})
    assert "permission denied" in local.message and "usermod" in local.remedies[0]
    remote = engine_tools.unreachable(denied, {"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert not any("usermod" in remedy for remedy in remote.remedies)
    refused = engine_tools.unreachable(ConnectionRefusedError(111, "Connection refused"), {})
    assert "no Docker engine is listening" in refused.message
    assert not any("usermod" in remedy for remedy in refused.remedies)


def test_engine_errors_are_one_plain_line_and_a_name_conflict_is_called_one() -> None:
    import requests
    from docker.errors import APIError

    response = requests.Response()
    response.status_code = 409
    conflict = APIError("409 Client Error", response, explanation='Conflict. The container name "/x" is already in use')
    diagnosed = engine_tools.engine_error(conflict)
    assert diagnosed is not None
    assert diagnosed.message == 'the Docker engine refused: Conflict. The container name "/x" is already in use'
    assert "in the way" in diagnosed.remedy and "engine is healthy" not in diagnosed.remedy
    timeout = engine_tools.engine_error(requests.ReadTimeout("HTTPConnectionPool(host='localhost'): Read timed out."))
    assert timeout is not None and timeout.message == "the Docker engine did not answer in time"
    assert engine_tools.engine_error(ValueError("not an engine error")) is None


# --- a check and the install step it predicts agree ---------------------------------------------


def port_profile(port: int) -> object:
    return docker_profile(gateway={"hostname": "gw.test", "port": port, "image": STANDIN, "tag": TAG})


@pytest.mark.docker
def test_the_port_check_and_the_port_step_share_one_verdict() -> None:
    with listening_port() as port:
        check = run_one("gateway.port", context_for(port_profile(port), environ=dict(os.environ)))
        installer = DockerInstaller(port_profile(port), "facts")
        installer.connect()
        try:
            with pytest.raises(StepFailed) as caught:
                installer.check_port(None)
        finally:
            installer.close()
    assert check.status == "fail"
    assert check.detail == caught.value.message == f"host port {port} is already in use by another process"
    assert (check.remedy,) == caught.value.remedies


def test_an_unknown_holder_is_named_with_why_the_engine_could_not_say() -> None:
    def no_engine() -> list[tuple[str, bool]]:
        raise ConnectionRefusedError(111, "Connection refused")

    with listening_port() as port:
        probe = probe_port(port, no_engine, lambda error: engine_tools.describe(error, {}))
    assert probe.state == "taken" and not probe.usable
    assert probe.problem().message == (
        f"host port {port} is already in use by another program or container "
        "(cannot reach the Docker engine at the default socket /var/run/docker.sock: no Docker engine is listening there)"
    )


def test_no_engine_reads_the_same_in_the_check_and_in_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    with closed_port() as port:
        environ = {"DOCKER_HOST": f"tcp://127.0.0.1:{port}"}
        monkeypatch.setenv("DOCKER_HOST", environ["DOCKER_HOST"])
        check = run_one("docker.engine", context_for(port_profile(8080), environ=environ))
        events = list(DockerInstaller(port_profile(8080), "facts").apply())
    result = events[-1]
    assert isinstance(result, Result) and not result.ok
    assert check.status == "fail" and check.detail == result.summary
    assert check.remedy == " ".join(result.remedies)
    assert [e.status for e in events if isinstance(e, StepFinished)] == ["failed"]


@pytest.mark.docker
def test_the_installer_accepts_every_archive_the_image_check_passes(tmp_path: Path) -> None:
    """Before, `index.docker.io/...` passed the installer's comparison but failed the check's."""
    archive = save_archive(tmp_path / "gw.tar", [f"index.docker.io/{STANDIN}:absent-{tmp_path.name[-8:]}"])
    profile = docker_profile(
        gateway={"hostname": "gw.test", "image": STANDIN, "tag": f"absent-{tmp_path.name[-8:]}", "image_archive": str(archive)}
    )
    check = run_one("docker.image", context_for(profile))
    assert check.status == "pass", check
    installer = DockerInstaller(profile, "facts")
    installer.connect()
    try:
        with pytest.raises(StepFailed) as caught:
            list(installer.load_archive(archive))  # the tag gate passes; the engine refuses the fake layers
    finally:
        installer.close()
    assert "holds" not in caught.value.message and "could not load" in caught.value.message


def test_what_the_engine_says_it_loaded() -> None:
    from docker.errors import ImageLoadError

    reply = [
        {"status": "Loading layer", "progressDetail": {"current": 1, "total": 2}, "id": "abc"},
        {"stream": f"Loaded image: {STANDIN}:{TAG}\n"},
        {"stream": f"Loaded image ID: sha256:{CONFIG_HEX}\n"},
    ]
    assert engine_tools.loaded_from_reply(iter(reply)) == ({f"{STANDIN}:{TAG}"}, {f"sha256:{CONFIG_HEX}"})
    with pytest.raises(ImageLoadError):
        engine_tools.loaded_from_reply(iter([{"error": "unexpected EOF"}]))


# --- one engine client per run ----------------------------------------------------------------


@pytest.mark.docker
def test_the_checks_and_the_installer_share_one_engine_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import docker

    from wizard.checks import run_checks

    monkeypatch.setattr(engine_tools, "_SHARED", {})
    made: list[object] = []
    original = docker.APIClient.__init__

    def counting(self: object, *args: object, **kwargs: object) -> None:
        made.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(docker.APIClient, "__init__", counting)
    from tests.docker_fixtures import free_port

    profile = docker_profile(gateway={"hostname": "gw.test", "image": STANDIN, "tag": TAG, "port": free_port()})
    only = {"docker.engine", "docker.image", "host.disk", "gateway.port"}  # loopback and the engine only
    results = {result.id: result for result in run_checks(profile, "facts", only)}
    assert results["docker.engine"].status == "pass", results["docker.engine"]
    installer = DockerInstaller(profile, "facts")
    installer.connect()
    installer.close()
    assert len(made) == 1  # docker.engine, docker.image, host.disk, gateway.port and the installer
    client = engine_tools.connect(dict(os.environ), 300)
    seen: dict[str, object] = {}

    def elsewhere() -> None:
        seen["other thread"] = client.api.timeout

    with engine_tools.engine(dict(os.environ), 0.5) as same:
        assert same is client and client.api.timeout == 0.5  # this thread's bound
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    assert seen["other thread"] == 300 and client.api.timeout == 300
    assert client.ping()  # close() left the shared client usable
