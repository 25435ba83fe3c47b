"""Preflight checks when every remote target black-holes: wall time vs. the sequential baseline.

GitLab and the Docker engine are loopback ports that accept connections and never answer,
and DNS hangs (an injected resolver that never returns), so every networked check runs
into its own timeout. Run sequentially that costs the sum of the checks' timeouts; run
concurrently it should cost about the longest one. Goal: at most 3 s in all.

    python benchmarks/bench_checks.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import trustme  # noqa: E402

from tests.checks_servers import black_hole, context_for, make_profile, write_leaf  # noqa: E402
from wizard.checks import run_checks, select_checks  # noqa: E402

GOAL_S = 3.0
REPEAT = 3


def _hanging_resolver(release: threading.Event):
    def resolve(host: str) -> list[str]:
        release.wait(30)  # a DNS server that never answers
        return []

    return resolve


def run(repeat: int = REPEAT) -> dict[str, object]:
    """Measure `repeat` full runs; report the median wall time against the sequential sum."""
    release = threading.Event()
    with tempfile.TemporaryDirectory() as folder, black_hole() as gitlab_port, black_hole() as docker_port:
        files = write_leaf(trustme.CA(), Path(folder), "aigw.bench.test")
        profile = make_profile(
            {
                "target": "docker",
                "gitlab": {"url": f"https://127.0.0.1:{gitlab_port}", "version": "17.5.0"},
                "gateway": {"hostname": "aigw.bench.test", "image": "registry.bench.test/model-gateway"},
                "tls": {"cert": str(files.cert), "key": str(files.key)},
            }
        )
        context = context_for(
            profile,
            environ={"DOCKER_HOST": f"tcp://127.0.0.1:{docker_port}"},
            resolver=_hanging_resolver(release),
        )
        checks = select_checks(profile)[0]
        baseline = sum(check.timeout for check in checks)
        timings = []
        for _ in range(repeat):
            started = time.monotonic()
            results = list(run_checks(profile, "bench", context=context))
            timings.append(time.monotonic() - started)
        release.set()
    measured = statistics.median(timings)
    failed = sorted(r.id for r in results if r.status == "fail")
    return {
        "name": "checks_black_holes",
        "measured": round(measured, 3),
        "baseline": round(baseline, 3),
        "ratio": round(measured / baseline, 3),
        # As a ratio like every benchmark's goal: at most GOAL_S seconds of this baseline.
        "goal": round(GOAL_S / baseline, 3),
        "unit": "s",
        "ok": measured <= GOAL_S,
        "note": f"{len(checks)} checks, goal <= {GOAL_S:g} s wall; failing on the black holes: {', '.join(failed)}",
    }


def main() -> int:
    report = run()
    print(
        f"checks against black holes: {report['measured']} s wall vs {report['baseline']} s "
        f"sequential baseline (sum of timeouts): ratio {report['ratio']} "
        f"(goal <= {report['goal']}, i.e. <= {GOAL_S:g} s): {'met' if report['ok'] else 'MISSED'}"
    )
    print(report["note"])
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
