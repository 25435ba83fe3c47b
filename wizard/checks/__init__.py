"""Preflight checks (being built: see issue 4)."""
