"""The contract every preflight check follows.

A check is a function of a `CheckContext` returning an `Outcome`; `@check` registers it
with a stable id, the targets it applies to, its own timeout, and the profile field a
failure points at (the TUI jumps back to that field's screen). Checks never print.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from wizard.core.profile import Profile, Target

# Re-exported: the check modules quote errors with them.
from wizard.tools.oserrors import plain_error as plain_error
from wizard.tools.oserrors import root_os_error as root_os_error

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Outcome:
    """What a check found: a failing or warning outcome always says what to do next."""

    status: Status
    detail: str
    remedy: str = ""
    field: str | None = None
    """Overrides the check's field when one check covers several (tls.cert or tls.key)."""


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: Status
    detail: str
    remedy: str = ""
    duration_ms: int = 0
    field: str | None = None
    """Dotted profile field the result is about (e.g. "tls.cert"), if any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckContext:
    """What checks read: the profile, plus anything injected for tests (host facts, env)."""

    profile: Profile
    profile_name: str
    environ: dict[str, str] = field(default_factory=dict)
    """GITLAB_TOKEN and friends, read once; never saved."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Injected facts for tests, e.g. {"host.memory_bytes": 256 * 2**20}."""


CheckFunction = Callable[[CheckContext], Outcome]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: CheckFunction
    targets: frozenset[Target]
    timeout: float
    field: str | None


REGISTRY: dict[str, Check] = {}


def check(
    check_id: str,
    title: str,
    *,
    targets: tuple[Target, ...] = ("docker", "helm"),
    timeout: float = 2.0,
    field: str | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function; it runs in its own daemon thread."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"duplicate check id {check_id}")
        REGISTRY[check_id] = Check(check_id, title, function, frozenset(targets), timeout, field)
        return function

    return register


# --- helpers shared by the engine, the check modules and the TUI ------------------------------

MAX_FILE_BYTES = 1024 * 1024


def rerun_command(check: Check, profile_name: str) -> str:
    return f"aigw-wizard check {profile_name} --only {check.id}"


def crashed(check: Check, error: BaseException, profile_name: str) -> Outcome:
    """An exception inside a check: a failing row in plain words, never a traceback."""
    return Outcome(
        "fail",
        f"the check could not finish: {plain_error(error)}",
        f"run `{rerun_command(check, profile_name)}` again; if it keeps failing, report it",
    )


def timed_out(check: Check, profile_name: str) -> Outcome:
    what = f"what {check.field} points at" if check.field else "the service it asks"
    return Outcome(
        "fail",
        f"timed out after {check.timeout:g} s",
        f"make sure {what} answers from this host (firewall, proxy, DNS), "
        f"then run `{rerun_command(check, profile_name)}`",
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """Details quote what servers and files say (versions, certificate names): no escapes."""
    return _CONTROL.sub("?", text)


def finish(check: Check, outcome: Outcome, started: float) -> CheckResult:
    return CheckResult(
        id=check.id,
        title=check.title,
        status=outcome.status,
        detail=printable(outcome.detail),
        remedy=printable(outcome.remedy),
        duration_ms=round((time.monotonic() - started) * 1000),
        field=outcome.field or check.field,
    )


def guarded(check: Check, call: Callable[[], Outcome], profile_name: str) -> Outcome:
    """`call()`'s outcome; a bug inside it is a failing row in plain words (`crashed`)."""
    try:
        return call()
    except Exception as error:  # a check's bug must not take the others down
        return crashed(check, error, profile_name)


def run_sync(check: Check, call: Callable[[], Outcome], profile_name: str = "PROFILE") -> CheckResult:
    """Run one synchronous check body here and now (the TUI's TLS screen, for one)."""
    started = time.monotonic()
    return finish(check, guarded(check, call, profile_name), started)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def resolve(context: CheckContext, host: str, timeout: float) -> list[str]:
    """Addresses `host` resolves to: socket.gaierror when it does not, TimeoutError when
    no answer comes within `timeout` (getaddrinfo has no timeout of its own, so it runs in
    a daemon thread that may be left behind). Tests inject `overrides["resolver"]`.
    """
    lookup: Callable[[str], list[str]] = context.overrides.get("resolver") or _getaddrinfo
    answer: list[list[str]] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            answer.append(lookup(host))
        except BaseException as error:  # handed to the caller
            failure.append(error)

    worker = threading.Thread(target=work, name="aigw-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if failure:
        raise failure[0]
    if not answer:
        raise TimeoutError(f"no answer for {host} within {timeout:g} s")
    return answer[0]


def _getaddrinfo(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def file_problem(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Why `path` cannot serve as a small input file, or None when it can."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"{path} does not exist" + (" (dangling symlink)" if path.is_symlink() else "")
    except OSError as error:
        return f"{path} cannot be read: {error.strerror}"
    if stat.S_ISDIR(info.st_mode):
        return f"{path} is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"  # a FIFO or device would block or never end
    if info.st_size > max_bytes:
        return f"{path} is {info.st_size} bytes; expected at most {max_bytes // 1024} KiB"
    if not os.access(path, os.R_OK):
        return f"{path} is not readable by this user"
    return None
