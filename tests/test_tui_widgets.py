"""The TUI's tools a user leans on: the log pane, the file picker, save-as-script, help."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Log

from screens.app import make_app
from screens.dialogs import FilePickerModal, HelpModal
from screens.logpane import LogPane
from tests.factories import docker_profile, helm_profile
from tests.tui_support import browse, canned_checks, save_profile

SIZE = (80, 24)


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPane(limit=100)


async def test_log_pane_follows_filters_pauses_and_stays_bounded() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(LogPane)
        log = app.query_one(Log)
        pane.add([f"[container] line {n}" for n in range(250)])
        await pilot.pause()
        assert len(pane.lines) == 100 and log.line_count == 100  # bounded scroll-back
        assert pane.lines[-1] == "[container] line 249"

        pane.query_one("#log-filter").value = "line 24"
        await pilot.pause()
        assert [log.lines[i] for i in range(log.line_count)] == [
            "[container] line 240", "[container] line 241", "[container] line 242", "[container] line 243",
            "[container] line 244", "[container] line 245", "[container] line 246", "[container] line 247",
            "[container] line 248", "[container] line 249",
        ]
        pane.query_one("#log-filter").value = ""
        await pilot.pause()

        pane.toggle_pause()
        shown = log.line_count
        pane.add(["[helm] while paused"])
        await pilot.pause()
        assert log.line_count == shown and pane.lines[-1] == "[helm] while paused"
        assert "PAUSED" in str(pane.query_one(".log-state").render())
        pane.toggle_pause()
        await pilot.pause()
        assert log.lines[log.line_count - 1] == "[helm] while paused"


async def test_file_picker_is_keyboard_driven(tmp_path: Path, config_dir: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "gateway.crt").write_text("not really a certificate")
    save_profile("p", helm_profile(tls={"cert": "", "key": ""}))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        cert_field = await browse(pilot, "tls.cert")
        assert isinstance(app.screen, FilePickerModal)
        app.screen.query_one("#picker-tree").path = certs
        await pilot.pause(0.3)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, FilePickerModal)
        assert cert_field.input.value == str(certs / "gateway.crt")
        assert app.session.profile.tls.cert == str(certs / "gateway.crt")


async def test_review_saves_the_plan_as_a_private_script(tmp_path: Path, config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]))
    target = tmp_path / "install.sh"
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        prompt = app.screen.query_one("Input")
        prompt.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
    text = target.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "docker run" in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


async def test_help_opens_on_every_step_and_closes(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        for step in ("target", "gitlab", "gateway", "tls", "preflight", "review", "done"):
            app.goto(step)
            await pilot.pause()
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpModal), step
            assert "Ctrl+Q" in app.screen.text
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, HelpModal)


async def test_log_pane_wraps_long_lines_and_keeps_following_after_pause_and_filter() -> None:
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(LogPane)
        log = app.query_one(Log)
        long_line = "[container] " + "y" * 200 + " END"
        pane.add([long_line])
        await pilot.pause()
        rows = [log.lines[i] for i in range(log.line_count)]
        assert len(rows) > 1 and "".join(row.strip() for row in rows).endswith("END")  # wrapped, nothing cut
        assert all(len(row) <= log.scrollable_content_region.width for row in rows)

        pane.add([f"[container] line {n}" for n in range(100)])
        pane.toggle_pause()
        pane.query_one("#log-filter").value = "line 9"
        await pilot.pause()
        pane.query_one("#log-filter").value = ""
        log.scroll_home(animate=False, immediate=True)  # the user scrolled away meanwhile
        pane.toggle_pause()
        await pilot.pause()
        pane.add(["[container] newest"])
        await pilot.pause()
        assert "following" in str(pane.query_one(".log-state").render())
        assert log.is_vertical_scroll_end and log.lines[log.line_count - 1] == "[container] newest"


async def test_escape_in_the_log_filter_closes_it_and_does_not_cancel(config_dir: Path) -> None:
    from tests.test_tui_flow import SlowInstaller

    save_profile("p", docker_profile())
    installer = SlowInstaller()
    app = make_app("p", run_checks=canned_checks([]), installer_for=installer)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await pilot.pause()
        assert installer.started.wait(5)
        await pilot.press("slash", *"line 7")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        assert pane.pattern == "line 7"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "InstallScreen"  # no "Cancel the install?" dialog
        assert pane.pattern == "" and app.focused is pane.log
        installer.cancel.set()
        await app.workers.wait_for_complete()


async def test_the_first_line_of_a_fast_install_is_on_screen(config_dir: Path) -> None:
    from tests.tui_support import CannedInstaller
    from wizard.core.events import LogLine, Result, StepFinished, StepStarted

    save_profile("p", docker_profile())
    events = [
        StepStarted("container", "Start"), LogLine("container", "first line from the container"),
        StepFinished("container", "ok"), Result(True, "healthy"),
    ]
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(events))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        log = app.screen.query_one(LogPane).log
        assert [log.lines[i] for i in range(log.line_count)] == ["[container] first line from the container"]


async def test_file_picker_hidden_files_key_is_not_backspace(tmp_path: Path, config_dir: Path, monkeypatch) -> None:
    (tmp_path / ".hidden.crt").write_text("x")
    (tmp_path / "shown.crt").write_text("x")
    monkeypatch.chdir(tmp_path)
    save_profile("p", helm_profile(tls={"cert": "", "key": ""}))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        await browse(pilot, "tls.cert")
        await pilot.pause(0.3)
        tree = app.screen.query_one("#picker-tree")
        names = lambda: [str(node.label) for node in tree.root.children]  # noqa: E731
        assert any("shown.crt" in name for name in names()) and not any(".hidden" in name for name in names())
        await pilot.press("h")
        await pilot.pause(0.3)
        assert any(".hidden.crt" in name for name in names())
        assert tree.path == tmp_path  # still here: the key did not go up a folder
