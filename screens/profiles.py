"""The first screen: saved profiles, with new / open / duplicate / delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from screens import glyphs
from screens.messages import OpenSession
from wizard.core import paths
from wizard.core.text import clean, clean_block

if TYPE_CHECKING:
    from wizard.core import store
    from wizard.session import InstallerFor
# Only names and textual load before the first frame: parsing profiles needs pydantic, which
# a worker loads right after, filling in each row's target and state.

INTRO = (
    "Install the self-hosted GitLab AI gateway with Docker or Helm. A profile keeps every "
    "answer; it is saved as you go, so you can stop at any point and resume."
)


class ProfilesScreen(Screen[None]):
    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("enter,o", "open", "Open", priority=True),
        Binding("d", "duplicate", "Duplicate"),
        Binding("h", "doctor", "Doctor"),
        Binding("x,delete", "delete", "Delete"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("q,ctrl+q", "app.quit", "Quit"),
    ]

    @dataclass
    class Read(Message):
        """The profiles, read by the worker, and each row's cells."""

        entries: list[Any]
        rows: list[tuple[str, ...]]

    @dataclass
    class Live(Message):
        """One row's state as its engine tells it (after the journal's word)."""

        name: str
        state: str

    def __init__(self, installer_for: InstallerFor | None = None) -> None:
        super().__init__()
        self.entries: list[store.ProfileEntry] | None = None
        """None while the worker is still reading the profiles."""
        self.installer_for = installer_for
        """The engines' installers (tests hand in fakes); None: the real ones."""
        self.live: dict[str, str] = {}
        """Each installed profile's state from its engine, once it answered."""

    def compose(self) -> ComposeResult:
        yield Static(f"aigw-wizard {glyphs.DASH} GitLab AI gateway installer", id="screen-title", markup=False)
        yield Static(INTRO, id="intro", markup=False)
        yield DataTable(id="profiles", cursor_type="row", zebra_stripes=True)
        yield Static("", id="profile-detail", markup=False)
        # Every action is a key the footer names: a row of buttons repeating them cost a line
        # of an 80x24 terminal and ~8% of the time to the first frame.
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._state_column = table.add_columns("Profile", "Target", "Modified", "State")[3]
        self.reload()
        table.focus()

    def on_screen_resume(self) -> None:
        if self.entries is not None:  # back from a session: show what it saved
            self.reload()

    def reload(self) -> None:
        """Names at once from the folder listing; then each unchanged file's row as the last
        start judged it (`wizard.core.listing`); then every row from the model, in a worker."""
        table = self.query_one(DataTable)
        table.clear()
        self.entries = None
        folder = paths.profiles_dir()
        found = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        for path in found:
            table.add_row(Text(clean(path.stem)), "", "", "reading...", key=path.stem)
        if not found:
            self.query_one("#profile-detail", Static).update(
                clean(f"No profiles yet in {folder}. Press n to create one.")
            )
        self.show_remembered(found)
        # After the first frame: importing pydantic in a thread would hold the GIL while
        # Textual draws.
        self.call_after_refresh(self.load_details)

    def show_remembered(self, found: list[Path]) -> None:
        """Before the model's rows: each unchanged file's row as the last start judged it."""
        from wizard.core import listing
        from wizard.core.outcomes import last_outcome

        table = self.query_one(DataTable)
        for path, known in listing.remembered(found).items():
            try:
                modified = _modified_cell(datetime.fromtimestamp(path.lstat().st_mtime))
            except (OSError, ValueError, OverflowError):
                continue
            cells = (known.target, modified, listing.state_words(known.verdict, last_outcome(path.stem)))
            for column, cell in zip(table.ordered_columns[1:], cells, strict=True):
                table.update_cell(path.stem, column.key, Text(clean(cell)), update_width=True)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_details(self) -> None:
        from wizard.core import listing, store
        from wizard.core.outcomes import last_outcome

        entries = store.list_profiles()
        outcomes = {entry.name: last_outcome(entry.name) for entry in entries}
        rows = [(entry.name, *self._describe(entry, outcomes[entry.name])) for entry in entries]
        self.post_message(self.Read(entries, rows))
        listing.remember({entry.path: (entry.revision, listing.Verdict(row[1], store.verdict(entry)))
                          for entry, row in zip(entries, rows, strict=True)})
        self.ask_engines([(entry, row[3]) for entry, row in zip(entries, rows, strict=True)
                          if entry.profile is not None and row[3] in ("installed", "install failed")])

    @work(thread=True, exclusive=True, exit_on_error=False, group="live")
    def ask_engines(self, installed: list[tuple[Any, str]]) -> None:
        """The engines' word on each installed profile, one row at a time (short timeouts)."""
        from wizard.session import live_state

        for entry, word in installed:
            self.post_message(self.Live(entry.name, live_state(entry.profile, entry.name, word,
                                                               installer_for=self.installer_for)))

    @on(Live)
    def show_live(self, message: Live) -> None:
        self.live[message.name] = message.state
        table = self.query_one(DataTable)
        try:
            table.update_cell(message.name, self._state_column, Text(clean(message.state)))
        except Exception:  # the row went away meanwhile (deleted, reloaded)
            pass

    @on(Read)
    def show_entries(self, message: Read) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in message.rows:
            table.add_row(*(Text(clean(cell)) for cell in row), key=row[0])
        entries = message.entries
        self.entries = entries
        if entries:
            table.move_cursor(row=min(cursor, len(entries) - 1))
        self._show_detail()

    @staticmethod
    def _describe(entry: store.ProfileEntry, outcome: dict[str, Any] | None) -> tuple[str, str, str]:
        from wizard.core import store

        return store.target_word(entry), _modified_cell(entry.modified), store.state_text(entry, outcome)

    def selected(self) -> store.ProfileEntry | None:
        table = self.query_one(DataTable)
        if not self.entries or table.cursor_row >= len(self.entries):
            return None
        return self.entries[table.cursor_row]

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def _show_detail(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        from wizard.core import store

        detail = self.query_one("#profile-detail", Static)
        if entry.error:
            if isinstance(entry.error, store.ProfileInvalid):
                found = "; ".join(f"{problem.field}: {problem.message}" for problem in entry.error.problems)
                reason = f"{entry.path}: {found}"
            else:
                reason = str(entry.error)
            detail.update(clean_block(f"Cannot read this profile: {clean(reason)}\nFix the file by hand; it is never overwritten."))
            return
        assert entry.profile is not None
        from wizard.core.profile import problems

        missing = problems(entry.profile)
        lines = [clean(f"{entry.path}")]
        if missing:
            lines.append(clean("To fill in: " + ", ".join(problem.field for problem in missing)))
        else:
            lines.append(clean(f"Ready: {entry.profile.gateway_url} ({entry.profile.image_tag})"))
        detail.update("\n".join(lines))

    # Actions ------------------------------------------------------------------------------

    def action_new(self) -> None:
        from screens.dialogs import TextPromptModal

        def created(name: str | None) -> None:
            if name:
                self.post_message(OpenSession(name, new=True))

        self.app.push_screen(
            TextPromptModal("Name of the new profile", placeholder="e.g. production",
                            validate=self._check_new_name),
            created,
        )

    def _check_new_name(self, name: str) -> str | None:
        from wizard.core import validators
        if not name:
            return "Type a name"
        try:
            validators.profile_name(name)
        except ValueError as error:
            return str(error)
        if any(entry.name == name for entry in self.entries or []):
            return f"A profile named {name} already exists"
        return None

    def action_open(self) -> None:
        if self.entries is None:
            self.notify("Still reading the profiles...", timeout=2)
            return
        entry = self.selected()
        if entry is None:
            self.action_new()
            return
        if entry.error:
            self.notify(clean(str(entry.error)), title="Cannot open", severity="error", timeout=10, markup=False)
            return
        self.post_message(OpenSession(str(entry.path)))

    def action_doctor(self) -> None:
        entry = self.selected()
        if entry is None or entry.profile is None:
            self.notify("Select a readable profile for the doctor", severity="warning")
            return
        from screens.gitlab_side import DoctorModal

        self.app.push_screen(DoctorModal(entry.profile, entry.name))

    def action_duplicate(self) -> None:
        from screens.dialogs import TextPromptModal
        from wizard.core import store
        entry = self.selected()
        if entry is None or entry.error:
            self.notify("Select a readable profile to duplicate", severity="warning")
            return

        def duplicated(name: str | None) -> None:
            if name:
                try:
                    store.duplicate(str(entry.path), name)
                except (store.ProfileError, OSError) as error:
                    self.notify(clean(str(error)), severity="error", markup=False)
                self.reload()

        self.app.push_screen(
            TextPromptModal(clean(f"Duplicate {entry.name} as"), value=f"{entry.name}-copy",
                            validate=self._check_new_name),
            duplicated,
        )

    def action_delete(self) -> None:
        from screens.dialogs import ConfirmModal
        from wizard.core import store
        entry = self.selected()
        if entry is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                try:
                    store.delete(str(entry.path))
                except OSError as error:
                    self.notify(clean(f"Cannot delete: {error.strerror}"), severity="error", markup=False)
                self.reload()

        self.app.push_screen(
            ConfirmModal(clean_block(f"Delete profile {clean(entry.name)}?\n{clean(str(entry.path))}\nThis does not uninstall anything."),
                         yes="Delete"),
            confirmed,
        )

    def action_help(self) -> None:
        from screens.base import GLOBAL_HELP
        from screens.dialogs import HelpModal

        self.app.push_screen(HelpModal(
            "Profiles\n  n  new profile\n  Enter/o  open (resumes at the first incomplete screen)\n"
            "  d  duplicate\n  h  doctor: what is wrong with the installed gateway\n  x/Delete  delete (asks first)\n  q  quit\n\n" + GLOBAL_HELP
        ))


def _modified_cell(when: datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M}"
