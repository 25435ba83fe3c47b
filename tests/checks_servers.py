"""Loopback servers and throwaway certificates for the preflight-check tests and benchmark.

Everything binds to 127.0.0.1 on an ephemeral port: a fake GitLab (plain or HTTPS), a
black hole that accepts connections and never says a word, and a closed port that
refuses them. Certificates are made on the spot with trustme (a private CA) or
cryptography (self-signed, no SAN, odd dates, encrypted keys).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from wizard.checks import run_checks
from wizard.checks.base import CheckContext, CheckResult
from wizard.core.profile import Profile

LOOPBACK = "127.0.0.1"
GITLAB_VERSION = "17.5.0-ee"


# --- servers ----------------------------------------------------------------------------------


class _GitLabHandler(BaseHTTPRequestHandler):
    """`/api/v4/version`: 401 without the right PRIVATE-TOKEN, 200 + JSON with it."""

    server: _GitLabServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, in the request's thread, not in accept()

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        # Recorded before the reply: a test reads the list as soon as its client has the answer.
        self.server.requests.append((self.path, dict(self.headers)))
        if self.path != "/api/v4/version":
            self._reply(404, {"message": "404 Not Found"})
        elif self.server.token and self.headers.get("PRIVATE-TOKEN") == self.server.token:
            self._reply(200, {"version": self.server.version, "revision": "0123abcd", "enterprise": True})
        else:
            self._reply(401, {"message": "401 Unauthorized"})

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base
        pass


class _GitLabServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None, token: str, version: str) -> None:
        super().__init__((LOOPBACK, 0), _GitLabHandler)
        self.tls, self.token, self.version = tls, token, version
        self.requests: list[tuple[str, dict[str, str]]] = []

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that reject our certificate hang up mid-handshake: expected


@dataclass
class FakeGitLab:
    url: str
    """Base URL, like https://localhost:PORT (the API is under /api/v4/)."""
    port: int
    server: _GitLabServer

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self.server.requests


@contextmanager
def fake_gitlab(
    tls: ssl.SSLContext | None = None,
    *,
    token: str = "",
    version: str = GITLAB_VERSION,
    host: str = "localhost",
) -> Iterator[FakeGitLab]:
    """A GitLab API on 127.0.0.1; `host` is the name put in the URL (it must resolve locally)."""
    server = _GitLabServer(tls, token, version)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield FakeGitLab(f"{scheme}://{host}:{port}", port, server)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def black_hole() -> Iterator[int]:
    """A port that accepts every connection and then never reads, writes or closes it."""
    listener = socket.create_server((LOOPBACK, 0), backlog=128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def swallow() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(1)
        for connection in held:
            connection.close()
        listener.close()


@contextmanager
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        yield sock.getsockname()[1]


@contextmanager
def listening_port() -> Iterator[int]:
    """A port some other program listens on (so it is not free to publish)."""
    with socket.create_server((LOOPBACK, 0)) as sock:
        yield sock.getsockname()[1]


# --- certificates -----------------------------------------------------------------------------


def server_context(cert_pem: bytes, key_pem: bytes, tmp: Path) -> ssl.SSLContext:
    """An HTTPS server context presenting this certificate (chain) and key."""
    cert_file, key_file = tmp / "server-cert.pem", tmp / "server-key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def trustme_server_context(ca: trustme.CA, *names: str, **dates: datetime) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names, **dates).configure_cert(context)
    return context


def _key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def self_signed(
    *names: str,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    with_san: bool = True,
    common_name: str = "self-signed test",
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a certificate that is its own issuer."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
    )
    if with_san:
        entries: list[x509.GeneralName] = []
        for name in names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                entries.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key)


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def write_leaf(ca: trustme.CA, folder: Path, *names: str, stem: str = "gateway", **dates: datetime) -> CertFiles:
    """A leaf for `names` from `ca`, written as PEM files (chain file, key file)."""
    leaf = ca.issue_cert(*names, **dates)
    files = CertFiles(folder / f"{stem}.crt", folder / f"{stem}.key")
    files.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(files.key))
    return files


def encrypt_key(key_file: Path, password: bytes = b"not-a-real-secret") -> None:
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    key_file.write_bytes(_key_pem(key, password))  # type: ignore[arg-type]


# --- running checks in tests ------------------------------------------------------------------


def make_profile(data: dict[str, object]) -> Profile:
    return Profile.model_validate(data)


def context_for(
    profile: Profile, *, environ: dict[str, str] | None = None, name: str = "test", **overrides: object
) -> CheckContext:
    """A context with nothing from the real environment unless given (no token, no DOCKER_HOST)."""
    return CheckContext(profile, name, environ=environ or {}, overrides=dict(overrides))


def run_one(check_id: str, context: CheckContext) -> CheckResult:
    [result] = run_checks(context.profile, context.profile_name, {check_id}, context=context)
    return result


def run_all(ids: set[str], context: CheckContext) -> dict[str, CheckResult]:
    return {result.id: result for result in run_checks(context.profile, context.profile_name, ids, context=context)}


def refused_docker_host() -> dict[str, str]:
    """An environment whose DOCKER_HOST refuses at once, for tests that must not use an engine."""
    with closed_port() as port:
        pass  # released: nothing listens there (a race with another test binding it is harmless)
    return {"DOCKER_HOST": f"tcp://{LOOPBACK}:{port}"}
