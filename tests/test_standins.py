"""The per-generation stand-ins keep the contract they claim, checked with plain `docker run`."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.docker_fixtures import DockerCleanup, free_port, http_get, wait_http
from tests.standins import (
    AIGW_KEYS,
    DUO_SIGNING,
    DUO_VALIDATION,
    JWK_ERROR,
    TOKEN_FAILED,
    UNAUTHORIZED,
    generation_standins,  # noqa: F401 - the fixture
)

if TYPE_CHECKING:
    from docker.models.containers import Container

pytestmark = pytest.mark.docker

URLS = {"AIGW_GITLAB_URL": "http://10.0.0.5", "AIGW_GITLAB_API_URL": "http://10.0.0.5/api/v4/"}


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


PEM = _pem()
ALL_KEYS = {name: PEM for name in (*AIGW_KEYS, DUO_SIGNING, DUO_VALIDATION)}


class Running:
    def __init__(self, container: Container, http: int, grpc: int) -> None:
        self.container, self.http, self.grpc = container, http, grpc

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http}{path}"

    def wait_log(self, text: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = self.logs()
            if text in logs:
                return logs
            self.container.reload()
            if self.container.status == "exited":
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged; logs:\n{self.logs()}")

    def grpc_open(self) -> bool:
        """Something in the container answers on 50052. A bare connect proves nothing: Docker's
        userland proxy accepts on the published port even when nothing listens inside, then
        closes without a byte. So send the HTTP/2 preface (what a gRPC client opens with) and
        wait for any answer."""
        try:
            with socket.create_connection(("127.0.0.1", self.grpc), timeout=2) as sock:
                sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
                return bool(sock.recv(1))
        except OSError:
            return False


@pytest.fixture
def start(docker_cleanup: DockerCleanup, generation_standins: dict[str, str]) -> Callable[..., Running]:  # noqa: F811
    def run(generation: str, environment: dict[str, str], **kwargs: Any) -> Running:
        http, grpc = free_port(), free_port()
        container = docker_cleanup.run(
            generation_standins[generation],
            name=f"aigwh5-standin-{uuid.uuid4().hex[:8]}",
            environment=environment,
            ports={"5052/tcp": ("127.0.0.1", http), "50052/tcp": ("127.0.0.1", grpc)},
            **kwargs,
        )
        return Running(container, http, grpc)

    return run


def _exit_code(running: Running) -> int:
    return int(running.container.wait(timeout=10)["StatusCode"])


def test_17x_keeps_todays_contract(start: Callable[..., Running]) -> None:
    refused = start("17", {})
    assert _exit_code(refused) == 2 and "AIGW_GITLAB_URL is not set" in refused.logs()
    running = start("17", {"AIGW_GITLAB_URL": "http://10.0.0.5"})
    wait_http(running.url("/monitoring/healthz"), timeout=10)
    assert http_get(running.url("/docs"))[0] == 200
    assert not running.grpc_open()
    assert "received variables: AIGW_GITLAB_URL" in running.logs()


@pytest.mark.parametrize("generation", ["18", "19"])
def test_current_generations_refuse_to_start_without_both_urls(start: Callable[..., Running], generation: str) -> None:
    none = start(generation, {})
    assert _exit_code(none) == 2
    assert "required variables are not set: AIGW_GITLAB_URL AIGW_GITLAB_API_URL" in none.logs()
    half = start(generation, {"AIGW_GITLAB_URL": "http://10.0.0.5"})
    assert _exit_code(half) == 2 and "not set: AIGW_GITLAB_API_URL" in half.logs()


@pytest.mark.parametrize("generation", ["18", "19"])
def test_with_every_key_both_services_answer(start: Callable[..., Running], generation: str) -> None:
    running = start(generation, {**URLS, **ALL_KEYS, "DUO_WORKFLOW_AUTH__ENABLED": "true"})
    wait_http(running.url("/monitoring/healthz"), timeout=10)
    status, body = http_get(running.url("/monitoring/healthz"))
    assert (status, body.strip()) == (200, b"{}")
    assert http_get(running.url("/")) == (401, UNAUTHORIZED.encode())
    assert http_get(running.url("/docs"))[0] == 401
    logs = running.wait_log("duo-workflow-service listening")
    assert running.grpc_open()
    assert JWK_ERROR not in logs and TOKEN_FAILED not in logs
    assert "AIGW_SELF_SIGNED_JWT__SIGNING_KEY" in logs.split("received variables:")[1].splitlines()[0]
    assert "BEGIN" not in logs and PEM.splitlines()[1] not in logs  # names only, never key text


def test_18x_needs_three_keys_19x_four(start: Callable[..., Running]) -> None:
    three = {name: PEM for name in (*AIGW_KEYS, DUO_SIGNING)}
    old = start("18", {**URLS, **three})
    logs = old.wait_log("gateway listening")
    assert JWK_ERROR not in logs
    new = start("19", {**URLS, **three})
    logs = new.wait_log(TOKEN_FAILED)
    assert f"{JWK_ERROR} ({DUO_VALIDATION})" in logs


def test_a_missing_or_non_pem_key_logs_the_real_errors_while_healthz_stays_green(start: Callable[..., Running]) -> None:
    keys = {**ALL_KEYS, AIGW_KEYS[0]: "", DUO_SIGNING: "not a pem at all"}
    running = start("19", {**URLS, **keys})
    wait_http(running.url("/monitoring/healthz"), timeout=10)  # "healthy" means nothing here
    logs = running.wait_log(TOKEN_FAILED)
    assert f"{JWK_ERROR} ({AIGW_KEYS[0]})" in logs and f"{JWK_ERROR} ({DUO_SIGNING})" in logs
    assert "not a pem at all" not in logs


def test_auth_enabled_with_a_bad_duo_key_kills_only_the_agent_platform(start: Callable[..., Running]) -> None:
    keys = {**ALL_KEYS, DUO_SIGNING: "garbage"}
    running = start("18", {**URLS, **keys, "DUO_WORKFLOW_AUTH__ENABLED": "true"})
    logs = running.wait_log("duo-workflow-service: fatal")
    wait_http(running.url("/monitoring/healthz"), timeout=10)
    assert "duo-workflow-service listening" not in logs and not running.grpc_open()


def test_an_empty_customer_portal_url_kills_the_agent_platform(start: Callable[..., Running]) -> None:
    running = start("19", {**URLS, **ALL_KEYS, "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL": ""})
    running.wait_log("OIDC_CUSTOMER_PORTAL_URL is empty")
    wait_http(running.url("/monitoring/healthz"), timeout=10)
    assert not running.grpc_open()
    set_to_gitlab = start("19", {**URLS, **ALL_KEYS, "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL": "http://10.0.0.5"})
    set_to_gitlab.wait_log("duo-workflow-service listening")


def test_19x_checks_the_mounted_tls_files(start: Callable[..., Running], tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    folder.mkdir()
    (folder / "tls.crt").write_text("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n")
    (folder / "tls.key").write_text(PEM)
    (folder / "tls.key").chmod(0o644)  # the container user must read it
    tls = {
        "AIGW_FASTAPI__TLS__ENABLED": "true",
        "AIGW_FASTAPI__TLS__CERT_FILE": "/etc/aigw/tls/tls.crt",
        "AIGW_FASTAPI__TLS__KEY_FILE": "/etc/aigw/tls/tls.key",
    }
    mounted = start("19", {**URLS, **ALL_KEYS, **tls}, volumes={str(folder): {"bind": "/etc/aigw/tls", "mode": "ro"}})
    logs = mounted.wait_log("TLS requested")
    assert "serving plain HTTP" in logs
    unmounted = start("19", {**URLS, **ALL_KEYS, **tls})
    assert _exit_code(unmounted) == 2 and "TLS file '/etc/aigw/tls/tls.crt' is missing" in unmounted.logs()
    ignored = start("18", {**URLS, **ALL_KEYS, **tls})
    assert "TLS requested" not in ignored.wait_log("gateway listening")


# --- the wizard's probes against them ----------------------------------------------------------


def test_health_probes_tell_the_generations_apart(start: Callable[..., Running]) -> None:
    from wizard.tools import health

    legacy = start("17", {"AIGW_GITLAB_URL": "http://10.0.0.5"})
    wait_http(legacy.url("/monitoring/healthz"), timeout=10)
    base = legacy.url("")
    assert health.healthz(base).ok
    assert not health.auth_enforced(base).ok  # 17.x has no such answer on /
    assert not health.agent_platform("127.0.0.1", legacy.grpc).ok

    current = start("19", {**URLS, **ALL_KEYS})
    current.wait_log("duo-workflow-service listening")
    wait_http(current.url("/monitoring/healthz"), timeout=10)
    assert health.healthz(current.url("")).ok
    enforced = health.auth_enforced(current.url(""))
    assert enforced.ok and "401" in enforced.detail
    assert health.agent_platform("127.0.0.1", current.grpc).ok

    dead = start("19", {**URLS, **ALL_KEYS, "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL": ""})
    dead.wait_log("OIDC_CUSTOMER_PORTAL_URL is empty")
    wait_http(dead.url("/monitoring/healthz"), timeout=10)
    assert health.healthz(dead.url("")).ok  # "healthy" …
    probe = health.agent_platform("127.0.0.1", dead.grpc)
    assert not probe.ok and "nothing listens" in probe.detail  # … while the Agent Platform is dead


def test_probes_on_a_closed_port_fail_plainly() -> None:
    from wizard.tools import health

    port = free_port()
    assert not health.healthz(f"http://127.0.0.1:{port}").ok
    assert not health.auth_enforced(f"http://127.0.0.1:{port}").ok
    closed = health.agent_platform("127.0.0.1", port)
    assert not closed.ok and "refused" in closed.detail.lower()
