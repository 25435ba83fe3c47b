"""Faults and hostile input (#15, #16): each promise here has a test that fails without it.

Terminal injection through the CLI, bounded and non-blocking reads, the private-file writer,
stale saves refused, one run per profile, one line instead of a traceback, the token kept off
plain HTTP, and verbs that tell every problem.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checks_servers import context_for, fake_gitlab, run_one
from tests.factories import docker_profile
from wizard import cli
from wizard.core import files, journal, lock, outcomes, paths, store
from wizard.core.events import Address, LogLine, Result, StepFinished, StepStarted
from wizard.core.text import clean, clean_block, is_clean

ROOT = Path(__file__).resolve().parent.parent

# What a hostile container prints: OSC 0/2 (title), OSC 52 (clipboard), clear screen, DSR and
# DA queries (the terminal would type the answers), 8-bit CSI, BEL, a bidi override.
HOSTILE = (
    "\x1b]0;owned\x07\x1b]2;owned\x1b\\\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[6n\x1b[c"
    "\x9b6n\x1b[?1;2c\x07\u202e[bold]x[/bold][/oops]\r"
)


def run_cli(*args: str, config_dir: Path, env: dict[str, str] | None = None,
            stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": str(config_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True, text=True, env=environment, stdin=stdin, timeout=60, check=False,
    )


def save(profile_text: str, name: str = "prod") -> Path:
    folder = paths.ensure_private_dir(paths.profiles_dir())
    path = folder / f"{name}.toml"
    path.write_text(profile_text, encoding="utf-8")
    return path


READY = textwrap.dedent("""\
    target = "docker"
    [gitlab]
    url = "https://gitlab.example.com"
    version = "17.5.0"
    [gateway]
    hostname = "aigw.example.com"
""")

# --- the sanitiser ----------------------------------------------------------------------------

_CONTROLS = [chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)]]
any_text = st.text(alphabet=st.one_of(st.sampled_from(_CONTROLS + ["\u202e", "\u200b", "\u2028", "\ufeff"]),
                                      st.characters()), max_size=200)
printable_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=200
)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_clean_block_keeps_no_control_but_newline(text: str) -> None:
    shown = clean_block(text)
    assert not [ch for ch in shown if ch in _CONTROLS and ch != "\n"]
    assert "\x1b" not in shown and "\x9b" not in shown
    assert shown.count("\n") == text.count("\n")
    assert is_clean(shown)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_clean_keeps_no_control_at_all(text: str) -> None:
    shown = clean(text)
    assert not [ch for ch in shown if ch in _CONTROLS]
    assert is_clean(shown) and "\n" not in shown


@settings(max_examples=400, deadline=None)
@given(printable_text)
def test_printable_text_is_unchanged(text: str) -> None:
    assert clean(text) == text and clean_block(text) == text and is_clean(text)


def test_a_sequence_is_shown_not_obeyed() -> None:
    assert clean("\x1b]0;title\x07") == "␛]0;title␇"
    assert not is_clean(HOSTILE)


# --- terminal injection through the CLI -------------------------------------------------------

# A stand-in engine for `apply`: a hostile container's output in every text an event carries.
# With AIGW_TEST_GATE set, it waits (holding the lock) until the test writes to that FIFO.
FAKE_ENGINE = textwrap.dedent("""\
    import os, sys
    import wizard.install as install
    from wizard import cli
    from wizard.core.events import Address, LogLine, Result, StepFinished, StepStarted
    HOSTILE = {hostile!r}

    class Engine:
        def __init__(self, profile, name, cancel=None):
            pass

        def apply(self):
            yield StepStarted("container", "Start the gateway " + HOSTILE)
            gate = os.environ.get("AIGW_TEST_GATE")
            if gate:
                with open(gate) as waiting:
                    waiting.read()
            yield LogLine("container", HOSTILE)
            yield LogLine("container", HOSTILE, "error")
            yield StepFinished("container", "failed", HOSTILE)
            yield Result(False, "it failed " + HOSTILE, remedies=("do " + HOSTILE,),
                         log_tail=(HOSTILE, HOSTILE), urls=(Address(HOSTILE, "http://x/" + HOSTILE),))

    install.installer_for = Engine
    sys.exit(cli.main(sys.argv[1:]))
""").format(hostile=HOSTILE)


def fake_apply(config_dir: Path, *args: str, gate: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": str(config_dir), "PYTHONUNBUFFERED": "1"}
    if gate is not None:
        env["AIGW_TEST_GATE"] = str(gate)
    return subprocess.Popen(
        [sys.executable, "-c", FAKE_ENGINE, "apply", "prod", "--yes", "--skip-checks", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
        cwd=ROOT,
    )


def test_apply_never_lets_an_escape_reach_the_terminal(config_dir: Path) -> None:
    save(READY)
    process = fake_apply(config_dir)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "Start the gateway" in out and "it failed" in out and "␛]0;owned␇" in out
    for stream in (out, err):
        assert "\x1b" not in stream and "\x9b" not in stream and "\x07" not in stream and "\r" not in stream
    assert "Traceback" not in err


def test_the_console_on_a_terminal_emits_only_its_own_styling() -> None:
    from wizard.cli.console import make_console, render_events

    buffer = io.StringIO()
    console = make_console(buffer)
    console._force_terminal = True  # render as on a terminal: colours and the progress display
    events = [
        StepStarted("image", HOSTILE),
        LogLine("container", HOSTILE, "warning"),
        StepFinished("image", "failed", HOSTILE),
        Result(False, HOSTILE, remedies=(HOSTILE,), log_tail=(HOSTILE,), urls=(Address(HOSTILE, HOSTILE),)),
    ]
    render_events(iter(events), console)
    output = buffer.getvalue()
    assert console.is_terminal and "\x1b[" in output  # Rich did style it
    ours = re.sub(r"\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*[AG]", "", output)
    assert "\x1b" not in ours and "\x9b" not in ours and "\x07" not in ours, repr(ours[:300])
    assert "[/oops]" in output  # markup in outside text is shown, not parsed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(any_text, min_size=1, max_size=4))
def test_any_log_text_prints_without_control_characters(texts: list[str]) -> None:
    from wizard.cli.console import make_console, render_events

    buffer = io.StringIO()
    events = [LogLine("container", text) for text in texts] + [Result(True, texts[0], log_tail=tuple(texts))]
    render_events(iter(events), make_console(buffer))
    assert not [ch for ch in buffer.getvalue() if ch in _CONTROLS and ch != "\n"]


def test_profile_file_names_reach_the_listing_cleaned(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = paths.ensure_private_dir(paths.profiles_dir())
    (folder / "\x1b]0;owned\x07[link=\"x].toml").write_text(READY)
    (folder / "evil\x1b[2J.toml").write_text("[[[")
    assert cli.main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "␛]0;owned␇[link=\"x]" in out and "evil␛[2J" in out
    assert "\x1b" not in out and "\x07" not in out


# --- bounded reads and the private writer -----------------------------------------------------


def _finishes(call: object, timeout: float = 10.0) -> list[object]:
    """Run `call` in a thread; the test fails if it has not finished within `timeout`."""
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(call())  # type: ignore[operator]
        except BaseException as error:  # handed to the test
            outcome.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    assert outcome, "blocked"
    return outcome


def test_a_fifo_never_blocks_a_read(tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.json"
    os.mkfifo(fifo)
    [error] = _finishes(lambda: files.read_bounded(fifo, 1024, "a manifest"))
    assert isinstance(error, files.FileRefused) and "not a regular file" in str(error)


def test_a_fifo_profile_does_not_hang_the_picker(config_dir: Path) -> None:
    folder = paths.ensure_private_dir(paths.profiles_dir())
    os.mkfifo(folder / "pipe.toml")
    (folder / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    [entries] = _finishes(store.list_profiles)
    by_name = {entry.name: entry for entry in entries}  # type: ignore[attr-defined]
    assert "not a regular file" in str(by_name["pipe"].error)
    assert "nested too deeply" in str(by_name["deep"].error)


def test_devzero_and_oversized_files_are_refused_unread(tmp_path: Path) -> None:
    link = tmp_path / "ca.pem"
    link.symlink_to("/dev/zero")
    with pytest.raises(files.FileRefused, match="not a regular file"):
        files.read_bounded(link, 1024, "a CA bundle")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2049)
    with pytest.raises(files.FileRefused, match="at most 2 KiB"):
        files.read_bounded(big, 2048, "a key")
    assert files.read_bounded(big, 4096) == b"x" * 2049


def test_writing_through_a_symlink_keeps_the_link(tmp_path: Path, config_dir: Path) -> None:
    real = tmp_path / "elsewhere" / "real.toml"
    real.parent.mkdir()
    real.write_text(READY)
    link = paths.ensure_private_dir(paths.profiles_dir()) / "prod.toml"
    link.symlink_to(real)
    store.save(docker_profile(gateway={"port": 8052}), "prod")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert store.load(real).gateway.port == 8052
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_concurrent_outcome_writers_never_clash(config_dir: Path) -> None:
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for attempt in range(40):
                outcomes.write_last_outcome("prod", {"ok": True, "writer": index, "attempt": attempt})
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=write, args=(index,)) for index in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert (outcomes.last_outcome("prod") or {}).get("ok") is True
    assert [p.name for p in paths.state_dir().iterdir()] == ["prod.json"]


def test_a_live_writers_temp_file_is_left_alone_a_dead_ones_removed(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    live = tmp_path / f".state.json.{os.getppid()}.abcd.tmp"
    dead = tmp_path / ".state.json.999999999.abcd.tmp"
    live.write_text("{}")
    dead.write_text("{}")
    files.write_private(target, b"{}")
    assert live.exists() and not dead.exists()


# --- the TUI never writes stale state (store side) --------------------------------------------


def test_a_hand_edit_made_meanwhile_is_never_reverted(config_dir: Path) -> None:
    path = save("# mine\n" + READY)
    _profile, seen = store.load_with_revision(path)
    path.write_text(path.read_text().replace("17.5.0", "17.6.0"))  # a hand edit, or `upgrade`
    before = path.read_bytes()
    with pytest.raises(store.ProfileChanged) as caught:
        store.update_field(path, "gateway.port", 8052, seen)
    assert path.read_bytes() == before
    assert caught.value.profile is not None and caught.value.profile.gitlab.version == "17.6.0"
    saved, revision = store.update_field(path, "gateway.port", 8052, caught.value.revision)
    assert saved.gateway.port == 8052 and saved.gitlab.version == "17.6.0"
    assert "# mine" in path.read_text()
    assert store.load_with_revision(path)[1] == revision


def test_update_field_changes_only_that_field(config_dir: Path) -> None:
    path = save('# top\n' + READY + 'image = "registry.test/mirror/gw"  # our mirror\n')
    _profile, seen = store.load_with_revision(path)
    saved, _ = store.update_field(path, "gateway.hostname", "AIGW2.example.com", seen)
    text = path.read_text()
    assert saved.gateway.hostname == "aigw2.example.com"
    assert 'hostname = "aigw2.example.com"' in text and "# our mirror" in text and "# top" in text
    assert "container_name" not in text  # defaults are not written out


def test_update_field_refuses_invalid_values_and_unreadable_files(config_dir: Path) -> None:
    path = save(READY)
    _profile, seen = store.load_with_revision(path)
    with pytest.raises(store.ProfileError, match="gateway.port"):
        store.update_field(path, "gateway.port", 0, seen)
    path.write_text("target = 'docker'\n[gateway\n")
    broken = path.read_bytes()
    for expected in (None, store.Revision.of(broken)):
        with pytest.raises(store.ProfileError, match="not valid TOML"):
            store.update_field(path, "gateway.port", 8052, expected)
        assert path.read_bytes() == broken


# --- one run per profile ----------------------------------------------------------------------

HOLD = textwrap.dedent("""\
    import sys
    from wizard.core import lock
    with lock.hold("prod", "upgrade"):
        print("held", flush=True)
        sys.stdin.read()
""")


def test_the_lock_names_its_holder_and_kill_9_frees_it(config_dir: Path) -> None:
    env = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": str(config_dir)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        seen = lock.holder("prod")
        assert seen is not None and seen.pid == holder.pid and seen.command == "upgrade"
        with pytest.raises(lock.RunLocked, match=rf"upgrade.*pid {holder.pid}"):
            with lock.hold("prod", "apply"):
                pytest.fail("two runs acted at once")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert lock.holder("prod") is None
    with lock.hold("prod", "apply") as me:
        assert me.pid == os.getpid() and lock.holder("prod") is not None
    assert lock.holder("prod") is None


def test_two_concurrent_applies_never_both_act(config_dir: Path, tmp_path: Path) -> None:
    save(READY)
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    first = fake_apply(config_dir, gate=gate)
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert "Start the gateway" in line, line + (first.stderr.read() if first.stderr else "")
        second = fake_apply(config_dir)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "Start the gateway" not in out  # it never reached its engine
        assert err.count("\n") <= 2 and f"pid {first.pid}" in err and "apply" in err and "busy" in err, err
    finally:
        with open(gate, "w") as release:
            release.write("go")
        first.communicate(timeout=60)
    assert first.returncode == 1  # the stand-in engine reports a failure; it did run to the end
    after = fake_apply(config_dir)
    after.communicate(timeout=60)
    assert after.returncode == 1 and lock.holder("prod") is None


def test_a_killed_apply_leaves_no_lock_behind(config_dir: Path, tmp_path: Path) -> None:
    save(READY)
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    first = fake_apply(config_dir, gate=gate)
    assert first.stdout is not None and "Start the gateway" in first.stdout.readline()
    assert lock.holder("prod") is not None
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    assert lock.holder("prod") is None
    again = fake_apply(config_dir)
    out, _err = again.communicate(timeout=60)
    assert "Start the gateway" in out


# --- one line instead of a traceback ----------------------------------------------------------


def test_deeply_nested_toml_is_one_line(config_dir: Path) -> None:
    save("a = " + "[" * 100000 + "]" * 100000 + "\n")
    for verb in (("validate",), ("show",), ("plan",), ("apply", "--yes")):
        result = run_cli(verb[0], "prod", *verb[1:], config_dir=config_dir)
        assert result.returncode == 2, (verb, result.stderr)
        assert "nested too deeply" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("variable", ["AIGW_WIZARD_CONFIG_DIR", "XDG_STATE_HOME"])
def test_a_state_dir_that_is_a_file_is_one_line(variable: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config), "XDG_STATE_HOME": str(blocker)}
    if variable == "AIGW_WIZARD_CONFIG_DIR":
        target_dir = blocker
    else:
        target_dir = config / "aigw-wizard"
        env["AIGW_WIZARD_CONFIG_DIR"] = ""
        (target_dir / "profiles").mkdir(parents=True)
        (target_dir / "profiles" / "prod.toml").write_text(READY)
    for verb in (("validate", "prod"), ("apply", "prod", "--yes", "--skip-checks"), ("profiles",)):
        result = run_cli(*verb, config_dir=target_dir, env=env)
        assert "Traceback" not in result.stderr, result.stderr
        if verb[0] != "profiles" and result.returncode:
            assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
            assert "aigw-wizard:" in result.stderr


def test_the_journal_filling_the_disk_warns_and_the_run_goes_on(config_dir: Path) -> None:
    run = journal.Journal("prod", "apply")

    class FullDisk(io.StringIO):
        def write(self, _text: str) -> int:
            raise OSError(28, "No space left on device")

    real = run._file
    run._file = FullDisk()  # type: ignore[assignment]
    real.close()
    events = [StepStarted("image", "Image"), LogLine("docker", "pulled"), Result(True, "healthy")]
    passed = list(run.follow(iter(events)))
    warnings = [event for event in passed if isinstance(event, LogLine) and event.level == "warning"]
    assert [event for event in passed if event not in warnings] == events
    assert len(warnings) == 1 and "No space left" in warnings[0].text and "goes on" in warnings[0].text


def test_any_other_exception_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> list[object]:
        raise RuntimeError("boom \x1b]0;owned\x07\nsecond line")

    monkeypatch.setattr(store, "list_profiles", broken)
    assert cli.main(["profiles"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aigw-wizard: unexpected error: RuntimeError: boom ␛]0;owned␇")
    assert "Traceback" not in err and "\x1b" not in err


def test_an_upgrade_whose_profile_cannot_be_saved_says_so(config_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import wizard.install as install

    path = save(READY)

    class Engine:
        def __init__(self, *_args: object) -> None:
            pass

        def apply(self):  # type: ignore[no-untyped-def]
            yield Result(True, "upgraded")

    def read_only(*_args: object, **_kwargs: object) -> Path:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(install, "installer_for", Engine)
    monkeypatch.setattr(files, "write_private", read_only)
    assert cli.main(["upgrade", "prod", "--tag", "self-hosted-v17.6.0-ee", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "now runs self-hosted-v17.6.0-ee" in err and "by hand" in err and "Traceback" not in err


def test_world_writable_and_foreign_profiles_warn(config_dir: Path) -> None:
    path = save(READY)
    from wizard.checks.base import CheckContext

    quiet = run_cli("validate", "prod", config_dir=config_dir)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr
    ok = run_one("profile.file", CheckContext(store.load(path), "prod"))
    assert ok.status == "pass"
    path.chmod(0o666)
    loud = run_cli("validate", "prod", config_dir=config_dir)
    assert "writable by every user" in loud.stderr
    assert run_one("profile.file", CheckContext(store.load(path), "prod")).status == "warn"
    if os.geteuid() == 0:
        path.chmod(0o600)
        os.chown(path, 65534, 65534)
        foreign = run_one("profile.file", CheckContext(store.load(path), "prod"))
        assert foreign.status == "warn" and "owned by" in foreign.detail and "root" in foreign.detail


# --- GITLAB_TOKEN over plain HTTP ---------------------------------------------------------------

TOKEN = "glpat-faults-0123456789"


def _token_context(url: str) -> object:
    return context_for(docker_profile(gitlab={"url": url}), environ={"GITLAB_TOKEN": TOKEN})


def test_the_token_goes_over_plain_http_only_to_a_loopback_address(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def local_names(host: object, *args: object, **kwargs: object) -> object:
        # gitlab.faults.test is a name that happens to resolve to loopback: not written as one.
        return real("127.0.0.1" if host == "gitlab.faults.test" else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", local_names)
    with fake_gitlab(token=TOKEN, host="gitlab.faults.test") as named:
        result = run_one("gitlab.reachable", _token_context(named.url))  # type: ignore[arg-type]
        assert named.requests, "the check did not ask"
        assert all("PRIVATE-TOKEN" not in headers for _path, headers in named.requests)
        assert result.status == "warn" and "not sent over plain HTTP" in result.detail
    for host in ("127.0.0.1", "localhost"):
        with fake_gitlab(token=TOKEN, host=host) as loopback:
            result = run_one("gitlab.reachable", _token_context(loopback.url))  # type: ignore[arg-type]
            assert [headers.get("PRIVATE-TOKEN") for _path, headers in loopback.requests] == [TOKEN]
            assert result.status == "pass", result.detail


def test_only_https_or_written_loopback_may_carry_the_token() -> None:
    from wizard.checks.gitlab import token_allowed

    assert token_allowed("https://gitlab.test/api/v4/version")
    assert token_allowed("http://127.0.0.5:8080/api/v4/version")
    assert token_allowed("http://[::1]:8080/api/v4/version")
    assert token_allowed("http://localhost/api/v4/version")
    for url in ("http://gitlab.test/", "http://localhost.gitlab.test/", "http://10.0.0.1/", "ftp://127.0.0.1/"):
        assert not token_allowed(url), url


# --- #16: verbs that tell every problem ---------------------------------------------------------

NINE_MISTAKES = textwrap.dedent("""\
    target = "kubernetes"
    [gitlab]
    url = "ftp://gitlab.example.com"
    version = "seventeen"
    [gateway]
    hostname = "localhost"
    port = 0
    tag = "bad tag"
    colour = "blue"
    [docker]
    container_name = "-x"
    [tls]
    key = "/etc/aigw/tls.key"
""")


def test_validate_prints_nine_lines_for_nine_mistakes(config_dir: Path) -> None:
    path = save(NINE_MISTAKES)
    result = run_cli("validate", "prod", config_dir=config_dir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 9, result.stderr
    fields = [line.removeprefix(f"{path}: ").split(":", 1)[0] for line in lines]
    assert fields == [
        "target", "gitlab.url", "gitlab.version", "gateway.hostname", "gateway.port", "gateway.tag",
        "gateway.colour", "docker.container_name", "tls.cert",
    ]
    assert "(and" not in result.stderr


def test_validate_lists_missing_values_too(config_dir: Path) -> None:
    save('target = "docker"\n[gateway]\nport = "http"\n')
    result = run_cli("validate", "prod", config_dir=config_dir)
    fields = [line.split(": ")[1] for line in result.stderr.strip().splitlines()]
    assert result.returncode == 2 and fields == ["gateway.port", "gitlab.url", "gitlab.version", "gateway.hostname"]


def test_show_prints_the_file_and_then_its_problems(config_dir: Path) -> None:
    path = save("# hand notes\n" + NINE_MISTAKES)
    result = run_cli("show", "prod", config_dir=config_dir)
    assert result.returncode == 2
    assert result.stdout.startswith(f"# {path}\n# hand notes\n") and 'target = "kubernetes"' in result.stdout
    assert len(result.stderr.strip().splitlines()) == 9 and str(path) in result.stderr
    # Raw control characters make the TOML invalid; the file is still shown, made harmless.
    save("# \x1b]0;owned\x07 hand notes\n" + READY)
    result = run_cli("show", "prod", config_dir=config_dir)
    assert result.returncode == 2 and "␛]0;owned␇ hand notes" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr and "not valid TOML" in result.stderr


def test_a_pasted_api_root_is_cut_back(config_dir: Path) -> None:
    save(READY.replace('url = "https://gitlab.example.com"', 'url = "https://gitlab.example.com/gitlab/api/v4/"'))
    profile = store.load("prod")
    assert profile.gitlab.url == "https://gitlab.example.com/gitlab"
    assert profile.gitlab.effective_api_url == "https://gitlab.example.com/gitlab/api/v4/"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.sampled_from(["target", "gitlab", "gateway", "tls", "docker", "helm", "extra"]),
    st.one_of(
        st.text(max_size=20), st.integers(), st.booleans(),
        st.dictionaries(st.sampled_from(["url", "version", "hostname", "port", "tag", "cert", "key",
                                         "namespace", "odd"]),
                        st.one_of(st.text(max_size=30), st.integers(-5, 70000), st.booleans()), max_size=5),
    ),
    max_size=6,
))
def test_any_profile_yields_problems_each_naming_a_field(data: dict[str, object]) -> None:
    from wizard.core.profile import collect_problems

    profile, found = collect_problems(data)
    if profile is None:
        assert found, data
    for problem in found:
        assert problem.field and problem.message
    assert len({(problem.field, problem.message) for problem in found}) == len(found)


def test_a_lock_note_that_is_garbage_is_harmless(config_dir: Path) -> None:
    folder = paths.ensure_private_dir(paths.state_dir())
    (folder / "prod.lock").write_text(json.dumps({"pid": "\x1b]0;x", "host": ["no"]}))
    with lock.hold("prod", "apply") as me:
        assert me.command == "apply"


@pytest.mark.skipif(os.geteuid() != 0, reason="the warning is for root")
def test_apply_as_root_warns_about_a_profile_others_can_change(config_dir: Path) -> None:
    path = save(READY)
    quiet = fake_apply(config_dir)
    _out, err = quiet.communicate(timeout=60)
    assert "WARNING" not in err
    path.chmod(0o646)
    loud = fake_apply(config_dir)
    _out, err = loud.communicate(timeout=60)
    assert "WARNING" in err and "writable by every user" in err and "root" in err


def test_an_upgrade_over_a_profile_hand_edited_invalid_meanwhile_leaves_it_alone(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import wizard.install as install

    path = save(READY)

    class Engine:
        def __init__(self, *_args: object) -> None:
            pass

        def apply(self):  # type: ignore[no-untyped-def]
            path.write_text(READY + "port = 'oops'\n")  # edited by hand while the upgrade runs
            yield Result(True, "upgraded")

    monkeypatch.setattr(install, "installer_for", Engine)
    assert cli.main(["upgrade", "prod", "--tag", "self-hosted-v17.6.0-ee", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "gateway.port" in err and "by hand" in err and "Traceback" not in err
    assert path.read_text() == READY + "port = 'oops'\n"


def test_an_upgrade_keeps_edits_made_meanwhile(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wizard.install as install

    path = save(READY)

    class Engine:
        def __init__(self, *_args: object) -> None:
            pass

        def apply(self):  # type: ignore[no-untyped-def]
            path.write_text("# added meanwhile\n" + READY.replace("aigw.example.com", "aigw2.example.com"))
            yield Result(True, "upgraded")

    monkeypatch.setattr(install, "installer_for", Engine)
    assert cli.main(["upgrade", "prod", "--tag", "self-hosted-v17.6.0-ee", "--yes"]) == 0
    saved = store.load(path)
    assert saved.gateway.tag == "self-hosted-v17.6.0-ee" and saved.gateway.hostname == "aigw2.example.com"
    assert path.read_text().startswith("# added meanwhile\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.one_of(st.sampled_from(_CONTROLS + ["[", "]", "/", "\u202e"]), st.characters(
    blacklist_categories=("Cs",))), min_size=1, max_size=30))
def test_any_file_name_is_listed_without_control_characters(name: str) -> None:
    from hypothesis import assume

    file_name = name.replace("/", "_").replace("\x00", "_") + ".toml"
    assume(file_name not in (".toml", "..toml"))
    folder = paths.ensure_private_dir(paths.profiles_dir())
    for old in folder.iterdir():
        old.unlink()
    (folder / file_name).write_text(READY)
    out = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(out):
        assert cli.main(["profiles"]) == 0
    assert not [ch for ch in out.getvalue() if ch in _CONTROLS and ch != "\n"]
    assert out.getvalue().count("\n") == 1


@pytest.mark.parametrize("value", ["\x9b6n", "a\u202eb", "x\x1b]0;t\x07", "\u2028"])
def test_profile_text_refuses_c1_and_invisible_controls(value: str, config_dir: Path) -> None:
    from wizard.core.profile import Profile, validate_field

    for field in ("gateway.image_archive", "helm.kube_context", "gateway.ca_bundle"):
        updated, error = validate_field(Profile(), field, "/tmp/" + value + ".pem")
        assert updated is None and error and "control characters" in error, field


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(
    st.sampled_from(["gateway.port", "gateway.hostname", "docker.container_name", "gateway.auth_bypass"]),
    st.one_of(st.integers(-2, 70000), st.booleans(), st.sampled_from(["aigw.test", "gw-2", "", "Bad Name"])),
), min_size=1, max_size=6))
def test_updates_never_lose_comments_or_other_fields(changes: list[tuple[str, object]]) -> None:
    path = save("# keep me\n" + READY + "# and me\n")
    profile, revision = store.load_with_revision(path)
    for field, value in changes:
        try:
            profile, revision = store.update_field(path, field, value, revision)
        except store.ProfileChanged:
            pytest.fail("nothing else wrote the file")
        except store.ProfileError as error:
            assert error.field == field  # an invalid value, refused and named
        text = path.read_text()
        assert "# keep me" in text and "# and me" in text
        on_disk, now = store.load_with_revision(path)
        assert now == revision and on_disk.model_dump() == profile.model_dump()
        assert store.load(path).gitlab.version == "17.5.0"


# --- #15.8: what stands beside an archive is read bounded -----------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
def test_a_hostile_bundle_manifest_is_refused_at_once_not_read(tmp_path: Path, kind: str) -> None:
    import threading

    from wizard.core.errors import WizardError
    from wizard.install.bundle import BUNDLE_MANIFEST, MAX_MANIFEST_BYTES, manifest_digest

    archive = tmp_path / "model-gateway.tar"
    archive.write_bytes(b"")
    manifest = tmp_path / BUNDLE_MANIFEST
    if kind == "fifo":
        os.mkfifo(manifest)  # nobody writes: a blocking open would hang forever
    elif kind == "dev-zero":
        manifest.symlink_to("/dev/zero")  # endless: an unbounded read exhausts memory
    else:
        manifest.write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(_refusal(manifest_digest, archive, WizardError)), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading the manifest blocked"
    assert isinstance(outcome[0], WizardError) and outcome[0].field == "gateway.image_archive"


def _refusal(read, archive, error_type):
    try:
        return read(archive)
    except error_type as error:
        return error
