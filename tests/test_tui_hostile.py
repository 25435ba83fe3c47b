"""Text from outside (log lines, summaries, details, file names) shows as typed: never as
markup, never as terminal control."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from screens.app import make_app
from screens.dialogs import FilePickerModal
from screens.logpane import LogPane
from tests.factories import docker_profile, helm_profile
from tests.tui_support import (
    CannedInstaller,
    browse,
    canned_checks,
    profiles_ready,
    save_profile,
    screen_text,
)
from wizard.core.events import LogLine, Result, StepFinished, StepStarted

SIZE = (80, 24)
HOSTILE = "\x1b]0;x\x07[bold]x[/bold][/oops]"
SHOWN = "␛]0;x␇[bold]x[/bold][/oops]"
FILE_NAME = '[link="x].toml'


def assert_no_control(app) -> None:
    text = screen_text(app)
    assert "\x1b" not in text and "\x07" not in text


async def test_a_hostile_log_line_summary_and_detail_show_as_typed(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    events = [
        StepStarted("health", "Wait for the gateway"),
        LogLine("container", HOSTILE, "error"),
        StepFinished("health", "failed", HOSTILE),
        Result(False, HOSTILE, remedies=(HOSTILE,), log_tail=(HOSTILE,)),
    ]
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(events))
    async with app.run_test(size=(120, 40)) as pilot:
        app.goto("install")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        pane = app.screen.query_one(LogPane)
        assert list(pane.lines) == [f"[container] {SHOWN}"]
        text = screen_text(app)
        assert f"[container] {SHOWN}" in text  # the log line, as typed
        assert f"Failed: {SHOWN}" in text and text.count(SHOWN) >= 4  # summary, detail, remedy, tail
        assert_no_control(app)


async def test_a_profile_file_named_like_markup_lists_and_opens(config_dir: Path) -> None:
    folder = config_dir / "profiles"
    save_profile("ok", docker_profile())
    (folder / FILE_NAME).write_text((folder / "ok.toml").read_text())
    (folder / "\x1b]0;t\x07.toml").write_text("[gateway\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await profiles_ready(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 3
        text = screen_text(app)
        assert '[link="x]' in text and "␛]0;t␇" in text
        assert_no_control(app)
        for _ in range(3):  # find the markup-named row and open it
            entry = app.screen.selected()
            if entry is not None and entry.name == '[link="x]':
                break
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert app.session is not None and app.session.name == '[link="x]'
        assert '[link="x]' in screen_text(app)
        assert_no_control(app)


async def test_the_file_picker_shows_hostile_names_as_typed(tmp_path: Path, config_dir: Path, monkeypatch) -> None:
    (tmp_path / FILE_NAME).write_text("x")
    (tmp_path / "\x1b[2Jclear.crt").write_text("x")
    monkeypatch.chdir(tmp_path)
    save_profile("p", helm_profile(tls={"cert": "", "key": ""}))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        await browse(pilot, "tls.cert")
        await pilot.pause(0.5)
        assert isinstance(app.screen, FilePickerModal)
        assert app.screen.start == tmp_path  # the working directory when the field is empty
        text = screen_text(app)
        assert FILE_NAME in text and "␛[2Jclear.crt" in text
        assert_no_control(app)
