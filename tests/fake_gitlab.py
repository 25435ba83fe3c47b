"""A fake GitLab on 127.0.0.1 for the doctor and connect tests: what the gateway and the
wizard ask of GitLab, and nothing more.

- `/.well-known/openid-configuration` (issuer, jwks_uri → `/oauth/discovery/keys`) and a
  JWKS holding one real RSA public key (`jwks_empty=True` serves `{"keys": []}`);
- `/api/v4/version`: 401 without a token, 200 with `PRIVATE-TOKEN` or `Authorization: Bearer`;
- `POST /api/graphql`: `duoSettings` (query) and `duoSettingsUpdate` (mutation, input given
  inline or as `$input`): trailing slashes stripped; a non-admin token gets top-level
  GraphQL `errors` (GitLab's permission wording); a bad value gets the payload's `errors`.

Plain HTTP, or HTTPS with a certificate from a trustme CA. Every request is recorded with its
method, path, headers and body, so tests can assert what was (and was not) sent.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from cryptography.hazmat.primitives.asymmetric import rsa

LOOPBACK = "127.0.0.1"
ADMIN_TOKEN = "glpat-admin-FAKE-0123456789"
USER_TOKEN = "glpat-user-FAKE-9876543210"
PERMISSION_ERROR = (
    "The resource that you are attempting to access does not exist or you don't have "
    "permission to perform this action"
)
SETTINGS_FIELDS = ("aiGatewayUrl", "aiGatewayTimeoutSeconds", "duoAgentPlatformServiceUrl")

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk() -> dict[str, str]:
    numbers = _KEY.public_key().public_numbers()
    return {"kty": "RSA", "kid": "fake-gitlab-1", "use": "sig", "alg": "RS256", "n": _b64(numbers.n), "e": _b64(numbers.e)}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class GitLabState:
    """What the fake holds; tests read and change it between requests."""

    url: str = ""
    admin_token: str = ADMIN_TOKEN
    user_token: str = USER_TOKEN
    version: str = "18.6.1-ee"
    jwks_empty: bool = False
    settings: dict[str, Any] = field(
        default_factory=lambda: {"aiGatewayUrl": None, "aiGatewayTimeoutSeconds": 60, "duoAgentPlatformServiceUrl": None}
    )
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


def _token(headers: Any) -> str:
    bearer = headers.get("Authorization", "")
    if bearer.lower().startswith("bearer "):
        return str(bearer[7:].strip())
    return str(headers.get("PRIVATE-TOKEN", ""))


_INLINE_VALUE = re.compile(r'(\w+)\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+|null)')


def _inline_input(query: str) -> dict[str, Any]:
    match = re.search(r"input\s*:\s*\{([^}]*)\}", query)
    if not match:
        return {}
    return {name: json.loads(value) for name, value in _INLINE_VALUE.findall(match.group(1))}


def _validate(update: dict[str, Any]) -> list[str]:
    errors = []
    url = update.get("aiGatewayUrl")
    if url is not None and not re.match(r"^https?://[^/\s]+", str(url)):
        errors.append("Ai gateway url is not a valid URL")
    timeout = update.get("aiGatewayTimeoutSeconds")
    if timeout is not None and not (isinstance(timeout, int) and 60 <= timeout <= 600):
        errors.append("Ai gateway timeout seconds must be between 60 and 600")
    service = update.get("duoAgentPlatformServiceUrl")
    if service is not None and "://" in str(service):
        errors.append("Duo agent platform service url must not include a scheme")
    unknown = set(update) - set(SETTINGS_FIELDS)
    errors += [f"unknown input field {name}" for name in sorted(unknown)]
    return errors


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def _record(self, body: bytes = b"") -> None:
        with self.server.state.lock:
            self.server.state.requests.append(Recorded(self.command, self.path, dict(self.headers), body))

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._record()
        state = self.server.state
        if self.path == "/.well-known/openid-configuration":
            self._reply(200, {"issuer": state.url, "jwks_uri": f"{state.url}/oauth/discovery/keys", "response_types_supported": ["code"]})
        elif self.path == "/oauth/discovery/keys":
            self._reply(200, {"keys": [] if state.jwks_empty else [public_jwk()]})
        elif self.path == "/api/v4/version":
            if _token(self.headers) in (state.admin_token, state.user_token):
                self._reply(200, {"version": state.version, "revision": "0123abcd", "enterprise": True})
            else:
                self._reply(401, {"message": "401 Unauthorized"})
        else:
            self._reply(404, {"message": "404 Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._record(body)
        if self.path != "/api/graphql":
            self._reply(404, {"message": "404 Not Found"})
            return
        state = self.server.state
        token = _token(self.headers)
        if token and token not in (state.admin_token, state.user_token):
            self._reply(401, {"error": "invalid_token", "error_description": "Token is expired. You can either do re-authorization or token refresh."})
            return
        try:
            document = json.loads(body)
            query = str(document["query"])
            variables = document.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            self._reply(400, {"errors": [{"message": "Invalid JSON"}]})
            return
        if token != state.admin_token:
            operation = "duoSettingsUpdate" if "duoSettingsUpdate" in query else "duoSettings"
            self._reply(200, {"data": {operation: None}, "errors": [{"message": PERMISSION_ERROR, "path": [operation]}]})
            return
        if "duoSettingsUpdate" in query:
            update = dict(variables.get("input") or _inline_input(query))
            errors = _validate(update)
            with state.lock:
                if not errors:
                    for name, value in update.items():
                        state.settings[name] = value.rstrip("/") if isinstance(value, str) else value
                settings = dict(state.settings)
            self._reply(200, {"data": {"duoSettingsUpdate": {"duoSettings": settings, "errors": errors}}})
        elif "duoSettings" in query:
            with state.lock:
                settings = dict(state.settings)
            self._reply(200, {"data": {"duoSettings": settings}})
        else:
            self._reply(200, {"errors": [{"message": "Field is not defined on Query"}]})

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None, state: GitLabState) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.tls, self.state = tls, state

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        # End TLS with close_notify and read what the client still sends, as nginx does: closing
        # with unread data makes the kernel reset, and small clients (busybox wget) lose the reply.
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(2)
                request.unwrap()
            except (OSError, ValueError):
                pass
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients rejecting our certificate hang up mid-handshake


@dataclass
class FakeGitLab:
    url: str
    port: int
    state: GitLabState
    ca: trustme.CA | None

    @property
    def requests(self) -> list[Recorded]:
        return self.state.requests


@contextmanager
def fake_gitlab(ca: trustme.CA | None = None, *, host: str = LOOPBACK, **state: Any) -> Iterator[FakeGitLab]:
    """Serve a fake GitLab on 127.0.0.1; with `ca`, HTTPS under a certificate for `host`.

    `host` is what goes in the URL (127.0.0.1, localhost, or a name in /etc/hosts on 127.x).
    """
    tls = None
    if ca is not None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(host, "127.0.0.1", "localhost").configure_cert(tls)
    gitlab_state = GitLabState(**state)
    server = _Server(tls, gitlab_state)
    port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    gitlab_state.url = f"{'https' if tls else 'http'}://{shown}:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FakeGitLab(gitlab_state.url, port, gitlab_state, ca)
    finally:
        server.shutdown()
        server.server_close()
