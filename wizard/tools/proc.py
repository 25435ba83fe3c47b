"""Child processes, run the safe way: argument lists, no shell, no stdin, both streams live.

A child that inherits the TUI's stdin steals its keystrokes, so stdin is always
/dev/null. stdout and stderr are read by one thread each, so neither pipe can fill
up and stall the child while we block on the other, and lines reach the caller as
they are printed. Cancelling terminates the child, waits briefly, then kills it.
"""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Literal

from wizard.core.errors import WizardError

Stream = Literal["stdout", "stderr"]
#: How long a terminated child gets to exit (e.g. Helm rolling back) before it is killed.
DEFAULT_GRACE_S = 5.0


class ProcError(WizardError):
    """A child that could not be run, or did not finish in time."""


class ProgramNotFound(ProcError):
    def __init__(self, program: str) -> None:
        super().__init__(f"{program}: not found on PATH")
        self.program = program


class TimedOut(ProcError):
    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        super().__init__(f"{shlex.join(argv[:2])}: no answer within {timeout:g}s")


@dataclass(frozen=True)
class Captured:
    """The outcome of a one-shot call."""

    code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def positional(value: str) -> str:
    """Guard a value placed as a positional argument: a leading '-' would read as an option."""
    if not value or value.startswith("-"):
        raise ValueError(
            f"{value!r} cannot be passed as an argument: it is empty or starts with '-'"
        )
    return value


def _resolve(argv: Sequence[str]) -> list[str]:
    if not argv:
        raise ValueError("empty command")
    program = shutil.which(argv[0])
    if program is None:
        raise ProgramNotFound(argv[0])
    return [program, *argv[1:]]


#: Read by aigw-wizard itself (one GitLab check), never handed to the tools it runs.
PRIVATE_VARIABLES = ("GITLAB_TOKEN",)


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: ours (or `env`) without our private variables."""
    result = dict(os.environ if env is None else env)
    for name in PRIVATE_VARIABLES:
        result.pop(name, None)
    return result


def run_capture(
    argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None
) -> Captured:
    """Run a short command to completion (e.g. `helm version`) and return what it printed."""
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, never a shell
            _resolve(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=child_environment(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TimedOut(argv, timeout) from None  # subprocess.run has already killed the child
    return Captured(done.returncode, done.stdout, done.stderr)


def _pump(name: Stream, pipe: IO[str], lines: queue.Queue[tuple[Stream, str] | Stream]) -> None:
    with pipe:
        for line in pipe:
            lines.put((name, line.rstrip("\r\n")))
    lines.put(name)  # this stream is finished


def _signal(child: subprocess.Popen[str], signum: int) -> None:
    # The child leads its own session: signal the group, so helpers it spawned stop too.
    # Once reaped, its pid (and so the group id) may belong to someone else.
    if child.poll() is None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass


def stream(
    argv: Sequence[str],
    *,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    grace: float = DEFAULT_GRACE_S,
    idle: float = 0.1,
) -> Generator[tuple[Stream, str] | None, None, int]:
    """Run `argv`, yielding `(stream, line)` as lines arrive; returns the exit code.

    Yields None after `idle` seconds without output, so a caller can interleave other
    work (e.g. a watcher's events) while the child is silent. When `cancel` is set the
    child is terminated, its last lines (Helm reporting its rollback) still yielded, and
    killed if it is not gone after `grace` seconds; the exit code is then negative.
    Closing the generator early stops the child the same way, without waiting.
    """
    child = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
        _resolve(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        bufsize=1,
        env=child_environment(env),
        start_new_session=True,  # Ctrl-C reaches us only; we decide what the child gets
    )
    assert child.stdout is not None and child.stderr is not None
    lines: queue.Queue[tuple[Stream, str] | Stream] = queue.Queue()
    for name, pipe in (("stdout", child.stdout), ("stderr", child.stderr)):
        threading.Thread(target=_pump, args=(name, pipe, lines), daemon=True).start()
    open_streams = 2
    kill_at: float | None = None  # set once cancelled: when to stop waiting for the child
    try:
        while open_streams:
            if kill_at is None and cancel is not None and cancel.is_set():
                _signal(child, signal.SIGTERM)
                kill_at = time.monotonic() + grace
            elif kill_at is not None and time.monotonic() >= kill_at:
                _signal(child, signal.SIGKILL)
                if child.poll() is not None:
                    break  # gone; whatever else still holds its pipes is not ours to wait for
            try:
                item = lines.get(timeout=idle)
            except queue.Empty:
                yield None
                continue
            if isinstance(item, tuple):
                yield item
            else:
                open_streams -= 1
        return child.wait()
    finally:
        _signal(child, signal.SIGKILL)  # closed early: nobody is reading any more
        child.wait()
