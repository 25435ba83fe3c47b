"""The headless face: prints installer events for a person at a terminal or a log file.

On a terminal, pulls, loads and saves show live progress bars and log lines stream above
them; otherwise every event is one plain line and progress a line every few seconds. The
TUI consumes the very same events.

Every text in an event may come from outside (container logs, helm output, file names):
it passes `wizard.core.text.clean` before it is printed, so no control character or escape
sequence reaches the terminal, and Rich markup in it is escaped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from wizard.core.events import Event, LogLine, Result, StepFinished, StepStarted
from wizard.core.events import Progress as ProgressEvent
from wizard.core.text import clean

if TYPE_CHECKING:
    from rich.console import Console

_STATUS_STYLE = {"ok": "green", "skipped": "dim", "failed": "bold red", "cancelled": "yellow"}
_LEVEL_STYLE = {"info": "", "warning": "yellow", "error": "red"}


def make_console(stream: TextIO | None = None) -> Console:
    """A Rich console on a terminal; off one, a plain writer that loads Rich only if asked to style."""
    target = stream if stream is not None else sys.stdout
    if _terminal(target):
        return _rich_console(stream)
    return PlainConsole(target)  # type: ignore[return-value]


def _rich_console(stream: TextIO | None, **options: Any) -> Console:
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False, **options)


def _terminal(stream: TextIO) -> bool:
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True  # Rich's own overrides: let it decide
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class PlainConsole:
    """What `make_console` gives off a terminal (CI, `| tee`, a file): lines written as they are.

    Plain strings with `markup=False` are written straight through; anything else (markup,
    renderables, or `_force_terminal` set as Rich's own) goes to a Rich console on the same
    file, so output is the same as Rich's, without paying for Rich when nothing needs it.
    """

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self._force_terminal: bool | None = None
        self._rich: Console | None = None

    @property
    def is_terminal(self) -> bool:
        return bool(self._force_terminal)

    def rich(self) -> Console:
        if self._rich is None:
            self._rich = _rich_console(self.file, force_terminal=self._force_terminal)
        return self._rich

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", markup: bool | None = None, **options: Any) -> None:
        if markup is False and not self.is_terminal and all(isinstance(item, str) for item in objects):
            self.file.write(sep.join(objects) + end)
            self.file.flush()
            return
        self.rich().print(*objects, sep=sep, end=end, markup=markup, **options)


PLAIN_PROGRESS_EVERY = 2.0
"""Seconds between two progress lines of one item off a terminal (a pull, a load, a save)."""
LAYER_SOURCE = "pull"
"""LogLines of this source are a layer's state change; on a terminal they label its bar."""


def render_events(events: Iterable[Event], console: Console) -> Result | None:
    """Print every event as it arrives; returns the run's Result (None if it never came).

    On a terminal, progress is Rich bars (a layer's state changes label its bar); otherwise
    (CI, `| tee`, systemd) each event is one plain line, flushed at once, and progress is a
    line per item at most every PLAIN_PROGRESS_EVERY seconds (bytes, percent, rate), plus
    one when it completes.
    """
    if isinstance(console, PlainConsole) and console.is_terminal:
        return _render_live(events, console.rich())
    if console.is_terminal:
        return _render_live(events, console)
    return _render_plain(events, console.file)


def _render_live(events: Iterable[Event], console: Console) -> Result | None:
    from rich.markup import escape
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    result: Result | None = None
    bars = Progress(
        TextColumn("  {task.description}"), BarColumn(), DownloadColumn(),
        console=console, transient=True,
    )
    tasks: dict[str, TaskID] = {}
    with bars:
        for event in events:
            if isinstance(event, ProgressEvent):
                label = clean(event.label or event.key)
                if event.key not in tasks:
                    tasks[event.key] = bars.add_task(escape(label), total=event.total)
                bars.update(tasks[event.key], completed=event.current, total=event.total, description=escape(label))
                continue
            if isinstance(event, LogLine) and event.source == LAYER_SOURCE:
                key, _, state = event.text.partition(": ")
                if key in tasks:
                    bars.update(tasks[key], description=escape(clean(f"{key} {state.lower()}")))
                continue  # as `docker pull` on a terminal: the state shows in place, not as a line
            if isinstance(event, StepFinished):
                for task_id in tasks.values():
                    bars.remove_task(task_id)
                tasks.clear()
            console.print(format_event(event, rich=True))
            if isinstance(event, Result):
                result = event
    return result


class PlainProgress:
    """Progress events as occasional lines: per key, the first, then one every `every` s, and the last."""

    def __init__(self, every: float = PLAIN_PROGRESS_EVERY) -> None:
        self.every = every
        self._shown: dict[str, tuple[float, int]] = {}
        """key → (when, bytes) of its last line."""
        self._done: set[tuple[str, str]] = set()

    def line(self, event: ProgressEvent) -> str | None:
        last = self._shown.get(event.key)
        finished = event.total is not None and event.current >= event.total
        label = event.label or event.key
        if finished:
            if (event.key, label) in self._done:
                return None
            self._done.add((event.key, label))
        elif last is not None and event.at - last[0] < self.every:
            return None
        if last is None or event.current < last[1]:  # first line, or a new phase (extracting after download)
            rate = ""
        else:
            elapsed = event.at - last[0]
            rate = f", {human_bytes((event.current - last[1]) / elapsed)}/s" if elapsed > 0 else ""
        self._shown[event.key] = (event.at, event.current)
        if event.total:
            amount = f"{human_bytes(event.current)} of {human_bytes(event.total)} ({100 * event.current / event.total:.0f}%)"
        else:
            amount = human_bytes(event.current)
        return f"    {clean(label)}: {amount}{rate}"


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.2f} GiB"


def _render_plain(events: Iterable[Event], out: TextIO) -> Result | None:
    result: Result | None = None
    progress = PlainProgress()
    for event in events:
        if isinstance(event, ProgressEvent):
            text = progress.line(event)
            if text is None:
                continue
        else:
            text = format_event(event)
        out.write(text + "\n")
        out.flush()  # a pipe (`| tee`, CI) sees each line as it happens
        if isinstance(event, Result):
            result = event
    return result


def format_event(event: Event, *, rich: bool = False) -> str:
    """One line for an event; with `rich`, Rich markup (escaped user text) for colour."""

    def style(text: str, name: str) -> str:
        return f"[{name}]{text}[/]" if rich and name else text

    def text(value: str) -> str:
        shown = clean(value)
        if not rich:
            return shown
        from rich.markup import escape

        return escape(shown)

    if isinstance(event, StepStarted):
        return style("==> ", "bold cyan") + text(event.title)
    if isinstance(event, StepFinished):
        detail = f": {text(event.detail)}" if event.detail else ""
        return "    " + style(event.status.upper(), _STATUS_STYLE[event.status]) + detail
    if isinstance(event, LogLine):
        prefix = style(text(f"[{event.source}]"), "dim")
        return f"    {prefix} " + style(text(event.text), _LEVEL_STYLE[event.level])
    if isinstance(event, ProgressEvent):
        total = f"/{event.total}" if event.total else ""
        return f"    {text(event.label or event.key)}: {event.current}{total}"
    lines = [style("Done: " if event.ok else "Failed: ", "bold green" if event.ok else "bold red") + text(event.summary)]
    lines += [f"  {text(address.label)}: " + style(text(address.value), "bold") for address in event.urls]
    if event.log_tail:
        lines.append(style(f"  Last {len(event.log_tail)} lines of the gateway's log:", "dim"))
        lines += [f"  | {text(line)}" for line in event.log_tail]
    lines += [f"  {text(step)}" for step in event.remedies]
    return "\n".join(lines)
