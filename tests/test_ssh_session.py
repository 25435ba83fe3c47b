"""The wizard over a real SSH session: Debian's sshd on 127.0.0.1, `ssh -tt` inside an 80x24
tmux pane. A dropped connection (the ssh client SIGKILLed) must lose nothing that was typed,
and reopening the profile resumes at the right screen; the first screens read well on the
Linux console (TERM=linux) and with NO_COLOR=1.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.docker_fixtures import enforce
from tests.factories import docker_profile
from tests.sshd import (
    Sshd,
    Tmux,
    kill_quietly,
    missing_tools,
    process_alive,
    running_sshd,
    wait_until,
)
from tests.tui_support import save_profile
from wizard.core import store
from wizard.core.profile import Profile

ROOT = Path(__file__).resolve().parent.parent
# Starting Python + Textual on a loaded CI machine can take seconds; every wait is a poll.
WAIT_S = 30.0

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    # CI installs openssh-server and tmux and sets AIGW_REQUIRE_DOCKER=1: a failure there.
    enforce(missing_tools())
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@dataclass
class Connection:
    """One `ssh -tt` in its own tmux session, and the wizard it started on the other side."""

    session: str
    ssh_pid: int
    pidfile: Path

    @property
    def wizard_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text())
        except (OSError, ValueError):  # not started, or the wrapper is still writing
            return None


class Terminal:
    """Opens wizard sessions over SSH in a private tmux server; `close()` ends them all."""

    def __init__(self, server: Sshd, config_dir: Path, folder: Path) -> None:
        self.server = server
        self.config_dir = config_dir
        self.folder = folder
        self.tmux = Tmux()
        self.connections: list[Connection] = []

    def connect(self, *args: str, term: str = "xterm-256color", no_color: bool = False) -> Connection:
        session = f"s{len(self.connections)}"
        pidfile = self.folder / f"{session}.pid"
        home = pwd.getpwuid(os.getuid()).pw_dir
        # A clean environment: only what the wizard needs, nothing inherited from this test.
        env = [
            "env", "-i", f"HOME={home}", f"PATH={Path(sys.executable).parent}:/usr/bin:/bin",
            "LANG=C.UTF-8", f"TERM={term}", f"AIGW_WIZARD_CONFIG_DIR={self.config_dir}",
            f"PYTHONPATH={ROOT}", *(["NO_COLOR=1"] if no_color else []),
        ]
        # `exec` keeps the pid the wrapper records: the wizard is the pty's session leader,
        # the process the kernel sends SIGHUP when sshd closes the pty.
        remote = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(pidfile),
                  *env, sys.executable, "-m", "wizard", *args]
        ssh_pid = self.tmux.start(session, self.server.ssh_argv(remote))
        connection = Connection(session, ssh_pid, pidfile)
        self.connections.append(connection)
        # The pane's process is ssh itself (tmux execs a multi-word command without a shell),
        # once tmux's forked child has exec'd it.
        wait_until(lambda: Path(f"/proc/{ssh_pid}/comm").read_text().strip() == "ssh", WAIT_S,
                   f"pane process {ssh_pid} to be ssh")
        assert self.tmux.size(session) == "80x24"
        wait_until(lambda: connection.wizard_pid, WAIT_S, "the wizard to start over SSH",
                   self.server.log_tail)
        return connection

    def wait_for(self, connection: Connection, *texts: str) -> str:
        return self.tmux.wait_for(connection.session, *texts, timeout=WAIT_S)

    def type(self, connection: Connection, text: str) -> None:
        self.tmux.type(connection.session, text)

    def keys(self, connection: Connection, *keys: str) -> None:
        self.tmux.keys(connection.session, *keys)

    def wait_focus(self, connection: Connection, label: str) -> None:
        """Wait until the field labelled `label` has the focus. Textual applies a bound key
        (Tab, Ctrl+U, Enter) only once it has bubbled up to the app, so characters sent in the
        same burst reach the field focused before it (Textualize/textual#1009, #6605)."""
        line = ""

        def focused() -> bool:
            nonlocal line
            line = self.tmux.cursor_line(connection.session)
            return line.lstrip(" ▸>").startswith(label)  # after the focus marker

        wait_until(focused, WAIT_S, f"the focus on {label!r}", lambda: f"cursor line: {line!r}")

    def wait_saved(self, connection: Connection, name: str, field: str, value: object) -> None:
        """Saved as typed: the file holds the value while the wizard still runs."""
        section, _, key = field.rpartition(".")

        def value_now() -> object:
            data = saved(self.config_dir, name)
            return (data.get(section, {}) if section else data).get(key)

        wait_until(lambda: value_now() == value, WAIT_S, f"{field} = {value!r} in the profile file",
                   lambda: f"file holds {field} = {value_now()!r}; screen:\n"
                           + self.tmux.screen(connection.session))

    def drop(self, connection: Connection) -> None:
        """Kill the ssh client outright, as a dropped connection would; wait for the remote end."""
        kill_quietly(connection.ssh_pid)
        wizard = connection.wizard_pid
        assert wizard is not None
        wait_until(lambda: not process_alive(wizard), WAIT_S,
                   f"the remote wizard (pid {wizard}) to end after the connection dropped")

    def close(self) -> None:
        self.tmux.close()
        for connection in self.connections:
            pid = connection.wizard_pid
            if pid is not None and process_alive(pid) and b"wizard" in _cmdline(pid):
                kill_quietly(pid)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture
def terminal(sshd: Sshd, config_dir: Path, tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(sshd, config_dir, tmp_path)
    try:
        yield term
    finally:
        term.close()


def profile_file(config_dir: Path, name: str) -> Path:
    return config_dir / "profiles" / f"{name}.toml"


def saved(config_dir: Path, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(profile_file(config_dir, name).read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def assert_intact(config_dir: Path, name: str) -> None:
    """A private, complete file, and no temp file of an interrupted save left beside it."""
    path = profile_file(config_dir, name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    leftovers = sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".toml"))
    assert leftovers == [], f"temp files left in the profiles folder: {leftovers}"
    store.load(path)


def test_dropped_connection_keeps_every_value_and_resumes_at_the_gateway(
    terminal: Terminal, config_dir: Path
) -> None:
    """New profile → Docker → GitLab → Gateway over SSH; the client is SIGKILLed; the remote
    wizard ends on the hang-up with every answer already in the file; `tui prod` resumes at
    the Gateway screen showing them all; the last field, then another drop: nothing lost."""
    first = terminal.connect()
    terminal.wait_for(first, "aigw-wizard — GitLab AI gateway installer", "No profiles yet")
    terminal.keys(first, "n")
    terminal.wait_for(first, "Name of the new profile")
    terminal.type(first, "prod")
    terminal.wait_for(first, "prod")
    terminal.keys(first, "Enter")
    terminal.wait_for(first, "Target — profile prod", "Where should the AI gateway run?")
    terminal.keys(first, "Enter")  # Docker is the first choice
    terminal.wait_saved(first, "prod", "target", "docker")
    terminal.keys(first, "C-n")
    terminal.wait_for(first, "GitLab — profile prod", "GitLab URL")
    terminal.wait_focus(first, "GitLab URL")
    terminal.type(first, "https://gitlab.example.com")
    terminal.wait_for(first, "API URL used:  https://gitlab.example.com/api/v4/")
    terminal.keys(first, "Tab")
    terminal.wait_focus(first, "API URL")
    terminal.keys(first, "Tab")  # past the derived API URL to the version
    terminal.wait_focus(first, "GitLab version")
    terminal.type(first, "17.5.0")
    terminal.wait_for(first, "self-hosted-v17.5.0-ee")
    terminal.wait_saved(first, "prod", "gitlab.version", "17.5.0")
    terminal.keys(first, "C-n")
    terminal.wait_for(first, "Gateway — profile prod", "✓ Target ✓ GitLab ● Gateway")
    terminal.wait_focus(first, "Host name")
    # The host name is left for after the reconnect: filling it completes a Docker form, and
    # the wizard would then resume past this screen, at the live checks. The port is typed,
    # and the line drops.
    terminal.keys(first, "Tab")
    terminal.wait_focus(first, "Host port")
    terminal.keys(first, "C-u")
    terminal.wait_for(first, "must be a whole number")  # cleared before typing the new port
    terminal.type(first, "8052")
    terminal.wait_saved(first, "prod", "gateway.port", 8052)
    terminal.wait_for(first, "Host port         8052")

    terminal.drop(first)
    data = saved(config_dir, "prod")
    assert data["target"] == "docker"
    assert data["gitlab"] == {"url": "https://gitlab.example.com", "api_url": "", "version": "17.5.0", "offline_license": False}
    assert data["gateway"]["port"] == 8052 and data["gateway"]["hostname"] == ""
    assert_intact(config_dir, "prod")

    second = terminal.connect("tui", "prod")
    terminal.wait_for(second, "Gateway — profile prod", "✓ Target ✓ GitLab ● Gateway",
                      "Host port         8052")
    terminal.wait_focus(second, "Host name")
    terminal.keys(second, "Escape")  # back one screen: the GitLab answers are all there
    terminal.wait_for(second, "GitLab — profile prod", "https://gitlab.example.com", "17.5.0",
                      "self-hosted-v17.5.0-ee")
    terminal.wait_focus(second, "GitLab URL")
    terminal.keys(second, "C-n")
    terminal.wait_for(second, "Gateway — profile prod", "Host port         8052")
    terminal.wait_focus(second, "Host name")
    terminal.type(second, "aigw.example.com")
    terminal.wait_for(second, "Host name         aigw.example.com")
    terminal.wait_saved(second, "prod", "gateway.hostname", "aigw.example.com")

    terminal.drop(second)  # and the line drops again, right after the last field
    assert store.load("prod").model_dump() == docker_profile(gateway={"port": 8052}).model_dump()
    assert_intact(config_dir, "prod")


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colours(screen: str) -> set[str]:
    """Every colour the pane uses, as tmux writes it back: `38;5;N`, `38;2;R;G;B` or 30-107."""
    found: set[str] = set()
    for params in SGR.findall(screen):
        parts = params.split(";")
        index = 0
        while index < len(parts):
            part = parts[index]
            if part in ("38", "48") and index + 1 < len(parts):
                width = 3 if parts[index + 1] == "5" else 5
                found.add(";".join(parts[index:index + width]))
                index += width
                continue
            if part.isdigit() and (30 <= int(part) <= 37 or 40 <= int(part) <= 47
                                   or 90 <= int(part) <= 107):
                found.add(part)
            index += 1
    return found


def is_grey(colour: str) -> bool:
    """Black, white or a grey, in any of the three palettes."""
    parts = [int(part) for part in colour.split(";")]
    if parts[1:2] == [2]:
        return len(set(parts[2:])) == 1
    if parts[1:2] == [5]:
        index = parts[2]
        if index >= 232:  # the grey ramp
            return True
        if index >= 16:  # the 6x6x6 cube: grey when the three steps are equal
            cube = index - 16
            return cube // 36 == cube // 6 % 6 == cube % 6
        return index in (0, 7, 8, 15)
    return parts[0] % 10 in (0, 7)  # 30/37, 40/47, 90/97, 100/107


@pytest.mark.parametrize(
    ("term", "no_color"), [("linux", False), ("xterm-256color", True)], ids=["TERM=linux", "NO_COLOR"]
)
def test_first_screens_are_readable_at_80x24(
    terminal: Terminal, config_dir: Path, term: str, no_color: bool
) -> None:
    """The profile picker and a step screen keep every word on the Linux console (16 colours,
    ASCII step markers) and under NO_COLOR (greys only), at 80x24 over SSH."""
    save_profile("console", Profile(target="docker"))
    save_profile("prod", docker_profile())
    conn = terminal.connect(term=term, no_color=no_color)
    dash = "-" if term == "linux" else "—"  # the Linux console font has no em dash
    terminal.wait_for(
        conn, f"aigw-wizard {dash} GitLab AI gateway installer",
        "Install the self-hosted GitLab AI gateway with Docker or Helm.",
        "Profile", "Target", "Modified", "State", "console  docker", "incomplete (3 to fill in)",
        "prod     docker", "ready", "console.toml", "To fill in: gitlab.url, gitlab.version, gateway.hostname",
        "n New", "q Quit",
    )
    if term == "linux":  # key names the console font can show
        assert "Enter Open" in terminal.tmux.screen(conn.session)
    painted = colours(terminal.tmux.screen(conn.session, escapes=True))
    if term == "linux":
        # The Linux console has 16 colours: nothing from the 256-colour or RGB palettes.
        assert painted and all(not c.startswith(("38;", "48;")) for c in painted), sorted(painted)
    if no_color:
        # Textual's monochrome filter: shades of grey, no hue carries meaning.
        assert painted and all(map(is_grey, painted)), sorted(painted)

    terminal.keys(conn, "Enter")  # opens "console", the first row, at its first gap
    markers = "+ Target > GitLab - Gateway - TLS" if term == "linux" else "✓ Target ● GitLab ○ Gateway"
    screen = terminal.wait_for(conn, f"GitLab {dash} profile console", markers, "GitLab URL",
                               "GitLab version", "Next")
    if term == "linux":
        assert not set(screen) & set("✓●○✗…—⏎"), screen
    terminal.keys(conn, "C-q")
    wizard = conn.wizard_pid
    assert wizard is not None
    wait_until(lambda: not process_alive(wizard), WAIT_S, "the wizard to quit on Ctrl+Q")
