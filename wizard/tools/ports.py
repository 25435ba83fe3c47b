"""Host ports: whether Docker could publish one, probed the way Docker binds it.

The `gateway.port` check and the Docker installer's port step both ask `bind_problem`;
who holds a taken port is the engine's question (`wizard.tools.docker.port_holders`).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from wizard.core.errors import WizardError

PortState = Literal["free", "privileged", "ours", "taken"]


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


@dataclass(frozen=True)
class PortProbe:
    """What stands between the gateway and its host port."""

    port: int
    state: PortState
    """free; privileged (this user cannot tell: dockerd binds as root); ours (this profile's
    container, which apply replaces); taken (by `others` or another process)."""
    ours: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    unknown: str = ""
    """Why the engine could not be asked who holds the port."""

    @property
    def usable(self) -> bool:
        """Whether an install may go ahead on this port."""
        return self.state != "taken"

    @property
    def holder(self) -> str:
        if self.others:
            return f"Docker container {', '.join(self.others)}"
        if self.unknown:
            return f"another program or container ({self.unknown})"
        return "another process"

    def remedy(self, field: str = "gateway.port") -> str:
        return (
            f"Free port {self.port} (see who holds it: sudo ss -ltnp 'sport = :{self.port}'), "
            f"or set {field} to a free port in the profile."
        )

    def problem(self, field: str = "gateway.port") -> WizardError:
        """Why the port cannot be had, pointing at `field` (gateway.port, gateway.agent_platform_port)."""
        return WizardError(f"host port {self.port} is already in use by {self.holder}", [self.remedy(field)], field)


def classify(port: int, holders: Sequence[tuple[str, bool]] | None, unknown: str = "") -> PortProbe:
    """The verdict once the port would not bind: `holders` are (container name, is ours)."""
    ours = tuple(name for name, mine in holders or () if mine)
    others = tuple(name for name, mine in holders or () if not mine)
    if ours:
        return PortProbe(port, "ours", ours, others)
    return PortProbe(port, "taken", (), others, unknown)


def is_privileged_refusal(error: OSError) -> bool:
    return error.errno == errno.EACCES


def probe_port(
    port: int,
    holders: Callable[[], Sequence[tuple[str, bool]]],
    describe: Callable[[Exception], str],
) -> PortProbe:
    """Whether the gateway can have `port`, and if not, who has it.

    `holders` asks the engine which containers publish the port (name, is it this
    profile's); when that fails, `describe` says why in one line. The `gateway.port`
    check and the Docker installer's port step both come here.
    """
    problem = bind_problem(port)
    if problem is None:
        return PortProbe(port, "free")
    if is_privileged_refusal(problem):
        return PortProbe(port, "privileged")
    try:
        found = holders()
    except Exception as error:  # no engine: say what we know, the port is taken
        return classify(port, None, describe(error))
    return classify(port, found)
