"""Status marks that read on every terminal the wizard meets over SSH."""

from __future__ import annotations

import os

# The Linux console's font lacks most symbols; plain ASCII reads everywhere.
ASCII = os.environ.get("TERM", "") in ("linux", "vt100", "vt220", "dumb")
MARK = {
    "done": "+" if ASCII else "✓",
    "current": ">" if ASCII else "●",
    "todo": "-" if ASCII else "○",
    "pass": "ok" if ASCII else "✓",
    "warn": "!!" if ASCII else "!",
    "fail": "XX" if ASCII else "✗",
    "skip": "--" if ASCII else "–",
    "running": ".." if ASCII else "…",
}
DASH = "-" if ASCII else "—"
