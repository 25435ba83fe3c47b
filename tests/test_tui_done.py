"""The Done screen: what is left on the GitLab side, the doctor, and pointing GitLab at the
gateway with a token that is never saved or shown; the profile list's live state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

import wizard.session
from screens.app import make_app
from screens.gitlab_side import DoctorModal, TokenModal
from tests.factories import docker_profile
from tests.fake_gitlab import ADMIN_TOKEN, fake_gitlab
from tests.tui_support import (
    CannedInstaller,
    canned_checks,
    profiles_ready,
    save_profile,
    screen_step,
)
from wizard.core.events import Result
from wizard.doctor.findings import Finding
from wizard.install.base import Drift, StatusReport

SIZE = (100, 50)
HOST = "gateway.test"


def all_text(app: Any) -> str:
    texts = []
    for screen in app.screen_stack:
        texts += [str(widget.render()) for widget in screen.query("Static")]
        texts += [widget.value for widget in screen.query(Input)]
    return "\n".join(texts)


async def open_done(pilot: Any, app: Any) -> None:
    app.goto("done")
    await pilot.pause()
    assert screen_step(app) == "done"


async def test_done_lists_both_gitlab_settings_the_tls_hint_the_timeout_and_the_verify_command(config_dir: Path) -> None:
    save_profile("p", docker_profile(gitlab={"version": "18.2.0"}, gateway={"hostname": HOST, "port": 5052}))
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        await open_done(pilot, app)
        text = all_text(app)
        assert f"Local AI Gateway URL: http://{HOST}:5052" in text
        assert f"Local URL for the GitLab Duo Agent Platform service: {HOST}:50052" in text
        assert "Use TLS for the GitLab Duo Agent Platform service: leave unticked" in text
        assert "300 s" in text
        assert "gitlab-rake gitlab:duo:verify_self_hosted_setup" in text


async def test_17_has_no_agent_platform_setting(config_dir: Path) -> None:
    save_profile("p", docker_profile(gateway={"hostname": HOST}))
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        await open_done(pilot, app)
        assert "Agent Platform service" not in all_text(app) and "Local AI Gateway URL" in all_text(app)


async def test_the_doctor_runs_in_a_worker_and_shows_marks_details_and_remedies(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_doctor(_profile: Any, name: str) -> list[Finding]:
        asked.append(name)
        return [
            Finding("container.running", "pass", "Container", "running for 3 minutes"),
            Finding("log.jwks-empty", "fail", "GitLab's keys", "the JWKS is empty", "run the gitlab:duo sync"),
        ]

    monkeypatch.setattr(wizard.session, "doctor", fake_doctor)
    save_profile("p", docker_profile(gateway={"hostname": HOST}))
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        await open_done(pilot, app)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DoctorModal)
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = str(app.screen.query_one("#doctor-findings").render())
        assert asked == ["p"]
        assert "✓ Container: running for 3 minutes" in shown or "ok Container: running for 3 minutes" in shown
        assert ("✗ GitLab's keys: the JWKS is empty" in shown or "XX GitLab's keys" in shown)
        assert "-> run the gitlab:duo sync" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert screen_step(app) == "done"


async def test_point_gitlab_asks_for_a_hidden_token_sets_both_urls_and_never_keeps_the_token(config_dir: Path) -> None:
    with fake_gitlab() as gitlab:
        save_profile("p", docker_profile(gitlab={"url": gitlab.url, "version": "18.6.1"}, gateway={"hostname": HOST}))
        app = make_app("p", run_checks=canned_checks([]))
        async with app.run_test(size=SIZE) as pilot:
            await open_done(pilot, app)
            await pilot.press("g")
            await pilot.pause()
            assert isinstance(app.screen, TokenModal)
            token_input = app.screen.query_one(Input)
            assert token_input.password
            await pilot.press(*ADMIN_TOKEN)
            await pilot.pause()
            assert ADMIN_TOKEN not in app.export_screenshot() and ADMIN_TOKEN[:12] not in app.export_screenshot()
            await pilot.press("enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if type(app.screen).__name__ == "ConfirmModal":
                    break
            question = str(app.screen.query_one(".dialog-text").render())
            assert f"{HOST}:50052" in question and ADMIN_TOKEN not in question
            await pilot.press("y")
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = str(app.screen.query_one("#connect-result").render())
            assert "GitLab now holds:" in shown and f"http://{HOST}:5052" in shown
            assert ADMIN_TOKEN not in all_text(app)
        settings = dict(gitlab.state.settings)
    assert settings["aiGatewayUrl"] == f"http://{HOST}:5052"
    assert settings["duoAgentPlatformServiceUrl"] == f"{HOST}:50052"
    for path in config_dir.rglob("*"):
        assert not (path.is_file() and ADMIN_TOKEN.encode() in path.read_bytes()), path


async def test_a_refused_token_is_one_plain_line_and_nothing_changes(config_dir: Path) -> None:
    with fake_gitlab() as gitlab:
        save_profile("p", docker_profile(gitlab={"url": gitlab.url, "version": "18.6.1"}, gateway={"hostname": HOST}))
        app = make_app("p", run_checks=canned_checks([]))
        async with app.run_test(size=SIZE) as pilot:
            await open_done(pilot, app)
            await pilot.press("g")
            await pilot.pause()
            await pilot.press(*"glpat-wrong-token", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = str(app.screen.query_one("#connect-result").render())
            assert shown.startswith("GitLab:") or shown.startswith("Cannot connect:")
            assert "glpat-wrong-token" not in all_text(app)
        assert gitlab.state.settings["aiGatewayUrl"] is None


class StatusInstaller(CannedInstaller):
    def __init__(self, report: StatusReport | None) -> None:
        super().__init__([Result(True, "installed")])
        self.report = report

    def status(self) -> StatusReport:
        if self.report is None:
            raise OSError("engine gone")
        return self.report


@pytest.mark.parametrize(("report", "word"), [
    (StatusReport(installed=True, state="running", healthy=True), "healthy"),
    (StatusReport(installed=True, state="running", healthy=True, drift=[Drift("image", "a", "b")]), "drift"),
    (StatusReport(installed=True, state="exited", healthy=False), "failed (exited)"),
    (StatusReport(installed=False, state="unknown: the engine does not answer"), "installed"),
    (None, "installed"),
])
async def test_the_profile_list_shows_the_engines_state_after_the_journals(report: StatusReport | None, word: str, config_dir: Path) -> None:
    import threading

    profile = docker_profile(gateway={"hostname": HOST})
    save_profile("p", profile)
    list(wizard.session.run_apply(profile, "p", threading.Event(), CannedInstaller([Result(True, "installed")])))
    app = make_app(run_checks=canned_checks([]), installer_for=StatusInstaller(report))
    async with app.run_test(size=SIZE) as pilot:
        await profiles_ready(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert str(table.get_row("p")[3]) == word
