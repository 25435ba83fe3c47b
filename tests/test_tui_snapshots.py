"""Every screen at 80x24, including the error states a user meets (files in snapshots/)."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from screens.app import make_app
from tests.factories import docker_profile, helm_profile
from tests.tui_support import (
    FAILED_CHECKS,
    FAILED_INSTALL,
    FIXED_MTIME,
    CannedInstaller,
    canned_checks,
    profiles_ready,
    save_profile,
    showing,
)
from wizard.core.profile import Profile

SIZE = (80, 24)
# A fixed folder, so paths shown on screen are the same on every machine.
SNAPSHOT_HOME = Path("/tmp/aigw-wizard-snapshot-home")


@pytest.fixture(autouse=True)
def stable_screen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # One test at a time uses the folder, across processes too: two test runs at once (two
    # checkouts on one machine) would otherwise swap profiles under each other's screens.
    with (SNAPSHOT_HOME.parent / f"{SNAPSHOT_HOME.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _stable_screen(monkeypatch)


def _stable_screen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(SNAPSHOT_HOME, ignore_errors=True)
    SNAPSHOT_HOME.mkdir(parents=True)
    monkeypatch.setenv("AIGW_WIZARD_CONFIG_DIR", str(SNAPSHOT_HOME / "config"))
    monkeypatch.setenv("KUBECONFIG", str(SNAPSHOT_HOME / "kubeconfig"))
    monkeypatch.chdir(SNAPSHOT_HOME)
    # A blinking cursor makes screenshots differ by timing alone.
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
    yield SNAPSHOT_HOME
    shutil.rmtree(SNAPSHOT_HOME, ignore_errors=True)


async def profiles_read(pilot) -> None:
    """Screens fill in from workers (profile details, check rows): wait for them."""
    await profiles_ready(pilot)


def test_profiles_screen(snap_compare) -> None:
    save_profile("prod", docker_profile())
    save_profile("staging", helm_profile(tls={"cert": "", "key": ""}))
    broken = SNAPSHOT_HOME / "config" / "profiles" / "broken.toml"
    broken.write_text("[gateway\n")
    os.utime(broken, (FIXED_MTIME, FIXED_MTIME))
    assert snap_compare(make_app(), terminal_size=SIZE, press=["down"], run_before=profiles_read)


def test_profiles_screen_empty_with_new_dialog(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, press=["n", *"bad name"], run_before=profiles_read)


def test_target_screen(snap_compare) -> None:
    save_profile("new", Profile())
    assert snap_compare(make_app("new"), terminal_size=SIZE)


def test_gitlab_screen_with_invalid_url(snap_compare) -> None:
    save_profile("p", Profile(target="docker"))
    assert snap_compare(make_app("p"), terminal_size=SIZE, run_before=showing("gitlab"), press=[*"gitlab.example.com"])


def test_gateway_screen_refuses_localhost(snap_compare) -> None:
    save_profile("p", docker_profile(gateway={"hostname": ""}))
    assert snap_compare(make_app("p"), terminal_size=SIZE, run_before=showing("gateway"), press=[*"localhost"])


def test_gateway_screen_with_auth_bypass_on(snap_compare) -> None:
    save_profile("p", docker_profile(gateway={"hostname": "", "auth_bypass": True}))
    assert snap_compare(make_app("p"), terminal_size=SIZE)


def test_tls_screen(snap_compare) -> None:
    save_profile("p", helm_profile(tls={"cert": "", "key": ""}))
    assert snap_compare(make_app("p"), terminal_size=SIZE, run_before=showing("tls"), press=[*"-gateway.crt"])


def test_helm_screen(snap_compare) -> None:
    (SNAPSHOT_HOME / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: prod, context: {cluster: c, user: u}}, {name: lab, context: {cluster: c, user: u}}]\n"
    )
    save_profile("p", helm_profile(helm={"namespace": ""}))
    assert snap_compare(make_app("p"), terminal_size=SIZE)


def test_preflight_screen_with_a_failed_row(snap_compare) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks(FAILED_CHECKS))
    assert snap_compare(app, terminal_size=SIZE, run_before=profiles_read)  # and the checks' worker


def test_review_screen(snap_compare) -> None:
    save_profile("p", docker_profile())

    async def to_review(pilot) -> None:
        pilot.app.goto("review")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "self-hosted-v17.5.3-ee (newest among local images)" in str(pilot.app.screen.query_one("#review-tag").render())

    app = make_app("p", run_checks=canned_checks([]), resolve_tag=lambda _profile: "self-hosted-v17.5.3-ee (newest among local images)")
    assert snap_compare(app, terminal_size=SIZE, run_before=to_review)


def test_install_screen_failed(snap_compare) -> None:
    save_profile("p", docker_profile())

    async def to_install(pilot) -> None:
        pilot.app.goto("install")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.2)  # one drain tick of the event queue

    app = make_app("p", run_checks=canned_checks([]), installer_for=CannedInstaller(FAILED_INSTALL))
    assert snap_compare(app, terminal_size=SIZE, run_before=to_install)


def test_done_screen(snap_compare) -> None:
    save_profile("p", docker_profile())

    async def to_done(pilot) -> None:
        pilot.app.goto("done")
        await pilot.pause()

    assert snap_compare(make_app("p", run_checks=canned_checks([])), terminal_size=SIZE, run_before=to_done)
