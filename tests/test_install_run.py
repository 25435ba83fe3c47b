"""`wizard.install.run.run`: the one journalled run both faces drive, and `bundle` into paths
that cannot take it ending in one line (both targets), never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import docker_profile, helm_profile
from wizard.core import store
from wizard.core.events import Event, Result, StepFinished, StepStarted
from wizard.core.profile import Profile
from wizard.install.base import Installer, StatusReport
from wizard.install.run import run


class Recorder(Installer):
    """An engine that says which verb ran, with which arguments."""

    def apply(self) -> Iterator[Event]:
        yield StepStarted("x", "Do it")
        yield StepFinished("x", "ok")
        yield Result(ok=True, summary=f"applied {self.profile_name}")

    def status(self) -> StatusReport:
        return StatusReport(installed=False, state="not installed")

    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]:
        yield Result(ok=True, summary=f"uninstalled remove_image={remove_image} purge={purge}")

    def bundle(self, directory: Path) -> Iterator[Event]:
        yield Result(ok=True, summary=f"bundled into {directory}")


def test_run_drives_the_verb_and_journals_every_event(config_dir: Path) -> None:
    stream = run(docker_profile(), "p1", "apply", threading.Event(), installer_for=Recorder)
    events = list(stream)
    assert [type(event) for event in events] == [StepStarted, StepFinished, Result]
    records = [json.loads(line) for line in stream.log_path.read_text().splitlines()]
    assert [record["event"] for record in records] == ["step_started", "step_finished", "result"]
    assert stream.result is not None and stream.result.summary == "applied p1"


def test_run_passes_the_verb_options(tmp_path: Path) -> None:
    [removed] = run(docker_profile(), "p", "uninstall", remove_image=True, purge=True, installer_for=Recorder)
    assert isinstance(removed, Result) and removed.summary == "uninstalled remove_image=True purge=True"
    [bundled] = run(docker_profile(), "p", "bundle", directory=tmp_path / "b", installer_for=Recorder)
    assert isinstance(bundled, Result) and bundled.summary == f"bundled into {tmp_path / 'b'}"


def test_a_bundle_into_a_file_ends_in_one_failed_result_without_reaching_the_engine(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stream = run(docker_profile(), "p", "bundle", directory=blocker / "sub", installer_for=Recorder)
    [result] = list(stream)
    assert isinstance(result, Result) and not result.ok and not result.changed
    assert result.summary == f"{blocker / 'sub'}: cannot be created: {blocker} is not a directory"
    assert result.remedies


def test_an_unknown_command_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown command"):
        run(docker_profile(), "p", "explode")


def _saved(profile: Profile, name: str) -> str:
    return str(store.save(profile, store.resolve(name)))


def _helm(tmp_path: Path) -> Profile:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text("cert")
    key.write_text("key")
    return helm_profile(tls={"cert": str(cert), "key": str(key)})


@pytest.mark.parametrize("target", ["docker", "helm"])
@pytest.mark.parametrize(
    ("where", "code", "words"),
    [
        ("/etc/hostname/sub", 2, "cannot be created: /etc/hostname is not a directory"),
        ("/etc/hostname", 2, "is not a directory"),
        ("/proc/aigw-no-such/bundle", 1, "cannot write there"),
    ],
)
def test_bundle_into_a_path_that_cannot_take_it_is_one_line(
    target: str, where: str, code: int, words: str, config_dir: Path, tmp_path: Path
) -> None:
    profile = docker_profile() if target == "docker" else _helm(tmp_path)
    _saved(profile, f"b-{target}")
    env = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": str(config_dir), "DOCKER_HOST": "unix:///nonexistent"}
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "bundle", f"b-{target}", where],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and words in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
