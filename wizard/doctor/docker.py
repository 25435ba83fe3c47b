"""The doctor for the Docker target: what runs, what it answers, what it reaches, what it logged.

Read-only: finds the container by the name and labels the engine gives it
(`wizard.core.spec.container_spec`), never changes it. Variable values are never shown:
findings name variables only.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.core.profile import GATEWAY_CONTAINER_PORT, Profile
from wizard.core.spec import LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_PROFILE, container_spec
from wizard.doctor import grpc_health, probe, signatures
from wizard.doctor.fields import AGENT_PLATFORM_PORT as AGENT_CONTAINER_PORT
from wizard.doctor.fields import ProfileFacts, facts
from wizard.doctor.findings import Finding
from wizard.install.docker.container import published_host_ports
from wizard.tools.gitlab import is_written_loopback, shown
from wizard.tools.health import get as loopback_get

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

LOG_TAIL = 500
HTTP_TIMEOUT = 3.0
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\s+[A-Za-z0-9+/=\s]+-----END \1-----")
_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
KEY_VARIABLES = ("AIGW_SELF_SIGNED_JWT__SIGNING_KEY", "AIGW_SELF_SIGNED_JWT__VALIDATION_KEY")
AGENT_KEY_VARIABLES = ("DUO_WORKFLOW_SELF_SIGNED_JWT__SIGNING_KEY", "DUO_WORKFLOW_SELF_SIGNED_JWT__VALIDATION_KEY")
PORTAL_VARIABLES = ("AIGW_CUSTOMER_PORTAL_URL", "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL")
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
PUBLIC_STORES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def diagnose(profile: Profile, name: str, client: DockerClient | None = None) -> list[Finding]:
    """Every Docker-side finding for the installed gateway of profile `name`."""
    import docker
    import requests

    own = client is None
    try:
        engine = client or docker.from_env(timeout=30)
        engine.ping()
    except Exception as error:  # noqa: BLE001 - the SDK raises requests' and its own errors
        return [Finding("engine", "fail", "Docker engine", f"cannot reach the Docker engine: {shown(error)}", "start Docker (`sudo systemctl start docker`) or set DOCKER_HOST")]
    try:
        return _diagnose(engine, profile, name)
    except (docker.errors.DockerException, requests.RequestException) as error:
        return [Finding("engine", "fail", "Docker engine", f"the Docker engine reported an error: {shown(getattr(error, 'explanation', None) or error)}",
                        f"check the engine (`docker info`), then run `aigw-wizard doctor {name}` again")]
    finally:
        if own:
            engine.close()


def _diagnose(client: DockerClient, profile: Profile, name: str) -> list[Finding]:
    import docker

    spec = container_spec(profile, name)
    try:
        container = client.containers.get(spec.name)
    except docker.errors.NotFound:
        return [Finding("container.found", "fail", "Gateway container", f"no container named {spec.name}", f"install it: `aigw-wizard apply {name}`", "docker.container_name")]
    labels = container.labels
    if container.name != spec.name or labels.get(LABEL_MANAGED) != "true" or labels.get(LABEL_PROFILE) != name:
        owner = labels.get(LABEL_PROFILE) or "no aigw-wizard profile"
        return [Finding("container.found", "fail", "Gateway container", f"{spec.name} belongs to {shown(owner)}, not to profile {name}", "set docker.container_name to this profile's container, or use the owning profile", "docker.container_name")]
    known = facts(profile)
    attrs = container.attrs
    environment = dict(pair.partition("=")[::2] for pair in attrs["Config"].get("Env") or [])
    found = [_state(container, name), _image(container, spec.image, spec.config_hash(), name)]
    found += _ports(attrs, profile, known, name)
    running = container.status == "running"
    if running:
        found += _http(profile.gateway.port, name)
        if known.agent_platform:
            found.append(_agent_port(known.agent_platform_port, environment))
    found += _keys(environment, known, name)
    found += _portal(environment, profile, known, name)
    found += _ca(container, environment, profile, name)
    if running:
        found += _reach(client, container, environment, profile, name)
    found += _logs(container, profile, name)
    return found


# --- what runs ----------------------------------------------------------------------------------


def _state(container: Container, name: str) -> Finding:
    state = container.attrs["State"]
    restarts = int(container.attrs.get("RestartCount", 0))
    if state.get("Restarting") or container.status == "restarting":
        return Finding("container.running", "fail", "Gateway container", f"{container.name} is restarting (restarted {restarts} times; last exit code {state.get('ExitCode')})", f"read why: `docker logs --tail 50 {container.name}` (the log findings below name known causes)")
    if container.status != "running":
        return Finding("container.running", "fail", "Gateway container", f"{container.name} is {container.status} (exit code {state.get('ExitCode')})", f"`aigw-wizard apply {name}` starts it again; `docker logs --tail 50 {container.name}` says why it stopped")
    if restarts:
        return Finding("container.running", "warn", "Gateway container", f"{container.name} is running but has restarted {restarts} times", f"`docker logs --tail 50 {container.name}` says why")
    return Finding("container.running", "pass", "Gateway container", f"{container.name} is running, no restarts")


def _image(container: Container, image: str, config_hash: str, name: str) -> Finding:
    running = str(container.attrs["Config"].get("Image", ""))
    if running != image:
        return Finding("container.image", "warn", "Gateway image", f"runs {shown(running)}, the profile says {image}", f"`aigw-wizard apply {name}` replaces it (with rollback)", "gateway.tag")
    if container.labels.get(LABEL_CONFIG_HASH) != config_hash:
        return Finding("container.image", "warn", "Gateway image", f"runs {image}, but its settings differ from the profile's", f"`aigw-wizard status {name}` shows the drift; `aigw-wizard apply {name}` fixes it")
    return Finding("container.image", "pass", "Gateway image", image)


def _ports(attrs: dict[str, Any], profile: Profile, known: ProfileFacts, name: str) -> list[Finding]:
    if attrs["HostConfig"].get("NetworkMode") == "host":
        return [Finding("container.ports", "warn", "Published ports", "the container uses host networking: nothing is published and it listens on the host's ports directly (apply publishes ports instead)", f"`aigw-wizard apply {name}` recreates it as the profile says", "gateway.port")]

    found = []
    gateway = published_host_ports(attrs, GATEWAY_CONTAINER_PORT)
    if str(profile.gateway.port) in gateway:
        found.append(Finding("container.ports", "pass", "Published ports", f"{GATEWAY_CONTAINER_PORT}/tcp on host port {profile.gateway.port}"))
    else:
        found.append(Finding("container.ports", "fail", "Published ports", f"{GATEWAY_CONTAINER_PORT}/tcp is published on {', '.join(gateway) or 'no host port'}, the profile says {profile.gateway.port}", f"`aigw-wizard apply {name}` recreates the container with the profile's port", "gateway.port"))
    if known.agent_platform:
        agent = published_host_ports(attrs, AGENT_CONTAINER_PORT)
        if str(known.agent_platform_port) not in agent:
            found.append(Finding("container.agent-port", "fail", "Agent Platform port", f"{AGENT_CONTAINER_PORT}/tcp is published on {', '.join(agent) or 'no host port'}: GitLab cannot reach the Duo Agent Platform at port {known.agent_platform_port}", f"publish it: `aigw-wizard apply {name}` with a wizard release that publishes gateway.agent_platform_port", "gateway.agent_platform_port"))
    return found


def _http(port: int, name: str) -> list[Finding]:
    base = f"http://127.0.0.1:{port}"

    def status(path: str) -> int | str:
        try:
            return loopback_get(f"{base}{path}", HTTP_TIMEOUT)[0]
        except (OSError, http.client.HTTPException) as error:
            return shown(getattr(error, "reason", None) or error)

    health = status("/monitoring/healthz")
    root = status("/")
    found = []
    if health == 200:
        found.append(Finding("gateway.healthz", "pass", "Health endpoint", f"{base}/monitoring/healthz answers 200"))
    else:
        found.append(Finding("gateway.healthz", "fail", "Health endpoint", f"{base}/monitoring/healthz answers {health}", "the gateway is not serving: see the container findings and its log", "gateway.port"))
    if root == 401:
        found.append(Finding("gateway.auth", "pass", "Authentication", f"{base}/ answers 401: the gateway is up and enforcing authentication"))
    elif root == 200:
        found.append(Finding("gateway.auth", "warn", "Authentication", f"{base}/ answers 200 without a token: authentication is bypassed", f"turn gateway.auth_bypass off, then `aigw-wizard apply {name}`", "gateway.auth_bypass"))
    else:
        found.append(Finding("gateway.auth", "fail", "Authentication", f"{base}/ answers {root}, not 401", "the gateway is not serving its API: see its log", "gateway.port"))
    return found


def _agent_port(port: int, environment: dict[str, str]) -> Finding:
    tls = environment.get("DUO_WORKFLOW_TLS__ENABLED", "").lower() == "true"
    try:
        if tls:  # gRPC over TLS: the handshake is not written here, a connection must do
            with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT):
                pass
            return Finding("gateway.agent-platform", "pass", "Duo Agent Platform", f"127.0.0.1:{port} accepts connections (gRPC over TLS: health not asked)")
        health = grpc_health.check("127.0.0.1", port, HTTP_TIMEOUT, raise_on_connect=True)
    except OSError as error:
        return Finding("gateway.agent-platform", "fail", "Duo Agent Platform", f"nothing answers on 127.0.0.1:{port} ({shown(error.strerror or error)})", "the Agent Platform service is down: see the log findings (keys, customer portal)", "gateway.agent_platform_port")
    if health.serving:
        return Finding("gateway.agent-platform", "pass", "Duo Agent Platform", f"127.0.0.1:{port}: gRPC health SERVING")
    if health.status:
        return Finding("gateway.agent-platform", "fail", "Duo Agent Platform", f"127.0.0.1:{port}: gRPC health {shown(health.status)}", "the Agent Platform runs but is not serving: see the log findings (keys, customer portal)")
    return Finding("gateway.agent-platform", "warn", "Duo Agent Platform", f"127.0.0.1:{port} accepts connections but gave no gRPC health answer ({shown(health.problem)})", "check that gateway.agent_platform_port is the Agent Platform's port (50052 in the container)", "gateway.agent_platform_port")


# --- its environment (names only, never values) -------------------------------------------------


def _keys(environment: dict[str, str], known: ProfileFacts, name: str) -> list[Finding]:
    wanted = KEY_VARIABLES + (AGENT_KEY_VARIABLES if known.agent_platform else ())
    missing = [variable for variable in wanted if variable not in environment]
    not_pem = [variable for variable in wanted if variable in environment and not PEM_BLOCK.search(environment[variable])]
    remedy = f"`aigw-wizard keys {name} --rotate`, then `aigw-wizard apply {name}`"
    if not_pem:
        return [Finding("env.keys", "fail", "JWT keys", f"{', '.join(not_pem)} {'is' if len(not_pem) == 1 else 'are'} empty or not PEM (the gateway fails with JWKError)", remedy)]
    if missing:
        return [Finding("env.keys", "warn", "JWT keys", f"not set: {', '.join(missing)} (required from 19.x, for Duo Chat and the Agent Platform)", remedy)]
    return [Finding("env.keys", "pass", "JWT keys", f"{', '.join(wanted)}: set, PEM")]


def _portal(environment: dict[str, str], profile: Profile, known: ProfileFacts, name: str) -> list[Finding]:
    values = {variable: environment.get(variable) for variable in PORTAL_VARIABLES}
    empty = [variable for variable, value in values.items() if value is not None and not value.strip()]
    if empty:
        return [Finding("env.portal", "fail", "Customer portal", f"{', '.join(empty)} is set but empty: the Agent Platform crashes at start", "point it at gitlab.url (offline licence) or leave it unset", "gitlab.offline_license")]
    if known.offline_license:
        wrong = [variable for variable, value in values.items() if (value or "").rstrip("/") != profile.gitlab.url.rstrip("/")]
        if wrong:
            return [Finding("env.portal", "fail", "Customer portal", f"offline licence, but {', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not point at gitlab.url: every request waits ~20 s on customers.gitlab.com", f"`aigw-wizard apply {name}` sets both to gitlab.url", "gitlab.offline_license")]
        return [Finding("env.portal", "pass", "Customer portal", "both portal variables point at gitlab.url (offline licence)")]
    if any(values.values()):
        return [Finding("env.portal", "warn", "Customer portal", f"{', '.join(v for v, value in values.items() if value)} set without an offline licence in the profile", "set gitlab.offline_license if the licence is offline", "gitlab.offline_license")]
    return [Finding("env.portal", "pass", "Customer portal", "not overridden (online licence)")]


def _read_in(container: Container, path: str, limit: int = 4 * 2**20) -> bytes | None:
    """A file from the container's filesystem (no shell needed); None if absent or unreadable."""
    try:
        stream, info = container.get_archive(path)
        if int(info.get("size", 0)) > limit:
            return None
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            handle = tar.extractfile(member) if member else None
            return handle.read() if handle else None
    except Exception:  # noqa: BLE001 - NotFound, a dangling link, a broken tar
        return None


def _public_roots() -> set[bytes]:
    for store in PUBLIC_STORES:
        try:
            return {_normal(block) for block in _CERT.findall(Path(store).read_bytes())}
        except OSError:
            continue
    try:
        import certifi

        return {_normal(block) for block in _CERT.findall(Path(certifi.where()).read_bytes())}
    except (ImportError, OSError):
        return set()


def _normal(block: bytes) -> bytes:
    return b"".join(block.split())


def _ca(container: Container, environment: dict[str, str], profile: Profile, name: str) -> list[Finding]:
    set_vars = {variable: environment[variable] for variable in CA_VARIABLES if environment.get(variable)}
    if not set_vars:
        if profile.gateway.ca_bundle:
            return [Finding("env.ca", "fail", "CA bundle", "gateway.ca_bundle is set but the container has neither SSL_CERT_FILE nor REQUESTS_CA_BUNDLE", f"`aigw-wizard apply {name}` recreates it with the bundle", "gateway.ca_bundle")]
        return [Finding("env.ca", "pass", "CA bundle", "no private CA configured: the image's public roots are used")]
    if len(set(set_vars.values())) > 1:
        return [Finding("env.ca", "warn", "CA bundle", "SSL_CERT_FILE and REQUESTS_CA_BUNDLE name different files", f"`aigw-wizard apply {name}` sets both to the mounted gateway.ca_bundle", "gateway.ca_bundle")]
    path = next(iter(set_vars.values()))
    data = _read_in(container, path)
    names = " and ".join(set_vars)
    if data is None:
        return [Finding("env.ca", "fail", "CA bundle", f"{names} name {shown(path)}, which the container cannot read", f"check that gateway.ca_bundle exists and is readable, then `aigw-wizard apply {name}`", "gateway.ca_bundle")]
    blocks = {_normal(block) for block in _CERT.findall(data)}
    if not blocks:
        return [Finding("env.ca", "fail", "CA bundle", f"{shown(path)} holds no PEM certificate", "make gateway.ca_bundle a PEM file of CA certificates", "gateway.ca_bundle")]
    public = _public_roots()
    has_public, private = bool(blocks & public), len(blocks - public)
    if not has_public and public:
        return [Finding("env.ca", "fail", "CA bundle", f"{shown(path)} holds {len(blocks)} certificate(s) but no public root: REQUESTS_CA_BUNDLE replaces the public list, so HTTPS to public model providers fails", "`cat /etc/ssl/certs/ca-certificates.crt gitlab-ca.pem > ca-bundle.pem` and point gateway.ca_bundle at it", "gateway.ca_bundle")]
    if not private and profile.gitlab.url.startswith("https"):
        return [Finding("env.ca", "warn", "CA bundle", f"{shown(path)} holds only public roots: GitLab's private CA is not in it", "append GitLab's CA certificate to gateway.ca_bundle (if GitLab's certificate is from a private CA)", "gateway.ca_bundle")]
    return [Finding("env.ca", "pass", "CA bundle", f"{names} → {shown(path)}: readable, public roots and {private} private CA certificate(s)")]


# --- what it reaches ------------------------------------------------------------------------------


def _reach(client: DockerClient, container: Container, environment: dict[str, str], profile: Profile, name: str) -> list[Finding]:
    base = (environment.get("AIGW_GITLAB_URL") or profile.gitlab.url).rstrip("/")
    api = environment.get("AIGW_GITLAB_API_URL") or f"{base}/api/v4/"
    if not base:
        return [Finding("reach.gitlab", "fail", "GitLab from the gateway", "AIGW_GITLAB_URL is not set in the container", f"`aigw-wizard apply {name}`", "gitlab.url")]
    probes = probe.python_in_container(container, base, api)
    if probes is not None:
        return reach_findings(probes, profile, name)
    bundle_path = next((environment[v] for v in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE") if environment.get(v)), "")
    bundle = _read_in(container, bundle_path) if bundle_path else None
    cadata = bundle.decode("ascii", "replace") if bundle and _CERT.search(bundle) else None
    addresses = _container_hosts(container)
    notes = []
    try:
        probes = probe.sidecar(client, container, base, api, cadata=cadata, addresses=addresses)
    except Exception as error:  # noqa: BLE001 - the sidecar is best effort
        notes.append(f"the sidecar could not run ({shown(error)})")
    if probes is None:
        notes.append("the image has no Python with requests and no sidecar could run (no static busybox on this host)")
        probes = probe.from_host(base, api, None, cadata=cadata, addresses=addresses)
    return reach_findings(probes, profile, name, notes)


def _container_hosts(container: Container) -> dict[str, str]:
    """Name → address from the container's /etc/hosts (its extra hosts among them)."""
    data = _read_in(container, "/etc/hosts", 2**20) or b""
    hosts: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        words = line.split("#", 1)[0].split()
        for alias in words[1:]:
            hosts.setdefault(alias.lower(), words[0])
    return hosts


def reach_findings(probes: probe.ProbeSet, profile: Profile, name: str, notes: list[str] | None = None) -> list[Finding]:
    """Judge the three probes (pure: unit-tested). The first finding says how they were made."""
    inside = not probes.method.startswith("this host")
    how = "; ".join([f"probed from {probes.method}", *(notes or []), *([probes.caveat] if probes.caveat else [])])
    found = [Finding("reach.method", "pass" if inside else "warn", "How GitLab was probed", how,
                     "" if inside else "run `aigw-wizard doctor` on the gateway's host with busybox-static installed, for a probe from inside")]

    def failure(check: str, title: str, item: probe.Probe, what: str) -> Finding:
        said = shown(item.error) if item.error else f"HTTP {item.status}"
        cause, remedy, field = _reach_cause(item, profile, name)
        where = "the container" if inside else "this host"
        return Finding(check, "fail", title, f"{where} cannot get {what} at {shown(item.url)}: {said} — {cause}", remedy, field)

    discovery = probes.discovery
    if discovery.status == 200 and isinstance(discovery.body, dict) and discovery.body.get("jwks_uri"):
        found.append(Finding("reach.discovery", "pass", "OIDC discovery from the gateway", f"{shown(discovery.url)} answers, issuer {shown(discovery.body.get('issuer', '?'))}"))
    else:
        found.append(failure("reach.discovery", "OIDC discovery from the gateway", discovery, "GitLab's OIDC discovery"))
    jwks = probes.jwks
    if jwks.status == 200 and isinstance(jwks.body, dict) and int(jwks.body.get("keys") or 0) > 0:
        found.append(Finding("reach.jwks", "pass", "GitLab's signing keys", f"{shown(jwks.url)}: {jwks.body['keys']} key(s)"))
    elif jwks.status == 200:
        found.append(Finding("reach.jwks", "fail", "GitLab's signing keys", f"{shown(jwks.url)} answers but lists no keys: no token can be verified", "GitLab serves no OpenID signing key: its administrator must fix GitLab (the gateway cannot)", "gitlab.url"))
    elif jwks.url or discovery.status == 200:
        found.append(failure("reach.jwks", "GitLab's signing keys", jwks, "the JWKS"))
    version = probes.version
    if version.status in (200, 401):
        found.append(Finding("reach.api", "pass", "GitLab API from the gateway", f"{shown(version.url)} answers {version.status}"))
    else:
        found.append(failure("reach.api", "GitLab API from the gateway", version, "GitLab's API"))
    return found


_CERTIFICATE = ("certificate", "ssl", "tls")
_NAME = ("bad address", "name or service not known", "nameresolution", "name resolution", "nodename nor servname", "getaddrinfo")
_REFUSED = ("refused",)
_SLOW = ("timed out", "timeout")


def _reach_cause(item: probe.Probe, profile: Profile, name: str) -> tuple[str, str, str]:
    """(cause, remedy, field) for one failed probe, by what the failure said."""
    said = item.error.lower()
    host = urlsplit(item.url).hostname or "GitLab's host"
    apply = f"then `aigw-wizard apply {name}`"
    helm = profile.target == "helm"
    if any(word in said for word in _CERTIFICATE):
        return ("GitLab's certificate is not trusted inside the container",
                f"put the public roots and GitLab's CA in one PEM file and set gateway.ca_bundle to it, {apply}", "gateway.ca_bundle")
    if any(word in said for word in _NAME):
        if helm:
            return (f"{host} does not resolve inside the pod", f"make the cluster's DNS resolve {host}, or use an address in gitlab.url, {apply}", "gitlab.url")
        return (f"{host} does not resolve inside the container",
                f"add {host} with GitLab's address to docker.extra_hosts, {apply}", "docker.extra_hosts")
    if any(word in said for word in _REFUSED):
        loopback = is_written_loopback(host)
        if loopback:
            return (f"{host} is loopback: inside a container (without host networking) that is the container itself, and nothing listens there", f"set gitlab.url to an address of GitLab that containers reach, {apply}", "gitlab.url")
        field = "gitlab.url" if helm else "docker.extra_hosts"
        return (f"nothing listens there as the container sees {host}",
                f"check the port in gitlab.url, and that {host} resolves to GitLab inside the container ({field}), {apply}", field)
    if any(word in said for word in _SLOW):
        return ("no answer in time: a firewall or a proxy is in the way",
                f"open the way from the gateway's host to GitLab, or set HTTPS_PROXY/NO_PROXY in gateway.extra_env, {apply}", "gateway.extra_env")
    if item.status is not None:
        return (f"something answers, but not with GitLab's {'discovery' if 'well-known' in item.url else 'answer'}",
                f"check gitlab.url (GitLab's base URL, without a path: a relative URL root breaks discovery), {apply}", "gitlab.url")
    fields, main_field = signatures.reach_fields(profile.target)
    return ("GitLab is unreachable from the container", f"make GitLab reachable from the container ({fields}), {apply}", main_field)


# --- what it logged -------------------------------------------------------------------------------


def _logs(container: Container, profile: Profile, name: str) -> list[Finding]:
    raw = container.logs(stdout=True, stderr=True, tail=LOG_TAIL)
    lines = raw.decode("utf-8", "replace").splitlines()
    hits = signatures.scan(lines)
    if not hits:
        return [Finding("log.signatures", "pass", "Gateway log", f"no known error in the last {len(lines)} lines")]
    return signatures.findings_for(hits, name, profile.target, f"the container {container.name}")

