"""Step: the install itself, with a step list, pull progress and live logs.

The installer runs in a worker thread and hands its events over a queue; a timer drains
the queue in batches, so a flood of log lines never starves the UI.
"""

from __future__ import annotations

import queue
import threading

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, ProgressBar

from screens.base import WizardScreen
from screens.dialogs import ConfirmModal
from screens.glyphs import MARK
from screens.logpane import LogPane
from wizard.core.events import Event, LogLine, Progress, Result, StepFinished, StepStarted

DRAIN_INTERVAL = 1 / 20
MAX_EVENTS_PER_DRAIN = 20_000
_STATE_MARK = {"ok": MARK["pass"], "skipped": MARK["skip"], "failed": MARK["fail"], "cancelled": MARK["warn"]}


class InstallScreen(WizardScreen):
    STEP = "install"
    HELP_TEXT = """Install
  The gateway is being installed; container logs, Helm output and pod events stream below.
  p       pause or resume following the log (lines keep arriving)
  /       filter the log by text
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

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.cancel_request = threading.Event()
        self.running = False
        self.result: Result | None = None
        self.pull_layers: dict[str, tuple[int, int | None]] = {}

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="steps-table", cursor_type="none", show_header=False)
        with Horizontal(id="pull-progress"):
            yield Label("", id="pull-label")
            yield ProgressBar(show_eta=False, id="pull-bar")
        yield LogPane(id="install-log")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        table.add_column("", width=2, key="mark")
        # Fixed widths: auto-sized columns would jump as details arrive.
        table.add_column("Step", width=44, key="title")
        table.add_column("Detail", width=24, key="detail")
        self.query_one("#pull-progress").display = False
        self.set_interval(DRAIN_INTERVAL, self.drain)
        self.start()

    def start(self) -> None:
        self.running = True
        self.result = None
        self.cancel_request.clear()
        self.query_one("#next").disabled = True
        self.query_one("#back").disabled = True
        self.set_status("Installing…  (c cancels)")
        self.run_installer()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_installer(self) -> None:
        from wizard.core.journal import Journal

        try:
            journal = Journal(self.session.name, "apply")
            installer = self.wizard.installer_for(self.session.profile, self.session.name, self.cancel_request)
            for event in journal.follow(installer.apply()):
                self.events.put(event)
        except Exception as error:  # the screen shows it; a traceback helps nobody here
            self.events.put(Result(ok=False, summary=f"the installer stopped: {error}"))

    def drain(self) -> None:
        lines: list[str] = []
        for _ in range(MAX_EVENTS_PER_DRAIN):
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, LogLine):
                lines.append(f"[{event.source}] {event.text}")
            elif isinstance(event, Progress):
                self._progress(event)
            else:
                if lines:
                    self.query_one(LogPane).add(lines)
                    lines = []
                self._apply(event)
        if lines:
            self.query_one(LogPane).add(lines)

    def _apply(self, event: Event) -> None:
        table = self.query_one(DataTable)
        if isinstance(event, StepStarted):
            table.add_row(MARK["running"], event.title, "", key=event.step)
        elif isinstance(event, StepFinished):
            if event.step in table.rows:
                table.update_cell(event.step, "mark", _STATE_MARK[event.status])
                table.update_cell(event.step, "detail", event.detail)
            self.query_one("#pull-progress").display = False
        elif isinstance(event, Result):
            self._finish(event)

    def _progress(self, event: Progress) -> None:
        self.pull_layers[event.key] = (event.current, event.total)
        known = [total for _current, total in self.pull_layers.values() if total]
        bar = self.query_one(ProgressBar)
        self.query_one("#pull-progress").display = True
        bar.update(total=sum(known) or None, progress=sum(current for current, _ in self.pull_layers.values()))
        finished = sum(1 for current, total in self.pull_layers.values() if total and current >= total)
        self.query_one("#pull-label", Label).update(f"{event.label or event.step}: {finished}/{len(self.pull_layers)} ")

    def _finish(self, result: Result) -> None:
        self.running = False
        self.result = result
        self.query_one("#back").disabled = False
        if result.ok:
            self.query_one("#next").disabled = False
            self.set_status(f"{result.summary}: Next shows where to set the URL")
            self.notify(result.summary, title="Installed")
        else:
            self.set_status(f"Failed: {result.summary} (r retries)")
            self.notify(result.summary, title="Install failed", severity="error", timeout=15)
        if self.quit_when_finished:
            self.app.exit()

    quit_when_finished = False

    def action_pause(self) -> None:
        self.query_one(LogPane).toggle_pause()

    def action_filter(self) -> None:
        self.query_one("#log-filter").focus()

    def action_cancel(self, then_quit: bool = False) -> None:
        if not self.running:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.cancel_request.set()
                self.quit_when_finished = then_quit
                self.set_status("Cancelling: cleaning up…")

        self.app.push_screen(
            ConfirmModal("Cancel the install? What was started is cleaned up or rolled back.",
                         yes="Cancel install", no="Keep going"),
            confirmed,
        )

    def action_retry(self) -> None:
        if not self.running and self.result and not self.result.ok:
            self.query_one(DataTable).clear()
            self.pull_layers.clear()
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
