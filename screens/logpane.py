"""A bounded, filterable, pausable log view that keeps up with a flood of lines."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Log

DEFAULT_LIMIT = 10_000


class LogPane(Vertical):
    """Follows the tail; pause freezes the view (lines still arrive); the filter shows
    only matching lines. Scroll-back is bounded so memory stays flat on long runs."""

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > Horizontal { height: 1; }
    LogPane .log-state { width: 1fr; color: $text-muted; padding-left: 1; }
    LogPane .log-filter-label { width: 8; padding-left: 1; }
    LogPane Input { width: 30; }
    LogPane Log { height: 1fr; border: round $panel; }
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.limit = limit
        self.lines: deque[str] = deque(maxlen=limit)
        self.paused = False
        self.pattern = ""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Filter", classes="log-filter-label")
            yield Input(placeholder="text to match", compact=True, id="log-filter")
            yield Label("following", classes="log-state")
        yield Log(max_lines=self.limit, auto_scroll=True)

    @property
    def log(self) -> Log:  # type: ignore[override]
        return self.query_one(Log)

    def add(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        if self.paused:
            return
        shown = [line for line in lines if self.pattern in line] if self.pattern else lines
        if shown:
            self.log.write_lines(shown[-self.limit:])

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.log.auto_scroll = not self.paused
        if not self.paused:
            self._redraw()
        self._show_state()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.pattern = event.value
        self._redraw()
        self._show_state()

    def _redraw(self) -> None:
        log = self.log
        log.clear()
        log.write_lines([line for line in self.lines if self.pattern in line])

    def _show_state(self) -> None:
        state = "PAUSED (p resumes)" if self.paused else "following"
        if self.pattern:
            state += f", showing lines with {self.pattern!r}"
        self.query_one(".log-state", Label).update(state)
