"""The frame every wizard step shares: step indicator, bypass warning, Back/Next, footer."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from screens import glyphs
from screens.dialogs import FilePickerModal
from screens.messages import CloseSession, GoToStep
from screens.widgets import FormField, NavButton, StepIndicator
from wizard.core.text import clean
from wizard.session import FORM_STEPS, Step, WizardSession, field_text, steps_for

GLOBAL_HELP = """Keys
  Ctrl+N        next screen (also the Next button)
  Esc           previous screen
  Tab/Shift+Tab move between fields and buttons
  Enter         next field; on a button, press it
  F1 or ?       this help
  Ctrl+Q        quit: everything valid is already saved

Every field is saved to the profile the moment it is valid, so you can quit
or lose the connection at any point and resume where you left off.
"""


class WizardScreen(Screen[None]):
    """One step of the wizard over a `WizardSession`; subclasses compose the body."""

    HELP_TEXT: ClassVar[str] = ""
    BINDINGS = [
        Binding("ctrl+n", "next", "Next"),
        Binding("escape", "back", "Back"),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+q", "app.quit", "Quit"),
    ]

    def __init__(self, session: WizardSession, step: Step, focus_field: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.step = step
        """This screen's entry in the step registry (`wizard.session.STEPS`)."""
        self.focus_field = focus_field
        """A field to put the cursor in on arrival (a failed check's field)."""

    def compose(self) -> ComposeResult:
        yield StepIndicator(id="steps")
        yield Static(
            "AUTH BYPASS ON: requests are NOT authenticated (troubleshooting only)",
            id="bypass-banner",
            markup=False,
        )
        yield Static(clean(f"{self.step.title} {glyphs.DASH} profile {self.session.name}"), id="screen-title", markup=False)
        with VerticalScroll(id="body"):
            yield from self.compose_body()
        yield Static("", id="nav-status", markup=False)
        with Horizontal(id="nav"):
            yield NavButton("Back", id="back", compact=True)
            yield Static("", classes="nav-gap")
            yield NavButton("Next", id="next", variant="primary", compact=True)
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#nav-status").display = False
        self.refresh_chrome()
        if self.focus_field:
            # After the subclass's own on_mount, which focuses its first field.
            self.call_after_refresh(self._focus_requested_field)

    def _focus_requested_field(self) -> None:
        for form_field in self.query(FormField):
            if form_field.field == self.focus_field:
                form_field.focus_input()
                form_field.scroll_visible()

    def refresh_chrome(self) -> None:
        steps = steps_for(self.session.profile.target)
        # Checks, Review and Install are passed only by completing them, so any before the
        # current step is done; going back before them means they must be done again.
        order = [step.id for step in steps]
        passed = {step for step in order[: order.index(self.step.id)] if step not in FORM_STEPS}
        self.query_one(StepIndicator).show(steps, self.step.id, self.session.completed_steps() | passed)
        self.query_one("#bypass-banner").display = self.session.profile.gateway.auth_bypass

    def set_status(self, text: str) -> None:
        """The line above Back/Next: why Next is blocked, or how a run went (wrapped, never cut)."""
        status = self.query_one("#nav-status", Static)
        status.update(clean(text))
        status.display = bool(text)

    # Fields -------------------------------------------------------------------------------

    def on_form_field_edited(self, message: FormField.Edited) -> None:
        error = self.set_field(message.form_field.field, message.value)
        message.form_field.show_error(error)
        self.field_changed(message.form_field.field, error)
        self.refresh_chrome()

    def set_field(self, field: str, value: object) -> str | None:
        """`session.set`, and when the profile had changed on disk (and was reloaded for it),
        the other fields show the file's values and the status line says so."""
        error = self.session.set(field, value)
        if self.session.take_reloaded():
            self.reload_fields(except_field=field)
            self.set_status("The profile changed on disk; reloaded (your last change is applied on top)")
        return error

    def reload_fields(self, except_field: str | None = None) -> None:
        """Every form field shows the session's profile again (the one being typed in excepted)."""
        for form_field in self.query(FormField):
            if form_field.field != except_field:
                text = field_text(self.session.profile, form_field.field)
                if form_field.value != text:
                    form_field.set_value(text)

    def field_changed(self, field: str, error: str | None) -> None:
        """Hook for live derived values (the API URL, the image tag, TLS details)."""

    def on_form_field_browse(self, message: FormField.Browse) -> None:
        current = message.form_field.input.value.strip()
        start = self.session.profile.resolve(current).parent if current else None  # None: the working directory

        def picked(path: str | None) -> None:
            if path:
                message.form_field.set_value(path)
                message.form_field.input.focus()

        self.app.push_screen(FilePickerModal(f"Choose a file for {message.form_field.label}", start), picked)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    # Navigation ---------------------------------------------------------------------------

    @on(Button.Pressed, "#next")
    def next_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_next()

    @on(Button.Pressed, "#back")
    def back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def blocking_reason(self) -> str | None:
        """Why Next may not proceed yet, in plain words (None: go ahead)."""
        invalid = [field.label for field in self.query(FormField) if field.has_class("-invalid")]
        if invalid:
            return "Fix these fields (the error is under each): " + ", ".join(invalid)
        missing = self.session.step_problems(self.step.id)
        if missing:
            return "Still needed: " + "; ".join(missing)
        return None

    def action_next(self) -> None:
        reason = self.blocking_reason()
        if reason:
            self.set_status(reason)  # above Back/Next, wrapped; no toast to cover the fields
            return
        self.session.confirm(self.step.id)
        following = self.session.next_step(self.step.id)
        if following:
            self.post_message(GoToStep(following))

    def action_back(self) -> None:
        previous = self.session.previous_step(self.step.id)
        self.post_message(GoToStep(previous) if previous else CloseSession())

    def action_help(self) -> None:
        from screens.dialogs import HelpModal

        self.app.push_screen(HelpModal(self.HELP_TEXT.strip() + "\n\n" + GLOBAL_HELP))
