"""The wizard session: resume where the user left off, not just where the form is valid."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

from tests.factories import docker_profile
from wizard.core import store
from wizard.session import WizardSession


def test_a_valid_prefix_does_not_skip_the_screen_being_typed(config_dir: Path) -> None:
    session = WizardSession.create("prod")
    assert session.resume_step() == "target"
    assert session.set("target", "docker") is None
    session.confirm("target")
    assert session.set("gitlab.url", "https://gitlab.example.com") is None
    assert session.set("gitlab.version", "17.5.0") is None
    session.confirm("gitlab")
    assert session.set("gateway.hostname", "a") is None  # the connection drops here
    again = WizardSession.open("prod")
    assert again.resume_step() == "gateway"
    assert again.completed_steps() == {"target", "gitlab"}
    again.confirm("gateway")
    assert WizardSession.open("prod").resume_step() == "tls"  # optional for Docker, but not seen yet
    again.confirm("tls")
    assert WizardSession.open("prod").resume_step() == "preflight"


def test_a_hand_written_complete_profile_goes_straight_to_the_checks(config_dir: Path) -> None:
    store.save(docker_profile(), "manual")
    assert WizardSession.open("manual").resume_step() == "preflight"


def test_the_tui_exits_cleanly_on_sighup(config_dir: Path) -> None:
    store.save(docker_profile(gateway={"hostname": ""}), "p")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the wizard on a terminal, as over SSH
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "wizard", "tui", "p"])
    output = b""
    deadline = time.monotonic() + 30
    while b"Gateway" not in output and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                output += os.read(fd, 65536)
            except OSError:
                break
    assert b"Gateway" in output, "the wizard never drew its screen"
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 15
    status = None
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert store.load("p").gateway.hostname == ""
    assert not list((config_dir / "profiles").glob(".*.tmp"))



def test_one_step_registry_names_every_screen_and_derives_the_order() -> None:
    import importlib

    from wizard.session import FORM_STEPS, STEPS, get_step, steps_for

    for step in STEPS:
        module, _, name = step.screen.partition(":")
        assert getattr(importlib.import_module(module), name).__name__ == name
    assert FORM_STEPS == ("target", "gitlab", "gateway", "tls", "helm")
    assert "helm" not in [s.id for s in steps_for("docker")] and "helm" in [s.id for s in steps_for("helm")]
    assert get_step("install").title == "Install"


def test_the_tls_gate_blocks_on_a_failed_finding_only() -> None:
    from wizard.checks.base import CheckResult
    from wizard.session import tls_gate

    ok = CheckResult("tls.match", "Key matches", "pass", "", "", 1, None)
    bad = CheckResult("tls.names", "Host name in certificate", "fail", "no SAN", "reissue", 1, "tls.cert")
    assert tls_gate([ok]) is None and tls_gate([]) is None
    assert "Host name in certificate" in (tls_gate([ok, bad]) or "")


def test_profile_state_text_says_installed_failed_incomplete_or_invalid(config_dir: Path) -> None:
    from wizard.core.profile import Profile

    store.save(docker_profile(), "done")
    store.save(Profile(), "new")
    (config_dir / "profiles" / "bad.toml").write_text('target = "podman"\n')
    entries = {entry.name: entry for entry in store.list_profiles()}
    assert store.state_text(entries["done"]) == "ready"
    assert store.state_text(entries["done"], {"command": "apply", "ok": True}) == "installed"
    assert store.state_text(entries["done"], {"command": "apply", "ok": False}) == "install failed"
    assert store.state_text(entries["new"]).startswith("incomplete (")
    # Every problem counts: the bad target and the fields it leaves missing.
    found = len(store.problems_of(config_dir / "profiles" / "bad.toml")[1])
    assert found > 1 and store.state_text(entries["bad"]) == f"invalid ({found} problems)"


def test_a_hand_edit_made_while_the_tui_is_open_survives_the_next_keystroke(config_dir: Path) -> None:
    path = store.save(docker_profile(), "live")
    session = WizardSession.open("live")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('hostname = "', '# kept by hand\nhostname = "').replace(
        f'container_name = "{session.profile.docker.container_name}"', 'container_name = "by-hand"'), encoding="utf-8")
    assert session.set("gateway.port", "6000") is None
    assert session.take_reloaded() and not session.take_reloaded()  # told once
    on_disk = store.load(path)
    assert on_disk.docker.container_name == "by-hand" and on_disk.gateway.port == 6000
    assert "# kept by hand" in path.read_text(encoding="utf-8")
    assert session.profile.docker.container_name == "by-hand"  # the session shows the file as it is now


def test_a_cli_save_of_another_field_survives_the_next_keystroke(config_dir: Path) -> None:
    path = store.save(docker_profile(), "cli")
    session = WizardSession.open("cli")
    store.update_field(path, "gateway.tag", "self-hosted-v17.5.1-ee", None)  # as `aigw-wizard upgrade` saves it
    assert session.set("gateway.hostname", "aigw.corp.test") is None
    on_disk = store.load(path)
    assert on_disk.gateway.tag == "self-hosted-v17.5.1-ee" and on_disk.gateway.hostname == "aigw.corp.test"
    assert session.take_reloaded() and session.profile.gateway.tag == "self-hosted-v17.5.1-ee"
    assert session.set("gateway.hostname", "aigw2.corp.test") is None
    assert not session.take_reloaded()  # its own save is not a change on disk
    assert store.load(path).gateway.tag == "self-hosted-v17.5.1-ee"


def test_a_keystroke_invalid_on_the_reloaded_profile_is_an_error_and_writes_nothing(config_dir: Path) -> None:
    path = store.save(docker_profile(), "broken")
    session = WizardSession.open("broken")
    path.write_text("this is [not toml", encoding="utf-8")
    error = session.set("gateway.port", "6001")
    assert error and "no longer loads" in error
    assert path.read_text(encoding="utf-8") == "this is [not toml"


def test_the_progress_file_is_written_through_unique_temp_files(config_dir: Path) -> None:
    session = WizardSession.create("prog")
    folder = session._progress_file.parent
    (folder / (session._progress_file.stem + ".tmp")).mkdir()  # the old fixed temp name, taken
    session.confirm("target")
    assert session.confirmed_steps() == {"target"}


def test_a_tui_run_takes_the_profile_lock_and_a_second_run_is_refused_naming_the_holder(config_dir: Path) -> None:
    import threading

    from tests.tui_support import CannedInstaller
    from wizard.core import lock
    from wizard.core.events import Result
    from wizard.session import run_apply, run_holder

    profile = docker_profile()
    store.save(profile, "busy")
    assert run_holder("busy") is None
    with lock.hold("busy", "apply"):  # the CLI (or a TUI lost with its SSH connection) is running
        described = run_holder("busy")
        assert described is not None and f"pid {os.getpid()}" in described and "apply" in described
        events = list(run_apply(profile, "busy", threading.Event(), CannedInstaller([Result(True, "installed")])))
        assert len(events) == 1 and isinstance(events[0], Result) and not events[0].ok
        assert "busy" in events[0].summary and f"pid {os.getpid()}" in events[0].summary
    seen: list[str | None] = []

    class Watching(CannedInstaller):
        def apply(self):  # type: ignore[no-untyped-def]
            seen.append(run_holder("busy"))
            yield Result(True, "installed")

    events = list(run_apply(profile, "busy", threading.Event(), Watching([])))
    assert events[-1].ok and seen[0] is not None and "apply (tui)" in seen[0]
    assert run_holder("busy") is None  # released when the run ends


def test_a_tui_run_is_journalled_by_the_shared_run(config_dir: Path) -> None:
    import threading

    from tests.tui_support import FAILED_INSTALL, CannedInstaller
    from wizard.core.outcomes import last_outcome
    from wizard.session import run_apply

    profile = docker_profile()
    store.save(profile, "journal")
    events = list(run_apply(profile, "journal", threading.Event(), CannedInstaller(FAILED_INSTALL)))
    assert events[-1] == FAILED_INSTALL[-1]
    outcome = last_outcome("journal")
    assert outcome is not None and outcome.get("command") == "apply" and outcome.get("ok") is False
