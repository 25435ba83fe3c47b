"""A network namespace with nothing but loopback, for proving that a command needs no network.

`loopback_namespace()` makes one (`ip netns add aigw-test-…`, `lo` up, no other interface and
no route) and deletes it afterwards, whatever happened. Where that is impossible (not root,
no `ip`, `ip netns add` refused) it skips — or fails under AIGW_REQUIRE_DOCKER=1.

`NamespaceHelper` is one process inside the namespace: a fake GitLab API on the namespace's
own 127.0.0.1 and, on request, the relay. The relay is the only way out: it listens on
127.0.0.1:PORT inside and hands each connection over a UNIX socket (a filesystem path, which
namespaces share) to a thread of the test that connects to 127.0.0.1:PORT in the host's
namespace — the published port of the gateway container, which the Docker engine (running
outside) made there. It starts listening only once that port answers on the host, so the
installer's own "is the port free" probes inside see a free port, as on a real host.

Run as `python -m tests.netns serve` (inside the namespace), it is that helper process.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.netguard import sitecustomize as netguard

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "aigw-test-"
NETNS_ETC = Path("/etc/netns")
"""`ip netns exec NS` bind-mounts /etc/netns/NS/hosts over /etc/hosts for what it starts."""
LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024
HELPER_START_S = 20.0
RELAY_ARM_S = 60.0


# --- the namespace ------------------------------------------------------------------------------


def namespace_problem() -> str | None:
    """Why this machine cannot make network namespaces, or None (not proof that it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command is missing (install iproute2)"
    return None


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30
    )


@dataclass(frozen=True)
class LoopbackNamespace:
    name: str

    def argv(self, *command: str) -> list[str]:
        """`command` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *command]

    def ip(self, *args: str) -> str:
        done = _ip("netns", "exec", self.name, "ip", *args)
        if done.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)} in {self.name}: {done.stderr.strip()}")
        return done.stdout

    def interfaces(self) -> list[str]:
        """Names of the namespace's network interfaces."""
        return [line.split(":")[1].strip().split("@")[0] for line in self.ip("-o", "link", "show").splitlines()]

    def routes(self) -> list[str]:
        """IPv4 and IPv6 routes of the main table (loopback's own live in the local table)."""
        return [line for family in ("-4", "-6") for line in self.ip(family, "route", "show").splitlines()]


def _hosts_text(extra: Mapping[str, str]) -> str:
    try:
        base = Path("/etc/hosts").read_text(encoding="utf-8")
    except OSError:
        base = "127.0.0.1 localhost\n::1 localhost\n"
    lines = [f"{address} {name}" for name, address in extra.items()]
    return base.rstrip("\n") + "\n# added by aigw-wizard tests for this namespace\n" + "\n".join(lines) + "\n"


@contextmanager
def loopback_namespace(hosts: Mapping[str, str] | None = None) -> Iterator[LoopbackNamespace]:
    """A fresh namespace with only `lo` (up); `hosts` (name → address) extend its /etc/hosts."""
    from tests.docker_fixtures import enforce

    enforce(namespace_problem())
    namespace = LoopbackNamespace(f"{PREFIX}{uuid.uuid4().hex[:10]}")
    etc = NETNS_ETC / namespace.name
    made_netns_etc = False
    created = _ip("netns", "add", namespace.name)
    if created.returncode != 0:
        enforce(f"ip netns add failed: {created.stderr.strip() or created.returncode}")
    try:
        if hosts:
            made_netns_etc = not NETNS_ETC.exists()
            etc.mkdir(parents=True)
            (etc / "hosts").write_text(_hosts_text(hosts), encoding="utf-8")
        namespace.ip("link", "set", "lo", "up")
        yield namespace
    finally:
        deleted = _ip("netns", "delete", namespace.name)
        shutil.rmtree(etc, ignore_errors=True)
        if made_netns_etc:
            try:
                NETNS_ETC.rmdir()
            except OSError:
                pass  # someone else put something there meanwhile
        if deleted.returncode != 0:
            raise RuntimeError(f"ip netns delete {namespace.name}: {deleted.stderr.strip()}")


def leftover_namespaces() -> list[str]:
    """Our namespaces that still exist (for tests asserting their cleanup)."""
    listed = _ip("netns", "list")
    return [line.split()[0] for line in listed.stdout.splitlines() if line.startswith(PREFIX)]


# --- byte pumps ---------------------------------------------------------------------------------


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass  # the other side went away: that ends this direction too
    try:
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def splice(first: socket.socket, second: socket.socket) -> None:
    """Copy bytes both ways until both directions end, then close both (in daemon threads)."""

    def run() -> None:
        backward = threading.Thread(target=_pump, args=(second, first), daemon=True)
        backward.start()
        _pump(first, second)
        backward.join()
        first.close()
        second.close()

    threading.Thread(target=run, name="aigw-splice", daemon=True).start()


# --- inside the namespace: `python -m tests.netns serve` ---------------------------------------


def _relay_inside(listener: socket.socket, unix_path: str) -> None:
    """Each connection to `listener` goes over the UNIX socket at `unix_path`, and no further."""
    while True:
        try:
            inside, _ = listener.accept()
        except OSError:
            return
        outside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            outside.connect(unix_path)
        except OSError:
            inside.close()
            outside.close()
            continue
        splice(inside, outside)


def serve() -> None:
    """The helper's body: a fake GitLab now, relays when asked on stdin, exit at EOF."""
    from tests.checks_servers import fake_gitlab

    with fake_gitlab(host="localhost") as gitlab:
        print(f"gitlab {gitlab.url}", flush=True)
        listeners = []
        for line in sys.stdin:
            command, *args = line.split()
            if command == "relay":
                port, unix_path = int(args[0]), args[1]
                listener = socket.create_server((LOOPBACK, port))
                listeners.append(listener)
                threading.Thread(target=_relay_inside, args=(listener, unix_path), daemon=True).start()
                print(f"relaying {port}", flush=True)
            elif command == "requests":
                print(f"requests {len(gitlab.requests)}", flush=True)
        for listener in listeners:
            listener.close()


# --- the test's side ----------------------------------------------------------------------------


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Relay:
    """The host side: a UNIX socket whose every connection goes on to 127.0.0.1:`port` here."""

    port: int
    path: Path
    connections: int = 0
    armed: threading.Event = field(default_factory=threading.Event)
    problem: str = ""
    _listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, name="aigw-relay-host", daemon=True).start()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                from_inside, _ = self._listener.accept()
            except OSError:
                return
            try:
                to_gateway = socket.create_connection((LOOPBACK, self.port), timeout=5)
                to_gateway.settimeout(None)
            except OSError:
                from_inside.close()  # the gateway's port is gone: the prober inside sees a reset
                continue
            self.connections += 1
            splice(from_inside, to_gateway)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self.path.unlink(missing_ok=True)


class NamespaceHelper:
    """The helper process inside `namespace`: its fake GitLab, and the relays it listens for."""

    def __init__(self, namespace: LoopbackNamespace) -> None:
        self.namespace = namespace
        # A short path of its own: UNIX socket paths are limited to 107 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="aigw-netns-"))
        self._stderr = (self.folder / "helper.stderr").open("wb")
        self.process = subprocess.Popen(
            namespace.argv(sys.executable, "-m", "tests.netns", "serve"),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="aigw-netns-helper", daemon=True).start()
        self._lock = threading.Lock()
        self.relays: list[Relay] = []
        try:
            self.gitlab_url = self._expect("gitlab", HELPER_START_S).partition(" ")[2]
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _expect(self, word: str, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None or not line.startswith(word):
            raise RuntimeError(f"the namespace helper did not say {word!r} (got {line!r}): {self.stderr()}")
        return line

    def _send(self, line: str, answer: str) -> str:
        with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
            return self._expect(answer, HELPER_START_S)

    def stderr(self) -> str:
        self._stderr.flush()
        return (self.folder / "helper.stderr").read_text(errors="replace")[-2000:]

    def gitlab_requests(self) -> int:
        """How many requests the fake GitLab inside has answered."""
        return int(self._send("requests", "requests").split()[1])

    @contextmanager
    def relay_when_published(self, port: int) -> Iterator[Relay]:
        """The relay for `port`, armed inside as soon as 127.0.0.1:`port` answers out here."""
        relay = Relay(port, self.folder / f"relay-{port}.sock")
        relay.start()
        self.relays.append(relay)
        stop = threading.Event()

        def arm() -> None:
            deadline = time.monotonic() + RELAY_ARM_S
            while not _port_answers(port):
                if stop.wait(0.05) or time.monotonic() > deadline:
                    relay.problem = f"127.0.0.1:{port} never answered on the host"
                    return
            try:
                self._send(f"relay {port} {relay.path}", "relaying")
            except (RuntimeError, OSError) as error:
                relay.problem = str(error)
                return
            relay.armed.set()

        armer = threading.Thread(target=arm, name="aigw-relay-arm", daemon=True)
        armer.start()
        try:
            yield relay
        finally:
            stop.set()
            armer.join(5)

    def close(self) -> None:
        for relay in self.relays:
            relay.close()
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()  # EOF: the helper stops its servers and exits
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> NamespaceHelper:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m tests.netns serve")
    serve()
