"""The Textual app: a profile picker, then one screen per wizard step over a session.

Navigation lives here alone: screens post `OpenSession`, `GoToStep` or `CloseSession`
(screens/messages.py) and the app switches screens. Which screen shows a step comes from
the one step registry, `wizard.session.STEPS`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from screens import glyphs
from screens.messages import CloseSession, GoToStep, OpenSession

if TYPE_CHECKING:
    from collections.abc import Callable

    from wizard.core.profile import Profile
    from wizard.session import Engines, InstallerFor, RunChecks, WizardSession

# The profile list draws first; pydantic, the session and the step screens load after it.


class AigwWizardApp(App[None]):
    """Install the GitLab AI gateway, one checked step at a time."""

    CSS_PATH = "app.tcss"
    TITLE = "aigw-wizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit")]

    def __init__(
        self,
        profile: str | None = None,
        *,
        run_checks: RunChecks | None = None,
        installer_for: InstallerFor | None = None,
        resolve_tag: Callable[[Profile], str] | None = None,
    ) -> None:
        super().__init__()
        self.set_class(glyphs.ASCII, "-plain")  # borders from the Linux console's font (app.tcss)
        self.initial_profile = profile
        self.session: WizardSession | None = None
        # The engines; tests and demos may hand in others. Loaded on first use, not here.
        self._run_checks = run_checks
        self._installer_for = installer_for
        self._resolve_tag = resolve_tag

    def engines(self) -> Engines:
        from wizard.session import Engines

        return Engines(self._run_checks, self._installer_for, self._resolve_tag)

    def get_key_display(self, binding: Binding) -> str:
        if glyphs.ASCII:  # the Linux console's font has no ⏎ or ⇥
            key = binding.key_display or binding.key.split(",")[0]
            return {"enter": "Enter", "escape": "Esc", "delete": "Del", "tab": "Tab"}.get(key, super().get_key_display(binding))
        return super().get_key_display(binding)

    def get_default_screen(self) -> Screen[Any]:
        from screens.profiles import ProfilesScreen

        return ProfilesScreen(self._installer_for)

    def on_mount(self) -> None:
        if self.initial_profile:
            self.open_session(OpenSession(self.initial_profile))

    @on(OpenSession)
    def open_session(self, message: OpenSession) -> None:
        """Resume a profile at its first incomplete step."""
        from wizard.core import store
        from wizard.session import WizardSession, run_holder

        try:
            if message.new:
                session = WizardSession.create(message.ref, self.engines())
            else:
                session = WizardSession.open(message.ref, self.engines())
        except (store.ProfileError, OSError) as error:
            self.notify(str(error), title="Cannot open the profile", severity="error", timeout=15, markup=False)
            return
        self.session = session
        holder = run_holder(session.name)
        if holder:  # e.g. the SSH connection dropped mid-install: that run goes on
            self.notify(f"A run is still going: {holder}", title="Profile busy", severity="warning", timeout=15, markup=False)
        self.goto(session.resume_step())

    @on(GoToStep)
    def go_to_step(self, message: GoToStep) -> None:
        self.goto(message.step_id, message.focus_field)

    def goto(self, step_id: str, focus_field: str | None = None) -> None:
        assert self.session is not None
        screen = make_step_screen(step_id, self.session, focus_field)
        if len(self.screen_stack) > 1:  # a step is showing above the profile list
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    @on(CloseSession)
    def close_session(self) -> None:
        """Back to the profile list (the bottom screen), which shows the saved state."""
        self.session = None
        while len(self.screen_stack) > 1:
            self.pop_screen()  # the profile list reloads itself as it resumes


def make_step_screen(step_id: str, session: WizardSession, focus_field: str | None = None) -> Screen[None]:
    """The screen the step registry names for this step (its module loads only now)."""
    from wizard.session import get_step

    step = get_step(step_id)
    module, _, name = step.screen.partition(":")
    screen_class = getattr(importlib.import_module(module), name)
    return screen_class(session, step, focus_field)


def make_app(profile: str | None = None, **engines: Any) -> AigwWizardApp:
    """The one factory the CLI, the tests and the benchmarks use."""
    return AigwWizardApp(profile=profile, **engines)
