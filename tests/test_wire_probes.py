"""The Docker engine's health probes: healthz AND the 401 on `/` gate; the Agent Platform only warns."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tests.docker_fixtures import free_port
from tests.factories import docker_profile
from wizard.install.docker import probes

CURRENT = {"version": "19.2.1"}


class _Gateway(http.server.BaseHTTPRequestHandler):
    root_status = 401
    root_body = b'{"error":"No authorization header presented"}'

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        status, body = (200, b"{}") if self.path == "/monitoring/healthz" else (self.root_status, self.root_body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[http.server.HTTPServer, type[_Gateway]]]:
    handler = type("Handler", (_Gateway,), {})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, handler
    httpd.shutdown()
    httpd.server_close()


def test_ready_needs_the_gateways_own_401_on_root_from_18(server: tuple[http.server.HTTPServer, type[_Gateway]]) -> None:
    httpd, handler = server
    port = httpd.server_address[1]
    current, legacy = docker_profile(gitlab=CURRENT), docker_profile()
    assert probes.ready(current, port, 1.0)
    handler.root_status, handler.root_body = 200, b"<html>"  # healthz alone is not enough any more
    assert not probes.ready(current, port, 1.0)
    assert probes.ready(legacy, port, 1.0)  # 17.x: healthz decides, as before
    bypassed = docker_profile(gitlab=CURRENT, gateway={"auth_bypass": True})
    assert probes.ready(bypassed, port, 1.0)  # auth off: `/` is not expected to refuse
    handler.root_status, handler.root_body = 401, b'{"error":"something else"}'
    assert not probes.ready(current, port, 1.0)


def test_ready_is_false_when_nothing_listens() -> None:
    assert not probes.ready(docker_profile(gitlab=CURRENT), free_port(), 0.5)


def test_a_silent_agent_platform_port_is_a_warning_line_and_17x_has_none() -> None:
    stop = threading.Event()
    stop.set()  # one probe, no retries
    [line] = probes.agent_platform_lines(docker_profile(gitlab=CURRENT), free_port(), stop, timeout=0.5)
    assert line.level == "warning" and "Duo Agent Platform" in line.text and "healthy" in line.text
    assert probes.agent_platform_lines(docker_profile(), free_port(), stop) == []
