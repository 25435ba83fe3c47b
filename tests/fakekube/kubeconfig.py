"""Kubeconfig files pointing the official client (and helm) at a fake API server."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml


def write_kubeconfig(
    path: str | os.PathLike[str],
    server_url: str,
    contexts: Mapping[str, str] | None = None,
    current: str | None = None,
    token: str = "fake-token",
) -> Path:
    """Write a kubeconfig whose ``contexts`` (name → default namespace) all share one cluster.

    ``current`` defaults to the first context. The user authenticates with a bearer token, which
    the fake accepts whatever its value.
    """
    contexts = dict(contexts or {"fake": "default"})
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "fake-cluster", "cluster": {"server": server_url}}],
        "users": [{"name": "fake-user", "user": {"token": token}}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": "fake-cluster", "user": "fake-user", "namespace": ns},
            }
            for name, ns in contexts.items()
        ],
        "current-context": current or next(iter(contexts)),
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    # helm warns about group/world-readable kubeconfigs; real ones are 0600.
    target.chmod(0o600)
    return target
