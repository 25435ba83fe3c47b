"""The install's `Result` reaches the screens: a failure's remedies and log tail stay on the
Install screen; every address of a success (the Helm ingress address) shows on Done."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from screens.app import make_app
from tests.factories import docker_profile, helm_profile
from tests.tui_support import (
    FAILED_INSTALL,
    CannedInstaller,
    canned_checks,
    save_profile,
    screen_step,
)
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    INGRESS_ADDRESS_LABEL,
    Address,
    Result,
    StepFinished,
    StepStarted,
)

SIZE = (80, 24)

DOCKER_FAILURE = [
    *FAILED_INSTALL[:-1],
    Result(
        False,
        "port 5052 is already in use by another program",
        remedies=("free port 5052 (ss -ltnp 'sport = :5052' shows who holds it), or set gateway.port",),
        log_tail=("uvicorn: error: [Errno 98] address already in use",),
    ),
]

HELM_SUCCESS = [
    StepStarted("release", "Install release ai-gateway"),
    StepFinished("release", "ok", "deployed"),
    Result(
        True,
        "the gateway is ready behind the ingress",
        remedies=("point aigw.example.com at 192.0.2.44 in DNS",
                  "then verify on the GitLab host: sudo gitlab-rake gitlab:duo:verify_self_hosted_setup"),
        urls=(Address(GATEWAY_URL_LABEL, "https://aigw.example.com"), Address(INGRESS_ADDRESS_LABEL, "192.0.2.44")),
    ),
]


def shown(app) -> str:
    """The plain text of every visible Static on the screen."""
    return "\n".join(str(widget.render()) for widget in app.screen.query(Static) if widget.display)


async def test_a_docker_failure_shows_its_remedy_and_log_tail_on_the_install_screen(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(DOCKER_FAILURE))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        outcome = app.screen.query_one("#outcome", Static)
        assert outcome.parent is not None and outcome.parent.display
        text = str(outcome.render())
        assert "port 5052 is already in use by another program" in text
        assert "ss -ltnp 'sport = :5052'" in text and "set gateway.port" in text
        assert "[Errno 98] address already in use" in text  # markup-like brackets shown as typed
        assert "container exited with code 3" in str(app.screen.query_one("#steps-list", Static).render())


async def test_retry_shows_only_the_new_run(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(DOCKER_FAILURE))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        from screens.logpane import LogPane

        pane = app.screen.query_one(LogPane)
        assert len(pane.lines) == 2
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert len(pane.lines) == 2 and pane.log.line_count == 2  # not four: the old run is gone
        assert str(app.screen.query_one("#steps-list", Static).render()).count("Start container") == 1


async def test_a_helm_success_shows_the_ingress_address_and_what_is_left_on_done(config_dir: Path) -> None:
    save_profile("p", helm_profile())
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(HELM_SUCCESS))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "done"
        text = shown(app)
        assert "https://aigw.example.com" in text
        assert f"{INGRESS_ADDRESS_LABEL}: 192.0.2.44" in text
        assert "point aigw.example.com at 192.0.2.44 in DNS" in text
        assert text.count("gitlab-rake gitlab:duo:verify_self_hosted_setup") == 1
