"""Time from process start to the first screen drawn, over a pty: wizard vs hello-world Textual.

Both apps run the same way (fresh 80x24 pty, TERM=xterm-256color, same interpreter),
interleaved A, B, A, B… so drifting machine load hits both; the ratio of the medians is
the result. `python -m benchmarks.bench_startup` also prints where the wizard's time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, Result, read_chunk, result, spawn_on_pty, stop
from wizard.core import listing

GOAL = 1.10
TABLE_GOAL_S = 0.30
"""Seconds from start until the profile list shows every row's target and state."""
RUNS = 7
TIMEOUT = 30.0
HEAVY = ("docker", "kubernetes", "httpx", "cryptography")  # only for the screens that need them
# CSI, OSC and two-byte escapes: Textual interleaves them with the text it draws.
_ESCAPES = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")

WIZARD = ["-m", "wizard"]
WIZARD_MARKERS = ("GitLab AI gateway installer", "staging")  # the title and the last profile row
TABLE_MARKERS = ("ready", "incomplete (")  # both rows' states: the profiles were read and judged
HELLO = [str(ROOT / "benchmarks" / "hello_app.py")]
HELLO_MARKERS = ("Hello",)

# Runs the wizard as `python -m wizard` does, timing its phases (time.perf_counter is
# CLOCK_MONOTONIC, comparable across processes) and recording what it imported by the exit.
_PROBE = """
import atexit, json, sys, time
out = sys.argv.pop(1)
marks = [("interpreter started", time.perf_counter())]
import wizard.cli
marks.append(("import wizard.cli", time.perf_counter()))
tui = wizard.cli.cmd_tui
def timed_tui(args):
    marks.append(("parse the command line", time.perf_counter()))
    import screens.app, screens.profiles
    marks.append(("import screens (Textual)", time.perf_counter()))
    return tui(args)
wizard.cli.cmd_tui = timed_tui
def save():
    with open(out, "w") as handle:
        json.dump({"marks": marks, "modules": sorted(m for m, loaded in sys.modules.items() if loaded is not None)}, handle)
atexit.register(save)
sys.exit(wizard.cli.main([]))
"""


def screen_text(raw: bytes) -> str:
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


def time_to_draw(args: list[str], env: dict[str, str], markers: tuple[str, ...]) -> float:
    """Seconds from spawning `python ARGS` on a fresh 80x24 pty until every marker is on screen."""
    start = time.perf_counter()
    proc, master = spawn_on_pty(args, env)
    output = bytearray()
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            chunk = read_chunk(master, 0.05)
            if chunk is None:
                break
            output += chunk
            if chunk and all(marker in screen_text(output) for marker in markers):
                return time.perf_counter() - start
        tail = screen_text(bytes(output))[-400:]
        raise RuntimeError(f"{args} never drew {markers} (exit {proc.poll()}): {tail!r}")
    finally:
        stop(master, proc)


def make_profiles(config_dir: Path) -> None:
    """Two profiles, as in the README: a ready Docker one and an incomplete Helm one."""
    from wizard.core import store
    from wizard.core.profile import Profile

    folder = config_dir / "profiles"
    store.save(Profile.model_validate({
        "target": "docker",
        "gitlab": {"url": "https://gitlab.example.com", "version": "17.5.0"},
        "gateway": {"hostname": "aigw.example.com"},
    }), folder / "prod.toml")
    store.save(Profile.model_validate({"target": "helm", "gitlab": {"url": "https://gitlab.example.com"}}),
               folder / "staging.toml")


def _env(config_dir: str) -> dict[str, str]:
    return {**os.environ, "AIGW_WIZARD_CONFIG_DIR": config_dir}


def measure(runs: int = RUNS) -> tuple[list[float], list[float], list[float], list[float]]:
    """(wizard's first screen, hello-world's, the wizard's full profile table, the same with
    nothing remembered from a previous start), `runs` each."""
    with tempfile.TemporaryDirectory(prefix="aigw-bench-") as tmp:
        make_profiles(Path(tmp))
        env = _env(tmp)
        # One unmeasured run each: warms the page cache for both alike.
        time_to_draw(WIZARD, env, WIZARD_MARKERS)
        time_to_draw(HELLO, env, HELLO_MARKERS)
        wizard_times: list[float] = []
        hello_times: list[float] = []
        table_times: list[float] = []
        cold_times: list[float] = []
        memo = Path(tmp) / "state" / listing.MEMO_NAME
        for _ in range(runs):
            wizard_times.append(time_to_draw(WIZARD, env, WIZARD_MARKERS))
            hello_times.append(time_to_draw(HELLO, env, HELLO_MARKERS))
            table_times.append(time_to_draw(WIZARD, env, WIZARD_MARKERS + TABLE_MARKERS))
            memo.unlink(missing_ok=True)  # as on a first start, or after every profile changed
            cold_times.append(time_to_draw(WIZARD, env, WIZARD_MARKERS + TABLE_MARKERS))
    return wizard_times, hello_times, table_times, cold_times


def probe(runs: int = 3) -> tuple[list[tuple[str, float]], list[str]]:
    """The wizard's startup phases (median seconds over `runs`; the last phase ends at the
    drawn screen), and the heavy packages it had imported when quit from its first screen."""
    samples: list[list[tuple[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="aigw-bench-") as tmp:
        make_profiles(Path(tmp))
        out = Path(tmp) / "probe.json"
        for _ in range(runs):
            start = time.perf_counter()
            total = time_to_draw(["-c", _PROBE, str(out)], _env(tmp), WIZARD_MARKERS)
            data = json.loads(out.read_text())
            ends = [*data["marks"], ["run the app until the first screen is drawn", start + total]]
            starts = [start, *(at for _name, at in data["marks"])]
            samples.append([(name, end - begin) for (name, end), begin in zip(ends, starts, strict=True)])
    phases = [(name, statistics.median(sample[i][1] for sample in samples))
              for i, (name, _seconds) in enumerate(samples[0])]
    heavy = sorted({name.split(".")[0] for name in data["modules"]} & set(HEAVY))
    return phases, heavy


def store_import_seconds(runs: int = 5) -> float:
    """Median seconds `import wizard.core.store` takes (pydantic and the profile model): the
    profile table waits for it, after the first frame."""
    code = "import time; t = time.perf_counter(); import wizard.core.store; print(time.perf_counter() - t)"
    return statistics.median(
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    )


def run(runs: int = RUNS) -> list[Result]:
    wizard_times, hello_times, table_times, cold_times = measure(runs)
    _phases, heavy = probe(runs=1)
    wizard, hello = statistics.median(wizard_times), statistics.median(hello_times)
    note = (f"medians of {runs} interleaved runs (wizard {min(wizard_times):.3f}-{max(wizard_times):.3f} s, "
            f"hello {min(hello_times):.3f}-{max(hello_times):.3f} s); "
            + (f"LEAK: {', '.join(heavy)} imported before they are needed" if heavy
               else f"none of {', '.join(HEAVY)} imported by the first screen"))
    table, cold = statistics.median(table_times), statistics.median(cold_times)
    return [
        result("startup to first screen (pty 80x24) vs hello-world Textual", wizard, hello, GOAL, "s", note),
        result(f"startup to the full profile table (targets and states) vs {TABLE_GOAL_S:.2f} s", table,
               TABLE_GOAL_S, 1.0, "s", f"profiles unchanged since the last start: their rows come from its memo "
               f"in the first frame; median of {runs} ({min(table_times):.3f}-{max(table_times):.3f} s)"),
        result(f"the same on a first start (nothing remembered) vs {TABLE_GOAL_S:.2f} s", cold,
               TABLE_GOAL_S, 1.0, "s", f"median of {runs} ({min(cold_times):.3f}-{max(cold_times):.3f} s); the first "
               f"frame, then {store_import_seconds():.3f} s importing pydantic and the profile model "
               "(the rows' states are the model's judgement)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    row, table, cold = run(args.runs)
    print(f"wizard median {row['measured']:.3f} s, hello median {row['baseline']:.3f} s, "
          f"ratio {row['ratio']:.2f} (goal ≤ {GOAL}); {row['note']}")
    print(f"full profile table {table['measured']:.3f} s (goal ≤ {TABLE_GOAL_S:.2f} s); {table['note']}")
    print(f"on a first start {cold['measured']:.3f} s; {cold['note']}")
    print("where the wizard's time goes (medians of 3 probed runs):")
    for name, seconds in probe()[0]:
        print(f"  {seconds * 1000:6.0f} ms  {name}")


if __name__ == "__main__":
    main()
