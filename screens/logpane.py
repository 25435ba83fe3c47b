"""A bounded, filterable, pausable log view that keeps up with a flood of lines."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Log

DEFAULT_LIMIT = 10_000
CONTINUED = "  "
"""Prefix of a long line's continuation rows (lines wrap at the pane's width)."""


class FilterInput(Input):
    """The log filter: Esc clears and closes it (it never reaches the screen's Esc)."""

    BINDINGS = [Binding("escape", "close", "Close filter", show=False)]

    def action_close(self) -> None:
        self.value = ""
        pane = next(ancestor for ancestor in self.ancestors if isinstance(ancestor, LogPane))
        pane.log.focus()


class LogPane(Vertical):
    """Follows the tail; pause freezes the view (lines still arrive); the filter shows
    only matching lines. Long lines wrap. Scroll-back is bounded so memory stays flat."""

    DEFAULT_CSS = """
    LogPane { height: 1fr; min-height: 5; }
    LogPane > Horizontal { height: 1; }
    LogPane .log-state { width: 1fr; color: $text-muted; padding-left: 1; }
    LogPane .log-filter-label { width: 8; padding-left: 1; }
    LogPane Input { width: 30; }
    LogPane Log { height: 1fr; border: round $panel; overflow-x: hidden; }
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.limit = limit
        self.lines: deque[str] = deque(maxlen=limit)
        """Every line received (up to `limit`), unwrapped and unfiltered."""
        self.paused = False
        self.pattern = ""
        self._width = 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Filter", classes="log-filter-label")
            yield FilterInput(placeholder="/ to filter, Esc closes", compact=True, id="log-filter")
            yield Label("following", classes="log-state", markup=False)
        yield Log(max_lines=self.limit, auto_scroll=False)

    @property
    def log(self) -> Log:  # type: ignore[override]
        return self.query_one(Log)

    def add(self, lines: list[str]) -> None:
        """Append lines (already cleaned of control characters by the caller)."""
        self.lines.extend(lines)
        if self.paused:
            return
        shown = [line for line in lines if self.pattern in line] if self.pattern else lines
        if shown:
            self.log.write_lines(self._wrapped(shown[-self.limit:]), scroll_end=False)
            self._follow()

    def clear(self) -> None:
        self.lines.clear()
        self.log.clear()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._redraw()
        self._show_state()

    def open_filter(self) -> None:
        self.query_one(FilterInput).focus()

    @on(Input.Changed, "#log-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.pattern = event.value
        self._redraw()
        self._show_state()

    @on(Input.Submitted, "#log-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter keeps the filter and returns to the log
        self.log.focus()

    def on_resize(self, _event: events.Resize) -> None:
        if self._content_width() != self._width:
            self._redraw()

    def _content_width(self) -> int:
        return max(20, self.log.scrollable_content_region.width - 1)

    def _wrapped(self, lines: Iterable[str]) -> list[str]:
        width = self._width = self._content_width()
        rows: list[str] = []
        for line in lines:
            if len(line) <= width:
                rows.append(line)
                continue
            rows.append(line[:width])
            rest = width - len(CONTINUED)
            rows.extend(CONTINUED + line[start:start + rest] for start in range(width, len(line), rest))
        return rows

    def _redraw(self) -> None:
        log = self.log
        log.clear()
        log.write_lines(self._wrapped(line for line in self.lines if self.pattern in line), scroll_end=False)
        self._follow()

    def _follow(self) -> None:
        if not self.paused:  # "following" means the newest line is in view, whatever was scrolled
            self.log.scroll_end(animate=False, immediate=True, x_axis=False)

    def _show_state(self) -> None:
        state = "PAUSED (p resumes)" if self.paused else "following"
        if self.pattern:
            state += f", showing lines with {self.pattern!r}"
        self.query_one(".log-state", Label).update(state)
