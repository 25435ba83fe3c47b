"""Preflight checks when every remote target black-holes: wall time vs. the sequential baseline.

GitLab, the Docker engine and the Kubernetes API are loopback ports that accept
connections and never answer, and DNS hangs (an injected resolver that never returns), so
every networked check runs into its own timeout. Both targets are measured; the slower
one is reported. Run sequentially that costs the sum of the checks' timeouts; run
concurrently it should cost about the longest one. Goal: at most 3 s in all.

    python benchmarks/bench_checks.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import trustme  # noqa: E402

from tests.checks_servers import black_hole, context_for, make_profile, write_leaf  # noqa: E402
from tests.fakekube.kubeconfig import write_kubeconfig  # noqa: E402
from wizard.checks import run_checks, select_checks  # noqa: E402

GOAL_S = 3.0
REPEAT = 3


def _hanging_resolver(release: threading.Event):
    def resolve(host: str) -> list[str]:
        release.wait(30)  # a DNS server that never answers
        return []

    return resolve


def run(repeat: int = REPEAT) -> dict[str, object]:
    """Measure `repeat` full runs per target; report the slower median against its sequential sum."""
    release = threading.Event()
    reports = []
    with tempfile.TemporaryDirectory() as folder, black_hole() as gitlab_port, \
            black_hole() as docker_port, black_hole() as kube_port:
        files = write_leaf(trustme.CA(), Path(folder), "aigw.bench.test")
        kubeconfig = write_kubeconfig(Path(folder) / "kubeconfig", f"http://127.0.0.1:{kube_port}")
        for target in ("docker", "helm"):
            profile = make_profile(
                {
                    "target": target,
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
            with _kubeconfig_env(str(kubeconfig)):
                reports.append(_measure(target, profile, context, repeat))
        release.set()
    slowest = max(reports, key=lambda report: report["measured"])
    measured, baseline = slowest["measured"], slowest["baseline"]
    return {
        "name": "checks_black_holes",
        "measured": round(measured, 3),
        "baseline": round(baseline, 3),
        "ratio": round(measured / baseline, 3),
        # As a ratio like every benchmark's goal: at most GOAL_S seconds of this baseline.
        "goal": round(GOAL_S / baseline, 3),
        "unit": "s",
        "ok": all(report["measured"] <= GOAL_S for report in reports),
        "note": "; ".join(
            f"{r['target']}: {r['checks']} checks in {r['measured']:.2f} s (failing: {', '.join(r['failed'])})"
            for r in reports
        ),
    }


class _kubeconfig_env:  # noqa: N801 - used as a context manager like a function
    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.previous = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = self.path

    def __exit__(self, *_exc: object) -> None:
        if self.previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = self.previous


def _measure(target: str, profile, context, repeat: int) -> dict:  # noqa: ANN001
    checks = select_checks(profile)[0]
    timings = []
    for _ in range(repeat):
        started = time.monotonic()
        results = list(run_checks(profile, "bench", context=context))
        timings.append(time.monotonic() - started)
    return {
        "target": target,
        "measured": statistics.median(timings),
        "baseline": sum(check.timeout for check in checks),
        "checks": len(checks),
        "failed": sorted(r.id for r in results if r.status == "fail"),
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
