"""`aigw-wizard doctor` on real containers: gateway stand-ins that log each known failure.

The stand-ins are built here FROM scratch around the host's static busybox, under the
`aigwh7-` prefix. They run with host networking, so the only GitLab they reach is the fake
one on 127.0.0.1 (an IP literal: nothing is resolved through DNS). The doctor's sidecar
joins their network namespace; its image is built from the same busybox, under our prefix.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.docker_fixtures import BUSYBOX, DockerCleanup, enforce, free_port, wait_http
from tests.factories import docker_profile
from tests.fake_gitlab import fake_gitlab
from wizard.cli import main
from wizard.core import store
from wizard.core.profile import Profile
from wizard.core.spec import LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_PROFILE, container_spec
from wizard.doctor import probe, run_doctor

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.docker

PREFIX = "aigwh7-"
STANDIN = f"{PREFIX}doctor-standin"
NAME = "site"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
KEYS = {
    "AIGW_SELF_SIGNED_JWT__SIGNING_KEY": PEM,
    "AIGW_SELF_SIGNED_JWT__VALIDATION_KEY": PEM,
    "DUO_WORKFLOW_SELF_SIGNED_JWT__SIGNING_KEY": PEM,
    "DUO_WORKFLOW_SELF_SIGNED_JWT__VALIDATION_KEY": PEM,
}

# Serves /monitoring/healthz (200) and / (401, via busybox httpd's index.cgi) on $PORT, the
# gRPC health service on $AGENT_PORT (nc with a canned answer), and logs $STANDIN_LOG at start.
_START = """\
trap 'exit 0' TERM INT
echo "model-gateway stand-in starting"
[ -n "$STANDIN_LOG" ] && printf '%s\\n' "$STANDIN_LOG"
nc -ll -p "$AGENT_PORT" 127.0.0.1 -e /grpc-health.sh &
httpd -f -p "127.0.0.1:$PORT" -h /www &
wait
"""
# A canned gRPC health answer over h2c: SETTINGS, HEADERS (:status 200), DATA
# HealthCheckResponse{status=$GRPC_STATUS}, trailers (grpc-status 0).
_GRPC_HEALTH = """\
#!/bin/busybox sh
s=${GRPC_STATUS:-1}
printf '\\000\\000\\000\\004\\000\\000\\000\\000\\000'
printf '\\000\\000\\001\\001\\004\\000\\000\\000\\001\\210'
printf "\\000\\000\\007\\000\\000\\000\\000\\000\\001\\000\\000\\000\\000\\002\\010\\00$s"
printf '\\000\\000\\017\\001\\005\\000\\000\\000\\001\\000\\013grpc-status\\0010'
sleep 1
"""
_UNAUTHORIZED = (
    '#!/bin/busybox sh\nprintf "Status: 401 Unauthorized\\r\\nContent-Type: application/json\\r\\n\\r\\n'
    '{\\"error\\":\\"No authorization header presented\\"}"\n'
)


def _context(busybox: bytes) -> bytes:
    buffer = io.BytesIO()
    applets = sorted(set(subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()) - {"busybox"})
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        add("Dockerfile", b'FROM scratch\nCOPY bin/ /bin/\nCOPY www/ /www/\nCOPY start.sh /start.sh\nCOPY grpc-health.sh /grpc-health.sh\nENV PATH=/bin\nENTRYPOINT ["/bin/busybox", "sh", "/start.sh"]\n')
        add("start.sh", _START.encode(), 0o755)
        add("grpc-health.sh", _GRPC_HEALTH.encode(), 0o755)
        add("bin/busybox", busybox, 0o755)
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
        add("www/monitoring/healthz", b"{}")
        add("www/cgi-bin/index.cgi", _UNAUTHORIZED.encode(), 0o755)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def doctor_images(docker_client: docker.DockerClient) -> Iterator[str]:
    """The stand-in image (one for every scenario: the environment makes the difference)."""
    if not BUSYBOX.is_file():
        enforce(f"{BUSYBOX} is missing (install busybox-static)")
    context = _context(BUSYBOX.read_bytes())
    tag = f"{STANDIN}:{hashlib.sha256(context).hexdigest()[:12]}"
    docker_client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, pull=False, rm=True, forcerm=True)
    yield tag
    for ref in [tag, *[t for image in docker_client.images.list(name=f"{PREFIX}doctor-probe") for t in image.tags]]:
        try:
            docker_client.images.remove(ref, force=True)
        except Exception:  # noqa: BLE001 - best effort; another session may hold it
            pass


@pytest.fixture(autouse=True)
def our_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctor's sidecar image under our prefix."""
    monkeypatch.setattr(probe, "PROBE_REPOSITORY", f"{PREFIX}doctor-probe")


def _start(cleanup: DockerCleanup, image: str, gitlab_url: str, *, log: str = "", env: dict[str, str] | None = None, ca_bundle: str = "", **options: Any) -> tuple[Profile, Any]:
    repository, tag = image.rsplit(":", 1)
    port, agent_port = free_port(), free_port()
    profile = docker_profile(
        gitlab={"url": gitlab_url, "version": "18.6.1"},
        gateway={"hostname": "gateway.test", "port": port, "agent_platform_port": agent_port,
                 "image": repository, "tag": tag, "ca_bundle": ca_bundle},
        docker={"container_name": f"{PREFIX}doctor-{uuid.uuid4().hex[:8]}"},
    )
    store.save(profile, NAME)
    spec = container_spec(profile, NAME)
    environment = {**spec.environment, **KEYS, **(env or {}), "PORT": str(port), "AGENT_PORT": str(agent_port), "STANDIN_LOG": log}
    container = cleanup.run(
        image, name=spec.name, environment=environment, network_mode="host",
        labels={LABEL_MANAGED: "true", LABEL_PROFILE: NAME, LABEL_CONFIG_HASH: spec.config_hash()},
        **options,
    )
    wait_http(f"http://127.0.0.1:{port}/monitoring/healthz", timeout=15)
    return profile, container


def _doctor_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    code = main(["doctor", NAME, "--json"])
    document = json.loads(capsys.readouterr().out)
    return code, {finding["id"]: finding for finding in document["findings"]}


def test_a_healthy_gateway_exits_0(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    with fake_gitlab() as gitlab:
        _start(docker_cleanup, doctor_images, gitlab.url)
        code, found = _doctor_json(capsys)
        paths = gitlab.state.paths()
    failures = {key: value["detail"] for key, value in found.items() if value["status"] == "fail"}
    assert code == 0, failures
    for key in ("container.running", "container.image", "gateway.healthz", "gateway.auth", "gateway.agent-platform", "env.keys", "reach.discovery", "reach.jwks", "reach.api", "log.signatures"):
        assert found[key]["status"] == "pass", (key, found[key])
    assert "sidecar in the container's network namespace" in found["reach.method"]["detail"]
    # the sidecar really asked the fake GitLab: discovery, the jwks_uri it named, and the API
    assert {"/.well-known/openid-configuration", "/oauth/discovery/keys", "/api/v4/version"} <= set(paths)
    assert found["container.ports"]["status"] == "warn"  # host networking, unlike apply
    assert "gRPC health SERVING" in found["gateway.agent-platform"]["detail"]


def test_the_sidecar_resolves_names_as_the_container_does(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    """GitLab by a name only the container's extra hosts know (no DNS is ever asked)."""
    with fake_gitlab(host="gitlab.aigwh7.test") as gitlab:
        _start(docker_cleanup, doctor_images, gitlab.url, extra_hosts={"gitlab.aigwh7.test": "127.0.0.1"})
        code, found = _doctor_json(capsys)
        paths = gitlab.state.paths()
    assert code == 0, {key: value["detail"] for key, value in found.items() if value["status"] == "fail"}
    assert found["reach.jwks"]["status"] == "pass" and "gitlab.aigwh7.test" in found["reach.jwks"]["detail"]
    assert "/oauth/discovery/keys" in paths


def test_an_agent_platform_that_is_not_serving_fails(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    with fake_gitlab() as gitlab:
        _start(docker_cleanup, doctor_images, gitlab.url, env={"GRPC_STATUS": "2"})
        code, found = _doctor_json(capsys)
    assert code == 1
    assert found["gateway.agent-platform"]["status"] == "fail" and "NOT_SERVING" in found["gateway.agent-platform"]["detail"]


def test_no_keys_in_jwks_names_the_containers_reach_and_the_field(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    with fake_gitlab() as gitlab:
        gitlab_url = gitlab.url  # the server stops: the port then refuses
    _start(docker_cleanup, doctor_images, gitlab_url, log="ERROR No keys founds in JWKS; are OIDC providers up?")
    code, found = _doctor_json(capsys)
    assert code == 1
    log = found["log.jwks-empty"]
    assert log["status"] == "fail" and log["field"] == "docker.extra_hosts"
    assert "cannot reach GitLab" in log["detail"] and "gateway.ca_bundle" in log["remedy"]
    reach = found["reach.discovery"]
    assert reach["status"] == "fail" and reach["field"] == "gitlab.url"
    assert "refused" in reach["detail"].lower() and gitlab_url in reach["detail"]
    # with host networking the container's 127.0.0.1 is the host's: reach is what fails here
    assert "container cannot get GitLab's OIDC discovery" in reach["detail"]


def test_key_errors_get_the_keys_finding(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "jose.exceptions.JWKError: Unable to load PEM file. MalformedFraming\nToken creation failed"
    with fake_gitlab() as gitlab:
        _start(docker_cleanup, doctor_images, gitlab.url, log=lines, env={"AIGW_SELF_SIGNED_JWT__SIGNING_KEY": ""})
        code, found = _doctor_json(capsys)
    assert code == 1
    rotate = f"`aigw-wizard keys {NAME} --rotate`, then `aigw-wizard apply {NAME}`"
    assert found["log.jwk-error"]["remedy"] == rotate and found["log.token-creation"]["remedy"] == rotate
    assert found["env.keys"]["status"] == "fail" and "AIGW_SELF_SIGNED_JWT__SIGNING_KEY" in found["env.keys"]["detail"]
    assert found["reach.jwks"]["status"] == "pass"  # GitLab is fine: the keys are the problem


def test_every_known_signature_becomes_a_finding_and_no_value_is_printed(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "\n".join([
        "No keys founds in JWKS; are OIDC providers up?", "Signature verification failed",
        "JWKError: bad key", "Token creation failed", "Could not prefetch keys",
    ])
    with fake_gitlab() as gitlab:
        profile, _container = _start(docker_cleanup, doctor_images, gitlab.url, log=lines)
        findings = run_doctor(profile, NAME)
        assert main(["doctor", NAME]) == 1
    out = capsys.readouterr().out
    ids = {finding.id for finding in findings}
    assert {"log.jwks-empty", "log.signature-failed", "log.jwk-error", "log.token-creation", "log.prefetch-keys"} <= ids
    assert "MIIEvQ" not in out and "MIIEvQ" not in json.dumps([finding.to_dict() for finding in findings])
    assert "fix: `aigw-wizard keys site --rotate`" in out


def test_a_stopped_gateway_fails_and_its_log_is_still_read(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str]) -> None:
    with fake_gitlab() as gitlab:
        _profile, container = _start(docker_cleanup, doctor_images, gitlab.url, log="Could not prefetch keys")
        container.stop(timeout=5)
        code, found = _doctor_json(capsys)
    assert code == 1
    assert found["container.running"]["status"] == "fail" and "exited" in found["container.running"]["detail"]
    assert found["log.prefetch-keys"]["status"] == "fail"
    assert "gateway.healthz" not in found and "reach.discovery" not in found  # nothing to ask


def test_a_missing_container_says_apply(capsys: pytest.CaptureFixture[str], docker_client: docker.DockerClient) -> None:
    store.save(docker_profile(docker={"container_name": f"{PREFIX}doctor-absent-{uuid.uuid4().hex[:8]}"}), NAME)
    code, found = _doctor_json(capsys)
    assert code == 1
    assert found["container.found"]["remedy"] == f"install it: `aigw-wizard apply {NAME}`"


def test_a_container_of_someone_else_is_not_diagnosed(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    name = f"{PREFIX}doctor-foreign-{uuid.uuid4().hex[:8]}"
    docker_cleanup.run(doctor_images, name=name, environment={"PORT": str(free_port()), "AGENT_PORT": str(free_port())}, network_mode="host")
    store.save(docker_profile(docker={"container_name": name}), NAME)
    code, found = _doctor_json(capsys)
    assert code == 1 and list(found) == ["container.found"]
    assert "not to profile site" in found["container.found"]["detail"]


def _bundle(tmp_path: Path, ca: Any, *, public: bool) -> Path:
    path = tmp_path / "ca-bundle.pem"
    roots = Path("/etc/ssl/certs/ca-certificates.crt").read_bytes() if public else b""
    path.write_bytes(roots + ca.cert_pem.bytes())
    path.chmod(0o644)
    return path


def _mounted(bundle: Path) -> dict[str, Any]:
    from docker.types import Mount

    return {"mounts": [Mount("/etc/aigw/ca-bundle.pem", str(bundle), type="bind", read_only=True)]}


def test_https_gitlab_with_a_private_ca_in_the_bundle(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import trustme

    if not Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        pytest.skip("no public CA store on this host")
    ca = trustme.CA()
    bundle = _bundle(tmp_path, ca, public=True)
    with fake_gitlab(ca) as gitlab:
        _start(docker_cleanup, doctor_images, gitlab.url, ca_bundle=str(bundle), **_mounted(bundle))
        code, found = _doctor_json(capsys)
    assert code == 0, {key: value["detail"] for key, value in found.items() if value["status"] == "fail"}
    assert found["env.ca"]["status"] == "pass" and "1 private CA" in found["env.ca"]["detail"]
    assert found["reach.jwks"]["status"] == "pass" and found["reach.api"]["status"] == "pass"
    assert "HTTPS from this host with the container's CA bundle" in found["reach.method"]["detail"]


def test_a_bundle_without_public_roots_or_without_the_private_ca_fails(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import trustme

    ca, other = trustme.CA(), trustme.CA()
    bundle = _bundle(tmp_path, other, public=False)  # neither public roots nor GitLab's CA
    with fake_gitlab(ca) as gitlab:
        _start(docker_cleanup, doctor_images, gitlab.url, ca_bundle=str(bundle), **_mounted(bundle))
        code, found = _doctor_json(capsys)
    assert code == 1
    assert found["env.ca"]["status"] == "fail" and "no public root" in found["env.ca"]["detail"]
    reach = found["reach.discovery"]
    assert reach["status"] == "fail" and reach["field"] == "gateway.ca_bundle"
    assert "certificate not trusted" in reach["detail"]


def test_over_https_the_connection_is_tried_from_inside(docker_cleanup: DockerCleanup, doctor_images: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The sidecar's own connection attempt is what a failure reports (and nothing is fetched)."""
    import trustme

    ca = trustme.CA()
    bundle = _bundle(tmp_path, ca, public=False)
    with fake_gitlab(ca, host="localhost") as gitlab:
        url = gitlab.url.replace(f":{gitlab.port}", f":{free_port()}")
        _start(docker_cleanup, doctor_images, url, ca_bundle=str(bundle), **_mounted(bundle))
        code, found = _doctor_json(capsys)
        paths = gitlab.state.paths()
    assert code == 1
    assert "nc: can't connect" in found["reach.discovery"]["detail"] and "refused" in found["reach.discovery"]["detail"].lower()
    assert paths == []
