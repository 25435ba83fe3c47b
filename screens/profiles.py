"""The first screen: saved profiles, with new / open / duplicate / delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Static

from screens.glyphs import DASH
from wizard.core import paths

if TYPE_CHECKING:
    from screens.app import AigwWizardApp
    from wizard.core import store
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
        Binding("x,delete", "delete", "Delete"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("q,ctrl+q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[store.ProfileEntry] | None = None
        """None while the worker is still reading the profiles."""

    @property
    def wizard(self) -> AigwWizardApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f"aigw-wizard {DASH} GitLab AI gateway installer", id="screen-title")
        yield Static(INTRO, id="intro", markup=False)
        yield DataTable(id="profiles", cursor_type="row", zebra_stripes=True)
        yield Static("", id="profile-detail", markup=False)
        with Horizontal(id="nav"):
            yield Button("New", id="new", variant="primary", compact=True)
            yield Button("Open", id="open", compact=True)
            yield Button("Duplicate", id="duplicate", compact=True)
            yield Button("Delete", id="delete", variant="error", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Profile", "Target", "Modified", "State")
        self.reload()
        table.focus()

    def reload(self) -> None:
        """Names at once from the folder listing; targets and states follow from a worker."""
        table = self.query_one(DataTable)
        table.clear()
        self.entries = None
        folder = paths.profiles_dir()
        found = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        for path in found:
            table.add_row(path.stem, "", "", "reading…", key=path.stem)
        if not found:
            self.query_one("#profile-detail", Static).update(
                f"No profiles yet in {folder}. Press n to create one."
            )
        # After the first frame: importing pydantic in a thread would hold the GIL while
        # Textual draws.
        self.call_after_refresh(self.load_details)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_details(self) -> None:
        from wizard.core import store
        entries = store.list_profiles()
        rows = [(entry.name, *self._describe(entry)) for entry in entries]
        self.app.call_from_thread(self._show_entries, entries, rows)

    def _show_entries(self, entries: list[store.ProfileEntry], rows: list[tuple[str, ...]]) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*row, key=row[0])
        self.entries = entries
        if entries:
            table.move_cursor(row=min(cursor, len(entries) - 1))
        self._show_detail()

    @staticmethod
    def _describe(entry: store.ProfileEntry) -> tuple[str, str, str]:
        from wizard.core.profile import problems

        modified = f"{entry.modified:%Y-%m-%d %H:%M}"
        if entry.profile is None:
            return "?", modified, "cannot be read"
        missing = problems(entry.profile)
        state = "ready" if not missing else f"incomplete ({len(missing)} to fill in)"
        return entry.profile.target or "-", modified, state

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
        detail = self.query_one("#profile-detail", Static)
        if entry.error:
            detail.update(f"Cannot read this profile: {entry.error}\nFix the file by hand; it is never overwritten.")
            return
        assert entry.profile is not None
        from wizard.core.profile import problems

        missing = problems(entry.profile)
        lines = [f"{entry.path}"]
        if missing:
            lines.append("To fill in: " + ", ".join(problem.field for problem in missing))
        else:
            lines.append(f"Ready: {entry.profile.gateway_url} ({entry.profile.image_tag})")
        detail.update("\n".join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.run_action(str(event.button.id))

    # Actions ------------------------------------------------------------------------------

    def action_new(self) -> None:
        from screens.dialogs import TextPromptModal
        from wizard.core import store
        from wizard.session import WizardSession

        def created(name: str | None) -> None:
            if name:
                try:
                    self.wizard.open_session(WizardSession.create(name))
                except (store.ProfileError, OSError) as error:
                    self.notify(str(error), severity="error")

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
        from wizard.core import store
        from wizard.session import WizardSession

        if self.entries is None:
            self.notify("Still reading the profiles…", timeout=2)
            return
        entry = self.selected()
        if entry is None:
            self.action_new()
            return
        if entry.error:
            self.notify(str(entry.error), title="Cannot open", severity="error", timeout=10)
            return
        try:
            self.wizard.open_session(WizardSession.open(str(entry.path)))
        except store.ProfileError as error:
            self.notify(str(error), title="Cannot open", severity="error", timeout=10)

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
                    self.notify(str(error), severity="error")
                self.reload()

        self.app.push_screen(
            TextPromptModal(f"Duplicate {entry.name} as", value=f"{entry.name}-copy",
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
                    self.notify(f"Cannot delete: {error.strerror}", severity="error")
                self.reload()

        self.app.push_screen(
            ConfirmModal(f"Delete profile {entry.name}?\n{entry.path}\nThis does not uninstall anything.",
                         yes="Delete"),
            confirmed,
        )

    def action_help(self) -> None:
        from screens.base import GLOBAL_HELP
        from screens.dialogs import HelpModal

        self.app.push_screen(HelpModal(
            "Profiles\n  n  new profile\n  Enter/o  open (resumes at the first incomplete screen)\n"
            "  d  duplicate\n  x/Delete  delete (asks first)\n  q  quit\n\n" + GLOBAL_HELP
        ))
