"""Loading and saving profiles: atomic, private, and never destroying what we cannot read."""

from __future__ import annotations

import os
import stat
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wizard.core import paths, validators
from wizard.core.profile import SCHEMA_VERSION, Profile, problems, problems_from_validation_error

MAX_PROFILE_BYTES = 1024 * 1024


class ProfileError(Exception):
    """A profile that cannot be used, with a one-line reason naming the file and field."""

    def __init__(self, path: Path | str, message: str, field: str | None = None) -> None:
        self.path = Path(path)
        self.field = field
        self.message = message
        where = f"{self.path}: {field}: " if field else f"{self.path}: "
        super().__init__(where + message)


class ProfileInvalid(ProfileError):
    """The file parsed as TOML but holds values a profile cannot have (every problem listed)."""

    def __init__(self, path: Path, problems: list[Any]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(path, first.message + more, field=first.field)


def resolve(ref: str) -> Path:
    """NAME → the saved profile's path; anything that looks like a path is taken as one."""
    if ref.endswith(".toml") or os.sep in ref or ref.startswith("."):
        return paths.expand_user(ref)
    try:
        validators.profile_name(ref)
    except ValueError as error:
        raise ProfileError(ref, str(error)) from None
    return paths.profiles_dir() / f"{ref}.toml"


def name_of(path: Path) -> str:
    return path.stem


def read_data(path: Path) -> dict[str, Any]:
    """Parse the TOML at `path`, refusing anything that is not a small regular text file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        kind = "is a dangling symlink" if path.is_symlink() else "does not exist"
        raise ProfileError(path, f"profile {kind}") from None
    except OSError as error:
        raise ProfileError(path, f"cannot be read: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ProfileError(path, "is a directory, not a profile file")
    if not stat.S_ISREG(info.st_mode):
        raise ProfileError(path, "is not a regular file")
    if info.st_size > MAX_PROFILE_BYTES:
        raise ProfileError(path, f"is {info.st_size} bytes; a profile is at most 1 MiB")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProfileError(path, f"cannot be read: {error.strerror}") from None
    if not raw.strip():
        raise ProfileError(path, "is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(path, "is not UTF-8 text (binary file?)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(path, f"is not valid TOML: {error}") from None


def _migrate_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    # Version 0 (hand-written files without schema_version) differs only by the missing key.
    return {**data, "schema_version": 1}


#: Migration steps keyed by the version they upgrade from.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_0_to_1}


def migrate(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProfileError(path, "must be a whole number", field="schema_version")
    if version > SCHEMA_VERSION:
        raise ProfileError(
            path,
            f"is {version}, but this aigw-wizard reads profiles up to version {SCHEMA_VERSION}: "
            "upgrade aigw-wizard to use this profile",
            field="schema_version",
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise ProfileError(path, f"version {version} is too old to migrate", field="schema_version")
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


def load(ref: str | Path) -> Profile:
    path = ref if isinstance(ref, Path) else resolve(ref)
    data = migrate(path, read_data(path))
    try:
        profile = Profile.model_validate(data)
    except ValidationError as error:
        raise ProfileInvalid(path, problems_from_validation_error(error)) from None
    profile._base_dir = path.resolve().parent
    return profile


def save(profile: Profile, ref: str | Path) -> Path:
    """Write atomically (temp file + os.replace), mode 0600, in a 0700 folder.

    An existing file that does not load is left alone: it may hold the user's hand edits.
    """
    path = ref if isinstance(ref, Path) else resolve(ref)
    existing = None
    if path.exists() or path.is_symlink():
        load(path)  # raises ProfileError instead of overwriting what we could not read
        existing = path.read_text(encoding="utf-8")
    folder = path.parent
    if folder == paths.profiles_dir():
        paths.ensure_private_dir(folder)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    content = render(profile, existing).encode("utf-8")
    _remove_stale_temp_files(path)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return path


def render(profile: Profile, existing: str | None = None) -> str:
    """The profile as TOML; over an existing file, only changed values are rewritten, so a
    user's comments and layout in a hand-edited profile survive the wizard's saves."""
    import tomlkit  # only writing needs it; loading uses the standard library's tomllib

    data = profile.to_toml_data()
    if existing is None:
        return tomlkit.dumps(data)
    document = tomlkit.parse(existing)
    _update_table(document, data)
    return tomlkit.dumps(document)


def _update_table(table: Any, data: dict[str, Any]) -> None:
    for key in [key for key in table if key not in data]:
        del table[key]
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(table.get(key), dict):
            _update_table(table[key], value)
        elif key not in table or table[key] != value:
            table[key] = value


def _remove_stale_temp_files(path: Path) -> None:
    """A writer killed between creating its temp file and the rename (SIGKILL, power loss)
    leaves `.NAME.toml.XXXX.tmp` behind; they are ours alone, and never the profile."""
    for stale in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every filesystem allows opening a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def create(name: str, profile: Profile | None = None) -> Path:
    path = resolve(name)
    if path.exists() or path.is_symlink():
        raise ProfileError(path, f"a profile named {name!r} already exists")
    return save(profile or Profile(), path)


def duplicate(source: str, new_name: str) -> Path:
    return create(new_name, load(source))


def delete(ref: str) -> None:
    resolve(ref).unlink()


@dataclass(frozen=True)
class ProfileEntry:
    """A row of the profile list: the profile, or why it could not be read."""

    name: str
    path: Path
    modified: datetime
    profile: Profile | None
    error: ProfileError | None


def list_profiles() -> list[ProfileEntry]:
    folder = paths.profiles_dir()
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.glob("*.toml")):
        try:
            modified = datetime.fromtimestamp(path.lstat().st_mtime)
        except OSError:
            continue
        try:
            entries.append(ProfileEntry(path.stem, path, modified, load(path), None))
        except ProfileError as error:
            entries.append(ProfileEntry(path.stem, path, modified, None, error))
    return entries


def state_text(entry: ProfileEntry, outcome: dict[str, Any] | None = None) -> str:
    """A profile's state in a few words, as the profile list shows it (the TUI picker and
    `aigw-wizard profiles` alike); `outcome` is the profile's last run (`journal.last_outcome`)."""
    if entry.profile is None:
        if isinstance(entry.error, ProfileInvalid):
            count = len(entry.error.problems)
            return f"invalid ({count} problem{'s' if count != 1 else ''})"
        return "cannot be read"
    missing = problems(entry.profile)
    if missing:
        return f"incomplete ({len(missing)} to fill in)"
    if outcome and outcome.get("command") == "apply":
        return "installed" if outcome.get("ok") else "install failed"
    if outcome and outcome.get("command") == "uninstall" and outcome.get("ok"):
        return "ready (uninstalled)"
    return "ready"
