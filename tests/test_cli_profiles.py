"""The CLI's profile verbs as a user runs them: real processes, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import docker_profile
from tests.hostile import HOSTILE_FILES
from wizard import cli
from wizard.core import paths, store


def run_cli(*args: str, config_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": str(config_dir)}
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )


def snapshot(path: Path) -> bytes | str | None:
    if path.is_symlink():
        return "symlink->" + os.readlink(path)
    if path.is_dir():
        return "dir"
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_profile_gets_one_line_error_and_is_left_alone(case: str, config_dir: Path) -> None:
    make, fragment = HOSTILE_FILES[case]
    folder = paths.ensure_private_dir(config_dir / "profiles")
    path = folder / "bad.toml"
    make(path)
    before = snapshot(path)
    for verb in ("validate", "plan", "show"):
        result = run_cli(verb, "bad", config_dir=config_dir)
        assert result.returncode == 2, (verb, result.stderr)
        lines = result.stderr.strip().splitlines()
        # plan stops at the first problem; validate and show list every one (invalid values
        # first, then what is missing), one line each, each naming the file.
        assert len(lines) == 1 or verb != "plan", result.stderr
        assert all(str(path) in line for line in lines), result.stderr
        assert fragment in lines[0], lines[0]
        assert "Traceback" not in result.stderr
    assert snapshot(path) == before


def test_in_process_saving_over_a_hostile_file_is_refused(config_dir: Path) -> None:
    folder = paths.ensure_private_dir(config_dir / "profiles")
    for case, (make, _fragment) in HOSTILE_FILES.items():
        path = folder / "victim.toml"
        make(path)
        before = snapshot(path)
        if case != "dangling symlink" and case != "directory":
            with pytest.raises(store.ProfileError):
                store.save(docker_profile(), path)
            assert snapshot(path) == before, case
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_any_bytes_load_or_fail_with_a_profile_error(content: bytes | str, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.toml"
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    path.write_bytes(raw)
    try:
        store.load(path)
    except store.ProfileError as error:
        assert "\n" not in str(error).strip() or "TOML" in str(error)
        assert str(path) in str(error)
    assert path.read_bytes() == raw


hostname_texts = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-._ ;$`|&<>()'\"\\\u0430\u00fc\u200b") + ["\x00", "\n"]),
    max_size=80,
)


@settings(max_examples=250, deadline=None)
@given(value=hostname_texts)
def test_any_hostname_text_is_accepted_only_as_a_clean_dns_name(value: str) -> None:
    from wizard.core.profile import Profile, validate_field

    updated, error = validate_field(Profile(), "gateway.hostname", value)
    if updated is None:
        assert error and "\n" not in error
    else:
        stored = updated.gateway.hostname
        assert stored == "" or all(ch.isalnum() or ch in ".-" for ch in stored)
        assert not stored.startswith("-") and stored.isascii()


def test_validate_lists_every_problem_naming_the_field(config_dir: Path) -> None:
    store.save(docker_profile(gateway={"hostname": ""}, gitlab={"url": "", "version": ""}), "half")
    result = run_cli("validate", "half", config_dir=config_dir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert {line.split(": ", 1)[1].split(":")[0] for line in lines} == {"gitlab.url", "gitlab.version", "gateway.hostname"}


def test_validate_ready_profile_and_flag_auth_bypass(config_dir: Path) -> None:
    store.save(docker_profile(gateway={"auth_bypass": True}), "prod")
    result = run_cli("validate", "prod", config_dir=config_dir)
    assert result.returncode == 0
    assert "ready to apply (docker)" in result.stdout
    assert "auth_bypass is ON" in result.stderr


def test_profiles_lists_json_with_errors(config_dir: Path) -> None:
    store.save(docker_profile(), "prod")
    (config_dir / "profiles" / "broken.toml").write_text("[")
    rows = json.loads(run_cli("profiles", "--json", config_dir=config_dir).stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["prod"]["ready"] is True and by_name["prod"]["target"] == "docker"
    assert by_name["broken"]["error"] and by_name["broken"]["ready"] is False
    text = run_cli("profiles", config_dir=config_dir).stdout
    assert "prod" in text and "ready" in text and "cannot be read" in text


def test_show_prints_the_file_and_plan_refuses_incomplete(config_dir: Path) -> None:
    store.save(docker_profile(gateway={"hostname": ""}), "half")
    shown = run_cli("show", "half", config_dir=config_dir)
    assert shown.returncode == 0 and 'target = "docker"' in shown.stdout
    planned = run_cli("plan", "half", config_dir=config_dir)
    assert planned.returncode == 2
    assert "gateway.hostname: is required" in planned.stderr


def test_tui_without_a_terminal_says_so(config_dir: Path) -> None:
    result = run_cli(config_dir=config_dir)
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["plan"])
    assert caught.value.code == 2
