"""What every benchmark returns, and the table `run.py` prints.

A result compares a measurement with a baseline taken in the same run (machines are noisy,
so only the ratio means anything) and states the goal as the largest acceptable ratio.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent


class Result(TypedDict):
    name: str
    measured: float
    baseline: float
    ratio: float
    goal: float
    unit: str
    ok: bool
    note: str


def result(name: str, measured: float, baseline: float, goal: float, unit: str, note: str = "") -> Result:
    ratio = measured / baseline if baseline else float("inf")
    return Result(name=name, measured=measured, baseline=baseline, ratio=ratio, goal=goal,
                  unit=unit, ok=ratio <= goal, note=note)


def cells(row: dict[str, Any]) -> list[str]:
    """One table row; tolerates the smaller dicts other benchmarks return (no unit/ok/note)."""
    if "skipped" in row or "crashed" in row:
        why = f"skipped: {row['skipped']}" if "skipped" in row else f"CRASHED: {row['crashed']}"
        return [row["name"], "-", "-", "-", "-", why]
    unit = f" {row['unit']}" if row.get("unit") else ""
    ok = row.get("ok", row["ratio"] <= row["goal"])
    return [
        row["name"],
        f"{row['measured']:.3g}{unit}",
        f"{row['baseline']:.3g}{unit}",
        f"{row['ratio']:.2f}",
        f"≤ {row['goal']:.2f}",
        "yes" if ok else "NO",
    ]


HEADER = ["name", "measured", "baseline", "ratio", "goal", "ok"]


def table(rows: list[dict[str, Any]], *, markdown: bool = False) -> str:
    body = [cells(row) for row in rows]
    if markdown:
        lines = [HEADER, ["---"] * len(HEADER), *body]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in [HEADER, *body]) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in [HEADER, *body])


def spawn_on_pty(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """`python ARGS` on a fresh 80x24 pty (stdin, stdout and stderr); returns it and the master fd."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**env, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    for name in ("NO_COLOR", "TEXTUAL", "COLUMNS", "LINES", "PYTHONPROFILEIMPORTTIME"):
        env.pop(name, None)  # nothing that would change how (or how fast) an app draws
    proc = subprocess.Popen([sys.executable, *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)
    return proc, master


def read_chunk(master: int, timeout: float) -> bytes | None:
    """What the app wrote within `timeout` (b"" if nothing); None once the pty is closed."""
    if not select.select([master], [], [], timeout)[0]:
        return b""
    try:
        return os.read(master, 65536) or None
    except OSError:  # EIO: the child closed the pty
        return None


def stop(master: int, proc: subprocess.Popen[bytes]) -> None:
    """ctrl+q like a user, then SIGTERM, then SIGKILL; keeps draining so the child never blocks."""
    try:
        os.write(master, b"\x11")
    except OSError:
        pass
    for sig, grace in ((None, 5.0), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        deadline = time.monotonic() + grace
        while proc.poll() is None and time.monotonic() < deadline:
            if read_chunk(master, 0.05) is None:
                time.sleep(0.01)  # pty closed, the child is exiting: wait for it, don't spin
        if proc.poll() is not None:
            break
    os.close(master)
