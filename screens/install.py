"""Step: the install itself, with a step list, pull progress, live logs and, at the end,
the `Result` (after a failure: the summary, what to do and the gateway's last lines).

The installer runs in a worker thread; its events reach the screen as posted messages,
batched (`batches`), so a flood of log lines never starves the UI and a quiet installer's
last line is never held back.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Label, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens import glyphs
from screens.base import WizardScreen
from screens.dialogs import ConfirmModal
from screens.logpane import LogPane
from wizard.core.events import Event, LogLine, Progress, Result, StepFinished, StepStarted
from wizard.core.text import clean, clean_block

DRAIN_INTERVAL = 1 / 20
"""The longest an event waits before it is posted to the screen (one batch)."""
_STATE_MARK = {"ok": "pass", "skipped": "skip", "failed": "fail", "cancelled": "warn"}

T = TypeVar("T")


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


def batches(items: Iterator[T], interval: float = DRAIN_INTERVAL) -> Iterator[list[T]]:
    """`items` in lists: each holds what arrived within `interval` of its first item.

    A helper thread drives `items`, so a source that blocks between items (a health wait)
    still has what it already produced delivered at once. Exceptions are raised here.
    """
    channel: queue.SimpleQueue[object] = queue.SimpleQueue()

    def pump() -> None:
        try:
            for item in items:
                channel.put(item)
        except BaseException as error:  # handed to the consumer, which raises it
            channel.put(_Raised(error))
        channel.put(_END)

    threading.Thread(target=pump, name="install-events", daemon=True).start()
    while True:
        first = channel.get()
        batch: list[T] = []
        deadline = time.monotonic() + interval
        item = first
        while True:
            if item is _END:
                if batch:
                    yield batch
                return
            if isinstance(item, _Raised):
                if batch:
                    yield batch
                raise item.error
            batch.append(item)  # type: ignore[arg-type]
            try:
                item = channel.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
        yield batch


class InstallScreen(WizardScreen):
    HELP_TEXT = """Install
  The gateway is being installed; container logs, Helm output and pod events stream below.
  p       pause or resume following the log (lines keep arriving)
  /       filter the log by text (Esc in the filter closes it)
  c       cancel (asks first): the installer cleans up and leaves a state the next
          run recognises
  r       retry after a failure"""
    BINDINGS = [
        Binding("p", "pause", "Pause log"),
        Binding("slash", "filter", "Filter"),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "retry", "Retry", show=False),
        Binding("escape", "back", "Back", show=False),
    ]

    @dataclass
    class Events(Message):
        """A batch of the installer's events, in order."""

        events: list[Event]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cancel_request = threading.Event()
        self.running = False
        self.result: Result | None = None
        self.pull_layers: dict[str, tuple[int, int | None]] = {}
        self.steps: dict[str, list[str]] = {}
        """step id -> [status mark key, title, detail], in the order they started."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="steps-list")
        with Horizontal(id="pull-progress"):
            yield Label("", id="pull-label", markup=False)
            yield ProgressBar(show_eta=False, id="pull-bar")
        with VerticalScroll(id="outcome-box"):
            yield Static("", id="outcome")
        yield LogPane(id="install-log")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pull-progress").display = False
        self.start()

    def on_unmount(self) -> None:
        self.cancel_request.set()  # leaving mid-run (quit, lost connection): the installer stops

    def start(self) -> None:
        self.running = True
        self.result = None
        self.cancel_request.clear()
        self.steps.clear()
        self.pull_layers.clear()
        self.query_one("#steps-list", Static).update("")
        self.query_one("#outcome-box").display = False
        self.query_one(LogPane).clear()  # only the current run's lines
        self.query_one("#next").disabled = True
        self.query_one("#back").disabled = True
        self.set_status("Installing...  (c cancels)")
        self.run_installer()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_installer(self) -> None:
        worker = get_current_worker()
        for batch in batches(self.session.apply(self.cancel_request)):
            if worker.is_cancelled:
                self.cancel_request.set()
                return
            self.post_message(self.Events(batch))

    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and self.running:
            # The screen shows it; a traceback helps nobody here.
            self._finish(Result(ok=False, summary=f"the installer stopped: {event.worker.error}"))
        elif event.state == WorkerState.SUCCESS and self.running:
            self._finish(Result(ok=False, summary="the installer ended without a result"))

    @on(Events)
    def show_events(self, message: Events) -> None:
        lines: list[str] = []
        steps_changed = False
        for event in message.events:
            if isinstance(event, LogLine):
                lines.append(clean(f"[{event.source}] {event.text}"))
            elif isinstance(event, Progress):
                self._progress(event)
            elif isinstance(event, StepStarted):
                self.steps[event.step] = ["running", event.title, ""]
                steps_changed = True
            elif isinstance(event, StepFinished):
                if event.step in self.steps:
                    self.steps[event.step][0] = _STATE_MARK[event.status]
                    self.steps[event.step][2] = event.detail
                steps_changed = True
                self.query_one("#pull-progress").display = False
            elif isinstance(event, Result):
                if lines:
                    self.query_one(LogPane).add(lines)
                    lines = []
                self._show_steps()
                self._finish(event)
        if lines:
            self.query_one(LogPane).add(lines)
        if steps_changed:
            self._show_steps()

    def _show_steps(self) -> None:
        text = Text()
        for mark, title, detail in self.steps.values():
            if text:
                text.append("\n")
            text.append(f"{glyphs.MARK[mark]:<2} ", style="bold")
            text.append(clean(title))
            if detail:
                text.append(f": {clean(detail)}", style="dim")
        self.query_one("#steps-list", Static).update(text)

    def _progress(self, event: Progress) -> None:
        self.pull_layers[event.key] = (event.current, event.total)
        known = [total for _current, total in self.pull_layers.values() if total]
        bar = self.query_one(ProgressBar)
        self.query_one("#pull-progress").display = True
        bar.update(total=sum(known) or None, progress=sum(current for current, _ in self.pull_layers.values()))
        finished = sum(1 for current, total in self.pull_layers.values() if total and current >= total)
        self.query_one("#pull-label", Label).update(clean(f"{event.label or event.step}: {finished}/{len(self.pull_layers)} "))

    def _finish(self, result: Result) -> None:
        self.running = False
        self.result = result
        self.session.result = result
        self.query_one("#back").disabled = False
        self.query_one("#outcome", Static).update(outcome_text(result))
        self.query_one("#outcome-box").display = not result.ok  # a success is said in the status line
        if result.ok:
            self.query_one("#next").disabled = False
            self.set_status(clean(f"{result.summary}: Next shows where to set the URL"))
        else:
            self.set_status("Failed: what to do is shown above the log (r retries)")
        if self.quit_when_finished:
            self.app.exit()

    quit_when_finished = False

    def action_pause(self) -> None:
        self.query_one(LogPane).toggle_pause()

    def action_filter(self) -> None:
        self.query_one(LogPane).open_filter()

    def action_cancel(self, then_quit: bool = False) -> None:
        if not self.running:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.cancel_request.set()
                self.quit_when_finished = then_quit
                self.set_status("Cancelling: cleaning up...")

        self.app.push_screen(
            ConfirmModal("Cancel the install? What was started is cleaned up or rolled back.",
                         yes="Cancel install", no="Keep going"),
            confirmed,
        )

    def action_retry(self) -> None:
        if not self.running and self.result and not self.result.ok:
            self.start()

    def action_back(self) -> None:
        if self.running:
            self.action_cancel()
            return
        super().action_back()

    def blocking_reason(self) -> str | None:
        if self.running:
            return "The install is still running"
        if not (self.result and self.result.ok):
            return "The install has not succeeded (r retries, Esc goes back)"
        return None


def outcome_text(result: Result) -> Text:
    """How the run ended, as plain text: the summary, the remedies, the gateway's last lines."""
    text = Text()
    if result.ok:
        text.append(f"{glyphs.MARK['pass']} {clean(result.summary)}", style="bold")
        return text
    text.append(f"{glyphs.MARK['fail']} Failed: {clean(result.summary)}", style="bold")
    if result.remedies:
        text.append("\nWhat to do:")
        for remedy in result.remedies:
            text.append(f"\n  {glyphs.BULLET} {clean_block(remedy)}")
    if result.log_tail:
        text.append("\nThe gateway's last lines:", style="bold")
        for line in result.log_tail:
            text.append(f"\n  {clean(line)}", style="dim")
    return text
