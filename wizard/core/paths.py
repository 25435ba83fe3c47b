"""The one module that knows where aigw-wizard keeps its files.

`AIGW_WIZARD_CONFIG_DIR` moves everything (profiles, logs, state) under one directory;
tests point it at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from wizard.core.release import KEY_FILE_NAMES
from wizard.core.validators import profile_name as _profile_name

APP_NAME = "aigw-wizard"
CONFIG_DIR_ENV = "AIGW_WIZARD_CONFIG_DIR"


def expand_user(value: str | Path) -> Path:
    """`~` and `~user` expanded; `~name` of an unknown user stays as typed instead of raising."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        return Path(value)


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return expand_user(override)
    return Path(platformdirs.user_config_dir(APP_NAME))


def profiles_dir() -> Path:
    return config_dir() / "profiles"


def log_dir() -> Path:
    """Where run journals go: the platform's log dir, or `logs/` under the override."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return expand_user(override) / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME))


def state_dir() -> Path:
    """Where the last outcome of each profile's runs is recorded."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return expand_user(override) / "state"
    return Path(platformdirs.user_state_dir(APP_NAME))


def keys_root() -> Path:
    """Where every profile's JWT key folder lives (private data, never beside the profiles)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return expand_user(override) / "keys"
    return Path(platformdirs.user_data_dir(APP_NAME)) / "keys"


def keys_dir(profile_name: str) -> Path:
    """One profile's key folder (mode 0700; the files in it 0600). Refuses names with paths in them."""
    return keys_root() / _profile_name(profile_name)


def key_file(profile_name: str, variable: str) -> Path:
    """The file holding the PEM text for one JWT key variable of a profile."""
    return keys_dir(profile_name) / KEY_FILE_NAMES[variable]


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make sure only the owner can enter it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path
