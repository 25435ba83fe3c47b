"""Stand-in gateways per generation (17.x, 18.x, 19.x), built FROM scratch around busybox-static.

Each follows the real contract of its generation (docs: shared/reference/gateway-today.md),
as far as the wizard can observe it from outside:

- 17.x (today's contract): needs `AIGW_GITLAB_URL`; one HTTP service on 5052;
  `/monitoring/healthz` 200; `/docs` open.
- 18.x and 19.x: refuse to start (exit 2) without `AIGW_GITLAB_URL` *and*
  `AIGW_GITLAB_API_URL`; HTTP on 5052 with `/monitoring/healthz` → `{}`, `GET /` → 401
  `{"error":"No authorization header presented"}`, `/docs` → 401; the Duo Agent Platform on
  50052 (a TCP listener standing in for gRPC). For every JWT key the generation needs (18.x:
  the two AIGW keys and the Duo Workflow signing key; 19.x: all four) that is missing or not
  PEM (no `-----BEGIN`), the log shows the real errors "JWKError: Unable to load PEM file …
  MalformedFraming" and "Token creation failed" — while healthz still answers, as the real
  one does. The Agent Platform dies at start (the HTTP side keeps running) when
  `DUO_WORKFLOW_AUTH__ENABLED=true` and a Duo Workflow key is bad, or when
  `DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL` is set but empty.
- 19.x (19.1+) with `AIGW_FASTAPI__TLS__ENABLED=true`: the cert and key files named must be
  readable PEM (else exit 2). It does *not* serve HTTPS: busybox has no TLS server (its
  `ssl_client` is client-only), so it logs "TLS requested … serving plain HTTP" instead.

All of them log the NAMES of the AIGW_/DUO_WORKFLOW_/CA variables they received
(`received variables: …`), never values. Images are `aigwh5-standin/model-gateway:<tag>`.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.docker_fixtures import BUSYBOX, _add_file, _ensure_image, enforce

if TYPE_CHECKING:
    import docker

REPOSITORY = "aigwh5-standin/model-gateway"
HTTP_PORT = 5052
AGENT_PLATFORM_PORT = 50052
UNAUTHORIZED = '{"error":"No authorization header presented"}'
JWK_ERROR = (
    "JWKError: Unable to load PEM file. See https://cryptography.io/en/latest/faq/"
    "#why-can-t-i-import-my-pem-file for more details. MalformedFraming"
)
TOKEN_FAILED = "Token creation failed"
AIGW_KEYS = ("AIGW_SELF_SIGNED_JWT__SIGNING_KEY", "AIGW_SELF_SIGNED_JWT__VALIDATION_KEY")
DUO_SIGNING = "DUO_WORKFLOW_SELF_SIGNED_JWT__SIGNING_KEY"
DUO_VALIDATION = "DUO_WORKFLOW_SELF_SIGNED_JWT__VALIDATION_KEY"


@dataclass(frozen=True)
class Generation:
    name: str
    tag: str
    keys: tuple[str, ...]
    agent_platform: bool
    native_tls: bool


GENERATIONS: Mapping[str, Generation] = {
    "17": Generation("17", "self-hosted-v17.5.0-ee", (), False, False),
    "18": Generation("18", "self-hosted-v18.2.2-ee", (*AIGW_KEYS, DUO_SIGNING), True, False),
    "19": Generation("19", "self-hosted-v19.2.3-ee", (*AIGW_KEYS, DUO_SIGNING, DUO_VALIDATION), True, True),
}

_TRAP = """\
pids=""
trap 'echo "received stop signal, shutting down"; kill $pids 2>/dev/null; exit 0' TERM INT
"""

_NAMES = """\
echo "received variables: $(env | cut -s -d= -f1 | grep -E '^(AIGW_|DUO_WORKFLOW_|SSL_CERT_FILE$|REQUESTS_CA_BUNDLE$)' | sort | tr '\\n' ' ')"
"""

_LEGACY = (
    _TRAP
    + _NAMES
    + """\
if [ -z "${AIGW_GITLAB_URL:-}" ]; then
  echo "error: AIGW_GITLAB_URL is not set" >&2
  exit 2
fi
echo "model-gateway stand-in @TAG@ starting"
echo "listening on 0.0.0.0:5052"
httpd -f -v -p 5052 -h /www &
pids="$!"
wait
"""
)

_CURRENT = (
    _TRAP
    + """\
echo "model-gateway stand-in @TAG@ starting"
"""
    + _NAMES
    + """\
missing=""
for name in AIGW_GITLAB_URL AIGW_GITLAB_API_URL; do
  eval "value=\\${$name:-}"
  [ -n "$value" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
  echo "error: required variables are not set:$missing" >&2
  exit 2
fi
pem() { case "$1" in "-----BEGIN"*) return 0 ;; *) return 1 ;; esac; }
bad_keys=""
for name in @KEYS@; do
  eval "value=\\${$name:-}"
  if pem "$value"; then
    echo "$name: key loaded"
  else
    echo "$JWK_ERROR ($name)" >&2
    bad_keys="$bad_keys $name"
  fi
done
[ -z "$bad_keys" ] || echo "$TOKEN_FAILED:$bad_keys" >&2
scheme=http
if [ "@TLS@" = yes ] && [ "${AIGW_FASTAPI__TLS__ENABLED:-}" = true ]; then
  for file in "${AIGW_FASTAPI__TLS__CERT_FILE:-}" "${AIGW_FASTAPI__TLS__KEY_FILE:-}"; do
    if [ -z "$file" ] || [ ! -r "$file" ] || ! pem "$(head -c 10 "$file")"; then
      echo "error: TLS file '$file' is missing, unreadable or not PEM" >&2
      exit 2
    fi
  done
  echo "TLS requested (cert $AIGW_FASTAPI__TLS__CERT_FILE, key $AIGW_FASTAPI__TLS__KEY_FILE): serving plain HTTP (busybox has no TLS server)"
fi
echo "gateway listening on 0.0.0.0:5052 ($scheme)"
httpd -f -v -p 5052 -h /www -c /etc/httpd.conf &
pids="$!"
agent="yes"
if [ "${DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL+set}" = set ] && [ -z "$DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL" ]; then
  echo "duo-workflow-service: fatal: DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL is empty" >&2
  agent=""
fi
if [ "${DUO_WORKFLOW_AUTH__ENABLED:-}" = true ]; then
  case "$bad_keys" in *DUO_WORKFLOW_*)
    echo "duo-workflow-service: fatal: cannot prefetch keys: $JWK_ERROR" >&2
    agent="" ;;
  esac
fi
if [ -n "$agent" ]; then
  echo "duo-workflow-service listening on 0.0.0.0:50052"
  httpd -f -p 50052 -h /grpc &
  pids="$pids $!"
fi
wait
"""
)

_ROOT_CGI = (
    "#!/bin/sh\n"
    "printf 'HTTP/1.1 401 Unauthorized\\r\\nContent-Type: application/json\\r\\n\\r\\n"
    + UNAUTHORIZED
    + "'\n"
)

_DOCKERFILE = """\
FROM scratch
COPY bin/ /bin/
COPY www/ /www/
COPY grpc/ /grpc/
COPY etc/ /etc/
COPY start.sh /start.sh
ENV PATH=/bin
EXPOSE 5052 50052
ENTRYPOINT ["/bin/busybox", "sh", "/start.sh"]
"""


def script(generation: Generation) -> str:
    if not generation.agent_platform:
        return _LEGACY.replace("@TAG@", generation.tag)
    body = _CURRENT.replace("@TAG@", generation.tag).replace("@KEYS@", " ".join(generation.keys))
    body = body.replace("@TLS@", "yes" if generation.native_tls else "no")
    constants = f"JWK_ERROR='{JWK_ERROR}'\nTOKEN_FAILED='{TOKEN_FAILED}'\n"
    return constants + body


def context(generation: Generation, busybox: bytes, applets: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_file(tar, "Dockerfile", _DOCKERFILE.encode())
        _add_file(tar, "start.sh", script(generation).encode(), 0o755)
        _add_file(tar, "bin/busybox", busybox, 0o755)
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
        _add_file(tar, "grpc/.keep", b"")
        if generation.agent_platform:
            _add_file(tar, "www/monitoring/healthz", b"{}")
            _add_file(tar, "www/cgi-bin/index.cgi", _ROOT_CGI.encode(), 0o755)
            _add_file(tar, "www/docs", b"not reachable without a token\n")
            _add_file(tar, "etc/httpd.conf", b"/docs:aigw-standin:no-password-works\n")
        else:
            _add_file(tar, "www/monitoring/healthz", b'{"status":"ok"}\n')
            _add_file(tar, "www/docs", b"<!doctype html><title>AI gateway docs</title>\n")
            _add_file(tar, "etc/.keep", b"")
    return buf.getvalue()


def build(client: docker.DockerClient, generation: Generation) -> str:
    """Build (or reuse) the stand-in of `generation`; returns its reference."""
    if not BUSYBOX.is_file():
        enforce(f"{BUSYBOX} is missing (install busybox-static)")
    listing = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    applets = sorted(set(listing.stdout.split()) - {"busybox"})
    ref = f"{REPOSITORY}:{generation.tag}"
    _ensure_image(client, ref, f"aigwh5-{generation.name}", context(generation, BUSYBOX.read_bytes(), applets))
    return ref


@pytest.fixture(scope="session")
def generation_standins(docker_client: docker.DockerClient) -> dict[str, str]:
    """Generation name ("17", "18", "19") → stand-in image reference."""
    return {name: build(docker_client, generation) for name, generation in GENERATIONS.items()}
