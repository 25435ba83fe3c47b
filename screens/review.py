"""Step: the exact equivalent commands; save them as a script, or confirm to install."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static, TextArea

from screens.base import WizardScreen
from screens.dialogs import ConfirmModal, TextPromptModal
from screens.messages import GoToStep
from screens.widgets import NavButton
from wizard.core.paths import expand_user
from wizard.core.text import clean, clean_block
from wizard.install import plan
from wizard.session import run_holder, tag_words


class ReviewScreen(WizardScreen):
    HELP_TEXT = """Review
  These are the commands the install amounts to, for the record or to run by hand.
  s       save them as an executable script (mode 0700)
  Ctrl+N  install (asks first)"""
    BINDINGS = [Binding("s", "save_script", "Save script")]

    def compose_body(self) -> ComposeResult:
        steps = plan.build(self.session.profile, self.session.name)
        self.plan_text = plan.render(steps)
        self.script_text = plan.script(steps, self.session.name)
        profile = self.session.profile
        yield Static(clean(f"{profile.target}: {profile.image_ref}  ->  GitLab uses {profile.gateway_url}"),
                     classes="note", markup=False)
        yield Static(clean(f"Image tag: {tag_words(profile)}"), id="review-tag", classes="note", markup=False)
        yield TextArea(clean_block(self.plan_text), read_only=True, id="plan-text", soft_wrap=False)

    @dataclass
    class TagResolved(Message):
        words: str

    @work(thread=True, exclusive=True, exit_on_error=False, group="tag")
    def resolve_tag(self) -> None:
        self.post_message(self.TagResolved(self.session.engines.tag(self.session.profile)))

    @on(TagResolved)
    def show_tag(self, message: TagResolved) -> None:
        self.query_one("#review-tag", Static).update(clean(f"Image tag: {message.words}"))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#next", NavButton).set_text("Install")
        self.query_one(TextArea).focus()
        self.show_running()
        self.resolve_tag()

    def show_running(self) -> bool:
        """A run of this profile still going (another terminal, an SSH connection lost
        mid-install) is said, and no second run offered; True when there is one."""
        holder = run_holder(self.session.name)
        self.query_one("#next", NavButton).set_text("Refresh" if holder else "Install")
        if holder:
            self.set_status(f"A run is still going: {holder}. Wait for it to finish (Refresh checks again).")
        else:
            self.set_status("")
        return holder is not None

    def action_save_script(self) -> None:
        default = str(Path.cwd() / f"aigw-install-{self.session.name}.sh")

        def chosen(path: str | None) -> None:
            if not path:
                return
            target = expand_user(path)
            try:
                plan.write_script(target, self.script_text)
            except OSError as error:
                self.notify(clean(f"Cannot write {target}: {error.strerror}"), severity="error", markup=False)
                return
            self.notify(clean(f"Saved {target}"), markup=False)

        self.app.push_screen(TextPromptModal("Save the commands as a script", value=default), chosen)

    def action_next(self) -> None:
        if self.show_running():
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.post_message(GoToStep("install"))

        question = f"Install the AI gateway now ({self.session.profile.target}, profile {self.session.name})?"
        if self.session.profile.gateway.auth_bypass:
            question += "\n\nAUTH BYPASS IS ON: the gateway will not authenticate requests."
        self.app.push_screen(ConfirmModal(clean_block(question), yes="Install"), confirmed)
