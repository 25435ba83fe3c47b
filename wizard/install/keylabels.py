"""Which keys a gateway container was made with, as labels: safe to show, cheap to import.

A container of a release with JWT keys carries `LABEL_KEYS` (a digest of the keys'
public fingerprints) and a config hash that includes it, so a rotation makes it differ
from the profile. Reads the key files' fingerprints only (`describe_keys`): never makes
a key and never returns key text. The plan and the Docker engine both use it.
"""

from __future__ import annotations

import hashlib

from wizard.core.spec import LABEL_CONFIG_HASH, LABEL_PREFIX, ContainerSpec
from wizard.tools import keys as key_tools

LABEL_KEYS = f"{LABEL_PREFIX}.key-fingerprints"
MISSING_KEYS = "missing"


def keys_digest(fingerprints: list[str]) -> str:
    """A short digest of the keys' public fingerprints (safe to show and to put in a label)."""
    return hashlib.sha256("\n".join(fingerprints).encode()).hexdigest()[:16]


def current_keys_digest(spec: ContainerSpec, profile_name: str) -> str:
    """The digest of the key files as they are now ("" without keys; MISSING_KEYS if any is absent)."""
    if not spec.keys:
        return ""
    try:
        present = key_tools.describe_keys(profile_name).by_variable()
    except key_tools.KeyFileError:
        return MISSING_KEYS
    wanted = [key.variable for key in spec.keys]
    if any(variable not in present for variable in wanted):
        return MISSING_KEYS
    return keys_digest([present[variable].fingerprint for variable in wanted])


def config_hash(spec: ContainerSpec, digest: str) -> str:
    """The spec's own hash, joined by the keys' digest when the release has keys."""
    if not spec.keys:
        return spec.config_hash()
    return hashlib.sha256(f"{spec.config_hash()}:{digest}".encode()).hexdigest()[:16]


def expected_hash(spec: ContainerSpec, profile_name: str) -> str:
    """What a container made now from the profile and the key files would carry."""
    return config_hash(spec, current_keys_digest(spec, profile_name))


def container_labels(spec: ContainerSpec, profile_name: str) -> dict[str, str]:
    """The labels a container made now would carry (read-only: no key is made here)."""
    labels = dict(spec.labels)
    digest = current_keys_digest(spec, profile_name)
    if digest and digest != MISSING_KEYS:
        labels[LABEL_KEYS] = digest
        labels[LABEL_CONFIG_HASH] = config_hash(spec, digest)
    return labels


