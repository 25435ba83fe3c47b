"""Complete profiles for tests, built through the real model."""

from __future__ import annotations

from typing import Any

from wizard.core.profile import Profile


def docker_profile(**sections: dict[str, Any]) -> Profile:
    data: dict[str, Any] = {
        "target": "docker",
        "gitlab": {"url": "https://gitlab.example.com", "version": "17.5.0"},
        "gateway": {"hostname": "aigw.example.com"},
    }
    return Profile.model_validate(_merge(data, sections))


def helm_profile(**sections: dict[str, Any]) -> Profile:
    data: dict[str, Any] = {
        "target": "helm",
        "gitlab": {"url": "https://gitlab.example.com", "version": "17.5.0"},
        "gateway": {"hostname": "aigw.example.com"},
        "tls": {"cert": "/etc/aigw/tls.crt", "key": "/etc/aigw/tls.key"},
    }
    return Profile.model_validate(_merge(data, sections))


def _merge(base: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in base.items()}
    for section, values in extra.items():
        if isinstance(values, dict):
            merged.setdefault(section, {}).update(values)
        else:
            merged[section] = values
    return merged
