"""What runs, and how it differs from the profile: `status` and its drift report."""

from __future__ import annotations

import time
from typing import Any

from docker.errors import ImageNotFound
from docker.models.containers import Container

from wizard.core.spec import CA_BUNDLE_MOUNT
from wizard.install.base import Drift, StatusReport
from wizard.install.docker.container import drift as release_drift
from wizard.install.docker.container import secret_variables
from wizard.install.docker.engine import DockerBase, host_port
from wizard.install.docker.lifecycle import parse_time


class StatusReader(DockerBase):
    def read_status(self) -> StatusReport:
        container = self.lookup(self.spec.name)
        if container is None:
            return StatusReport(installed=False, state="not installed")
        refusal = self.foreign(container)
        if refusal is not None:
            return StatusReport(installed=False, state="not ours", details={"container": refusal.message})
        attrs = container.attrs
        port = host_port(container)
        running = container.status == "running"
        healthy = (self.probe(port) if port else None) if running else False
        details = {"container": f"{container.name} ({container.short_id})"}
        started = parse_time(attrs["State"].get("StartedAt", ""))
        if running and started is not None:
            details["uptime"] = duration(time.time() - started.timestamp())
        details["ports"] = _ports(attrs) or "none published"
        details["restart policy"] = _restart_policy(attrs)
        if self.lookup(self.previous_name) is not None:
            details["interrupted upgrade"] = f"{self.previous_name} is still there: run apply to finish"
        return StatusReport(
            installed=True,
            state=container.status,
            healthy=healthy,
            image=str(attrs["Config"]["Image"]),
            details=details,
            drift=self.drift(container),
        )

    def drift(self, container: Container) -> list[Drift]:
        """Every field where the container differs from what the profile would run."""
        attrs, wanted = container.attrs, self.spec
        found: list[Drift] = []

        def compare(field: str, profile: str, actual: str) -> None:
            if profile != actual:
                found.append(Drift(field, profile, actual))

        compare("image", wanted.image, str(attrs["Config"]["Image"]))
        running_env = _env(attrs["Config"].get("Env"))
        secret = secret_variables(wanted)  # key text: never compared here, never shown
        running_env = {key: value for key, value in running_env.items() if key not in secret}
        for key, value in wanted.environment.items():
            compare(f"env.{key}", value, running_env.get(key, "(unset)"))
        image_env = self._image_env(str(attrs["Image"]))
        for key in sorted(running_env.keys() - wanted.environment.keys()):
            if image_env.get(key) != running_env[key]:  # set at `run`, not baked into the image
                compare(f"env.{key}", "(unset)", running_env[key])
        port = host_port(container)
        compare("port", str(wanted.host_port), str(port) if port else "(not published)")
        compare("ca_bundle", wanted.ca_bundle or "(none)", _ca_mount(attrs) or "(none)")
        compare("restart_policy", wanted.restart_policy, _restart_policy(attrs))
        return found + release_drift(attrs, container.labels, wanted, self.profile_name)

    def _image_env(self, image_id: str) -> dict[str, str]:
        try:
            return _env(self.client.images.get(image_id).attrs["Config"].get("Env"))
        except ImageNotFound:
            return {}


def _ports(attrs: dict[str, Any]) -> str:
    published = attrs["NetworkSettings"].get("Ports") or attrs["HostConfig"].get("PortBindings") or {}
    shown = []
    for container_port, bindings in published.items():
        for binding in bindings or []:
            host_ip = binding.get("HostIp") or "0.0.0.0"
            host = f"[{host_ip}]" if ":" in host_ip else host_ip
            shown.append(f"{host}:{binding.get('HostPort')}->{container_port}")
    return ", ".join(shown)


def _restart_policy(attrs: dict[str, Any]) -> str:
    return str((attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no")


def _ca_mount(attrs: dict[str, Any]) -> str:
    for mount in attrs.get("Mounts") or []:
        if mount.get("Destination") == CA_BUNDLE_MOUNT:
            return str(mount.get("Source", ""))
    return ""


def _env(pairs: list[str] | None) -> dict[str, str]:
    return dict(pair.partition("=")[::2] for pair in pairs or [])


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
