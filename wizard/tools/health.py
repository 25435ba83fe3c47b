"""Health probes that mean something for today's gateway (which ones apply: `Release`).

- `/monitoring/healthz` runs no checks: 200 only says the HTTP server is up.
- `GET /` answering 401 `{"error":"No authorization header presented"}` says the auth
  middleware is up (`Release.root_probe`).
- The Agent Platform (`Release.agent_platform_probe`) is probed by opening an HTTP/2
  connection the way a gRPC client does and waiting for the server's first frame. A bare TCP
  connect proves nothing with Docker: its userland proxy accepts on a published port even
  when nothing listens inside the container, then closes without a byte.

Probes return a `Probe` and never raise for what the gateway answers.
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

from wizard.core.text import clean

UNAUTHORIZED_ERROR = "No authorization header presented"
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # length 0, type SETTINGS, no flags, stream 0
MAX_BODY = 64 * 1024
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Probes talk to our own container on loopback: a proxy from the environment must not apply."""


def _unverified_tls() -> urllib.request.OpenerDirector:
    # A liveness probe of our own container on 127.0.0.1, not a trust decision: its
    # certificate names gateway.hostname, not 127.0.0.1.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str


def get(url: str, timeout: float, *, tls: bool = False) -> tuple[int, bytes]:
    """(status, at most MAX_BODY of the body) of a GET on loopback, with no proxy; `tls`
    for a gateway serving HTTPS itself. Raises OSError/HTTPException when nothing answers."""
    opener = _unverified_tls() if tls else _DIRECT
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status), response.read(MAX_BODY)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(MAX_BODY)


def says_unauthorized(status: int, body: bytes) -> bool:
    """The gateway's own 401 for a request without a token: its authentication is up."""
    if status != 401:
        return False
    try:
        return bool(json.loads(body).get("error") == UNAUTHORIZED_ERROR)
    except (ValueError, AttributeError):
        return False


def healthz(base_url: str, timeout: float = 2.0) -> Probe:
    """`/monitoring/healthz` answers 200 (the HTTP server runs; nothing more is checked)."""
    url = f"{base_url.rstrip('/')}/monitoring/healthz"
    try:
        status, _body = get(url, timeout)
    except (urllib.error.URLError, OSError) as error:
        return Probe(False, f"{url}: {clean(str(getattr(error, 'reason', error)))}")
    return Probe(status == 200, f"{url} answered {status}")


def auth_enforced(base_url: str, timeout: float = 2.0) -> Probe:
    """`GET /` answers 401 with the gateway's own error: its authentication is up."""
    url = f"{base_url.rstrip('/')}/"
    try:
        status, body = get(url, timeout)
    except (urllib.error.URLError, OSError) as error:
        return Probe(False, f"{url}: {clean(str(getattr(error, 'reason', error)))}")
    if says_unauthorized(status, body):
        return Probe(True, f"{url} refuses unauthenticated requests (401), as the gateway should")
    if status == 200:
        return Probe(False, f"{url} answered 200 without a token: authentication is bypassed or this is not the gateway")
    shown = clean(body[:120].decode(errors="replace"))
    return Probe(False, f"{url} answered {status} {shown!r}, not the gateway's 401")


def agent_platform(host: str, port: int, timeout: float = 2.0) -> Probe:
    """Something speaking HTTP/2 (gRPC) answers on `port`, not merely a proxy accepting."""
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(HTTP2_PREFACE + EMPTY_SETTINGS)
            first = sock.recv(9)
    except TimeoutError:
        return Probe(False, f"{where} accepted but sent nothing within {timeout:g} s")
    except (ConnectionResetError, BrokenPipeError):
        return Probe(False, f"{where} accepted and dropped the connection: nothing listens behind it")
    except OSError as error:
        return Probe(False, f"{where}: {clean(error.strerror or str(error))}")
    if not first:
        return Probe(False, f"{where} accepted and closed at once: nothing listens behind it")
    if len(first) >= 4 and first[3] == 4:
        return Probe(True, f"{where} answers HTTP/2 (gRPC)")
    return Probe(True, f"{where} answers, though not with HTTP/2 first")
