"""Run every `benchmarks/bench_*.py` and print one table of ratios against their goals.

    python benchmarks/run.py [--markdown] [--quick] [--big] [--only startup,logpane]

Each module's `run()` returns a result dict (or a list of them); a dict with a `skipped`
reason, or a module whose imports are missing, shows as skipped. Exit 0 unless a
benchmark crashed.
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import inspect
import os
import platform
import sys
import traceback
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from benchmarks.common import table  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or platform.machine())
    ram = next((int(line.split()[1]) / 1024 ** 2 for line in _read("/proc/meminfo")
                if line.startswith("MemTotal:")), 0.0)
    return (f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z} · {platform.platform()} · {cpu} · "
            f"{os.cpu_count()} CPUs · {ram:.0f} GiB RAM · Python {platform.python_version()} · "
            f"Textual {metadata.version('textual')}")


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def run_module(name: str, quick: bool) -> list[dict[str, Any]]:
    """The module's rows; raises if it crashed. Missing imports mean a missing prerequisite."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ImportError as error:
        return [{"name": name, "skipped": f"cannot import {error.name or error}"}]
    kwargs = {"quick": True} if quick and "quick" in inspect.signature(module.run).parameters else {}
    rows = module.run(**kwargs)
    return rows if isinstance(rows, list) else [rows]


def _is_big(name: str) -> bool:
    """Modules that set BIG = True run only with --big (they take minutes)."""
    source = (ROOT / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")
    return "\nBIG = True" in source


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table for the README")
    parser.add_argument("--quick", action="store_true", help="shorter runs where a benchmark offers them")
    parser.add_argument("--big", action="store_true", help="also the real-size cases (a 600 MiB image; minutes)")
    parser.add_argument("--only", help="comma-separated benchmark names (bench_NAME.py)")
    args = parser.parse_args()
    names = sorted(path.stem for path in (ROOT / "benchmarks").glob("bench_*.py"))
    if not args.big:
        names = [name for name in names if not _is_big(name)]
    if args.only:
        names = [name for name in names if name.removeprefix("bench_") in args.only.split(",")]
    # Byte-compiled first, as `pip install` leaves an installed copy: an edited tree under
    # PYTHONDONTWRITEBYTECODE would otherwise compile its sources again in every measured run.
    for package in ("wizard", "screens", "tests", "benchmarks"):
        compileall.compile_dir(ROOT / package, quiet=1)
    rows: list[dict[str, Any]] = []
    crashed = False
    for name in names:
        print(f"running {name}…", file=sys.stderr, flush=True)
        try:
            rows += run_module(name, args.quick)
        except Exception as error:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            rows.append({"name": name, "crashed": f"{type(error).__name__}: {error}"})
            crashed = True
    notes = [f"{row['name']}: {row['note']}" for row in rows if row.get("note")]
    if args.markdown:
        print(f"Measured {machine()}.\n")
        print(table(rows, markdown=True))
        print("".join(f"\n- {note}" for note in notes))
    else:
        print(machine())
        print(table(rows))
        print("".join(f"\n  {note}" for note in notes))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
