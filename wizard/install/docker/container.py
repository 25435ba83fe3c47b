"""The container for today's gateway: `docker create` arguments from the spec and the keys.

What `wizard.core.spec.ContainerSpec` says (ports, extra hosts, read-only mounts, key
references) becomes the SDK's `containers.create(**arguments)` here, and nowhere else:

- the JWT keys (releases 18.0+) are made on first need (`ensure_keys`) and reused after;
  their PEM text is read from the files only into the create call's environment, never
  into a label, an event, a log line or the journal;
- the container carries `LABEL_KEYS`, a digest of the keys' public fingerprints, and its
  config-hash label includes it, so a key rotation makes the container differ from the
  profile (apply replaces it; `status` shows drift);
- a 17.x spec (no keys, no Agent Platform, no extra hosts or mounts) yields exactly the
  arguments and labels it always had.
"""

from __future__ import annotations

from typing import Any

from wizard.core.release import AGENT_PLATFORM_PORT
from wizard.core.spec import CA_BUNDLE_MOUNT, LABEL_CONFIG_HASH, ContainerSpec
from wizard.install.base import Drift
from wizard.install.keylabels import (
    LABEL_KEYS,
    MISSING_KEYS,
    config_hash,
    current_keys_digest,
    expected_hash,
    keys_digest,
)
from wizard.tools import keys as key_tools

__all__ = ["create_arguments", "drift", "expected_hash", "published_host_ports", "secret_variables"]

def create_arguments(spec: ContainerSpec, profile_name: str) -> dict[str, Any]:
    """`client.containers.create(**this)`: holds key text (environment) — never log or journal it."""
    labels = dict(spec.labels)
    environment = dict(spec.environment)
    if spec.keys:
        keyset = key_tools.ensure_keys(profile_name, [key.variable for key in spec.keys])
        by_variable = keyset.by_variable()
        digest = keys_digest([by_variable[key.variable].fingerprint for key in spec.keys])
        environment.update(key_tools.key_environment(spec.keys))
        labels[LABEL_KEYS] = digest
        labels[LABEL_CONFIG_HASH] = config_hash(spec, digest)
    from docker.types import Mount

    # A Mount (unlike a -v bind) refuses a missing source instead of creating a directory there.
    mounts = [Mount(CA_BUNDLE_MOUNT, spec.ca_bundle, type="bind", read_only=True)] if spec.ca_bundle else []
    mounts += [Mount(mount.target, mount.source, type="bind", read_only=True) for mount in spec.mounts]
    arguments: dict[str, Any] = {
        "name": spec.name,
        "environment": environment,
        "ports": dict(spec.ports),
        "mounts": mounts,
        "restart_policy": {"Name": spec.restart_policy},
        "labels": labels,
    }
    if spec.extra_hosts:
        arguments["extra_hosts"] = dict(spec.extra_hosts)
    return arguments


def published_host_ports(attrs: dict[str, Any], container_port: int) -> list[str]:
    """The host ports a container (its inspect `attrs`) publishes `container_port` on."""
    bindings = (attrs["HostConfig"].get("PortBindings") or {}).get(f"{container_port}/tcp") or []
    return [str(binding["HostPort"]) for binding in bindings if binding.get("HostPort")]


def secret_variables(spec: ContainerSpec) -> frozenset[str]:
    """Variables whose values are key text: drift and status never show them."""
    return frozenset(key.variable for key in spec.keys)


def drift(attrs: dict[str, Any], labels: dict[str, str], spec: ContainerSpec, profile_name: str) -> list[Drift]:
    """What the 18/19 parts of a container differ in: Agent Platform port, extra hosts, mounts, keys."""
    found: list[Drift] = []

    def compare(field: str, profile: str, actual: str) -> None:
        if profile != actual:
            found.append(Drift(field, profile, actual))

    if spec.agent_platform_host_port is not None:
        published = published_host_ports(attrs, AGENT_PLATFORM_PORT)
        compare("agent_platform_port", str(spec.agent_platform_host_port), published[0] if published else "(not published)")
    wanted_hosts = sorted(f"{name}:{address}" for name, address in spec.extra_hosts.items())
    running_hosts = sorted(attrs["HostConfig"].get("ExtraHosts") or [])
    compare("extra_hosts", ", ".join(wanted_hosts) or "(none)", ", ".join(running_hosts) or "(none)")
    mounted = {m.get("Destination"): str(m.get("Source", "")) for m in attrs.get("Mounts") or []}
    for mount in spec.mounts:
        compare(f"mount {mount.target}", mount.source, mounted.get(mount.target, "(not mounted)"))
    if spec.keys:
        now = current_keys_digest(spec, profile_name)
        running = labels.get(LABEL_KEYS, "(none)")
        if now != running:
            shown = "keys missing: apply makes them" if now == MISSING_KEYS else f"keys {now}"
            found.append(Drift("keys", shown, f"keys {running} (rotated since: apply replaces the container)"))
    return found
