"""The `check` verb (being built: see issue 4)."""

from collections.abc import Callable


def register(add: Callable[..., object]) -> None:
    """No verb yet."""
