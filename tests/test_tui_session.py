"""Pilot flows over the session's sharing with the outside: the run lock, files edited on disk."""

from __future__ import annotations

import os
from pathlib import Path

from screens.app import make_app
from screens.widgets import FormField, field_id
from tests.factories import docker_profile
from tests.tui_support import CannedInstaller, canned_checks, save_profile, screen_step, type_into
from wizard.core import lock, store
from wizard.core.events import Result

SIZE = (80, 24)


def screen_text(app: object) -> str:
    return " ".join(str(widget.render()) for widget in app.screen.query("Static"))  # type: ignore[attr-defined]


async def test_an_install_while_another_run_holds_the_lock_names_the_holder_and_runs_nothing(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    started: list[bool] = []

    class Recording(CannedInstaller):
        def apply(self):  # type: ignore[no-untyped-def]
            started.append(True)
            yield Result(True, "installed")

    app = make_app("p", run_checks=canned_checks([]), installer_for=Recording([]))
    async with app.run_test(size=SIZE) as pilot:
        with lock.hold("p", "apply"):
            app.goto("install")
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert app.screen.result is not None and not app.screen.result.ok
            assert f"pid {os.getpid()}" in screen_text(app) and "busy" in screen_text(app)
        assert not started


async def test_opening_a_profile_with_a_run_going_says_so_instead_of_offering_install(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app(run_checks=canned_checks([]), installer_for=CannedInstaller([Result(True, "installed")]))
    with lock.hold("p", "apply (tui)"):
        async with app.run_test(size=SIZE) as pilot:
            from screens.messages import OpenSession

            app.screen.post_message(OpenSession("p"))
            await pilot.pause(0.2)
            notes = " ".join(str(note.message) for note in app._notifications)
            assert "still going" in notes and f"pid {os.getpid()}" in notes
            app.goto("review")
            await pilot.pause()
            assert "A run is still going" in screen_text(app) and "apply (tui)" in screen_text(app)
            await pilot.press("ctrl+n")  # no confirm dialog, no install
            await pilot.pause()
            assert screen_step(app) == "review"
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:  # the run ended: Install is offered again
        await pilot.pause(0.2)
        app.goto("review")
        await pilot.pause()
        assert "A run is still going" not in screen_text(app)


async def test_a_hand_edit_while_the_screen_is_open_survives_and_the_screen_reloads(config_dir: Path) -> None:
    path = save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("gateway")
        await pilot.pause()
        text = path.read_text(encoding="utf-8")
        before = store.load(path).docker.container_name
        path.write_text(text.replace(f'container_name = "{before}"', 'container_name = "by-hand"'), encoding="utf-8")
        await type_into(pilot, "gateway.port", "6001")
        on_disk = store.load(path)
        assert on_disk.gateway.port == 6001 and on_disk.docker.container_name == "by-hand"
        shown = app.screen.query_one(f"#{field_id('docker.container_name')}", FormField).input.value
        assert shown == "by-hand"
        assert "changed on disk; reloaded" in screen_text(app)
