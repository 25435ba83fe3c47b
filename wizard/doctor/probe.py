"""Ask GitLab what the gateway asks it, from where the gateway asks it.

Three ways, best first:
1. `python_in_container`: the gateway image's own Python with `requests`, run by `docker exec`
   with the container's environment (REQUESTS_CA_BUNDLE, proxies) and its name resolution;
2. `sidecar`: a short-lived container sharing the gateway's network namespace (and so its
   /etc/hosts and resolver), running a busybox image built here FROM scratch around the
   host's static busybox. Its wget does not verify certificates: trust is judged separately;
3. `from_host`: this host with the same CA bundle, when the image offers no way to probe
   (name resolution is then the host's, which the result says).

Each returns one `Probe` per endpoint: discovery, jwks, version.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.core.spec import LABEL_MANAGED
from wizard.tools.gitlab import GitLabClient, GitLabError

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

PROBE_REPOSITORY = "aigw-wizard/doctor-probe"
"""Where the sidecar image is tagged (tests move it under their own prefix)."""
SIDECAR_SUFFIX = "-doctor-probe"
PROBE_TIMEOUT_S = 5
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
_APPLETS = ("sh", "wget", "ssl_client", "nc", "timeout", "cat", "echo", "printf")


@dataclass(frozen=True)
class Probe:
    url: str
    status: int | None = None
    """HTTP status, or None when no answer came (see `error`)."""
    error: str = ""
    body: Any = None


@dataclass(frozen=True)
class ProbeSet:
    method: str
    """"python in the container", "sidecar in the container's network", or "this host"."""
    discovery: Probe
    jwks: Probe
    version: Probe
    caveat: str = ""
    """What this method could not reproduce (certificate checks, name resolution)."""


_PYTHON_PROBE = r"""
import json, sys
try:
    import requests
except ImportError:
    print(json.dumps({"unavailable": "no requests"})); sys.exit(0)
base, api = sys.argv[1].rstrip("/"), sys.argv[2]
def get(url):
    try:
        answer = requests.get(url, timeout=@TIMEOUT@)
    except Exception as error:
        return {"url": url, "error": (type(error).__name__ + ": " + str(error))[:400]}
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "keys" in body:
        body = {"keys": len(body["keys"]) if isinstance(body["keys"], list) else 0}
    elif isinstance(body, dict):
        body = {k: body[k] for k in ("issuer", "jwks_uri", "version") if isinstance(body.get(k), str)}
    return {"url": url, "status": answer.status_code, "body": body}
out = {"discovery": get(base + "/.well-known/openid-configuration")}
jwks = (out["discovery"].get("body") or {}).get("jwks_uri")
out["jwks"] = get(jwks) if jwks else {"url": "", "error": "no jwks_uri in the discovery answer"}
out["version"] = get(api + "version")
print(json.dumps(out))
""".replace("@TIMEOUT@", str(PROBE_TIMEOUT_S))

# Connect with nc first: it names the failure (refused, bad address), and busybox wget can
# crash on a refused connection. Then, in "http" mode, fetch with wget. Arguments: the mode,
# then fours: key, URL, host, port.
_SIDECAR_SCRIPT = """\
mode=$1; shift
probe() {
  if ! printf 'HEAD / HTTP/1.0\\r\\n\\r\\n' | nc -w @TIMEOUT@ "$3" "$4" >/dev/null 2>/probe-err; then
    printf '@@begin %s\\n\\n@@stderr\\n' "$1"; cat /probe-err; printf '@@end %s 1\\n' "$1"; return
  fi
  if [ "$mode" = tcp ]; then printf '@@begin %s\\n\\n@@stderr\\n@@end %s 0\\n' "$1" "$1"; return; fi
  body=$(timeout @TIMEOUT@ wget -q -O - "$2" 2>/probe-err); rc=$?
  printf '@@begin %s\\n%s\\n@@stderr\\n' "$1" "$body"; cat /probe-err; printf '@@end %s %s\\n' "$1" "$rc"
}
while [ $# -ge 4 ]; do probe "$1" "$2" "$3" "$4"; shift 4; done
exit 0
""".replace("@TIMEOUT@", str(PROBE_TIMEOUT_S))


def _probe_from(data: Any, url: str = "") -> Probe:
    if not isinstance(data, dict):
        return Probe(url, error="no answer")
    status = data.get("status")
    return Probe(str(data.get("url") or url), status if isinstance(status, int) else None, str(data.get("error") or ""), data.get("body"))


def python_in_container(container: Container, base: str, api: str) -> ProbeSet | None:
    """Run the probe with the image's Python; None when it has no Python with requests."""
    for python in ("python3", "python"):
        try:
            code, output = container.exec_run([python, "-c", _PYTHON_PROBE, base, api], demux=False)
        except Exception:  # noqa: BLE001 - the engine says "executable not found" in several ways
            continue
        if code != 0:
            continue
        try:
            data = json.loads((output or b"").decode("utf-8", "replace").strip().splitlines()[-1])
        except (ValueError, IndexError):
            continue
        if "unavailable" in data:
            return None
        return ProbeSet(
            f"the image's {python} with requests, inside the container",
            _probe_from(data.get("discovery")),
            _probe_from(data.get("jwks")),
            _probe_from(data.get("version")),
        )
    return None


# --- the sidecar ----------------------------------------------------------------------------------


def static_busybox() -> Path | None:
    """The host's busybox if it is a static ELF (no program interpreter), else None."""
    for candidate in (shutil.which("busybox"), *BUSYBOX_CANDIDATES):
        if candidate and Path(candidate).is_file() and _is_static_elf(Path(candidate)):
            return Path(candidate)
    return None


def _is_static_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            header = handle.read(64)
            if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:  # 64-bit little-endian
                return False
            phoff, = struct.unpack_from("<Q", header, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
            handle.seek(phoff)
            table = handle.read(phentsize * phnum)
    except OSError:
        return False
    types = [struct.unpack_from("<I", table, index * phentsize)[0] for index in range(phnum)]
    return 3 not in types  # PT_INTERP


def _context(busybox: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add(name: str, data: bytes, mode: int) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        add("Dockerfile", b"FROM scratch\nCOPY bin/ /bin/\nCOPY etc/ /etc/\nENV PATH=/bin\n", 0o644)
        # Without nsswitch.conf glibc asks DNS before /etc/hosts; images ship "files dns".
        add("etc/nsswitch.conf", b"hosts: files dns\n", 0o644)
        add("bin/busybox", busybox, 0o755)
        for applet in _APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
    return buffer.getvalue()


def probe_image(client: DockerClient) -> str | None:
    """The sidecar image, built here from the host's static busybox (never pulled); None without one."""
    import docker

    busybox = static_busybox()
    if busybox is None:
        return None
    context = _context(busybox.read_bytes())
    ref = f"{PROBE_REPOSITORY}:busybox-{hashlib.sha256(context).hexdigest()[:12]}"
    try:
        client.images.get(ref)
        return ref
    except docker.errors.ImageNotFound:
        pass
    client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=ref, pull=False, rm=True, forcerm=True, labels={LABEL_MANAGED: "true"})
    return ref


def _run_sidecar(client: DockerClient, image: str, container: Container, mode: str, *pairs: str) -> dict[str, Probe]:
    import docker

    name = f"{container.name}{SIDECAR_SUFFIX}"
    try:
        client.api.remove_container(name, force=True)  # a leftover of an interrupted run
    except docker.errors.NotFound:
        pass
    arguments = []
    for key, url in zip(pairs[::2], pairs[1::2], strict=True):
        parts = urlsplit(url)
        arguments += [key, url, parts.hostname or "", str(parts.port or (443 if parts.scheme == "https" else 80))]
    sidecar = client.containers.create(
        image, ["sh", "-c", _SIDECAR_SCRIPT, "probe", mode, *arguments], name=name,
        network_mode=f"container:{container.id}", labels={LABEL_MANAGED: "true"},
    )
    try:
        sidecar.start()
        sidecar.wait(timeout=PROBE_TIMEOUT_S * 2 + 10)
        output = sidecar.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        sidecar.remove(force=True)
    return parse_sidecar(output, dict(zip(pairs[::2], pairs[1::2], strict=True)))


def parse_sidecar(output: str, urls: dict[str, str]) -> dict[str, Probe]:
    """The sidecar's marked output as one Probe per key (pure: unit-tested)."""
    results: dict[str, Probe] = {}
    current: str | None = None
    body: list[str] = []
    errors: list[str] = []
    target = body
    for line in output.splitlines():
        if line.startswith("@@begin "):
            current, body, errors = line[8:], [], []
            target = body
        elif line == "@@stderr":
            target = errors
        elif line.startswith("@@end ") and current is not None:
            code = line.rsplit(" ", 1)[-1]
            results[current] = _wget_probe(urls.get(current, ""), code, "\n".join(body), errors)
            current = None
        else:
            target.append(line)
    return results


def _wget_probe(url: str, code: str, body: str, errors: list[str]) -> Probe:
    problems = [line.removeprefix("wget: ") for line in errors if line.strip() and not line.startswith("note:")]
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
    if code == "0":
        return Probe(url, 200, body=parsed)
    for problem in problems:
        if "server returned error: HTTP/" in problem:
            words = problem.split("HTTP/", 1)[1].split()
            if len(words) > 1 and words[1].isdigit():
                return Probe(url, int(words[1]), body=parsed)
    if code.isdigit() and int(code) > 128:
        return Probe(url, error="; ".join(problems) or f"wget crashed (signal {int(code) - 128}) after connecting")
    return Probe(url, error="; ".join(problems) or f"wget exited {code}")


def sidecar(
    client: DockerClient, container: Container, base: str, api: str, *, cadata: str | None = None, addresses: dict[str, str] | None = None
) -> ProbeSet | None:
    """Probe from a sidecar in the container's network namespace; None when it cannot run.

    Over HTTP the sidecar fetches everything itself. busybox cannot be trusted with HTTPS
    (it verifies no certificate, and its TLS fails with many servers), so for HTTPS the sidecar
    proves the connection from inside (name resolution, routes, firewall) and this host then
    fetches the answers with the container's CA bundle, connecting where its /etc/hosts says.
    """
    image = probe_image(client)
    if image is None:
        return None
    discovery_url, version_url = f"{base}/.well-known/openid-configuration", f"{api}version"
    method = "a sidecar in the container's network namespace (its /etc/hosts and resolver)"
    if base.startswith("https://"):
        reached = _run_sidecar(client, image, container, "tcp", "discovery", discovery_url, "version", version_url)
        inside = {key: reached.get(key) or Probe(url, error="no answer from the sidecar") for key, url in (("discovery", discovery_url), ("version", version_url))}
        content = from_host(base, api, None, cadata=cadata, addresses=addresses)
        return ProbeSet(
            f"{method} for the connection, then HTTPS from this host with the container's CA bundle and /etc/hosts",
            inside["discovery"] if inside["discovery"].error else content.discovery,
            content.jwks if not inside["discovery"].error else Probe(""),
            inside["version"] if inside["version"].error else content.version,
        )
    first = _run_sidecar(client, image, container, "http", "discovery", discovery_url, "version", version_url)
    discovery = first.get("discovery") or Probe(discovery_url, error="no answer from the sidecar")
    jwks_uri = discovery.body.get("jwks_uri") if isinstance(discovery.body, dict) else None
    if isinstance(jwks_uri, str) and jwks_uri:
        jwks = _run_sidecar(client, image, container, "http", "jwks", jwks_uri).get("jwks") or Probe(jwks_uri, error="no answer from the sidecar")
        if isinstance(jwks.body, dict) and isinstance(jwks.body.get("keys"), list):
            jwks = Probe(jwks.url, jwks.status, jwks.error, {"keys": len(jwks.body["keys"])})
    else:
        jwks = Probe("", error="no jwks_uri in the discovery answer")
    return ProbeSet(method, discovery, jwks, first.get("version") or Probe(version_url, error="no answer from the sidecar"))


# --- from this host -------------------------------------------------------------------------------


def from_host(
    base: str, api: str, ca_bundle: Path | None, *, cadata: str | None = None, addresses: dict[str, str] | None = None
) -> ProbeSet:
    """The same requests from this host, trusting only the bundle when given (a file, or the
    PEM text of the container's), connecting where `addresses` (the container's /etc/hosts) say."""

    def get(call: Any, url: str) -> Probe:
        try:
            status, body = call()
        except GitLabError as error:
            return Probe(url, error=error.message)
        if isinstance(body, dict) and isinstance(body.get("keys"), list):
            body = {"keys": len(body["keys"])}
        return Probe(url, status, body=body)

    try:
        client = GitLabClient(base, api_url=api, ca_bundle=ca_bundle, timeout=PROBE_TIMEOUT_S, cadata=cadata, addresses=addresses)
    except GitLabError as error:
        failed = Probe(base, error=error.message)
        return ProbeSet("this host", failed, failed, failed)
    with client:
        discovery = get(client.oidc_discovery, f"{base}/.well-known/openid-configuration")
        jwks_uri = discovery.body.get("jwks_uri") if isinstance(discovery.body, dict) else None
        jwks = get(lambda: client.jwks(jwks_uri), jwks_uri) if isinstance(jwks_uri, str) else Probe("", error="no jwks_uri in the discovery answer")
        version = get(lambda: client.version(with_token=False), f"{api}version")
    return ProbeSet(
        "this host (the image has no Python with requests and no sidecar could run)",
        discovery, jwks, version,
        "names resolve through the container's /etc/hosts where it lists them, else through this host's resolver"
        if addresses else "name resolution is this host's, not the container's",
    )
