"""The headless face: prints installer events for a person at a terminal or a log file.

On a terminal, pulls show live progress bars and log lines stream above them; otherwise
every event is one plain line. The TUI consumes the very same events.

Every text in an event may come from outside (container logs, helm output, file names):
it passes `wizard.core.text.clean` before it is printed, so no control character or escape
sequence reaches the terminal, and Rich markup in it is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from wizard.core.events import Event, LogLine, Result, StepFinished, StepStarted
from wizard.core.events import Progress as ProgressEvent
from wizard.core.text import clean

_STATUS_STYLE = {"ok": "green", "skipped": "dim", "failed": "bold red", "cancelled": "yellow"}
_LEVEL_STYLE = {"info": "", "warning": "yellow", "error": "red"}


def make_console(stream: TextIO | None = None) -> Console:
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def render_events(events: Iterable[Event], console: Console) -> Result | None:
    """Print every event as it arrives; returns the run's Result (None if it never came)."""
    result: Result | None = None
    bars = Progress(
        TextColumn("  {task.description}"), BarColumn(), DownloadColumn(),
        console=console, transient=True,
    )
    tasks: dict[str, TaskID] = {}
    with bars:
        for event in events:
            if isinstance(event, ProgressEvent):
                if not console.is_terminal:
                    continue  # per-layer percentages would flood a log file
                label = clean(event.label or event.key)
                if event.key not in tasks:
                    tasks[event.key] = bars.add_task(escape(label), total=event.total)
                bars.update(tasks[event.key], completed=event.current, total=event.total, description=escape(label))
                continue
            if isinstance(event, StepFinished):
                for task_id in tasks.values():
                    bars.remove_task(task_id)
                tasks.clear()
            console.print(format_event(event, rich=True))
            if isinstance(event, Result):
                result = event
    return result


def format_event(event: Event, *, rich: bool = False) -> str:
    """One line for an event; with `rich`, Rich markup (escaped user text) for colour."""

    def style(text: str, name: str) -> str:
        return f"[{name}]{text}[/]" if rich and name else text

    def text(value: str) -> str:
        shown = clean(value)
        return escape(shown) if rich else shown

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
