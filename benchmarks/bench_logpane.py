"""The install log pane under a flood: 20,000 lines/s, really rendered on an 80x24 pty.

A child process hosts `LogPane(limit=10_000)` and feeds it the way InstallScreen drains its
queue (a batch every 50 ms, however many lines came due), while
- a 10 ms heartbeat timer records the longest the event loop went without running it, and
- the parent, reading the pty, records the longest the screen went without an update;
RSS growth is the peak RSS (VmHWM) minus the RSS before the first line.
Goals: no event-loop gap over 100 ms, growth ≤ 50 MB over 1,000,000 lines (at 20,000 lines/s
that is 50 s, which covers the 30 s flood; `--quick` feeds 100,000 lines in 5 s).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, read_chunk, result, spawn_on_pty, stop

RATE = 20_000
SECONDS = 30.0
LINES = 1_000_000
LIMIT = 10_000
HEARTBEAT = 0.010
MAX_STALL = 0.100
MAX_GROWTH_MB = 50.0
QUICK = (5.0, 100_000)  # seconds, lines
SOURCES = ("container", "helm", "pod/ai-gateway-7d9f", "events")


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def live_blocks() -> int:
    """Python's allocated blocks once cyclic garbage is gone: a leak grows this, while
    garbage awaiting the next collection or allocator fragmentation only grow RSS."""
    gc.collect()
    return sys.getallocatedblocks()


def log_line(n: int) -> str:
    """Gateway-like lines of varied length, some wider than the pane (horizontal extent)."""
    source = SOURCES[n % len(SOURCES)]
    path = "/v1/chat/agent" if n % 3 else "/monitoring/healthz"
    tail = " extra=" + "x" * (n % 97) if n % 5 == 0 else ""
    return (f"[{source}] 2026-11-25T21:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z INFO "
            f"uvicorn.access 127.0.0.1:5052 \"POST {path} HTTP/1.1\" 200 request_id={n:08x}{tail}")


def child(out: Path, rate: int, seconds: float, lines: int) -> None:
    """The app under test; writes its measurements to `out` as JSON."""
    from textual.app import App, ComposeResult

    from screens.install import DRAIN_INTERVAL
    from screens.logpane import LogPane

    class FloodApp(App[None]):
        def compose(self) -> ComposeResult:
            yield LogPane(limit=LIMIT)

        def on_mount(self) -> None:
            self.fed = 0
            self.started = self.last_beat = self.last_cpu = self.last_gc = self.gc_total = 0.0
            self.worst = {"gap": 0.0, "cpu": 0.0, "gc": 0.0}
            self.stalls = 0
            self.rss_tenth: float | None = None
            gc.callbacks.append(self.time_gc)
            self.call_after_refresh(self.begin)

        def time_gc(self, phase: str, _info: dict[str, int]) -> None:
            # Collections run inside whatever code allocates; their time explains some gaps.
            now = time.perf_counter()
            if phase == "start":
                self.gc_began = now
            else:
                self.gc_total += now - self.gc_began

        def begin(self) -> None:
            self.blocks_start = live_blocks()
            self.rss_start = rss_mb()
            self.cpu_start = time.process_time()
            self.started = self.last_beat = time.perf_counter()
            self.last_cpu = time.thread_time()
            self.set_interval(HEARTBEAT, self.beat)
            self.set_interval(DRAIN_INTERVAL, self.feed)

        def beat(self) -> None:
            # A long gap with little main-thread CPU means the loop was waiting (other
            # processes, the GIL), not working; with a lot, our own code was the stall.
            now, cpu = time.perf_counter(), time.thread_time()
            gap = now - self.last_beat
            self.stalls += gap > MAX_STALL
            if gap > self.worst["gap"]:
                self.worst = {"gap": gap, "cpu": cpu - self.last_cpu, "gc": self.gc_total - self.last_gc}
            self.last_beat, self.last_cpu, self.last_gc = now, cpu, self.gc_total

        def feed(self) -> None:
            # Lines "arrive" at `rate` whether or not we kept up, as from the installer's queue.
            elapsed = time.perf_counter() - self.started
            due = min(int(elapsed * rate), lines) - self.fed
            if due > 0:
                self.query_one(LogPane).add([log_line(n) for n in range(self.fed, self.fed + due)])
                self.fed += due
                if self.rss_tenth is None and self.fed >= lines // 10:
                    self.rss_tenth = rss_mb()  # against the end: flat if scroll-back is bounded
            if self.fed >= lines and elapsed >= seconds:
                self.finish(elapsed)

        def finish(self, elapsed: float) -> None:
            out.write_text(json.dumps({
                "started": self.started, "ended": self.started + elapsed, "lines": self.fed,
                "max_gap": self.worst["gap"], "gap_cpu": self.worst["cpu"], "gap_gc": self.worst["gc"],
                "stalls": self.stalls, "rss_start": self.rss_start, "rss_tenth": self.rss_tenth, "rss_end": rss_mb(),
                "rss_peak": rss_mb("VmHWM"), "cpu": time.process_time() - self.cpu_start,
                "kept": len(self.query_one(LogPane).log.lines),
                "blocks_start": self.blocks_start, "blocks_end": live_blocks(),
            }))
            self.exit()

    FloodApp().run()


def measure(rate: int = RATE, seconds: float = SECONDS, lines: int = LINES) -> dict[str, float]:
    """Run the child over a pty, reading everything it draws; its numbers plus the screen's
    longest silence while lines were arriving."""
    lines = max(lines, int(rate * seconds))
    with tempfile.TemporaryDirectory(prefix="aigw-bench-") as tmp:
        out = Path(tmp) / "logpane.json"
        args = ["-m", "benchmarks.bench_logpane", "--child", str(out), "--rate", str(rate),
                "--seconds", str(seconds), "--lines", str(lines)]
        proc, master = spawn_on_pty(args, dict(os.environ))
        arrivals: list[float] = []
        deadline = time.monotonic() + lines / rate + 120
        try:
            while time.monotonic() < deadline:
                chunk = read_chunk(master, 0.5)
                if chunk is None:
                    break
                if chunk:
                    arrivals.append(time.perf_counter())
        finally:
            stop(master, proc)
        if not out.exists():
            raise RuntimeError(f"the log pane app stopped without results (exit {proc.returncode})")
        data = json.loads(out.read_text())
    window = [data["started"], *(t for t in arrivals if data["started"] < t < data["ended"]), data["ended"]]
    data["screen_gap"] = max(later - earlier for earlier, later in zip(window, window[1:], strict=False))
    return data


def run(quick: bool = False, rate: int = RATE, seconds: float = SECONDS, lines: int = LINES) -> list[Result]:
    if quick:
        seconds, lines = QUICK
    data = measure(rate, seconds, lines)
    duration = data["ended"] - data["started"]
    growth = data["rss_peak"] - data["rss_start"]
    fed = (f"{data['lines']:,} lines at {data['lines'] / duration:,.0f}/s over {duration:.1f} s, "
           f"CPU {data['cpu'] / duration:.0%} of one core")
    return [
        result(f"log pane: longest event-loop stall at {rate:,} lines/s (vs 100 ms)", data["max_gap"] * 1000,
               MAX_STALL * 1000, 1.0, "ms",
               f"{fed}; the main thread ran {data['gap_cpu'] * 1000:.0f} ms of the worst gap (GC "
               f"{data['gap_gc'] * 1000:.0f} ms), {data['stalls']} gaps over 100 ms; on the pty, screen updates "
               f"came at most {data['screen_gap'] * 1000:.0f} ms apart (the drain runs every 50 ms)"),
        result(f"log pane: RSS growth over {data['lines']:,} lines (vs 50 MB)", growth, MAX_GROWTH_MB, 1.0,
               "MB", f"RSS {data['rss_start']:.0f} MB before the first line, {data['rss_tenth']:.0f} MB after "
                     f"{data['lines'] // 10:,}, {data['rss_end']:.0f} MB at the end (peak {data['rss_peak']:.0f} MB); "
                     f"{data['kept']:,} lines kept; live Python blocks {data['blocks_start']:,} → {data['blocks_end']:,}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="feed for at least this long")
    parser.add_argument("--lines", type=int, default=LINES, help="feed at least this many lines")
    parser.add_argument("--rate", type=int, default=RATE, help="lines per second")
    parser.add_argument("--quick", action="store_true", help="5 s, 100,000 lines")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rate, args.seconds, args.lines)
        return
    for row in run(args.quick, args.rate, args.seconds, args.lines):
        print(f"{row['name']}: {row['measured']:.1f} {row['unit']} (ratio {row['ratio']:.2f}, "
              f"{'ok' if row['ok'] else 'SHORT'}) — {row['note']}")


if __name__ == "__main__":
    main()
