"""Preflight checks: every check that applies to a profile, concurrently, each on its own clock.

`run_checks` is a plain iterator for the CLI and the TUI's thread workers: each check runs in
its own daemon thread and each result is yielded the moment its check finishes; one that
overruns its timeout is reported as failed and left behind without holding anything up.

The engine lives in `engine.py` and loads on first use: importing this package (as every
CLI verb's parser does, through `wizard.cli.checks`) costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.checks.engine import run_checks, select_checks

__all__ = ["run_checks", "select_checks"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from wizard.checks import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'wizard.checks' has no attribute {name!r}")
