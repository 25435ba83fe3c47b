"""Checks that depend on what the profile's gateway release needs (wizard.core.release).

The release's own facts (ports, CPUs, TLS, keys) decide what is checked; these checks
never test versions themselves. Importing this module registers nothing (so the checks
that run today do not change under anyone's feet): `register()` does, once the engine
wiring calls it (`host.cpus` and `host.arch` are then superseded by `gateway.cpus` and
`gateway.platform`). Each check is a plain function of a `CheckContext`.

Test overrides (`context.overrides`): "host.cpus", "host.machine" (as host.py),
"hosts.file" (a path read instead of /etc/hosts), "tags.resolution" (a TagResolution),
"image.platforms" (a Platforms), "kube.node_architectures" (node name → arch, Helm).
"""

from __future__ import annotations

import ipaddress
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.checks.base import REGISTRY, CheckContext, Outcome, check
from wizard.checks.host import CPUS_KEY, MACHINE_KEY, usable_cpus
from wizard.checks.network import port_holders
from wizard.core.text import clean
from wizard.tools import docker as engine_tools
from wizard.tools.ports import probe_port

HOSTS_FILE_KEY = "hosts.file"
RESOLUTION_KEY = "tags.resolution"
PLATFORMS_KEY = "image.platforms"
NODE_ARCHS_KEY = "kube.node_architectures"
TAG_TIMEOUT = 2.5  # registry answers within it, or the row says it timed out; all checks fit 3 s
_PENDING: list[tuple[str, str, dict[str, Any], Callable[[CheckContext], Outcome]]] = []

if TYPE_CHECKING:
    from wizard.tools.tags import Platforms, TagResolution


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
    """The run's own resolution (`wizard.tools.resolve`), asking for a newer patch of a pinned tag."""
    from wizard.tools.resolve import resolve_profile

    profile = context.profile
    # An archive holds what it holds: no "newer patch" to look for in it.
    newer = bool(profile.gateway.tag) and not profile.gateway.image_archive
    _, resolution = resolve_profile(profile, check_newer=newer, environ=context.environ)
    return resolution


@_later("gateway.agent_platform_port", "Agent Platform port is free", targets=("docker",), timeout=1.0, field="gateway.agent_platform_port")
def agent_platform_port(context: CheckContext) -> Outcome:
    found = context.profile.release
    if found is None or not found.agent_platform:
        return Outcome("skip", "this gateway release has no Duo Agent Platform service")
    number = context.profile.gateway.agent_platform_port
    if number == context.profile.gateway.port:
        return Outcome("fail", f"port {number} is also gateway.port", "give the Agent Platform its own port (50052)")
    probe = probe_port(
        number,
        lambda: port_holders(context, number),
        lambda error: engine_tools.describe(error, context.environ),
    )  # the gateway.port check's own probe: this profile's running container is no conflict
    if probe.state == "free":
        return Outcome("pass", f"port {number} is free")
    if probe.state == "privileged":
        return Outcome("warn", f"port {number} is privileged: this user cannot tell whether it is free", "use a port above 1023")
    if probe.state == "ours":
        return Outcome("pass", f"port {number} is held by this profile's container {probe.ours[0]} (replaced on apply)")
    problem = probe.problem("gateway.agent_platform_port")
    return Outcome("fail", problem.message, problem.remedy)


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


@_later("gateway.platform", "Image built for this host", targets=("docker", "helm"), timeout=TAG_TIMEOUT, field="gateway.variant")
def image_platform(context: CheckContext) -> Outcome:
    if context.profile.target == "helm":
        return _nodes_platform(context)
    value = context.overrides.get(MACHINE_KEY)
    machine = str(platform.machine() if value is None else value)
    arch = _MACHINE_TO_ARCH.get(machine.lower(), machine.lower())
    archive = context.profile.gateway.image_archive
    if archive and PLATFORMS_KEY not in context.overrides and _compressed(context.profile.resolve(archive)):
        # Its index is at the very end: reading it would inflate the whole archive a second time.
        return Outcome("skip", "the archive is compressed: the engine checks the image's platform as it loads it")
    platforms = _image_platforms(context)
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


def _nodes_platform(context: CheckContext) -> Outcome:
    """Helm: some schedulable node's architecture must be one the image is built for."""
    nodes = context.overrides.get(NODE_ARCHS_KEY)
    if nodes is None:
        from wizard.tools import kube

        try:
            cluster = kube.connect(context.profile.helm.kube_context)
        except kube.KubeError:
            return Outcome("skip", "no usable kubeconfig context (see kube.context)")
        try:
            nodes = kube.node_architectures(cluster)
        except kube.Forbidden:
            return Outcome("warn", "not allowed to list nodes: cannot tell their architectures", "")
        except kube.KubeError:
            return Outcome("skip", "the Kubernetes API cannot be used (see kube.api)")
        finally:
            cluster.close()
    platforms = _image_platforms(context)
    if not platforms.platforms:
        return Outcome("warn", f"cannot tell which platforms the image has ({clean(platforms.detail)})", "")
    shown = ", ".join(sorted(str(p) for p in platforms.platforms))
    fitting = sorted(name for name, arch in nodes.items() if arch in platforms.architectures)
    if fitting:
        return Outcome("pass", f"{len(fitting)} node(s) of an architecture the image has ({shown}): {', '.join(fitting[:3])}")
    fips = " (FIPS images are amd64 only)" if context.profile.gateway.variant == "fips" else ""
    there = ", ".join(f"{name}: {arch}" for name, arch in sorted(nodes.items())) or "no schedulable linux node"
    return Outcome(
        "fail",
        f"{clean(context.profile.image_ref)} is built for {shown} only{fips}; the cluster has {clean(there)}",
        "add a node of a listed architecture, or use a tag that has one of the cluster's",
    )


def _compressed(path: Path) -> bool:
    from wizard.tools.archive import is_compressed

    try:
        return is_compressed(path)
    except OSError:
        return False  # docker.image says what is wrong with the path


def _image_platforms(context: CheckContext) -> Platforms:
    platforms = context.overrides.get(PLATFORMS_KEY)
    if platforms is None:
        from wizard.tools import registry as registry_tools
        from wizard.tools import tags

        profile = context.profile
        client = None if profile.gateway.image_archive else registry_tools.RegistryClient.for_repository(profile.image_repository)
        tag = context.overrides.get(RESOLUTION_KEY) or _resolve(context)
        platforms = tags.image_platforms(profile, tag.tag or profile.image_tag, registry=client)
    return platforms


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
