"""Where GitLab reaches the gateway: a real host name that resolves, and a free port."""

from __future__ import annotations

import errno
import ipaddress
import socket

from wizard.checks.base import CheckContext, Outcome, check, is_ip, plain_error, resolve
from wizard.core import validators
from wizard.core.spec import LABEL_PROFILE

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


def bind_problem(port: int) -> OSError | None:
    """Try to take the port the way Docker publishes it (all interfaces), then let go."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Docker's proxy sets SO_REUSEADDR too: leftover TIME_WAIT connections do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - binding, never listening
        except OSError as error:
            return error
    return None


def port_holders(context: CheckContext, port: int) -> tuple[list[str], list[str]]:
    """(our containers of this profile, other containers) publishing `port` on the host."""
    from wizard.checks.docker import engine_client

    ours: list[str] = []
    others: list[str] = []
    with engine_client(context, PORT_TIMEOUT - 0.5) as client:
        for container in client.containers.list(filters={"publish": f"{port}/tcp"}):
            mine = container.labels.get(LABEL_PROFILE) == context.profile_name
            (ours if mine else others).append(container.name)
    return ours, others


@check("gateway.port", "Gateway port is free", targets=("docker",), timeout=PORT_TIMEOUT, field="gateway.port")
def port(context: CheckContext) -> Outcome:
    number = context.profile.gateway.port
    problem = bind_problem(number)
    if problem is None:
        return Outcome("pass", f"port {number} is free")
    if problem.errno == errno.EACCES:
        return Outcome(
            "warn",
            f"port {number} is privileged: this user cannot tell whether it is free",
            "run the check as root, or set gateway.port to a port above 1023",
        )
    try:
        ours, others = port_holders(context, number)
    except Exception as error:  # no engine: say what we know, the port is taken
        from wizard.checks.docker import engine_problem

        ours, others = [], []
        holder = f"another program or container ({engine_problem(error, context).detail})"
    else:
        holder = f"container {', '.join(others)}" if others else "another program"
    if ours:
        return Outcome("pass", f"port {number} is held by this profile's container {ours[0]} (replaced on apply)")
    return Outcome(
        "fail",
        f"port {number} is already in use by {holder}",
        f"set gateway.port to a free port, or stop what listens on {number} (`ss -ltnp 'sport = :{number}'`)",
    )
