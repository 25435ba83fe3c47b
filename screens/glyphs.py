"""Marks that read on every terminal the wizard meets over SSH, in the characters alone
(never only in colour): state marks, radio buttons, checkboxes, the focus marker.

Read them as `glyphs.MARK[...]`, `glyphs.RADIO_ON`, …: `use_ascii()` swaps them in place.
"""

from __future__ import annotations

import os
from typing import ClassVar

from textual.scrollbar import ScrollBar, ScrollBarRender

_UNICODE = {
    "done": "✓", "current": "●", "todo": "○",
    "pass": "✓", "warn": "!", "fail": "✗", "skip": "–", "running": "…",
}
_ASCII = {
    "done": "+", "current": ">", "todo": "-",
    "pass": "ok", "warn": "!!", "fail": "XX", "skip": "--", "running": "..",
}

ASCII = False
MARK: dict[str, str] = {}
DASH = "—"
BULLET = "•"
RADIO_ON, RADIO_OFF = "(•)", "( )"
CHECK_ON, CHECK_OFF = "[x]", "[ ]"
FOCUS = "▸"
FOLDER, FOLDER_OPEN, FILE = "📁 ", "📂 ", "📄 "


class _ConsoleScrollBar(ScrollBarRender):
    """A thumb in half cells, with the half blocks the Linux console's font has (▄ ▌), not
    the eighth blocks (▁ … ▇) it draws as unknown glyphs."""

    VERTICAL_BARS: ClassVar[list[str]] = ["▄", " "]
    HORIZONTAL_BARS: ClassVar[list[str]] = ["▌", " "]


def use_ascii(on: bool) -> None:
    """Plain ASCII (the Linux console's font lacks most symbols) or the Unicode marks.

    Borders follow through the app's `-plain` class (app.tcss), scroll bars here."""
    global ASCII, DASH, BULLET, RADIO_ON, FOCUS, FOLDER, FOLDER_OPEN, FILE
    ASCII = on
    ScrollBar.renderer = _ConsoleScrollBar if on else ScrollBarRender
    MARK.clear()
    MARK.update(_ASCII if on else _UNICODE)
    DASH = "-" if on else "—"
    BULLET = "-" if on else "•"
    RADIO_ON = "(*)" if on else "(•)"
    FOCUS = ">" if on else "▸"
    FOLDER, FOLDER_OPEN, FILE = ("+ ", "- ", "  ") if on else ("📁 ", "📂 ", "📄 ")


def terminal_is_plain(term: str | None = None) -> bool:
    return (os.environ.get("TERM", "") if term is None else term) in ("linux", "vt100", "vt220", "dumb")


use_ascii(terminal_is_plain())
