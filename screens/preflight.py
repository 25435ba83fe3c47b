"""Step: preflight checks, live. Failures block Next; Enter on a row jumps to its field."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from screens import glyphs
from screens.base import WizardScreen
from screens.messages import GoToStep
from wizard.checks.base import CheckResult
from wizard.core.text import clean, clean_block
from wizard.session import step_of_field

_ORDER = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}


class PreflightScreen(WizardScreen):
    HELP_TEXT = """Checks
  Every check runs at once, each with its own time limit; rows appear as they finish.
  Up/Down   select a row to read its detail and remedy
  Enter     go to the screen holding the field a failing row is about
  r         run the checks again
Failures block Next; warnings do not."""
    BINDINGS = [Binding("r", "rerun", "Re-run")]

    @dataclass
    class CheckFinished(Message):
        result: CheckResult

    @dataclass
    class ChecksDone(Message):
        error: str | None = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.results: list[CheckResult] = []
        self.running = False

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="checks-table", cursor_type="row")
        yield Static("", id="check-detail", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        table.add_column("", width=2, key="status")
        table.add_column("Check", width=28, key="title")
        table.add_column("Result", key="detail")
        table.focus()
        self.action_rerun()

    def action_rerun(self) -> None:
        if self.running:
            return
        self.results.clear()
        self.query_one(DataTable).clear()
        self.running = True
        self.set_status("Running checks...")
        self.run_checks()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_checks(self) -> None:
        for result in self.session.checks():
            self.post_message(self.CheckFinished(result))
        self.post_message(self.ChecksDone())

    @on(Worker.StateChanged)
    def checks_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:  # shown on screen: the wizard must not crash on a broken check
            self.post_message(self.ChecksDone(f"The checks stopped: {event.worker.error}"))

    def on_preflight_screen_check_finished(self, message: CheckFinished) -> None:
        result = message.result
        self.results.append(result)
        self.results.sort(key=lambda item: _ORDER[item.status])
        table = self.query_one(DataTable)
        table.clear()
        for item in self.results:
            table.add_row(glyphs.MARK[item.status], Text(clean(item.title)), Text(clean(item.detail)), key=item.id)
        self._show_detail()

    def on_preflight_screen_checks_done(self, message: ChecksDone) -> None:
        self.running = False
        failed = sum(result.status == "fail" for result in self.results)
        warned = sum(result.status == "warn" for result in self.results)
        summary = clean(message.error or "") or f"{failed} failed, {warned} warned of {len(self.results)}"
        self.set_status(summary + (" · Enter on a row: fix it" if failed else ""))

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected(self) -> CheckResult | None:
        table = self.query_one(DataTable)
        if not self.results or table.cursor_row >= len(self.results):
            return None
        return self.results[table.cursor_row]

    def _show_detail(self) -> None:
        result = self.selected()
        if result is None:
            return
        text = f"{result.title} ({result.id}, {result.duration_ms} ms): {result.detail}"
        if result.remedy:
            text += f"\nWhat to do: {result.remedy}"
        self.query_one("#check-detail", Static).update(clean_block(text))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        result = self.selected()
        if result is None or not result.field:
            return
        step = step_of_field(result.field)
        if step:
            self.post_message(GoToStep(step, result.field))

    def blocking_reason(self) -> str | None:
        if self.running:
            return "The checks are still running"
        failed = [result.title for result in self.results if result.status == "fail"]
        if failed:
            return "Fix the failed checks first: " + ", ".join(failed)
        return None
