"""The Textual app: a profile picker, then one screen per wizard step over a session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from screens.glyphs import ASCII

if TYPE_CHECKING:
    from screens.base import WizardScreen
    from wizard.session import WizardSession

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
        run_checks: Callable[..., Iterator[Any]] | None = None,
        installer_for: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.initial_profile = profile
        self.session: WizardSession | None = None
        # The engines; tests and demos may hand in others. Imported on first use, not here.
        self._run_checks = run_checks
        self._installer_for = installer_for

    def run_checks(self, *args: Any) -> Iterator[Any]:
        if self._run_checks is None:
            from wizard.checks import run_checks

            self._run_checks = run_checks
        return self._run_checks(*args)

    def installer_for(self, *args: Any) -> Any:
        if self._installer_for is None:
            from wizard.install import installer_for

            self._installer_for = installer_for
        return self._installer_for(*args)

    def get_key_display(self, binding: Binding) -> str:
        if ASCII:  # the Linux console's font has no ⏎ or ⇥
            key = binding.key_display or binding.key.split(",")[0]
            return {"enter": "Enter", "escape": "Esc", "delete": "Del", "tab": "Tab"}.get(key, super().get_key_display(binding))
        return super().get_key_display(binding)

    def get_default_screen(self) -> Screen[Any]:
        from screens.profiles import ProfilesScreen

        return ProfilesScreen()

    def on_mount(self) -> None:
        if self.initial_profile:
            from wizard.core import store
            from wizard.session import WizardSession

            try:
                self.open_session(WizardSession.open(self.initial_profile))
            except store.ProfileError as error:
                self.notify(str(error), title="Cannot open the profile", severity="error", timeout=15)

    def open_session(self, session: WizardSession) -> None:
        """Resume a profile at its first incomplete step."""
        self.session = session
        self.goto(session.resume_step())

    def goto(self, step_id: str, focus_field: str | None = None) -> None:
        assert self.session is not None
        screen = make_step_screen(step_id, self.session, focus_field)
        if len(self.screen_stack) > 1:  # a step is showing above the profile list
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def close_session(self) -> None:
        """Back to the profile list (the bottom screen), which shows the saved state."""
        from screens.profiles import ProfilesScreen

        self.session = None
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if isinstance(self.screen, ProfilesScreen):
            self.screen.reload()


def make_step_screen(step_id: str, session: WizardSession, focus_field: str | None = None) -> Screen[None]:
    from screens.done import DoneScreen
    from screens.gateway import GatewayScreen
    from screens.gitlab import GitLabScreen
    from screens.helm import HelmScreen
    from screens.install import InstallScreen
    from screens.preflight import PreflightScreen
    from screens.review import ReviewScreen
    from screens.target import TargetScreen
    from screens.tls import TLSScreen

    screens: dict[str, type[WizardScreen]] = {
        "target": TargetScreen,
        "gitlab": GitLabScreen,
        "gateway": GatewayScreen,
        "tls": TLSScreen,
        "helm": HelmScreen,
        "preflight": PreflightScreen,
        "review": ReviewScreen,
        "install": InstallScreen,
        "done": DoneScreen,
    }
    return screens[step_id](session, focus_field)


def make_app(profile: str | None = None, **engines: Any) -> AigwWizardApp:
    """The one factory the CLI, the tests and the benchmarks use."""
    return AigwWizardApp(profile=profile, **engines)
