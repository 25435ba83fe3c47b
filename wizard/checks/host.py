"""Host minimums for the Docker target: memory, architecture, CPUs, and disk for the image.

Each reader can be replaced through `context.overrides` (keys below) so tests inject
facts instead of depending on the machine they run on. Helm runs on cluster nodes,
which the kube checks look at instead.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from wizard.checks.base import CheckContext, Outcome, check, plain_error
from wizard.tools import docker as engine_tools

MiB = 1024**2
GiB = 1024**3
MIN_MEMORY, GOOD_MEMORY = 512 * MiB, 2 * GiB  # the reference's minimum; headroom for peak loads
MIN_DISK, GOOD_DISK = 2 * GiB, 5 * GiB  # the ~340 MB image unpacks to well over 1 GiB
GOOD_CPUS = 2
DISK_TIMEOUT = 2.0

MEMORY_KEY = "host.memory_bytes"
MACHINE_KEY = "host.machine"
CPUS_KEY = "host.cpus"
DOCKER_ROOT_KEY = "host.docker_root"
DISK_FREE_KEY = "host.disk_free_bytes"

_AMD64 = {"x86_64", "amd64", "x64"}
_T = TypeVar("_T")


def _fact(context: CheckContext, key: str, reader: Callable[[], _T]) -> _T:
    """An injected fact when a test gave one, else the machine's own."""
    value = context.overrides.get(key)
    return reader() if value is None else value


def _gib(value: int) -> str:
    return f"{value / GiB:.1f} GiB"


def total_memory() -> int:
    """Physical memory in bytes, from /proc/meminfo where there is one."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def usable_cpus() -> int:
    """CPUs this process may use (a cpuset can give fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@check("host.memory", "Memory", targets=("docker",), timeout=1.0)
def memory(context: CheckContext) -> Outcome:
    total = int(_fact(context, MEMORY_KEY, total_memory))
    remedy = "give this host (or VM) more memory, or install on a bigger host"
    if total < MIN_MEMORY:
        return Outcome("fail", f"{total // MiB} MiB of memory; the gateway needs at least 512 MiB", remedy)
    if total < GOOD_MEMORY:
        return Outcome("warn", f"{total // MiB} MiB of memory: enough to start, tight under load (2 GiB recommended)", remedy)
    return Outcome("pass", f"{_gib(total)} of memory")


@check("host.arch", "CPU architecture", targets=("docker",), timeout=1.0)
def arch(context: CheckContext) -> Outcome:
    machine = str(_fact(context, MACHINE_KEY, platform.machine))
    if machine.lower() in _AMD64:
        return Outcome("pass", f"{machine} (linux/amd64 images run natively)")
    return Outcome(
        "fail",
        f"this host is {machine}, but the AI gateway image is built for linux/amd64 only",
        "install on an x86_64 (amd64) host, or use the Helm target with amd64 cluster nodes",
    )


@check("host.cpus", "CPUs", targets=("docker",), timeout=1.0)
def cpus(context: CheckContext) -> Outcome:
    count = int(_fact(context, CPUS_KEY, usable_cpus))
    if count < GOOD_CPUS:
        return Outcome(
            "warn",
            f"{count} CPU available: requests will queue under load ({GOOD_CPUS} or more recommended)",
            "give this host (or VM) at least 2 CPUs",
        )
    return Outcome("pass", f"{count} CPUs")


def docker_root(context: CheckContext) -> str:
    """Where the engine keeps images (`docker info` → DockerRootDir)."""
    with engine_tools.engine(context.environ, DISK_TIMEOUT - 0.5) as client:  # leaves time to say why
        return str(client.info()["DockerRootDir"])


@check("host.disk", "Disk space for the image", targets=("docker",), timeout=DISK_TIMEOUT)
def disk(context: CheckContext) -> Outcome:
    free = context.overrides.get(DISK_FREE_KEY)
    root = context.overrides.get(DOCKER_ROOT_KEY)
    if free is None:
        try:
            root = root or docker_root(context)
        except Exception as error:  # the engine's own check explains what is wrong with it
            why = engine_tools.describe(error, context.environ)
            return Outcome("skip", f"cannot ask where images are stored: {why} (see docker.engine)")
        try:
            free = shutil.disk_usage(root).free
        except OSError as error:
            return Outcome(
                "warn",
                f"cannot see Docker's data directory {root} from here ({plain_error(error)}): "
                "a remote engine or a VM keeps it out of reach",
                f"make sure the engine's host has {_gib(GOOD_DISK)} free for the image (`docker system df`)",
            )
    where = f" on the filesystem of {root}" if root else ""
    remedy = (
        f"free space{where} (`docker system prune` removes unused images), "
        "or move Docker's data-root to a bigger disk"
    )
    if free < MIN_DISK:
        return Outcome("fail", f"{_gib(free)} free{where}; pulling and unpacking the image needs at least 2 GiB", remedy)
    if free < GOOD_DISK:
        return Outcome("warn", f"{_gib(free)} free{where}: enough for one image, not for an upgrade beside it (5 GiB recommended)", remedy)
    return Outcome("pass", f"{_gib(free)} free{where}")
