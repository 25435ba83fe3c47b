"""Checks that depend on what the profile's gateway release needs (wizard.core.release).

The release's own facts (ports, CPUs, TLS, keys) decide what is checked; these checks
never test versions themselves. Importing this module registers nothing (so the checks
that run today do not change under anyone's feet): `register()` does, once the engine
wiring calls it (`host.cpus` and `host.arch` are then superseded by `gateway.cpus` and
`gateway.platform`). Each check is a plain function of a `CheckContext`.

Test overrides (`context.overrides`): "host.cpus", "host.machine" (as host.py),
"hosts.file" (a path read instead of /etc/hosts), "tags.resolution" (a TagResolution),
"image.platforms" (a Platforms).
"""

from __future__ import annotations

import errno
import ipaddress
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.checks.base import REGISTRY, CheckContext, Outcome, check, plain_error
from wizard.checks.host import CPUS_KEY, MACHINE_KEY, usable_cpus
from wizard.checks.network import bind_problem
from wizard.core.text import clean

HOSTS_FILE_KEY = "hosts.file"
RESOLUTION_KEY = "tags.resolution"
PLATFORMS_KEY = "image.platforms"
TAG_TIMEOUT = 8.0
_PENDING: list[tuple[str, str, dict[str, Any], Callable[[CheckContext], Outcome]]] = []

if TYPE_CHECKING:
    from wizard.tools.tags import TagResolution


def _later(check_id: str, title: str, **options: Any) -> Callable[[Callable[[CheckContext], Outcome]], Callable[[CheckContext], Outcome]]:
    def keep(function: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
        _PENDING.append((check_id, title, options, function))
        return function

    return keep


def register() -> None:
    """Add these checks to the registry (idempotent)."""
    for check_id, title, options, function in _PENDING:
        if check_id not in REGISTRY:
            check(check_id, title, **options)(function)


_MACHINE_TO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "x64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@_later("gateway.release", "Gateway release", timeout=0.5, field="gitlab.version")
def release(context: CheckContext) -> Outcome:
    found = context.profile.release
    if found is None:
        return Outcome("fail", "no gateway release known: set gitlab.version (or gateway.tag)", "set gitlab.version to GitLab's X.Y.Z")
    needs = ["HTTP on 5052"]
    if found.agent_platform:
        needs.append("the Duo Agent Platform on 50052")
    if found.key_variables:
        needs.append(f"{len(found.key_variables)} JWT keys (made by the wizard)")
    if found.native_tls:
        needs.append("native TLS when tls.cert/key are set")
    detail = f"gateway {found.version} (from {found.source}): " + ", ".join(needs)
    if found.warning:
        return Outcome("warn", f"{detail}; {found.warning}", "check gitlab.version and gateway.tag")
    return Outcome("pass", detail)


@_later("gateway.tag", "Image tag", timeout=TAG_TIMEOUT, field="gateway.tag")
def tag(context: CheckContext) -> Outcome:
    resolution = context.overrides.get(RESOLUTION_KEY)
    if resolution is None:
        resolution = _resolve(context)
    if not resolution.tag:
        return Outcome("fail", resolution.warning or "no image tag", "set gitlab.version or gateway.tag")
    upgrade = f"; {resolution.newer_available} is available" if resolution.newer_available else ""
    where = {"pinned": "pinned in the profile", "exact": "the exact tag for gitlab.version"}.get(
        resolution.source, f"newest of its line in the {resolution.source}"
    )
    detail = f"{resolution.tag} ({where}){upgrade}"
    if resolution.warning:
        return Outcome("warn", f"{detail}: {resolution.warning}", "push or load the image, or pin gateway.tag")
    return Outcome("pass", detail)


def _resolve(context: CheckContext) -> TagResolution:
    from wizard.checks.docker import engine_client
    from wizard.tools import tags

    profile = context.profile
    try:
        with engine_client(context, 2.0) as client:
            engine_tags = tags.engine_lister(client)(profile.image_repository)
    except Exception:  # no engine: docker.engine says why; the registry may still answer
        engine_tags = None
    return tags.resolve_tag(
        profile,
        engine=(lambda _repo: engine_tags) if engine_tags is not None else None,
        registry=None if profile.gateway.image_archive else tags.registry_lister(),
        check_newer=bool(profile.gateway.tag),
    )


@_later("gateway.agent_platform_port", "Agent Platform port is free", targets=("docker",), timeout=1.0, field="gateway.agent_platform_port")
def agent_platform_port(context: CheckContext) -> Outcome:
    found = context.profile.release
    if found is None or not found.agent_platform:
        return Outcome("skip", "this gateway release has no Duo Agent Platform service")
    number = context.profile.gateway.agent_platform_port
    if number == context.profile.gateway.port:
        return Outcome("fail", f"port {number} is also gateway.port", "give the Agent Platform its own port (50052)")
    problem = bind_problem(number)
    if problem is None:
        return Outcome("pass", f"port {number} is free")
    if problem.errno == errno.EACCES:
        return Outcome("warn", f"port {number} is privileged: this user cannot tell whether it is free", "use a port above 1023")
    return Outcome(
        "fail",
        f"port {number} is already in use ({plain_error(problem)})",
        f"set gateway.agent_platform_port to a free port, or stop what listens on {number} "
        f"(`ss -ltnp 'sport = :{number}'`; it may be this profile's running gateway, replaced on apply)",
    )


@_later("gateway.cpus", "CPUs for the gateway's services", targets=("docker",), timeout=1.0)
def cpus(context: CheckContext) -> Outcome:
    found = context.profile.release
    needed = found.min_cpus if found else 1
    value = context.overrides.get(CPUS_KEY)
    count = int(usable_cpus() if value is None else value)
    if count < needed:
        return Outcome(
            "fail",
            f"{count} CPU available; gateway {found.version if found else ''} runs two services and needs {needed}",
            f"give this host (or VM) at least {needed} CPUs",
        )
    return Outcome("pass", f"{count} CPUs (the release needs {needed})")


@_later("gateway.platform", "Image built for this host", targets=("docker",), timeout=TAG_TIMEOUT, field="gateway.variant")
def image_platform(context: CheckContext) -> Outcome:
    value = context.overrides.get(MACHINE_KEY)
    machine = str(platform.machine() if value is None else value)
    arch = _MACHINE_TO_ARCH.get(machine.lower(), machine.lower())
    platforms = context.overrides.get(PLATFORMS_KEY)
    if platforms is None:
        from wizard.tools import registry as registry_tools
        from wizard.tools import tags

        profile = context.profile
        client = None if profile.gateway.image_archive else registry_tools.RegistryClient.for_repository(profile.image_repository)
        platforms = tags.image_platforms(profile, profile.image_tag, registry=client)
    if not platforms.platforms:
        return Outcome("warn", f"cannot tell which platforms the image has ({clean(platforms.detail)})", "")
    shown = ", ".join(sorted(str(p) for p in platforms.platforms))
    if arch in platforms.architectures:
        return Outcome("pass", f"this host is linux/{arch}; the image has {shown}")
    fips = " (FIPS images are amd64 only)" if context.profile.gateway.variant == "fips" else ""
    return Outcome(
        "fail",
        f"this host is {machine}, but {context.profile.image_ref} is built for {shown} only{fips}",
        "install on a host of a listed architecture, or use a tag that has this one",
    )


def hosts_file_entries(path: Path) -> dict[str, str]:
    """Name → first address in a hosts file (comments and malformed lines skipped)."""
    entries: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:1024 * 1024]
    except OSError:
        return entries
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(fields[0]))
        except ValueError:
            continue
        for name in fields[1:]:
            entries.setdefault(name.lower().rstrip("."), address)
    return entries


@_later("docker.extra_hosts", "GitLab's name inside the container", targets=("docker",), timeout=0.5, field="docker.extra_hosts")
def extra_hosts(context: CheckContext) -> Outcome:
    host = (urlsplit(context.profile.gitlab.url).hostname or "").lower()
    if not host:
        return Outcome("skip", "gitlab.url is not set")
    try:
        ipaddress.ip_address(host)
        return Outcome("pass", f"GitLab is addressed by IP ({host}): nothing to resolve")
    except ValueError:
        pass
    configured = context.profile.docker.extra_hosts
    if host in configured:
        return Outcome("pass", f"{host} → {configured[host]} is passed to the container (--add-host)")
    path = Path(str(context.overrides.get(HOSTS_FILE_KEY, "/etc/hosts")))
    address = hosts_file_entries(path).get(host)
    if address is None:
        return Outcome("pass", f"{host} is not in {path}: the container resolves it through DNS like this host")
    if ipaddress.ip_address(address).is_loopback:
        return Outcome(
            "warn",
            f"{host} resolves here through {path} to {address}, a loopback address: inside the container that is the container",
            f'add docker.extra_hosts = {{ "{host}" = "<GitLab\'s network address>" }}',
        )
    return Outcome(
        "warn",
        f"{host} resolves here through {path} ({address}); the container does not see this host's {path}",
        f'add docker.extra_hosts = {{ "{host}" = "{address}" }}',
    )


@_later("tls.native", "TLS on the gateway itself", targets=("docker",), timeout=0.5, field="tls.cert")
def native_tls(context: CheckContext) -> Outcome:
    profile = context.profile
    found = profile.release
    if not (profile.tls.cert or profile.tls.key):
        return Outcome("pass", "plain HTTP (no tls.cert/key): terminate TLS in a proxy if GitLab needs HTTPS")
    if found is not None and found.native_tls:
        return Outcome("pass", f"gateway {found.version} serves HTTPS itself on both ports with tls.cert/key")
    version = found.version if found else "of this profile"
    return Outcome(
        "warn",
        f"gateway {version} serves plain HTTP only: tls.cert/key are not used with Docker",
        "terminate TLS in a reverse proxy in front of the gateway, or clear tls.cert/key (19.1+ serves HTTPS itself)",
    )
