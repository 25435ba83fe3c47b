"""Typed dialogs: each returns its answer through `dismiss()`."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label, Static

from screens import glyphs
from screens.widgets import NavButton
from wizard.core.text import clean


class ConfirmModal(ModalScreen[bool]):
    """Yes or no; Escape means no."""

    BINDINGS = [Binding("escape", "answer(False)", "No"), Binding("y", "answer(True)", "Yes", show=False)]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield NavButton(self.no, id="no", compact=True)
                yield NavButton(self.yes, id="yes", variant="warning", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextPromptModal(ModalScreen[str | None]):
    """One line of text, checked by `validate` (returns an error or None) before it is accepted."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "",
                 validate: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.validate = validate or (lambda _text: None)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-text", markup=False)
            yield Input(self.value, placeholder=self.placeholder, compact=True)
            yield Static("", id="prompt-error", classes="field-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield NavButton("Cancel", id="cancel", compact=True)
                yield NavButton("OK", id="ok", variant="primary", compact=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Static).update(clean(self.validate(event.value) or ""))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def accept(self) -> None:
        text = self.query_one(Input).value.strip()
        error = self.validate(text)
        if error:
            self.query_one("#prompt-error", Static).update(clean(error))
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class FilePickerModal(ModalScreen[str | None]):
    """Keyboard-driven file picker: arrows move, Enter opens a folder or picks a file."""

    # Not Ctrl+H: terminals send it for Backspace.
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("backspace", "parent", "Up a folder"),
        Binding("h,full_stop", "toggle_hidden", "Hidden files"),
    ]

    def __init__(self, title: str, start: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.start = start if start is not None and start.is_dir() else Path.cwd()
        """Where the file is likely to be: beside the current value, else the working directory."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-tall"):
            yield Label(self.title_text, classes="dialog-text", markup=False)
            yield Static(clean(str(self.start)), id="picker-path", markup=False)
            yield FilteredDirectoryTree(self.start, id="picker-tree")
            yield Static("Enter: pick  Backspace: up  h: hidden files  Esc: cancel", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(DirectoryTree).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))

    def action_parent(self) -> None:
        tree = self.query_one(FilteredDirectoryTree)
        parent = Path(tree.path).resolve().parent
        tree.path = parent
        self.query_one("#picker-path", Static).update(clean(str(parent)))

    def action_toggle_hidden(self) -> None:
        tree = self.query_one(FilteredDirectoryTree)
        tree.show_hidden = not tree.show_hidden
        tree.reload()
        self.notify("Showing hidden files" if tree.show_hidden else "Hiding hidden files", timeout=2)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilteredDirectoryTree(DirectoryTree):
    """Hides dot-files unless asked: key and cert folders are full of them. File names are
    shown as typed (never as markup) and the icons are ASCII on the Linux console."""

    show_hidden = False

    def __init__(self, path: str | Path, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(path, id=id)
        self.ICON_NODE, self.ICON_NODE_EXPANDED, self.ICON_FILE = glyphs.FOLDER, glyphs.FOLDER_OPEN, glyphs.FILE

    def process_label(self, label: str | Text) -> Text:
        return Text(clean(label if isinstance(label, str) else label.plain))

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if self.show_hidden or not path.name.startswith(".")]


class HelpModal(ModalScreen[None]):
    """The keys and what the current screen is for."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-tall dialog-help"):
            yield Label("Help", classes="dialog-text", markup=False)
            with VerticalScroll():
                yield Static(self.text, id="help-text", markup=False)
            yield Static("Esc: close", classes="dialog-hint", markup=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self._rewrap)

    def _rewrap(self) -> None:
        help_text = self.query_one("#help-text", Static)
        help_text.update(hang_wrap(self.text, max(30, help_text.content_region.width)))

    def action_close(self) -> None:
        self.dismiss(None)


_KEY_COLUMN = re.compile(r"^(\s*\S+(?: \S+)*\s{2,})\S")


def hang_wrap(text: str, width: int) -> str:
    """Wrap help text so a long line continues under its own description column
    (`  Key   what it does …` → continuation lines indented to "what")."""
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        match = _KEY_COLUMN.match(line)
        indent = len(match.group(1)) if match and len(match.group(1)) <= width // 2 else len(line) - len(line.lstrip())
        out.extend(textwrap.wrap(line, width, subsequent_indent=" " * indent) or [""])
    return "\n".join(out)
