"""System errors in plain words: the one reading of what a library wrapped around an OSError."""

from __future__ import annotations

from typing import Any


def plain_error(error: BaseException) -> str:
    """One line a user can read: no traceback, no module paths."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text or type(error).__name__


def root_os_error(error: BaseException) -> OSError | None:
    """The system error (refused, not found, timeout…) wrapped somewhere inside `error`.

    Libraries wrap it in their own exceptions, as a cause, a context or an argument.
    """
    pending: list[Any] = [error]
    seen: set[int] = set()
    while pending:
        item = pending.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and (item.errno is not None or isinstance(item, TimeoutError)):
            return item
        pending += [item.__cause__, item.__context__, *item.args]
    return None
