"""Pytest plugin: the ``docker`` marker, stand-in gateway images, a local registry and archives.

Load it with ``pytest_plugins = ["tests.docker_fixtures"]`` (or ``-p tests.docker_fixtures``).

Everything is built locally ``FROM scratch`` around the host's static busybox, so no test ever
pulls from Docker Hub, and every network endpoint involved is on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container
    from docker.models.images import Image

REQUIRE_ENV = "AIGW_REQUIRE_DOCKER"
TEST_LABEL = "aigw-wizard.test"
TEST_RUN_LABEL = "aigw-wizard.test.run"
STANDIN_LABEL = "aigw-wizard.standin"
STANDIN_HASH_LABEL = "aigw-wizard.standin.hash"
STANDIN_REPOSITORY = "aigw-test/model-gateway"
GATEWAY_PORT = 5052
BUSYBOX = Path("/bin/busybox")
REGISTRY_BINARY = Path("/usr/bin/docker-registry")
# The probe must fail fast when nothing listens; real work (builds, pushes) needs longer.
PROBE_TIMEOUT_S = 5
CLIENT_TIMEOUT_S = 120
# Tests asking for these fixtures need an engine even if their author forgot the marker.
DOCKER_FIXTURES = frozenset(
    {"docker_client", "standin_images", "local_registry", "image_archive", "docker_cleanup"}
)

Verdict = Literal["run", "skip", "fail"]

# Bypass any HTTP(S)_PROXY from the environment: tests only ever talk to loopback.
_LOOPBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_ENGINE_PROBLEM = pytest.StashKey[str | None]()


# --- marker semantics -------------------------------------------------------------------------


def docker_required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def docker_verdict(problem: str | None, required: bool) -> Verdict:
    """Decide what a docker-needing test does given why the engine is unusable (None = usable)."""
    if problem is None:
        return "run"
    return "fail" if required else "skip"


def enforce(problem: str | None) -> None:
    """Skip, or fail under AIGW_REQUIRE_DOCKER=1, when ``problem`` says docker is unusable."""
    verdict = docker_verdict(problem, docker_required())
    if verdict == "fail":
        pytest.fail(f"{problem} ({REQUIRE_ENV}=1 makes this a failure)", pytrace=False)
    if verdict == "skip":
        pytest.skip(f"{problem} (set {REQUIRE_ENV}=1 to fail instead)")


def _probe_engine() -> str | None:
    try:
        import docker
        import requests
    except ImportError as exc:
        return f"docker SDK is not importable: {exc}"
    try:
        client = docker.from_env(timeout=PROBE_TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        return f"no Docker engine reachable: {exc}"
    return None


def engine_problem(config: pytest.Config) -> str | None:
    """Why the engine is unusable, or None; probed at most once per session."""
    if _ENGINE_PROBLEM not in config.stash:
        config.stash[_ENGINE_PROBLEM] = _probe_engine()
    return config.stash[_ENGINE_PROBLEM]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"docker: needs a real Docker engine (skipped without one unless {REQUIRE_ENV}=1)",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection, so `-m "not docker"` sees the marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_docker = DOCKER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if uses_docker and item.get_closest_marker("docker") is None:
            item.add_marker(pytest.mark.docker)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        enforce(engine_problem(item.config))


# --- small loopback helpers -------------------------------------------------------------------


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (racy by nature, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``url`` without proxies; HTTP error statuses are returned, not raised."""
    try:
        with _LOOPBACK_OPENER.open(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http(url: str, timeout: float, status: int = 200, interval: float = 0.05) -> float:
    """Poll ``url`` until it answers ``status``; return seconds waited, TimeoutError past ``timeout``."""
    start = time.monotonic()
    last: object = "no attempt"
    while time.monotonic() - start < timeout:
        try:
            last, _ = http_get(url, timeout=min(2.0, timeout))
            if last == status:
                return time.monotonic() - start
        except (urllib.error.URLError, OSError) as exc:  # not listening yet / reset mid-startup
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{url} did not answer {status} within {timeout}s (last: {last})")


# --- stand-in gateway images ------------------------------------------------------------------

# Shared by every long-running variant: die promptly on `docker stop` instead of waiting for the
# SIGKILL grace period, which would slow every stop/upgrade test by 10 s.
_TRAP = """\
trap 'echo "received stop signal, shutting down"; kill "$httpd_pid" 2>/dev/null; exit 0' TERM INT
"""

_HEALTHY_SCRIPT = (
    _TRAP
    + """\
if [ -z "${{AIGW_GITLAB_URL:-}}" ]; then
  echo "error: AIGW_GITLAB_URL is not set" >&2
  exit 2
fi
echo "model-gateway stand-in {version} starting"
echo "gitlab url: $AIGW_GITLAB_URL"
if [ -z "${{SSL_CERT_FILE:-}}" ]; then
  echo "SSL_CERT_FILE is not set"
elif [ -r "$SSL_CERT_FILE" ]; then
  echo "SSL_CERT_FILE is set: $SSL_CERT_FILE (readable)"
else
  echo "SSL_CERT_FILE is set: $SSL_CERT_FILE (not readable)"
fi
# Like the real gateway, do not answer health checks immediately.
sleep 0.5
echo "listening on 0.0.0.0:{port}"
httpd -f -v -p {port} -h /www &
httpd_pid=$!
wait "$httpd_pid"
"""
)

_CRASH_SCRIPT = """\
echo "model-gateway stand-in crash starting"
echo "loading configuration"
sleep 0.2
echo "fatal: simulated startup crash" >&2
exit 3
"""

_NEVER_HEALTHY_SCRIPT = (
    _TRAP
    + """\
echo "model-gateway stand-in never-healthy starting"
echo "gitlab url: ${{AIGW_GITLAB_URL:-<unset>}}"
echo "waiting for dependencies (this stand-in never becomes healthy)"
httpd -f -v -p {port} -h /www &
httpd_pid=$!
wait "$httpd_pid"
"""
)

_DOCS = b"<!doctype html><title>model-gateway stand-in</title><h1>AI gateway docs</h1>\n"
_HEALTHZ = b'{"status":"ok"}\n'

_DOCKERFILE = f"""\
FROM scratch
COPY bin/ /bin/
COPY www/ /www/
COPY start.sh /start.sh
ENV PATH=/bin
EXPOSE {GATEWAY_PORT}
ENTRYPOINT ["/bin/busybox", "sh", "/start.sh"]
"""


@dataclass(frozen=True)
class _Variant:
    tag: str
    script: str
    serves_healthz: bool


_VARIANTS: dict[str, _Variant] = {
    "healthy": _Variant(
        "self-hosted-v17.5.0-ee",
        _HEALTHY_SCRIPT.format(version="self-hosted-v17.5.0-ee", port=GATEWAY_PORT),
        True,
    ),
    "healthy_next": _Variant(
        "self-hosted-v17.6.0-ee",
        _HEALTHY_SCRIPT.format(version="self-hosted-v17.6.0-ee", port=GATEWAY_PORT),
        True,
    ),
    "crash": _Variant("crash", _CRASH_SCRIPT, False),
    "never_healthy": _Variant(
        "never-healthy", _NEVER_HEALTHY_SCRIPT.format(port=GATEWAY_PORT), False
    ),
}


@dataclass(frozen=True)
class StandinImages:
    """Stand-in gateway images present in the engine, keyed by variant name."""

    repository: str
    tags: Mapping[str, str]  # variant -> tag
    image_ids: Mapping[str, str]  # variant -> image id

    def ref(self, variant: str) -> str:
        return f"{self.repository}:{self.tags[variant]}"

    @property
    def refs(self) -> dict[str, str]:
        return {variant: self.ref(variant) for variant in self.tags}

    @property
    def healthy(self) -> str:
        return self.ref("healthy")

    @property
    def healthy_next(self) -> str:
        return self.ref("healthy_next")

    @property
    def crash(self) -> str:
        return self.ref("crash")

    @property
    def never_healthy(self) -> str:
        return self.ref("never_healthy")


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _standin_context(variant: _Variant, busybox: bytes, applets: list[str]) -> bytes:
    """A deterministic build-context tar, so its hash identifies the resulting image."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_file(tar, "Dockerfile", _DOCKERFILE.encode())
        _add_file(tar, "start.sh", variant.script.encode(), 0o755)
        _add_file(tar, "bin/busybox", busybox, 0o755)
        # Applet symlinks give the start script (and `docker exec`) a normal PATH.
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
        _add_file(tar, "www/docs", _DOCS)
        if variant.serves_healthz:
            _add_file(tar, "www/monitoring/healthz", _HEALTHZ)
    return buf.getvalue()


def _ensure_image(client: docker.DockerClient, ref: str, variant: str, context: bytes) -> Image:
    """Reuse ``ref`` if it was built from identical context, else (re)build it."""
    import docker

    digest = hashlib.sha256(context).hexdigest()[:24]
    stale: Image | None = None
    try:
        existing = client.images.get(ref)
        if existing.labels.get(STANDIN_HASH_LABEL) == digest:
            return existing
        stale = existing
    except docker.errors.ImageNotFound:
        pass
    image, _ = client.images.build(
        fileobj=io.BytesIO(context),
        custom_context=True,
        tag=ref,
        labels={STANDIN_LABEL: variant, STANDIN_HASH_LABEL: digest},
        pull=False,
        rm=True,
        forcerm=True,
    )
    if stale is not None and stale.id != image.id:
        # The tag moved; drop the outdated stand-in so rebuilds do not pile up dangling images.
        try:
            client.images.remove(stale.id, noprune=False)
        except docker.errors.APIError:
            pass  # still used by a container or another tag: not ours to force
    return image


@pytest.fixture(scope="session")
def standin_images(docker_client: docker.DockerClient) -> StandinImages:
    if not BUSYBOX.is_file():
        enforce(f"{BUSYBOX} is missing (install busybox-static)")
    busybox = BUSYBOX.read_bytes()
    listing = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    applets = sorted(set(listing.stdout.split()) - {"busybox"})
    ids: dict[str, str] = {}
    for variant, spec in _VARIANTS.items():
        ref = f"{STANDIN_REPOSITORY}:{spec.tag}"
        context = _standin_context(spec, busybox, applets)
        ids[variant] = _ensure_image(docker_client, ref, variant, context).id
    return StandinImages(
        repository=STANDIN_REPOSITORY,
        tags={variant: spec.tag for variant, spec in _VARIANTS.items()},
        image_ids=ids,
    )


# --- engine client, archive, cleanup ----------------------------------------------------------


@pytest.fixture(scope="session")
def docker_client(pytestconfig: pytest.Config) -> Iterator[docker.DockerClient]:
    enforce(engine_problem(pytestconfig))
    import docker

    client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
    yield client
    client.close()


@pytest.fixture(scope="session")
def image_archive(
    docker_client: docker.DockerClient,
    standin_images: StandinImages,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """`docker save` of the healthy stand-in (tag kept in the archive); treat as read-only."""
    path = tmp_path_factory.mktemp("image-archive") / "model-gateway.tar"
    image = docker_client.images.get(standin_images.healthy)
    with path.open("wb") as out:
        for chunk in image.save(named=standin_images.healthy):
            out.write(chunk)
    return path


@dataclass
class DockerCleanup:
    """Per-test tracker: things labelled with ``labels`` or tracked explicitly are removed after."""

    client: docker.DockerClient
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return {TEST_LABEL: "1", TEST_RUN_LABEL: self.run_id}

    def track_container(self, container: Container | str) -> None:
        """For containers made by code under test, which cannot carry our labels."""
        self.containers.append(container if isinstance(container, str) else container.id)

    def track_image(self, ref: str) -> None:
        """Remove this reference afterwards (untags only, if the image has other tags)."""
        self.images.append(ref)

    def run(self, image: str, labels: Mapping[str, str] | None = None, **kwargs: Any) -> Container:
        """``containers.run`` detached, labelled for cleanup."""
        merged = {**(labels or {}), **self.labels}
        return self.client.containers.run(image, detach=True, labels=merged, **kwargs)

    def cleanup(self) -> list[str]:
        """Remove everything this test made; return what could not be removed."""
        import docker

        errors: list[str] = []
        selector = {"label": f"{TEST_RUN_LABEL}={self.run_id}"}
        labelled = [c.id for c in self.client.containers.list(all=True, filters=selector)]
        for ident in dict.fromkeys(labelled + self.containers):
            try:
                self.client.api.remove_container(ident, force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                errors.append(f"container {ident}: {exc}")
        labelled_images = [i.id for i in self.client.images.list(filters=selector)]
        for ref in dict.fromkeys(self.images + labelled_images):
            try:
                self.client.images.remove(ref, force=True)
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError as exc:
                errors.append(f"image {ref}: {exc}")
        return errors


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient) -> Iterator[DockerCleanup]:
    tracker = DockerCleanup(docker_client)
    yield tracker
    for error in tracker.cleanup():
        warnings.warn(f"docker_cleanup leaked {error}", stacklevel=1)


# --- local registry ---------------------------------------------------------------------------


@dataclass
class LocalRegistry:
    """A Distribution v2 registry on 127.0.0.1 (plain HTTP; dockerd trusts 127.0.0.0/8)."""

    host: str  # "127.0.0.1:PORT"
    storage: Path
    pushed: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def ref(self, repo: str, tag: str) -> str:
        return f"{self.host}/{repo}:{tag}"

    def push(self, client: docker.DockerClient, local_ref: str, repo: str, tag: str) -> str:
        """Tag ``local_ref`` as ``HOST/repo:tag``, push it, and return that reference."""
        target = f"{self.host}/{repo}"
        client.images.get(local_ref).tag(target, tag)
        self.pushed.append(self.ref(repo, tag))
        for status in client.images.push(target, tag=tag, stream=True, decode=True):
            if "error" in status:
                raise RuntimeError(f"push of {target}:{tag} failed: {status['error']}")
        return self.ref(repo, tag)


def _registry_config(storage: Path, port: int) -> str:
    # JSON strings are valid YAML scalars, which quotes the path safely.
    return f"""\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {json.dumps(str(storage))}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@pytest.fixture(scope="session")
def local_registry(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRegistry]:
    import docker

    if not REGISTRY_BINARY.is_file():
        enforce(f"{REGISTRY_BINARY} is missing (install docker-registry)")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config, log = root / "config.yml", root / "registry.log"
    config.write_text(_registry_config(root / "storage", port))
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(REGISTRY_BINARY), "serve", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    registry = LocalRegistry(host=f"127.0.0.1:{port}", storage=root / "storage")
    try:
        try:
            wait_http(f"{registry.url}/v2/", timeout=15)
        except TimeoutError as exc:
            state = "running" if proc.poll() is None else f"exited {proc.returncode}"
            raise RuntimeError(f"registry not ready ({state}): {exc}\n{log.read_text()}") from exc
        yield registry
    finally:
        for ref in registry.pushed:  # the local tags push() created
            try:
                docker_client.images.remove(ref)
            except docker.errors.APIError:
                pass  # already removed by the test
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
