"""Reusable widgets: a labelled form field with its error, and the step indicator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from screens import glyphs
from wizard.core.text import clean

if TYPE_CHECKING:
    from wizard.session import Step

class FormField(Vertical):
    """Label, input and a plain-words error line for one dotted profile field."""

    DEFAULT_CSS = """
    FormField { height: auto; margin: 0 0 0 0; }
    FormField > Horizontal { height: 1; }
    FormField .field-label { width: 20; color: $text-muted; }
    FormField Input { width: 1fr; }
    FormField .field-browse { width: auto; min-width: 10; margin-left: 1; }
    FormField .field-error { color: $error; padding-left: 20; height: auto; }
    FormField .field-hint { color: $text-muted; padding-left: 20; height: auto; }
    FormField.-invalid .field-label { color: $error; }
    """

    class Edited(Message):
        """The user changed the text of a field."""

        def __init__(self, form_field: FormField, value: str) -> None:
            super().__init__()
            self.form_field = form_field
            self.value = value

    class Browse(Message):
        """The user asked for the file picker for this field."""

        def __init__(self, form_field: FormField) -> None:
            super().__init__()
            self.form_field = form_field

    def __init__(
        self,
        field: str,
        label: str,
        value: str = "",
        *,
        placeholder: str = "",
        hint: str = "",
        browse: bool = False,
    ) -> None:
        super().__init__(id=field_id(field))
        self.field = field
        self.label = label
        self.initial = value
        self.placeholder = placeholder
        self.hint = hint
        self.browse = browse

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, classes="field-label", markup=False)
            yield Input(self.initial, placeholder=self.placeholder, compact=True, select_on_focus=False)
            if self.browse:
                yield Button("Browse", compact=True, classes="field-browse")
        error_line = Static("", classes="field-error", markup=False)
        error_line.display = False
        yield error_line
        if self.hint:
            yield Static(self.hint, classes="field-hint", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Edited(self, event.value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Browse(self))

    def show_error(self, error: str | None) -> None:
        self.set_class(bool(error), "-invalid")
        line = self.query_one(".field-error", Static)
        line.update(clean(error or ""))
        line.display = bool(error)

    def set_value(self, value: str) -> None:
        self.input.value = value


def field_id(field: str) -> str:
    return "field-" + field.replace(".", "-").replace("_", "-")


class StepIndicator(Static):
    """One line: where you are, and which steps are complete."""

    DEFAULT_CSS = """
    StepIndicator { height: 1; background: $panel; padding: 0 1; }
    """

    def show(self, steps: list[Step], current: str, complete: set[str]) -> None:
        parts: list[Content] = []
        for step in steps:
            if step.id == current:
                parts.append(Content.styled(f"{glyphs.MARK['current']} {step.title}", "bold reverse"))
            elif step.id in complete:
                parts.append(Content.styled(f"{glyphs.MARK['done']} {step.title}", "$success"))
            else:
                parts.append(Content.styled(f"{glyphs.MARK['todo']} {step.title}", "dim"))
        self.update(Content(" ").join(parts))
