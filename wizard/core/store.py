"""Loading and saving profiles: atomic, private, and never destroying what we cannot read."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from wizard.core import files, listing, paths, validators
from wizard.core.errors import WizardError
from wizard.core.profile import (
    SCHEMA_VERSION,
    FieldProblem,
    Profile,
    collect_problems,
    problems,
    validate_field,
)
from wizard.core.revision import MAX_PROFILE_BYTES, Revision


class ProfileError(WizardError):
    """A profile that cannot be used, with a one-line reason naming the file and field."""

    def __init__(self, path: Path | str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.path = Path(path)

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}" if self.field else f"{self.path}: {self.message}"


class ProfileInvalid(ProfileError):
    """The file parsed as TOML but holds values a profile cannot have (every problem listed:
    the invalid values first, then what is missing)."""

    def __init__(self, path: Path, problems: list[FieldProblem]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(path, first.message + more, field=first.field)


class ProfileChanged(ProfileError):
    """The file changed on disk since the caller read it: nothing was written.

    `profile` and `revision` are the file as it is now (profile None when it no longer
    loads), so the caller can reload and tell the user.
    """

    def __init__(self, path: Path, profile: Profile | None, revision: Revision | None) -> None:
        super().__init__(path, "changed on disk since it was read (edited by hand or by another aigw-wizard); reload it")
        self.profile = profile
        self.revision = revision


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


def read_raw(path: Path) -> bytes:
    """The profile file's bytes: a small regular file only (a FIFO never blocks)."""
    try:
        raw = files.read_bounded(path, MAX_PROFILE_BYTES, "a profile")
    except files.FileRefused as error:
        reason = error.reason
        if reason == "does not exist" or reason == "is a dangling symlink":
            reason = f"profile {reason}"
        raise ProfileError(path, reason) from None
    return raw


def parse(path: Path, raw: bytes) -> dict[str, Any]:
    """TOML from a profile file's bytes, or a one-line ProfileError."""
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
    except RecursionError:
        raise ProfileError(path, "is not valid TOML: values nested too deeply") from None


def read_data(path: Path) -> dict[str, Any]:
    """Parse the TOML at `path`, refusing anything that is not a small regular text file."""
    return parse(path, read_raw(path))


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
    return load_with_revision(ref)[0]


def load_with_revision(ref: str | Path) -> tuple[Profile, Revision]:
    """The profile and the revision of the file it came from (for `update_field`)."""
    path = ref if isinstance(ref, Path) else resolve(ref)
    raw = read_raw(path)
    return _from_raw(path, raw), Revision.of(raw)


def _from_raw(path: Path, raw: bytes) -> Profile:
    data = migrate(path, parse(path, raw))
    profile, found = collect_problems(data)
    if profile is None:
        raise ProfileInvalid(path, found or [FieldProblem("(profile)", "is not a valid profile")])
    profile._base_dir = path.resolve().parent
    profile._source = path
    return profile


def problems_of(ref: str | Path) -> tuple[Profile | None, list[FieldProblem]]:
    """Every problem of a profile file, one per field: invalid values, then missing ones.

    A file that cannot be read or parsed at all raises ProfileError (one problem, no field).
    """
    path = ref if isinstance(ref, Path) else resolve(ref)
    return collect_problems(migrate(path, read_data(path)))


def save(profile: Profile, ref: str | Path) -> Path:
    """Write atomically (unique temp file + rename), mode 0600, in a 0700 folder; through a
    symlink, the link's target is replaced and the link kept.

    An existing file that does not load is left alone: it may hold the user's hand edits.
    """
    path = ref if isinstance(ref, Path) else resolve(ref)
    existing = None
    if path.exists() or path.is_symlink():
        raw = read_raw(path)
        _from_raw(path, raw)  # raises ProfileError instead of overwriting what we could not read
        existing = raw.decode("utf-8")
    _prepare_folder(path)
    files.write_private(path, render(profile, existing).encode("utf-8"))
    return path


def _prepare_folder(path: Path) -> None:
    folder = files.write_target(path).parent
    if folder == paths.profiles_dir():
        paths.ensure_private_dir(folder)


def update_field(path: Path, field: str, value: Any, expected: Revision | None) -> tuple[Profile, Revision]:
    """Set one dotted field in the file as it is on disk now, leaving everything else as written.

    `expected` is the revision the caller last read (from `load_with_revision` or a previous
    `update_field`); when the file differs now, nothing is written and `ProfileChanged`
    carries the file's current state. `expected=None` skips that comparison (the CLI's
    `upgrade` saving its new tag). A file that does not load is never overwritten
    (ProfileError); an invalid value raises ProfileError naming the field. Returns the
    profile as saved and its new revision.
    """
    try:
        raw: bytes | None = read_raw(path)
    except ProfileError:
        if path.exists() or path.is_symlink():
            raise
        raw = None
    current_revision = Revision.of(raw)
    current: Profile | None = None
    if raw is not None:
        try:
            current = _from_raw(path, raw)
        except ProfileError:
            if expected is not None and current_revision != expected:
                raise ProfileChanged(path, None, current_revision) from None
            raise
    if expected is not None and current_revision != expected:
        raise ProfileChanged(path, current, current_revision)
    base = current or Profile()
    if current is None:
        base._base_dir = path.resolve().parent
        base._source = path
    updated, error = validate_field(base, field, value)
    if updated is None:
        raise ProfileError(path, error or "is not valid", field=field)
    if current is not None and updated.model_dump() == current.model_dump():
        return current, current_revision  # nothing to change: the file stays as written
    import tomlkit

    document = tomlkit.parse(raw.decode("utf-8")) if raw is not None else tomlkit.document()
    section, _, name = field.partition(".")
    new_value = updated.model_dump()[section] if not name else updated.model_dump()[section][name]
    if name:
        if section not in document or not isinstance(document[section], dict):
            document[section] = tomlkit.table()
        table: Any = document[section]
        key = name
    else:
        table, key = document, section
    if new_value is None:
        table.pop(key, None)
    elif key not in table or table[key] != new_value:
        table[key] = new_value
    if "schema_version" not in document:
        document["schema_version"] = SCHEMA_VERSION
    content = tomlkit.dumps(document).encode("utf-8")
    saved = _from_raw(path, content)  # what we write must load, and load as intended
    if saved.model_dump() != updated.model_dump():
        raise ProfileError(path, "could not be updated without changing other settings", field=field)
    _prepare_folder(path)
    files.write_private(path, content)
    return saved, Revision.of(content)


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
    revision: Revision | None = None
    """The bytes the row was judged from (None: the file could not be read at all)."""


def list_profiles() -> list[ProfileEntry]:
    """Every `*.toml` in the profiles folder; one that cannot be read is listed with why.

    Never blocks (FIFOs are refused unread) and never raises for one bad file.
    """
    folder = paths.profiles_dir()
    try:
        if not folder.is_dir():
            return []
        candidates = sorted(folder.glob("*.toml"))
    except OSError:
        return []
    entries = []
    for path in candidates:
        try:
            modified = datetime.fromtimestamp(path.lstat().st_mtime)
        except (OSError, ValueError, OverflowError):
            continue
        revision = None
        try:
            raw = read_raw(path)
            revision = Revision.of(raw)
            entries.append(ProfileEntry(path.stem, path, modified, _from_raw(path, raw), None, revision))
        except ProfileError as error:
            entries.append(ProfileEntry(path.stem, path, modified, None, error, revision))
        except Exception as error:  # a bug must not hide the other profiles
            failure = ProfileError(path, f"cannot be read: {error!r}")
            entries.append(ProfileEntry(path.stem, path, modified, None, failure, revision))
    return entries


def target_word(entry: ProfileEntry) -> str:
    """The list's Target column: docker, helm, "-" (not chosen yet) or "?" (unreadable file)."""
    return "?" if entry.profile is None else entry.profile.target or "-"


def verdict(entry: ProfileEntry) -> str:
    """The profile model's word on one file: ready, incomplete, invalid, or cannot be read."""
    if entry.profile is None:
        if isinstance(entry.error, ProfileInvalid):
            count = len(entry.error.problems)
            return f"invalid ({count} problem{'s' if count != 1 else ''})"
        return "cannot be read"
    missing = problems(entry.profile)
    return f"incomplete ({len(missing)} to fill in)" if missing else "ready"


def state_text(entry: ProfileEntry, outcome: dict[str, Any] | None = None) -> str:
    """A profile's state in a few words, as the profile list shows it (the TUI picker and
    `aigw-wizard profiles` alike); `outcome` is the profile's last run (`outcomes.last_outcome`)."""
    return listing.state_words(verdict(entry), outcome)
