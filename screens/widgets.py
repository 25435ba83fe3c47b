"""Reusable widgets: a labelled form field with its error, the step indicator, and radio
buttons and checkboxes whose state reads from the characters alone (`(•)`/`( )`, `[x]`/`[ ]`)
on every terminal, colour or not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, Static, TextArea

from screens import glyphs
from screens.buttons import NavButton
from wizard.core.text import clean

if TYPE_CHECKING:
    from wizard.session import Step

class FormField(Vertical):
    """Label, input and a plain-words error line for one dotted profile field."""

    DEFAULT_CSS = """
    FormField { height: auto; margin: 0 0 0 0; }
    FormField > Horizontal { height: 1; }
    FormField .field-label { width: 20; color: $text-muted; }
    FormField.-focused .field-label { color: $text; text-style: bold; }
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
            yield Label(self._label_text(False), classes="field-label", markup=False)
            yield from self.compose_editor()
        error_line = Static("", classes="field-error", markup=False)
        error_line.display = False
        yield error_line
        if self.hint:
            yield Static(self.hint, classes="field-hint", markup=False)

    def compose_editor(self) -> ComposeResult:
        """What takes the keys, beside the label: a one-line input (and a Browse button)."""
        yield Input(self.initial, placeholder=self.placeholder, compact=True, select_on_focus=False)
        if self.browse:
            yield NavButton("Browse", compact=True, classes="field-browse")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def _label_text(self, focused: bool) -> str:
        # The focus marker: on the Linux console an input has no border, and a blinking
        # cursor alone does not say which field is taking the keys.
        return f"{glyphs.FOCUS if focused else ' '} {self.label}"

    def on_mount(self) -> None:
        self.call_after_refresh(self._show_focus)  # the screen focuses its first field as it mounts

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self._show_focus()

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self.call_after_refresh(self._show_focus)

    def _show_focus(self) -> None:
        if not self.is_attached:  # the screen went away meanwhile
            return
        focused = any(widget.has_focus for widget in self.query(Input))
        self.set_class(focused, "-focused")
        for label in self.query(".field-label").results(Label):
            label.update(self._label_text(focused))

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

    @property
    def value(self) -> str:
        return self.input.value

    def set_value(self, value: str) -> None:
        self.input.value = value

    def focus_input(self) -> None:
        self.input.focus()


class PairsField(FormField):
    """A table field edited as NAME=VALUE lines (extra hosts, extra environment variables)."""

    DEFAULT_CSS = """
    PairsField TextArea { height: 4; width: 1fr; }
    PairsField > Horizontal { height: auto; }
    """

    def compose_editor(self) -> ComposeResult:
        yield TextArea(self.initial, soft_wrap=False, compact=True, tab_behavior="focus",
                       placeholder=self.placeholder)

    @property
    def area(self) -> TextArea:
        return self.query_one(TextArea)

    @property
    def value(self) -> str:
        return self.area.text

    def set_value(self, value: str) -> None:
        self.area.load_text(value)

    def focus_input(self) -> None:
        self.area.focus()

    def _show_focus(self) -> None:
        if not self.is_attached:
            return
        focused = self.area.has_focus
        self.set_class(focused, "-focused")
        for label in self.query(".field-label").results(Label):
            label.update(self._label_text(focused))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.post_message(self.Edited(self, self.area.text))


def field_id(field: str) -> str:
    return "field-" + field.replace(".", "-").replace("_", "-")


class StepIndicator(Static):
    """One line: where you are, and which steps are complete. Every step stays in view: on
    a narrow terminal the others are abbreviated, then shown by their marks alone."""

    DEFAULT_CSS = """
    StepIndicator { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._state: tuple[list[Step], str, set[str]] = ([], "", set())

    def show(self, steps: list[Step], current: str, complete: set[str]) -> None:
        self._state = (steps, current, complete)
        self.update(self.line(self.content_region.width or 200))

    def on_resize(self, _event: events.Resize) -> None:
        self.update(self.line(self.content_region.width))

    def line(self, width: int) -> Content:
        steps, current, complete = self._state
        for form in ("full", "short", "marks"):
            parts: list[Content] = []
            for step in steps:
                if step.id == current:
                    mark, style = glyphs.MARK["current"], "bold reverse"
                elif step.id in complete:
                    mark, style = glyphs.MARK["done"], "$success"
                else:
                    mark, style = glyphs.MARK["todo"], "dim"
                title = step.title if form == "full" or step.id == current else step.short or step.title
                parts.append(Content.styled(mark if form == "marks" and step.id != current else f"{mark} {title}", style))
            content = Content(" ").join(parts)
            if content.cell_length <= width:
                break
        return content


class Choice(RadioButton):
    """A radio button drawn `(•)` when chosen and `( )` when not (`(*)` on the Linux console);
    the one the keys move is marked by the focus marker, not only by colour."""

    @property
    def _button(self) -> Content:
        return Content.styled(glyphs.RADIO_ON if self.value else glyphs.RADIO_OFF, "bold" if self.value else "")

    def render(self) -> Content:
        keyed = self.has_class("-selected") and self.parent is not None and self.parent.has_focus
        return Content.assemble(f"{glyphs.FOCUS if keyed else ' '} ", super().render())

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return super().get_content_width(container, viewport) + 2  # the focus marker


class Toggle(Checkbox):
    """A checkbox drawn `[x]` when on and `[ ]` when off, with the focus marker when focused."""

    @property
    def _button(self) -> Content:
        return Content.styled(glyphs.CHECK_ON if self.value else glyphs.CHECK_OFF, "bold" if self.value else "")

    def render(self) -> Content:
        return Content.assemble(f"{glyphs.FOCUS if self.has_focus else ' '} ", super().render())

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return super().get_content_width(container, viewport) + 2  # the focus marker
