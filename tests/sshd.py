"""A private OpenSSH server on 127.0.0.1 and a private tmux server, for real SSH session tests.

Plain helpers, no fixtures: `running_sshd()` starts Debian's `/usr/sbin/sshd` in the
foreground with throwaway host and user keys, `Tmux` drives a detached 80x24 terminal through
its own socket. Both clean up every process they started, even when the test fails.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
# Slow CI machines: generous, but every wait is a bounded poll.
START_TIMEOUT_S = 20.0
POLL_S = 0.05


def missing_tools() -> str | None:
    """Why an SSH session test cannot run here, or None."""
    missing = [tool for tool in ("ssh", "ssh-keygen", "tmux") if shutil.which(tool) is None]
    if not SSHD.is_file():
        missing.append(str(SSHD))
    if missing:
        return "needs openssh-server, openssh-client and tmux; missing: " + ", ".join(missing)
    if not PRIVSEP_DIR.is_dir():
        try:
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
        except OSError as error:
            return f"sshd needs its privilege separation dir {PRIVSEP_DIR}: {error.strerror}"
    return None


def wait_until(condition: Callable[[], object], timeout: float, what: str,
               detail: Callable[[], str] = lambda: "") -> None:
    """Poll `condition` until it is true; fail naming `what` (and `detail()`) on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            extra = detail()
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f"\n{extra}" if extra else ""))
        time.sleep(POLL_S)


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has finished: only its parent has not reaped it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (sshd's per-connection children setsid)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def kill_quietly(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "aigw-wizard-test", "-f", str(path)],
        check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
    )
    return path


@dataclass
class Sshd:
    """A running private sshd: where it listens and how to log in to it."""

    port: int
    user: str
    user_key: Path
    process: subprocess.Popen[bytes]
    log: Path

    def ssh_argv(self, remote: Sequence[str]) -> list[str]:
        """`ssh -tt` to this server running `remote` (an argv, quoted for the remote shell)."""
        return [
            "ssh", "-tt", "-F", "/dev/null", "-p", str(self.port), "-i", str(self.user_key),
            "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=15",
            f"{self.user}@127.0.0.1", shlex.join(remote),
        ]

    def log_tail(self) -> str:
        try:
            return "sshd log:\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""


def _make_keys(folder: Path) -> None:
    keygen(folder / "ssh_host_ed25519_key")
    user_key = keygen(folder / "user_ed25519")
    authorized = folder / "authorized_keys"
    authorized.write_text(user_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)


def _write_config(folder: Path, port: int, user: str) -> Path:
    config = folder / "sshd_config"
    config.write_text("\n".join([
        "ListenAddress 127.0.0.1",
        f"Port {port}",
        f"HostKey {folder / 'ssh_host_ed25519_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}",
        f"PidFile {folder / 'sshd.pid'}",
        f"AllowUsers {user}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        # The keys live in pytest's tmp dirs, whose modes sshd would otherwise reject.
        "StrictModes no",
        "PermitTTY yes",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "LogLevel VERBOSE",
        "",
    ]))
    return config


@contextmanager
def running_sshd(folder: Path) -> Iterator[Sshd]:
    """sshd -D on 127.0.0.1 (a child of the test); it and every session it forked die at exit."""
    folder.mkdir(parents=True, exist_ok=True)
    user = pwd.getpwuid(os.getuid()).pw_name
    log = folder / "sshd.log"
    _make_keys(folder)
    # The free port may be taken between probing and binding: try a few.
    for _attempt in range(3):
        port = free_port()
        config = _write_config(folder, port, user)
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                start_new_session=True,
            )
        server = Sshd(port, user, folder / "user_ed25519", process, log)
        try:
            if _wait_for_banner(server):
                break
        except BaseException:
            _stop(server)
            raise
        _stop(server)
    else:
        raise AssertionError(f"sshd did not start on 127.0.0.1\n{server.log_tail()}")
    try:
        yield server
    finally:
        _stop(server)


def _wait_for_banner(server: Sshd) -> bool:
    """True once sshd answers with its banner; False if it exited (say, the port was taken)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=2) as conn:
                if conn.recv(64).startswith(b"SSH-2.0-"):
                    return True
        except OSError:
            pass
        time.sleep(POLL_S)
    raise AssertionError(f"sshd did not answer on port {server.port} within {START_TIMEOUT_S:.0f}s\n"
                         f"{server.log_tail()}")


def _stop(server: Sshd) -> None:
    # Sessions first: killing their sshd closes the ptys, so the remote programs get SIGHUP.
    for pid in descendants(server.process.pid):
        kill_quietly(pid)
    kill_quietly(server.process.pid)
    with suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=10)


class Tmux:
    """A tmux server of our own (`-L`, no config file); `close()` kills it and its panes."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.socket_name = f"aigw-test-{uuid.uuid4().hex[:12]}"
        self.env = env
        # Where tmux puts a -L socket; it leaves the file behind when the server exits.
        tmpdir = (env or os.environ).get("TMUX_TMPDIR") or "/tmp"
        self.socket_path = Path(tmpdir) / f"tmux-{os.getuid()}" / self.socket_name

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket_name, "-f", "/dev/null", "-u", *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15, env=self.env,
        )
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, session: str, argv: Sequence[str], width: int = 80, height: int = 24) -> int:
        """Run `argv` (no shell) in a new detached session; returns its pid."""
        self.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "--", *argv)
        return int(self.run("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])

    def type(self, session: str, text: str) -> None:
        self.run("send-keys", "-t", session, "-l", text)

    def keys(self, session: str, *keys: str) -> None:
        self.run("send-keys", "-t", session, *keys)

    def screen(self, session: str, *, escapes: bool = False) -> str:
        """The visible pane as text (with `escapes`, its colours and attributes as SGR codes)."""
        return self.run("capture-pane", "-p", "-t", session, *(["-e"] if escapes else []))

    def cursor_line(self, session: str) -> str:
        """The screen line under the terminal cursor: Textual keeps it in the focused input."""
        row = int(self.run("display-message", "-p", "-t", session, "#{cursor_y}"))
        lines = self.screen(session).splitlines()
        return lines[row] if row < len(lines) else ""

    def size(self, session: str) -> str:
        return self.run("display-message", "-p", "-t", session, "#{pane_width}x#{pane_height}").strip()

    def wait_for(self, session: str, *texts: str, timeout: float = START_TIMEOUT_S) -> str:
        """Poll the pane until every one of `texts` shows; returns that screen."""
        shown = ""

        def showing() -> bool:
            nonlocal shown
            try:
                shown = self.screen(session)
            except AssertionError:  # the pane went away: report the last screen seen
                return False
            return all(text in shown for text in texts)

        wait_until(showing, timeout, f"{texts!r} on the screen",
                   lambda: "last screen:\n" + shown)
        return shown

    def close(self) -> None:
        with suppress(AssertionError, subprocess.TimeoutExpired):
            self.run("kill-server")
        self.socket_path.unlink(missing_ok=True)
