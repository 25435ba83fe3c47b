"""The `check` verb: run the preflight checks of a profile and show each row as it finishes.

On a terminal the rows grow in a live table; otherwise every result is a plain line
(logs, CI); `--json` prints one document for scripts. Exit 0 when nothing failed
(warnings never fail), 1 when something did, 2 for a bad profile or usage.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from wizard.cli.common import EXIT_FAILED, EXIT_OK, CommandError, load_profile
from wizard.core.text import clean

if TYPE_CHECKING:
    from rich.console import Console

    from wizard.checks.base import CheckResult

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def register(add: Add) -> None:
    verb = add("check", cmd_check, "run the preflight checks of a profile")
    verb.add_argument("profile", help="NAME or path to a .toml")
    verb.add_argument("--json", action="store_true", help='print {"results": [...], "ok": bool}')
    verb.add_argument("--only", metavar="ID,...", help="run only these checks (comma-separated ids)")


def parse_only(value: str | None) -> set[str] | None:
    if value is None:
        return None
    ids = {part.strip() for part in value.split(",") if part.strip()}
    return ids or None


def cmd_check(args: argparse.Namespace) -> int:
    # The engine and rich load here, not when the parser is built: every verb starts faster.
    from wizard.checks import run_checks
    from wizard.cli.console import make_console

    profile, name, _path = load_profile(args.profile)
    try:
        results = run_checks(profile, name, parse_only(args.only))
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.json:
        finished = sorted(results, key=lambda result: result.id)
        ok = not any(result.status == "fail" for result in finished)
        print(json.dumps({"results": [result.to_dict() for result in finished], "ok": ok}, indent=2))
    else:
        finished = print_results(results, make_console())
    return EXIT_FAILED if any(result.status == "fail" for result in finished) else EXIT_OK


def print_results(results: Iterable[CheckResult], console: Console) -> list[CheckResult]:
    """Show each result the moment it arrives; return them all, in finishing order."""
    started = time.monotonic()
    if console.is_terminal:
        finished = _live_table(results, console)
    else:
        finished = []
        for result in results:
            finished.append(result)
            console.print(format_result(result), markup=False, highlight=False)
    console.print(summary(finished, time.monotonic() - started), markup=False, highlight=False)
    return finished


def _live_table(results: Iterable[CheckResult], console: Console) -> list[CheckResult]:
    from rich.console import Group
    from rich.live import Live
    from rich.markup import escape
    from rich.spinner import Spinner
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result", ratio=1)
    table.add_column("ms", justify="right", no_wrap=True, style="dim")
    finished: list[CheckResult] = []
    spinner = Spinner("dots", text=" running checks…", style="cyan")
    with Live(Group(table, spinner), console=console, refresh_per_second=12, transient=False) as live:
        for result in results:
            finished.append(result)
            text = escape(clean(result.detail))
            if result.remedy:
                text += f"\n[italic]→ {escape(clean(result.remedy))}[/]"
            style = _STYLE[result.status]
            table.add_row(f"[{style}]{result.status.upper()}[/]", escape(result.id), text, str(result.duration_ms))
        live.update(table)  # the spinner goes; the table stays on screen
    return finished


def format_result(result: CheckResult) -> str:
    """One plain line per result, plus an indented remedy line for problems."""
    line = f"{result.status.upper():<4}  {result.id}: {clean(result.detail)} ({result.duration_ms} ms)"
    if result.remedy:
        line += f"\n      fix: {clean(result.remedy)}"
    return line


def summary(results: list[CheckResult], seconds: float) -> str:
    counts = {status: sum(result.status == status for result in results) for status in _STYLE}
    parts = [f"{counts[status]} {word}" for status, word in (("fail", "failed"), ("warn", "warnings"), ("pass", "passed"), ("skip", "skipped")) if counts[status]]
    return f"{', '.join(parts) or 'no checks'} in {seconds:.1f} s"
