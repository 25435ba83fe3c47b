"""How soon the wizard sees a new gateway answer, against a raw tight curl loop (#17).

A stand-in sleeps ~1.5 s, then starts its HTTP server. An independent poller (one request
every 5 ms, in this process) notes the moment it first answers 200; the lag of a watcher is
the time it noticed minus that moment:

- the wizard: the `health` StepFinished time of `DockerInstaller.apply()` (what the journal
  records), with its own cheap probing (a loopback request every 50 ms, the container
  inspected once a second or on its `die` event);
- the baseline: `curl` in a loop with no pause, on a container started the same way.

Goal: the wizard's median lag ≤ 0.06 s (the row's ratio is that lag over 0.06 s; the curl
loop's lag is in the note). Needs a Docker engine, curl, and the stand-in image the Docker
tests build (`aigw-test/model-gateway:self-hosted-v17.5.0-ee`). Names carry
AIGW_BENCH_PREFIX (default `aigw-bench-`).

    python benchmarks/bench_health.py
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import docker  # noqa: E402

from benchmarks.common import result  # noqa: E402
from tests.docker_fixtures import STANDIN_REPOSITORY, free_port  # noqa: E402
from tests.factories import docker_profile  # noqa: E402
from wizard.core.events import StepFinished  # noqa: E402
from wizard.core.spec import container_spec  # noqa: E402
from wizard.install.docker import DockerInstaller  # noqa: E402

NAME = "bench_health"
GOAL_SECONDS = 0.06
RUNS = 5
SOURCE = f"{STANDIN_REPOSITORY}:self-hosted-v17.5.0-ee"
PREFIX = os.environ.get("AIGW_BENCH_PREFIX", "aigw-bench-")
LATE_START = "trap 'exit 0' TERM; sleep 1.5 & wait $!; exec /bin/busybox sh /start.sh"
TIMEOUT = 30.0
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FirstAnswer:
    """Polls the health URL every 5 ms from a thread; `at` is when it first answered 200."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            sent = time.time()
            try:
                with _LOOPBACK.open(self.url, timeout=0.5) as answer:
                    if answer.status == 200:
                        self.at = sent  # it answered a request sent then: ready by that moment
                        return
            except OSError:
                pass
            self._stop.wait(0.005)

    def wait(self) -> float:
        self._thread.join(TIMEOUT)
        self._stop.set()
        if self.at is None:
            raise RuntimeError(f"{self.url} never answered")
        return self.at


def _wizard_lag(profile_name: str, profile: object, url: str) -> float:
    installer = DockerInstaller(profile, profile_name)  # type: ignore[arg-type]
    installer.settle_seconds = 0  # what is measured ends at the first 200
    poller = FirstAnswer(url)
    seen = None
    for event in installer.apply():
        if isinstance(event, StepFinished) and event.step == "health":
            if event.status != "ok":
                raise RuntimeError(f"health: {event.detail}")
            seen = event.at
    if seen is None:
        raise RuntimeError("no health step")
    return seen - poller.wait()


def _curl_lag(client: docker.DockerClient, profile_name: str, profile: object, url: str) -> float:
    spec = container_spec(profile, profile_name)  # type: ignore[arg-type]
    poller = FirstAnswer(url)
    client.containers.run(
        spec.image, name=spec.name, detach=True, environment=spec.environment,
        ports={spec.container_port: spec.host_port}, labels=spec.labels,
    )
    curl = ["curl", "--fail", "--silent", "--output", "/dev/null", "--max-time", "1", "--noproxy", "*", url]
    deadline = time.monotonic() + TIMEOUT
    while subprocess.run(curl, stdin=subprocess.DEVNULL, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered curl")
    seen = time.time()
    return seen - poller.wait()


def _remove(client: docker.DockerClient, name: str) -> None:
    try:
        client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        pass


def run(runs: int = RUNS, *, quick: bool = False) -> dict[str, object]:
    runs = min(runs, 3) if quick else runs
    if shutil.which("curl") is None:
        return {"name": NAME, "skipped": "curl not installed"}
    client = docker.from_env()
    try:
        client.images.get(SOURCE)
    except docker.errors.ImageNotFound:
        client.close()
        return {"name": NAME, "skipped": f"{SOURCE} is missing: run the Docker tests once to build it"}
    repository, tag = f"{PREFIX}late", f"late-{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {SOURCE}\nENTRYPOINT {json.dumps(['/bin/busybox', 'sh', '-c', LATE_START])}\n"
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repository}:{tag}", pull=False, rm=True)
    container = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    port = free_port()
    profile = docker_profile(
        gateway={"hostname": "gateway.bench.test", "port": port, "image": repository, "tag": tag},
        docker={"container_name": container},
    )
    url = f"http://127.0.0.1:{port}/monitoring/healthz"
    wizard: list[float] = []
    curl: list[float] = []
    saved = os.environ.get("AIGW_WIZARD_CONFIG_DIR")
    try:
        with tempfile.TemporaryDirectory() as config:
            os.environ["AIGW_WIZARD_CONFIG_DIR"] = config
            for _ in range(runs):
                wizard.append(_wizard_lag(NAME, profile, url))
                _remove(client, container)
                curl.append(_curl_lag(client, NAME, profile, url))
                _remove(client, container)
    finally:
        if saved is None:
            os.environ.pop("AIGW_WIZARD_CONFIG_DIR", None)
        else:
            os.environ["AIGW_WIZARD_CONFIG_DIR"] = saved
        _remove(client, container)
        client.images.remove(f"{repository}:{tag}", force=True)
        client.close()
    lag = statistics.median(wizard)
    note = (
        f"median of {runs}; wizard lag {min(wizard) * 1000:.0f}-{max(wizard) * 1000:.0f} ms, "
        f"tight curl loop {statistics.median(curl) * 1000:.0f} ms ({min(curl) * 1000:.0f}-{max(curl) * 1000:.0f}); "
        f"ratio is the wizard's lag over the {GOAL_SECONDS:g} s goal"
    )
    return dict(result(NAME, lag, GOAL_SECONDS, 1.0, "s", note))


if __name__ == "__main__":
    row = run()
    if "skipped" in row:
        print(f"{row['name']}: skipped: {row['skipped']}")
    else:
        print(f"{row['name']}: lag {row['measured'] * 1000:.0f} ms (goal <= {GOAL_SECONDS * 1000:.0f} ms) [{row['note']}]")
