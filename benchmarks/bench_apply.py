"""`aigw-wizard apply --yes --skip-checks` with the image present vs. the same raw `docker run`.

The baseline is what a person would type: the `docker run` line `aigw-wizard plan` prints for
the very same profile, then curl polling the health URL at the interval the engine uses.
Both start from "no container", run interleaved A, B, A, B… on one loopback port, and end
when the health check answers; the ratio of the medians is the result. The goal is absolute
(issue #17): apply may take at most 0.12 s more than the raw commands, so the ratio goal is
computed in the run as (baseline + 0.12 s) / baseline.
Needs a Docker engine, the docker and curl commands, and the stand-in image the Docker tests
build (`aigw-test/model-gateway:self-hosted-v17.5.0-ee`).

    python benchmarks/bench_apply.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import json  # noqa: E402

import docker  # noqa: E402

from benchmarks.common import result  # noqa: E402
from tests.docker_fixtures import STANDIN_REPOSITORY, free_port  # noqa: E402
from tests.factories import docker_profile  # noqa: E402
from wizard.core import store  # noqa: E402
from wizard.install import plan  # noqa: E402
from wizard.install.docker import DockerInstaller  # noqa: E402

NAME = "bench_apply"
ALLOWANCE_S = 0.12
"""Seconds apply may add to `docker run` + curl: start-up, profile, engine client, exit."""
RUNS = 5
TAG = "self-hosted-v17.5.0-ee"
TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parent.parent


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _wizard_apply(env: dict[str, str], startups: list[float]) -> None:
    """One apply; also notes how long the process took to emit its first event (start-up)."""
    spawned = time.time()
    argv = [sys.executable, "-m", "wizard", "apply", NAME, "--yes", "--skip-checks"]
    done = subprocess.run(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"apply failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    logs = Path(env["AIGW_WIZARD_CONFIG_DIR"]) / "logs"
    stamps = [json.loads(line)["at"] for path in logs.glob("*.jsonl") for line in path.read_text().splitlines()]
    startups.append(min(stamp for stamp in stamps if stamp >= spawned) - spawned)


def _docker_run_and_curl(run_argv: tuple[str, ...], health_url: str) -> None:
    subprocess.run(run_argv, stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    curl = ["curl", "--fail", "--silent", "--output", "/dev/null", "--max-time", "1", "--noproxy", "*", health_url]
    while subprocess.run(curl, stdin=subprocess.DEVNULL, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{health_url} never answered")
        time.sleep(DockerInstaller.poll_interval)  # the engine's own polling pace


# What apply cannot start without: the interpreter, the profile model (pydantic) and the
# Docker SDK (requests, urllib3), loaded and then left at once, as apply leaves.
_FLOOR = "import os, wizard.core.store, wizard.install.docker; os._exit(0)"


def _import_floor(env: dict[str, str], runs: int) -> float:
    """Median seconds for a process that only imports what apply needs before its first engine call."""
    times = [_timed(lambda: subprocess.run([sys.executable, "-c", _FLOOR], env=env, cwd=ROOT, check=True))
             for _ in range(runs)]
    return statistics.median(times)


def _remove(client: docker.DockerClient, name: str) -> None:
    try:
        client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        pass


def run(runs: int = RUNS, *, quick: bool = False) -> dict[str, object]:
    runs = min(runs, 3) if quick else runs
    missing = [tool for tool in ("docker", "curl") if shutil.which(tool) is None]
    if missing:
        return {"name": NAME, "skipped": f"{' and '.join(missing)} not installed"}
    client = docker.from_env()
    image = f"{STANDIN_REPOSITORY}:{TAG}"
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return {"name": NAME, "skipped": f"{image} is missing: run the Docker tests once to build it"}
    container = f"aigw-bench-{uuid.uuid4().hex[:8]}"
    profile = docker_profile(
        gateway={"hostname": "gateway.bench.test", "port": free_port(), "image": STANDIN_REPOSITORY, "tag": TAG},
        docker={"container_name": container},
    )
    run_step = next(step for step in plan.docker_plan(profile, NAME) if step.argv[:2] == ("docker", "run"))
    health_url = f"http://127.0.0.1:{profile.gateway.port}/monitoring/healthz"
    wizard_times: list[float] = []
    baseline_times: list[float] = []
    startups: list[float] = []
    with tempfile.TemporaryDirectory() as config:
        env = {**os.environ, "AIGW_WIZARD_CONFIG_DIR": config, "PYTHONPATH": str(ROOT)}
        store.save(profile, Path(config) / "profiles" / f"{NAME}.toml")
        floor = _import_floor(env, runs)
        try:
            for _ in range(runs):
                wizard_times.append(_timed(lambda: _wizard_apply(env, startups)))
                _remove(client, container)
                baseline_times.append(_timed(lambda: _docker_run_and_curl(run_step.argv, health_url)))
                _remove(client, container)
        finally:
            _remove(client, container)
            client.close()
    measured, baseline = statistics.median(wizard_times), statistics.median(baseline_times)
    startup = statistics.median(startups)
    goal = (baseline + ALLOWANCE_S) / baseline
    note = (
        f"goal is baseline + {ALLOWANCE_S:.2f}s, as a ratio ({baseline:.2f}+{ALLOWANCE_S:.2f})/{baseline:.2f}; "
        f"apply - raw = {measured - baseline:+.2f}s; median of {runs}; apply {min(wizard_times):.2f}-{max(wizard_times):.2f}s, docker run + curl "
        f"{min(baseline_times):.2f}-{max(baseline_times):.2f}s; of apply, {startup:.2f}s is Python start-up "
        f"before the first event, so the engine's own work is {(measured - startup) / baseline:.2f}x the baseline; "
        f"a process that only imports pydantic, the profile model and the Docker SDK takes {floor:.2f}s "
        f"(the allowance is {ALLOWANCE_S:.2f}s)"
    )
    return dict(result(NAME, measured, baseline, goal, "s", note))


if __name__ == "__main__":
    row = run()
    if "skipped" in row:
        print(f"{row['name']}: skipped: {row['skipped']}")
    else:
        print(f"{row['name']}: apply {row['measured']:.2f}s vs docker run + curl {row['baseline']:.2f}s "
              f"-> {row['ratio']:.2f}x (goal <= {row['goal']}x) [{row['note']}]")
