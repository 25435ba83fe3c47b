"""Pilot flows: what a user does with the keyboard, and what lands in the profile file."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from screens.app import make_app
from screens.base import WizardScreen
from screens.widgets import FormField, field_id
from tests.factories import docker_profile
from tests.tui_support import (
    FAILED_CHECKS,
    CannedInstaller,
    canned_checks,
    profiles_ready,
    save_profile,
    screen_step,
    type_into,
)
from wizard.core import store
from wizard.core.events import (
    GATEWAY_URL_LABEL,
    Address,
    Event,
    LogLine,
    Result,
    StepFinished,
    StepStarted,
)
from wizard.core.profile import Profile

SIZE = (80, 24)


def saved(config_dir: Path, name: str) -> dict:
    return tomllib.loads((config_dir / "profiles" / f"{name}.toml").read_text())


async def test_new_profile_to_review_saves_each_screen_as_entered(config_dir: Path) -> None:
    app = make_app(run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        await profiles_ready(pilot)
        await pilot.press("n", *"prod", "enter")
        await pilot.pause()
        assert screen_step(app) == "target"
        assert saved(config_dir, "prod").get("target") is None
        await pilot.press("enter", "ctrl+n")  # Docker is the first choice
        await pilot.pause()
        assert saved(config_dir, "prod")["target"] == "docker"
        assert screen_step(app) == "gitlab"

        await type_into(pilot, "gitlab.url", "https://gitlab.example.com/")
        await type_into(pilot, "gitlab.version", "17.5.0")
        data = saved(config_dir, "prod")["gitlab"]
        assert data == {"url": "https://gitlab.example.com", "api_url": "", "version": "17.5.0", "offline_license": False}
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "gateway"

        await pilot.press("ctrl+n")  # the host name is still missing
        await pilot.pause()
        assert screen_step(app) == "gateway"
        assert "gateway.hostname: is required" in str(app.screen.query_one("#nav-status").render())

        await type_into(pilot, "gateway.hostname", "localhost")
        field = app.screen.query_one(f"#{field_id('gateway.hostname')}", FormField)
        assert field.has_class("-invalid")
        # Each valid prefix was saved as it was typed; the invalid whole never is.
        assert saved(config_dir, "prod")["gateway"]["hostname"] == "localhos"

        await type_into(pilot, "gateway.hostname", "aigw.example.com")
        await type_into(pilot, "gateway.port", "8052")
        assert not field.has_class("-invalid")
        gateway = saved(config_dir, "prod")["gateway"]
        assert gateway["hostname"] == "aigw.example.com" and gateway["port"] == 8052

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "tls"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "preflight"
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "review"
    assert store.load("prod").model_dump() == docker_profile(
        gitlab={"url": "https://gitlab.example.com"}, gateway={"port": 8052}
    ).model_dump()


async def test_back_and_forward_keep_values(config_dir: Path) -> None:
    save_profile("p", Profile(target="docker"))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        assert screen_step(app) == "gitlab"
        await type_into(pilot, "gitlab.url", "https://gl.example.com")
        await type_into(pilot, "gitlab.api_url", "https://gl.example.com/custom/api/v4")
        await type_into(pilot, "gitlab.version", "17.6.1")
        await pilot.press("escape")
        await pilot.pause()
        assert screen_step(app) == "target"
        await pilot.press("ctrl+n")
        await pilot.pause()
        values = {f.field: f.value for f in app.screen.query(FormField)}
        assert values == {
            "gitlab.url": "https://gl.example.com",
            "gitlab.api_url": "https://gl.example.com/custom/api/v4/",  # shown normalised
            "gitlab.version": "17.6.1",
        }
    assert saved(config_dir, "p")["gitlab"]["api_url"] == "https://gl.example.com/custom/api/v4/"


@pytest.mark.parametrize(
    ("profile", "resumes_at"),
    [
        (Profile(), "target"),
        (Profile(target="docker"), "gitlab"),
        (docker_profile(gateway={"hostname": ""}), "gateway"),
        (docker_profile(tls={"cert": "/etc/aigw/tls.crt"}), "tls"),
        (docker_profile(), "preflight"),
        (docker_profile(target="helm", tls={"cert": "/c.pem", "key": "/k.pem"}, helm={"namespace": ""}), "helm"),
    ],
)
async def test_reopening_resumes_at_the_first_incomplete_screen(profile: Profile, resumes_at: str) -> None:
    save_profile("p", profile)
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE):
        assert screen_step(app) == resumes_at


async def test_quit_midway_and_resume_keeps_every_value(config_dir: Path) -> None:
    save_profile("p", Profile(target="docker"))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "gitlab.url", "https://gitlab.example.com")
        await type_into(pilot, "gitlab.version", "17.5")  # not valid yet: not saved
        await pilot.press("ctrl+q")
    second = make_app("p")
    async with second.run_test(size=SIZE):
        assert screen_step(second) == "gitlab"
        values = {f.field: f.value for f in second.screen.query(FormField)}
        assert values["gitlab.url"] == "https://gitlab.example.com"
        assert values["gitlab.version"] == ""


async def test_failed_check_blocks_next_and_enter_jumps_to_its_field(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks(FAILED_CHECKS))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen_step(app) == "preflight"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "preflight"
        table = app.screen.query_one(DataTable)
        assert table.row_count == 4 and table.cursor_row == 0  # the failure sorts first
        await pilot.press("enter")
        await pilot.pause()
        assert screen_step(app) == "gateway"
        ca_field = app.screen.query_one(f"#{field_id('gateway.ca_bundle')}", FormField)
        assert app.focused is ca_field.input  # straight to the field the failed check is about


async def test_warnings_do_not_block(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([r for r in FAILED_CHECKS if r.status != "fail"]))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "review"


class SlowInstaller:
    """Waits on the cancel event like a real installer in its health wait."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def __call__(self, _profile: Profile, _name: str, cancel: threading.Event) -> SlowInstaller:
        self.cancel = cancel
        return self

    def apply(self) -> Iterator[Event]:
        yield StepStarted("health", "Wait for the gateway")
        self.started.set()
        for index in range(2000):
            yield LogLine("container", f"line {index}")
        if not self.cancel.wait(timeout=20):
            yield Result(False, "the test timed out")
            return
        yield StepFinished("health", "cancelled", "stopped by the user; nothing left half-made")
        yield Result(False, "cancelled")


async def test_cancel_asks_first_then_stops_cleanly(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    installer = SlowInstaller()
    app = make_app("p", run_checks=canned_checks([]), installer_for=installer)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await pilot.pause()
        assert installer.started.wait(5)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("escape")  # "Keep going"
        await pilot.pause()
        assert not installer.cancel.is_set()
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        screen = app.screen
        assert installer.cancel.is_set()
        assert screen.result is not None and not screen.result.ok
        assert screen.query_one("#next").disabled
        from screens.logpane import LogPane

        assert len(screen.query_one(LogPane).lines) == 2000
    journal = list((config_dir / "logs").glob("p-*-apply.jsonl"))
    assert len(journal) == 1 and '"cancelled"' in journal[0].read_text()


async def test_install_success_leads_to_done_with_the_url(config_dir: Path) -> None:
    save_profile("p", docker_profile(gateway={"port": 8052}))
    events = [
        StepStarted("container", "Start"), StepFinished("container", "ok"),
        Result(True, "the gateway is healthy", urls=(Address(GATEWAY_URL_LABEL, "http://aigw.example.com:8052"),)),
    ]
    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(events))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("install")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "done"
        text = " ".join(str(widget.render()) for widget in app.screen.query("Static"))
        assert "http://aigw.example.com:8052" in text
        assert "gitlab-rake gitlab:duo:verify_self_hosted_setup" in text
        assert "aigw-wizard apply p" in text
        assert str(config_dir / "logs") in text
        await pilot.press("escape")  # back skips Install, which would run again
        await pilot.pause()
        assert screen_step(app) == "review"


HOSTILE_TEXT = [
    "$(reboot)", "`id`", "a;b|c&d", "-rf", "--help", "\u0430igw.example.com", "x" * 5000,
    "..\\..\\etc", "'\"", "\x1b[31mred", "/dev/null", "/", "http://[::1", "ａｉｇｗ",
]


async def test_hostile_text_in_every_field_never_crashes_or_corrupts(config_dir: Path) -> None:
    save_profile("p", docker_profile(target="helm", tls={"cert": "/c.pem", "key": "/k.pem"}))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        for step in ("gitlab", "gateway", "tls", "helm"):
            app.goto(step)
            await pilot.pause()
            for widget in list(app.screen.query(FormField)):
                for text in HOSTILE_TEXT:
                    widget.set_value(text)
                    await pilot.pause()
                    loaded = store.load("p")  # the file always loads: only valid values are saved
                    assert loaded.model_dump() == app.session.profile.model_dump()
            assert isinstance(app.screen, WizardScreen)
    for value in _all_strings(saved(config_dir, "p")):
        assert "\x1b" not in value and "$(" not in value and "`" not in value


def _all_strings(data: object) -> Iterator[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _all_strings(value)
    elif isinstance(data, str):
        yield data


async def test_profile_picker_shows_unreadable_profiles_instead_of_crashing(config_dir: Path) -> None:
    folder = config_dir / "profiles"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text("schema_version = 99\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await profiles_ready(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ProfilesScreen"
        detail = str(app.screen.query_one("#profile-detail").render())
        assert "schema_version" in detail and "never overwritten" in detail
    assert (folder / "bad.toml").read_text() == "schema_version = 99\n"


async def test_delete_asks_first(config_dir: Path) -> None:
    save_profile("a", Profile())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await profiles_ready(pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert (config_dir / "profiles" / "a.toml").exists()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not (config_dir / "profiles" / "a.toml").exists()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("DataTable").row_count == 0


async def test_duplicate_makes_an_equal_profile(config_dir: Path) -> None:
    save_profile("a", docker_profile())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await profiles_ready(pilot)
        await pilot.press("d")
        await pilot.pause()
        app.screen.query_one(Input).value = ""
        await pilot.press(*"b", "enter")
        await pilot.pause()
    assert store.load("b").model_dump() == store.load("a").model_dump()


async def test_screens_navigate_by_posting_messages(config_dir: Path) -> None:
    from screens.messages import CloseSession, GoToStep

    posted: list[object] = []

    def hook(message: object) -> None:
        # A message is seen at each node it bubbles through: count it once.
        if isinstance(message, GoToStep | CloseSession) and all(message is not seen for seen in posted):
            posted.append(message)

    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([r for r in FAILED_CHECKS if r.status != "fail"]))
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert screen_step(app) == "tls"
        await pilot.press("ctrl+n")
        await pilot.pause()
        app.goto("done")
        await pilot.pause()
        await pilot.press("ctrl+n")  # Finish
        await pilot.pause()
        assert type(app.screen).__name__ == "ProfilesScreen"
    assert posted == [GoToStep("tls"), GoToStep("preflight"), CloseSession()]


async def test_the_tls_gate_blocks_next_and_its_message_goes_once_the_files_are_fixed(tmp_path: Path, config_dir: Path) -> None:
    from tests.factories import helm_profile
    from tests.helm_support import make_tls

    tls = make_tls(tmp_path / "tls", host="aigw.example.com")
    save_profile("p", helm_profile(gateway={"hostname": "aigw.example.com"}, tls={"cert": str(tls.cert), "key": ""}))
    app = make_app("p")
    async with app.run_test(size=SIZE) as pilot:
        assert screen_step(app) == "tls"
        await type_into(pilot, "tls.key", str(tls.other_key))  # a key of another certificate
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        status = app.screen.query_one("#nav-status")
        assert screen_step(app) == "tls" and "certificate or key has a problem" in str(status.render())
        await type_into(pilot, "tls.key", str(tls.key))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "has a problem" not in str(status.render())  # no stale message after the fix
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_step(app) == "helm"
