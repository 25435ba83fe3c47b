"""The gateway at its real size (opt-in: `python benchmarks/run.py --big`).

A stand-in image of ~600 MiB (busybox, the stand-in start script, and a payload that is half
random, half compressible text, as real Python images are), each case against what an admin
would type instead, interleaved in one run:

- apply from a `docker save` tarball    vs `docker load -i` + the plan's `docker run` + curl loop
- apply from a gzip'd tarball           vs the same with the .tar.gz
- apply pulling from a local registry   vs `docker pull` + `docker run` + curl loop
- `bundle`                              vs `docker save -o` + `openssl dgst -sha256`
- a piped `apply` of a fresh pull: the longest silence on stdout during the image step (goal 5 s)

Every apply runs with its preflight checks (the image check reads a plain tarball's index by
seeking, and leaves a compressed one to the load). The image and the container are removed
before each run, so every run loads or pulls the full image. Goals: apply ≤ 1.05× raw,
bundle ≤ 1.0× raw, the longest silence of a piped apply ≤ 5 s.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import docker  # noqa: E402

from benchmarks.common import result  # noqa: E402
from tests.checks_servers import fake_gitlab  # noqa: E402
from tests.docker_fixtures import (  # noqa: E402
    _DOCKERFILE,
    _HEALTHY_SCRIPT,
    BUSYBOX,
    GATEWAY_PORT,
    REGISTRY_BINARY,
    _add_file,
    _registry_config,
    free_port,
    wait_http,
)
from tests.factories import docker_profile  # noqa: E402
from wizard.core import store  # noqa: E402
from wizard.install import plan  # noqa: E402

BIG = True  # run.py runs this module only with --big
PREFIX = "aigw-bench-big"
REPOSITORY = f"{PREFIX}/model-gateway"
TAG = "self-hosted-v17.5.0-ee"
PAYLOAD_MIB = 600
RUNS = 2
TIMEOUT = 600.0
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aigw-wizard-bench"
ROOT = Path(__file__).resolve().parent.parent
PROGRESS_GOAL_S = 5.0


def _payload(size_mib: int) -> Iterator[bytes]:
    """Half random (incompressible, like .so files), half repetitive text (like .py files)."""
    text = b"".join(f"def function_{n}(argument):\n    return argument * {n}\n".encode() for n in range(20000))
    for index in range(size_mib):
        yield os.urandom(2**20) if index % 2 else (text * (2**20 // len(text) + 1))[: 2**20]


def _context() -> bytes:
    applets = sorted(set(subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True,
                                        check=True).stdout.split()) - {"busybox"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_file(tar, "Dockerfile", (_DOCKERFILE + "COPY payload /payload\n").encode())
        _add_file(tar, "start.sh", _HEALTHY_SCRIPT.format(version=TAG, port=GATEWAY_PORT).encode(), 0o755)
        _add_file(tar, "bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
        _add_file(tar, "www/monitoring/healthz", b"{}\n")
        payload = b"".join(_payload(PAYLOAD_MIB))
        _add_file(tar, "payload/blob", payload)
    return buf.getvalue()


def _ensure_archives(client: docker.DockerClient) -> tuple[Path, Path]:
    """The big image's tarball and its gzip, built once and kept in the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball, gzipped = CACHE / "model-gateway-big.tar", CACHE / "model-gateway-big.tar.gz"
    if tarball.is_file() and gzipped.is_file():
        return tarball, gzipped
    image, _ = client.images.build(fileobj=io.BytesIO(_context()), custom_context=True,
                                   tag=f"{REPOSITORY}:{TAG}", pull=False, rm=True, forcerm=True)
    with tarball.open("wb") as out:
        for chunk in image.save(named=f"{REPOSITORY}:{TAG}"):
            out.write(chunk)
    with tarball.open("rb") as source, gzip.open(gzipped, "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target, 2**20)
    return tarball, gzipped


def _remove(client: docker.DockerClient, container: str, images: tuple[str, ...]) -> None:
    try:
        client.api.remove_container(container, force=True)
    except docker.errors.NotFound:
        pass
    for ref in images:
        try:
            client.images.remove(ref, force=True)
        except docker.errors.ImageNotFound:
            pass


def _timed(action: Callable[[], object]) -> float:
    # The previous run's (or the set-up's) hundreds of MiB still being written back would
    # slow whichever run comes next: each starts from a flushed disk.
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _curl_until_healthy(url: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    curl = ["curl", "--fail", "--silent", "--output", "/dev/null", "--max-time", "1", "--noproxy", "*", url]
    while subprocess.run(curl, stdin=subprocess.DEVNULL, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered")
        time.sleep(0.05)


def _run(argv: list[str] | tuple[str, ...], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _wizard(*args: str) -> list[str]:
    return [sys.executable, "-m", "wizard", *args]


@contextmanager
def _registry() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-registry-"))
    port = free_port()
    (root / "config.yml").write_text(_registry_config(root / "storage", port))
    proc = subprocess.Popen([str(REGISTRY_BINARY), "serve", str(root / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", timeout=15)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _longest_silence(argv: list[str], env: dict[str, str]) -> float:
    """Run with stdout on a pipe; the longest gap between two output lines (or start/end)."""
    child = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    assert child.stdout is not None
    stamps = [time.monotonic()]
    for _line in child.stdout:
        stamps.append(time.monotonic())
    if child.wait(timeout=TIMEOUT) != 0:
        raise RuntimeError("piped apply failed")
    stamps.append(time.monotonic())
    return max(later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False))


def run(runs: int = RUNS, *, quick: bool = False) -> list[dict[str, object]]:
    missing = [tool for tool in ("docker", "curl", "openssl") if shutil.which(tool) is None]
    if missing or not REGISTRY_BINARY.is_file() or not BUSYBOX.is_file():
        return [{"name": "bench_big", "skipped": "needs docker, curl, openssl, docker-registry, busybox-static"}]
    runs = 1 if quick else runs
    client = docker.from_env(timeout=int(TIMEOUT))
    tarball, gzipped = _ensure_archives(client)
    local = f"{REPOSITORY}:{TAG}"
    container = f"{PREFIX}-{uuid.uuid4().hex[:8]}"
    rows: list[dict[str, object]] = []
    size = f"{tarball.stat().st_size / 2**20:.0f} MiB tarball, {gzipped.stat().st_size / 2**20:.0f} MiB gzip'd"
    # Loopback only: GitLab is a fake on 127.0.0.1; the gateway host is an address nothing resolves.
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as config, _registry() as registry, fake_gitlab() as gitlab:
        env = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": config, "PYTHONPATH": str(ROOT)}
        port = free_port()
        health = f"http://127.0.0.1:{port}/monitoring/healthz"

        def profile(name: str, **gateway: object) -> tuple[str, ...]:
            made = docker_profile(gateway={"hostname": "192.0.2.10", "port": port,
                                           "image": REPOSITORY, "tag": TAG, **gateway},
                                  docker={"container_name": container})
            made.gitlab.url = gitlab.url
            store.save(made, Path(config) / "profiles" / f"{name}.toml")
            return next(step.argv for step in plan.docker_plan(made, name) if step.argv[:2] == ("docker", "run"))

        # Push once: the registry keeps the layers for every later pull.
        _run(["docker", "load", "-i", str(tarball)])
        remote_repo = f"{registry}/{REPOSITORY}"
        client.images.get(local).tag(remote_repo, TAG)
        _run(["docker", "push", f"{remote_repo}:{TAG}"])

        # Both references go before every run: a layer kept by the other tag would not be fetched.
        both = (local, f"{remote_repo}:{TAG}")
        cases = [
            ("tarball", profile("big-tar", image_archive=str(tarball)), ["docker", "load", "-i", str(tarball)], both),
            ("gzip", profile("big-gz", image_archive=str(gzipped)), ["docker", "load", "-i", str(gzipped)], both),
            ("pull", profile("big-pull", image=remote_repo), ["docker", "pull", f"{remote_repo}:{TAG}"], both),
        ]
        names = {"tarball": "big-tar", "gzip": "big-gz", "pull": "big-pull"}
        for case, run_argv, fetch, images in cases:
            wizard_times, raw_times = [], []
            for _ in range(runs):
                _remove(client, container, images)
                wizard_times.append(_timed(lambda: _run(_wizard("apply", names[case], "--yes"), env)))  # noqa: B023
                _remove(client, container, images)
                raw_times.append(_timed(lambda: (_run(fetch), _run(run_argv), _curl_until_healthy(health))))  # noqa: B023
            rows.append(dict(result(f"big apply from {case} vs {' '.join(fetch[:2])} + docker run + curl",
                                    statistics.median(wizard_times), statistics.median(raw_times), 1.05, "s",
                                    f"{size}; median of {runs}")))
        _remove(client, container, (f"{remote_repo}:{TAG}",))

        # bundle: the image is present; the wizard writes tarball + manifest, the baseline saves and hashes.
        _run(["docker", "load", "-i", str(tarball)])
        profile("big-bundle")
        wizard_times, raw_times = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-bundle-") as out:
                wizard_times.append(_timed(lambda: _run(_wizard("bundle", "big-bundle", out + "/b"), env)))  # noqa: B023
            with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-save-") as out:
                target = f"{out}/image.tar"
                raw_times.append(_timed(lambda: (_run(["docker", "save", "-o", target, local]),  # noqa: B023
                                                 _run(["openssl", "dgst", "-sha256", target]))))  # noqa: B023
        rows.append(dict(result("big bundle vs docker save + openssl dgst", statistics.median(wizard_times),
                                statistics.median(raw_times), 1.0, "s", f"{size}; median of {runs}")))

        # A piped apply of a fresh pull must keep talking.
        _remove(client, container, (f"{remote_repo}:{TAG}", local))
        gap = _longest_silence(_wizard("apply", "big-pull", "--yes"), env)
        rows.append(dict(result("big piped apply (fresh pull): longest silence on stdout vs 5 s", gap,
                                PROGRESS_GOAL_S, 1.0, "s", "stdout is a pipe, not a terminal")))
        _remove(client, container, (f"{remote_repo}:{TAG}", local))
    client.close()
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
