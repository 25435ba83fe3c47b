"""Tag resolution and image platforms against the real engine and real registries on loopback.

The registries are `docker-registry` processes on 127.0.0.1: the session's open one (from
tests.docker_fixtures) holding several patch tags pushed here, and a second one over the same
storage that demands the standard bearer-token flow, answered by a token service in this test
(RS256 JWTs carrying the certificate in `x5c`, as Distribution verifies them).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import subprocess
import tarfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.docker_fixtures import REGISTRY_BINARY, LocalRegistry, free_port, wait_http
from tests.factories import docker_profile
from wizard.core.errors import WizardError
from wizard.tools import registry as registry_tools
from wizard.tools import tags
from wizard.tools.registry import RegistryClient, RegistryError

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.docker

REPO = "aigwh5-tags/model-gateway"
PATCHES = ["self-hosted-v19.2.1-ee", "self-hosted-v19.2.3-ee", "self-hosted-v19.2.2-ee", "self-hosted-v19.1.9-ee", "self-hosted-v18.11.0-ee", "junk"]
LOCAL_REPO = "aigwh5-local/model-gateway"
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _tiny_context(text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY tag.txt /tag.txt\n"), ("tag.txt", text.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _build(client: docker.DockerClient, ref: str) -> None:
    client.images.build(fileobj=io.BytesIO(_tiny_context(ref)), custom_context=True, tag=ref, pull=False, rm=True)


@pytest.fixture(scope="module")
def patch_registry(docker_client: docker.DockerClient, local_registry: LocalRegistry) -> Iterator[LocalRegistry]:
    built = []
    for tag in PATCHES:
        ref = f"aigwh5-build/model-gateway:{tag}"
        _build(docker_client, ref)
        built.append(ref)
        pushed = local_registry.push(docker_client, ref, REPO, tag)
        docker_client.images.remove(pushed)  # only the registry holds HOST/REPO tags
    yield local_registry
    for ref in built:
        try:
            docker_client.images.remove(ref, force=True)
        except Exception:  # noqa: BLE001 - best-effort cleanup of our own images
            pass


def _profile(repository: str, **gateway: Any) -> Any:
    return docker_profile(gitlab={"version": "19.2.1"}, gateway={"image": repository, **gateway})


# --- pure picking ------------------------------------------------------------------------------


def test_newest_patch_picks_the_highest_patch_of_the_line_only() -> None:
    assert tags.newest_patch(PATCHES, (19, 2)) == "self-hosted-v19.2.3-ee"
    assert tags.newest_patch(["self-hosted-v19.2.10-ee", "self-hosted-v19.2.9-ee"], (19, 2)) == "self-hosted-v19.2.10-ee"
    assert tags.newest_patch(PATCHES, (19, 3)) == ""
    assert tags.newest_patch(["self-hosted-v19.2.3", "v19.2.4-ee"], (19, 2)) == ""


def test_nothing_to_ask_gives_the_exact_tag_with_a_warning() -> None:
    result = tags.resolve_tag(_profile("registry.test/x/model-gateway"))
    assert (result.tag, result.source) == ("self-hosted-v19.2.1-ee", "exact")
    assert "nowhere" in result.warning


def test_a_17x_profile_resolves_within_its_own_line() -> None:
    profile = docker_profile(gateway={"image": "registry.test/x/model-gateway"})
    result = tags.resolve_tag(profile, registry=lambda _repo: PATCHES + ["self-hosted-v17.5.4-ee"])
    assert (result.tag, result.source) == ("self-hosted-v17.5.4-ee", "registry")


# --- the real registry -------------------------------------------------------------------------


def test_registry_lists_every_tag_across_pages(patch_registry: LocalRegistry) -> None:
    client = RegistryClient.for_repository(f"{patch_registry.host}/{REPO}")
    assert client.base_url == f"http://{patch_registry.host}"
    one_page = client.tags()
    assert set(one_page) == set(PATCHES)
    paged = RegistryClient.for_repository(f"{patch_registry.host}/{REPO}")
    import wizard.tools.registry as module

    original = module.PAGE_SIZE
    module.PAGE_SIZE = 2  # the registry then answers with Link: <…>; rel="next"
    try:
        assert sorted(paged.tags()) == sorted(PATCHES)
    finally:
        module.PAGE_SIZE = original


def test_empty_tag_resolves_to_the_newest_patch_in_the_registry(patch_registry: LocalRegistry) -> None:
    result = tags.resolve_tag(_profile(f"{patch_registry.host}/{REPO}"), registry=tags.registry_lister())
    assert (result.tag, result.source) == ("self-hosted-v19.2.3-ee", "registry")
    assert result.searched == (f"registry {patch_registry.host}",) and result.warning == ""


def test_a_pinned_tag_stays_but_reports_a_newer_patch(patch_registry: LocalRegistry) -> None:
    profile = _profile(f"{patch_registry.host}/{REPO}", tag="self-hosted-v19.2.1-ee")
    quiet = tags.resolve_tag(profile, registry=tags.registry_lister())
    assert (quiet.tag, quiet.source, quiet.searched) == ("self-hosted-v19.2.1-ee", "pinned", ())
    checked = tags.resolve_tag(profile, registry=tags.registry_lister(), check_newer=True)
    assert checked.tag == "self-hosted-v19.2.1-ee" and checked.newer_available == "self-hosted-v19.2.3-ee"


def test_the_running_tag_is_compared_for_an_upgrade(patch_registry: LocalRegistry) -> None:
    profile = _profile(f"{patch_registry.host}/{REPO}")
    result = tags.resolve_tag(profile, registry=tags.registry_lister(), current="self-hosted-v19.2.2-ee")
    assert result.newer_available == "self-hosted-v19.2.3-ee"
    same = tags.resolve_tag(profile, registry=tags.registry_lister(), current="self-hosted-v19.2.3-ee")
    assert same.newer_available == ""


def test_no_matching_line_falls_back_with_a_warning_naming_the_registry(patch_registry: LocalRegistry) -> None:
    profile = docker_profile(gitlab={"version": "19.3.0"}, gateway={"image": f"{patch_registry.host}/{REPO}"})
    result = tags.resolve_tag(profile, registry=tags.registry_lister())
    assert (result.tag, result.source) == ("self-hosted-v19.3.0-ee", "exact")
    assert f"registry {patch_registry.host}" in result.warning and "19.3.*" in result.warning


def test_an_unreachable_registry_is_a_warning_not_a_crash() -> None:
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = tags.resolve_tag(_profile(f"{host}/{REPO}"), registry=tags.registry_lister())
    assert result.source == "exact" and "cannot reach the registry" in result.warning


def test_a_missing_repository_is_a_plain_error(patch_registry: LocalRegistry) -> None:
    with pytest.raises(RegistryError, match="no such repository"):
        RegistryClient.for_repository(f"{patch_registry.host}/aigwh5-none/model-gateway").tags()


def test_platforms_of_a_single_image_and_of_a_manifest_list(
    docker_client: docker.DockerClient, patch_registry: LocalRegistry
) -> None:
    client = RegistryClient.for_repository(f"{patch_registry.host}/{REPO}")
    single = client.platforms("self-hosted-v19.2.1-ee")
    built = docker_client.images.get("aigwh5-build/model-gateway:self-hosted-v19.2.1-ee").attrs
    assert [(p.os, p.architecture) for p in single] == [(built["Os"], built["Architecture"])]
    # A manifest list (as multi-arch tags have) naming two platforms.
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    request = urllib.request.Request(
        f"{patch_registry.url}/v2/{REPO}/manifests/self-hosted-v19.2.1-ee", headers={"Accept": accept}
    )
    with _LOOPBACK.open(request, timeout=10) as response:
        body = response.read()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {"mediaType": accept, "digest": digest, "size": len(body), "platform": {"os": "linux", "architecture": arch}}
            for arch in ("amd64", "arm64")
        ],
    }
    put = urllib.request.Request(
        f"{patch_registry.url}/v2/{REPO}/manifests/multi-arch",
        data=json.dumps(index).encode(),
        method="PUT",
        headers={"Content-Type": index["mediaType"]},
    )
    with _LOOPBACK.open(put, timeout=10) as response:
        assert response.status == 201
    multi = client.platforms("multi-arch")
    assert {p.architecture for p in multi} == {"amd64", "arm64"}


# --- the engine and the archive ----------------------------------------------------------------


@pytest.fixture
def local_patches(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    refs = [f"{LOCAL_REPO}:{tag}" for tag in ("self-hosted-v19.2.2-ee", "self-hosted-v19.2.1-ee", "self-hosted-v19.1.0-ee")]
    for ref in refs:
        _build(docker_client, ref)
    yield refs
    for ref in refs:
        try:
            docker_client.images.remove(ref, force=True)
        except Exception:  # noqa: BLE001 - best-effort cleanup of our own images
            pass


def test_local_images_win_over_the_registry(docker_client: docker.DockerClient, local_patches: list[str]) -> None:
    asked: list[str] = []

    def registry(repository: str) -> list[str]:
        asked.append(repository)
        return ["self-hosted-v19.2.9-ee"]

    profile = _profile(LOCAL_REPO)
    result = tags.resolve_tag(profile, engine=tags.engine_lister(docker_client), registry=registry)
    assert (result.tag, result.source) == ("self-hosted-v19.2.2-ee", "engine") and asked == []
    checked = tags.resolve_tag(profile, engine=tags.engine_lister(docker_client), registry=registry, check_newer=True)
    assert checked.tag == "self-hosted-v19.2.2-ee" and checked.newer_available == "self-hosted-v19.2.9-ee"
    platforms = tags.image_platforms(profile, result.tag, client=docker_client)
    assert platforms.source == "engine" and platforms.architectures


def test_the_engine_without_the_line_falls_through_to_the_registry(
    docker_client: docker.DockerClient, patch_registry: LocalRegistry
) -> None:
    result = tags.resolve_tag(
        _profile(f"{patch_registry.host}/{REPO}"), engine=tags.engine_lister(docker_client), registry=tags.registry_lister()
    )
    assert result.source == "registry" and result.tag == "self-hosted-v19.2.3-ee"
    assert len(result.searched) == 2


@pytest.fixture
def patch_archive(docker_client: docker.DockerClient, local_patches: list[str], tmp_path: Path) -> Path:
    path = tmp_path / "gw.tar"
    subprocess.run(["docker", "save", "-o", str(path), *local_patches[:2]], check=True, stdin=subprocess.DEVNULL)
    return path


def test_with_an_archive_only_the_archive_is_asked(docker_client: docker.DockerClient, patch_archive: Path) -> None:
    def forbidden(_repository: str) -> list[str]:
        raise AssertionError("an archive profile must not ask the engine or registry")

    profile = _profile(LOCAL_REPO, image_archive=str(patch_archive))
    result = tags.resolve_tag(profile, engine=forbidden, registry=forbidden, check_newer=True)
    assert (result.tag, result.source) == ("self-hosted-v19.2.2-ee", "archive")
    assert result.searched == (f"archive {patch_archive}",)
    platforms = tags.image_platforms(profile, result.tag)
    assert platforms.source == "archive" and platforms.architectures
    other = tags.resolve_tag(_profile("registry.test/other/model-gateway", image_archive=str(patch_archive)))
    assert other.source == "exact" and str(patch_archive) in other.warning


# --- the bearer-token flow ---------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    issuer: str = "aigwh5-issuer"
    service: str = "aigwh5-registry"
    users: dict[str, str] = field(default_factory=lambda: {"aigwh5-user": "s3cret-pass"})
    requests: list[dict[str, Any]] = field(default_factory=list)

    def token(self, scope: str, subject: str) -> str:
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        access = []
        if scope:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(now), "access": access}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def _token_handler(service: TokenService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            from urllib.parse import parse_qs, urlsplit

            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            auth = self.headers.get("Authorization", "")
            user = ""
            if auth.startswith("Basic "):
                name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                if service.users.get(name) != password:
                    self.send_response(401)
                    self.end_headers()
                    return
                user = name
            service.requests.append({"query": query, "user": user})
            if not user:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"token": service.token(query.get("scope", ""), user)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture(scope="module")
def token_registry(patch_registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TokenService]]:
    if not REGISTRY_BINARY.is_file():
        pytest.skip("docker-registry is missing")
    root = tmp_path_factory.mktemp("aigwh5-token-registry")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aigwh5 token issuer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (root / "issuer.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    service = TokenService(key, cert)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _token_handler(service))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {json.dumps(str(patch_registry.storage))}
  maintenance:
    readonly:
      enabled: true
auth:
  token:
    realm: http://127.0.0.1:{server.server_port}/token
    service: {service.service}
    issuer: {service.issuer}
    rootcertbundle: {json.dumps(str(root / "issuer.pem"))}
http:
  addr: 127.0.0.1:{port}
"""
    )
    log = root / "registry.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen([str(REGISTRY_BINARY), "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", timeout=15, status=401)
        yield f"127.0.0.1:{port}", service
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()


def test_bearer_challenge_with_docker_config_credentials(
    token_registry: tuple[str, TokenService], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, service = token_registry
    folder = tmp_path / "docker-config"
    folder.mkdir()
    auth = base64.b64encode(b"aigwh5-user:s3cret-pass").decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    result = tags.resolve_tag(_profile(f"{host}/{REPO}"), registry=tags.registry_lister())
    assert (result.tag, result.source) == ("self-hosted-v19.2.3-ee", "registry"), result.warning
    asked = service.requests[-1]
    assert asked["user"] == "aigwh5-user"
    assert asked["query"] == {"service": service.service, "scope": f"repository:{REPO}:pull"}


def test_bearer_challenge_without_credentials_is_refused_plainly(
    token_registry: tuple[str, TokenService], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, _service = token_registry
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    with pytest.raises(RegistryError, match="refused the credentials") as caught:
        RegistryClient.for_repository(f"{host}/{REPO}").tags()
    assert "docker login" in caught.value.remedy
    wrong = RegistryClient.for_repository(f"{host}/{REPO}", credentials=("aigwh5-user", "wrong"))
    with pytest.raises(WizardError, match="refused the credentials"):
        wrong.tags()


# --- small parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "registry", "path"),
    [
        ("registry.gitlab.com/gitlab-org/x/model-gateway", "registry.gitlab.com", "gitlab-org/x/model-gateway"),
        ("gitlab/model-gateway", "docker.io", "gitlab/model-gateway"),
        ("ubuntu", "docker.io", "library/ubuntu"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b"),
        ("localhost/a", "localhost", "a"),
    ],
)
def test_repository_names_split_like_the_engine(repository: str, registry: str, path: str) -> None:
    name = registry_tools.parse_repository(repository)
    assert (name.registry, name.path) == (registry, path)


def test_plain_http_only_for_loopback() -> None:
    assert RegistryClient.for_repository("127.0.0.1:5000/a").base_url == "http://127.0.0.1:5000"
    assert RegistryClient.for_repository("localhost:5000/a").base_url == "http://localhost:5000"
    assert RegistryClient.for_repository("mirror.corp.test:5000/a").base_url == "https://mirror.corp.test:5000"
    assert RegistryClient.for_repository("gitlab/model-gateway").base_url == "https://registry-1.docker.io"


def test_docker_config_credentials_forms(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {
        "https://mirror.corp.test": {"auth": base64.b64encode(b"u1:p:1").decode()},
        "other.test": {"username": "u2", "password": "p2"},
        "broken.test": {"auth": "!!!"},
    }}))
    assert registry_tools.docker_config_credentials("mirror.corp.test", config) == ("u1", "p:1")
    assert registry_tools.docker_config_credentials("other.test", config) == ("u2", "p2")
    assert registry_tools.docker_config_credentials("broken.test", config) is None
    assert registry_tools.docker_config_credentials("absent.test", config) is None
