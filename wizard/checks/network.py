"""Where GitLab reaches the gateway: a real host name that resolves, and a free port."""

from __future__ import annotations

import ipaddress
import socket

from wizard.checks.base import CheckContext, Outcome, check, is_ip, plain_error, resolve
from wizard.core import validators
from wizard.tools import docker as engine_tools
from wizard.tools.ports import bind_problem as bind_problem  # the probe, for callers of this module
from wizard.tools.ports import probe_port

DNS_TIMEOUT = 2.0
PORT_TIMEOUT = 2.0


@check("gateway.hostname", "Gateway host name", timeout=0.5, field="gateway.hostname")
def hostname(context: CheckContext) -> Outcome:
    value = context.profile.gateway.hostname
    if not value:
        return Outcome("fail", "gateway.hostname is not set", "set gateway.hostname to the name GitLab uses to reach the gateway")
    try:
        validators.hostname(value)
    except ValueError as error:
        return Outcome("fail", f"{value!r} {error}", "set gateway.hostname to a name or address other hosts can reach")
    if context.profile.target == "helm" and is_ip(value):
        return Outcome(
            "fail",
            f"{value} is an IP address, but an ingress rule needs a DNS name",
            "set gateway.hostname to a DNS name pointing at the ingress controller",
        )
    return Outcome("pass", value)


@check("gateway.dns", "Gateway host name resolves", timeout=DNS_TIMEOUT, field="gateway.hostname")
def dns(context: CheckContext) -> Outcome:
    name = context.profile.gateway.hostname
    if not name:
        return Outcome("skip", "gateway.hostname is not set")
    if is_ip(name):
        return Outcome("pass", f"{name} is an address: nothing to resolve")
    points_at = "the ingress controller" if context.profile.target == "helm" else "this host"
    try:
        addresses = resolve(context, name, DNS_TIMEOUT - 0.3)
    except TimeoutError:
        return Outcome(
            "fail",
            f"no DNS answer for {name} within {DNS_TIMEOUT - 0.3:g} s",
            "check this host's DNS servers (/etc/resolv.conf), or set gateway.hostname to an IP address",
        )
    except (socket.gaierror, UnicodeError) as error:
        return Outcome(
            "fail",
            f"{name} does not resolve ({plain_error(error)})",
            f"add a DNS record for {name} pointing at {points_at}, or set gateway.hostname to its IP address",
        )
    shown = ", ".join(addresses[:4]) + (" …" if len(addresses) > 4 else "")
    if all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses):
        return Outcome(
            "warn",
            f"{name} resolves to {shown} here, a loopback address: GitLab on another host cannot use that",
            f"make sure GitLab's host resolves {name} to {points_at}'s network address (check /etc/hosts here)",
        )
    return Outcome("pass", f"{name} → {shown}")


def port_holders(context: CheckContext, port: int) -> list[tuple[str, bool]]:
    """(name, is it this profile's) of the containers publishing `port` on the host."""
    with engine_tools.engine(context.environ, PORT_TIMEOUT - 0.5) as client:
        return engine_tools.port_holders(client, port, context.profile_name)


@check("gateway.port", "Gateway port is free", targets=("docker",), timeout=PORT_TIMEOUT, field="gateway.port")
def port(context: CheckContext) -> Outcome:
    """The same probe the Docker installer's port step makes (`wizard.tools.ports.probe_port`)."""
    number = context.profile.gateway.port
    probe = probe_port(
        number,
        lambda: port_holders(context, number),
        lambda error: engine_tools.describe(error, context.environ),
    )
    if probe.state == "free":
        return Outcome("pass", f"port {number} is free")
    if probe.state == "privileged":
        return Outcome(
            "warn",
            f"port {number} is privileged: this user cannot tell whether it is free",
            "run the check as root, or set gateway.port to a port above 1023",
        )
    if probe.state == "ours":
        return Outcome("pass", f"port {number} is held by this profile's container {probe.ours[0]} (replaced on apply)")
    problem = probe.problem()
    return Outcome("fail", problem.message, problem.remedy)
