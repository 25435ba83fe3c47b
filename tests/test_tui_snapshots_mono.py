"""The main screens as a plain SSH console shows them: TERM=linux (ASCII marks) and NO_COLOR.

Every choice, toggle, focus and placeholder must read from the characters alone here.
Besides the SVGs, each test asserts the characters that carry the state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from screens import glyphs
from screens.app import make_app
from tests.factories import docker_profile, helm_profile
from tests.test_tui_result import DOCKER_FAILURE, HELM_SUCCESS
from tests.test_tui_snapshots import profiles_read, stable_screen  # noqa: F401  (the autouse fixture)
from tests.tui_support import (
    FAILED_CHECKS,
    CannedInstaller,
    canned_checks,
    save_profile,
    screen_text,
    until_on_screen,
)
from wizard.core.profile import Profile

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def plain_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TERM", "linux")
    monkeypatch.setenv("NO_COLOR", "1")  # read by the App as it is made: a monochrome filter
    before = glyphs.ASCII
    glyphs.use_ascii(True)
    yield
    glyphs.use_ascii(before)  # TERM is still "linux" here: the monkeypatch is undone after


def console_font_misses(text: str) -> set[str]:
    """Characters the Linux console's font lacks (its glyphs are the CP437 repertoire)."""
    missing = set()
    for character in set(text):
        try:
            character.encode("cp437")
        except UnicodeEncodeError:
            missing.add(character)
    return missing


@pytest.fixture
def snap_compare(snap_compare):
    """Every snapshot here also proves the console's font can draw all of the screen: borders,
    scroll bars and marks included (a missing glyph shows as a box or a diamond)."""

    def compare(app, *, run_before=None, **options):
        async def then_check_the_font(pilot) -> None:
            if run_before is not None:
                await run_before(pilot)
            assert not console_font_misses(screen_text(pilot.app)), console_font_misses(screen_text(pilot.app))

        return snap_compare(app, run_before=then_check_the_font, **options)

    return compare


def test_the_font_check_knows_the_console_font() -> None:
    assert console_font_misses("─│┌┐└┘ ▄▌█ ok XX !! (*) [x] > e.g.") == set()
    assert console_font_misses("╭▔▊▇✓") == set("╭▔▊▇✓")


def test_mono_profiles(snap_compare) -> None:
    save_profile("prod", docker_profile())
    save_profile("new", Profile())
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=profiles_read)


def test_mono_target_choice_and_focus(snap_compare) -> None:
    save_profile("new", Profile())

    async def check(pilot) -> None:
        await pilot.press("down", "enter")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "( ) Docker on this host" in text and "(*) Helm on a Kubernetes cluster" in text
        assert "> (*) Helm" in text  # the row the arrows move

    assert snap_compare(make_app("new"), terminal_size=SIZE, run_before=check)


def test_mono_gitlab_placeholders_and_focused_field(snap_compare) -> None:
    save_profile("p", Profile(target="docker"))

    async def check(pilot) -> None:
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "> GitLab URL" in text and "e.g. https://gitlab.example.com" in text
        assert "e.g. 17.5.0" in text

    assert snap_compare(make_app("p"), terminal_size=SIZE, run_before=check)


def test_mono_gateway_with_auth_bypass_on(snap_compare) -> None:
    save_profile("p", docker_profile(gateway={"hostname": "", "auth_bypass": True}))

    async def check(pilot) -> None:
        text = screen_text(pilot.app)
        assert "[x] AIGW_AUTH__BYPASS_EXTERNAL" in text and "(*) registry" in text
        assert "( ) docker save tarball" in text

    assert snap_compare(make_app("p"), terminal_size=SIZE, run_before=check)


def test_mono_preflight_failed_row(snap_compare) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks(FAILED_CHECKS))

    async def check(pilot) -> None:
        await profiles_read(pilot)
        text = screen_text(pilot.app)
        assert "XX" in text and "What to do: set gateway.ca_bundle to a PEM with your private CA" in text

    assert snap_compare(app, terminal_size=SIZE, run_before=check)


def test_mono_install_failed_with_remedy(snap_compare) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(DOCKER_FAILURE))

    async def to_install(pilot) -> None:
        pilot.app.goto("install")
        await pilot.app.workers.wait_for_complete()
        await until_on_screen(pilot, "XX Failed: port 5052 is already in use", "set gateway.port")

    assert snap_compare(app, terminal_size=SIZE, run_before=to_install)


def test_mono_done_with_the_ingress_address(snap_compare) -> None:
    save_profile("p", helm_profile())
    app = make_app("p", run_checks=canned_checks([]))

    async def to_done(pilot) -> None:
        pilot.app.session.result = HELM_SUCCESS[-1]  # as the install left it (no journal: a stable screen)
        pilot.app.goto("done")
        await pilot.pause()
        assert "Ingress address: 192.0.2.44" in screen_text(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=to_done)


def test_mono_step_bar_at_60x20_keeps_every_step(snap_compare) -> None:
    save_profile("p", helm_profile())

    async def to_review(pilot) -> None:
        pilot.app.goto("review")
        await pilot.pause()
        bar = screen_text(pilot.app).splitlines()[0]
        for short in ("Tgt", "GL", "Gw", "TLS", "Helm", "Chk", "Review", "Inst", "Done"):
            assert short in bar, bar

    app = make_app("p", run_checks=canned_checks([]))
    assert snap_compare(app, terminal_size=(60, 20), run_before=to_review)
