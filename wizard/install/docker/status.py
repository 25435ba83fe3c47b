"""What runs, and how it differs from the profile: `status` and its drift report."""

from __future__ import annotations

import time
from typing import Any

from wizard.install.base import StatusReport
from wizard.install.docker.engine import DockerBase, host_port, restart_policy
from wizard.install.docker.lifecycle import parse_time


class StatusReader(DockerBase):
    def read_status(self) -> StatusReport:
        """What runs, and what the next `apply` would do about it (the survey's own rules)."""
        container = self.lookup(self.spec.name)
        previous = self.lookup(self.previous_name)
        for found in (container, previous):
            refusal = self.foreign(found) if found is not None else None
            if refusal is not None:
                return StatusReport(
                    installed=False, state="not ours", details={"container": refusal.message}, problems=[refusal.message]
                )
        if container is None and previous is None:
            return StatusReport(installed=False, state="not installed")
        if container is None:
            assert previous is not None
            return StatusReport(
                installed=True,
                state="interrupted upgrade",
                healthy=False,
                image=str(previous.attrs["Config"]["Image"]),
                details={
                    "container": f"{self.spec.name} is missing",
                    "previous": f"{previous.name} ({previous.short_id}) is {previous.status}",
                    "next apply": f"puts {previous.name} back as {self.spec.name} and starts it, "
                    "then brings it in line with the profile",
                },
                problems=[f"an upgrade was interrupted: only {previous.name} is left"],
            )
        attrs = container.attrs
        port = host_port(container)
        running = container.status == "running"
        healthy = (self.probe(port) if port else None) if running else False
        details = {"container": f"{container.name} ({container.short_id})"}
        started = parse_time(attrs["State"].get("StartedAt", ""))
        if running and started is not None:
            details["uptime"] = duration(time.time() - started.timestamp())
        details["ports"] = _ports(attrs) or "none published"
        details["restart policy"] = restart_policy(attrs)
        drift = self.drift(container)
        problems = []
        if previous is not None:
            problems.append(f"an upgrade was interrupted: {previous.name} is still there")
            details["previous"] = f"{previous.name} ({previous.short_id}) is {previous.status}"
            if running and healthy and not drift:
                details["next apply"] = (
                    f"finishes the upgrade: removes {previous.name} once {container.name} stays healthy"
                )
            else:
                details["next apply"] = (
                    f"undoes the upgrade: removes {container.name}, puts {previous.name} back, "
                    "then brings it in line with the profile"
                )
        elif drift:
            details["next apply"] = f"replaces {container.name} with one that matches the profile"
        elif not running or not healthy:
            details["next apply"] = f"replaces {container.name} (it is {container.status}, not healthy)"
        return StatusReport(
            installed=True,
            state=container.status,
            healthy=healthy,
            image=str(attrs["Config"]["Image"]),
            details=details,
            drift=drift,
            problems=problems,
        )


def _ports(attrs: dict[str, Any]) -> str:
    published = attrs["NetworkSettings"].get("Ports") or attrs["HostConfig"].get("PortBindings") or {}
    shown = []
    for container_port, bindings in published.items():
        for binding in bindings or []:
            host_ip = binding.get("HostIp") or "0.0.0.0"
            host = f"[{host_ip}]" if ":" in host_ip else host_ip
            shown.append(f"{host}:{binding.get('HostPort')}->{container_port}")
    return ", ".join(shown)


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
