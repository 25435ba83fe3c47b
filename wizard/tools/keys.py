"""The gateway's self-signed JWT keys: four RSA-2048 private keys per profile, as files.

The gateway (18.0+) signs and checks its own tokens with these (`AIGW_SELF_SIGNED_JWT__*`,
`DUO_WORKFLOW_SELF_SIGNED_JWT__*`). They live in one folder per profile under the wizard's
data location (`wizard.core.paths.keys_dir`, moved by AIGW_WIZARD_CONFIG_DIR): the folder
0700, each file 0600, written atomically. They are made on first need and reused by every
later apply and upgrade; `rotate_keys` replaces them. The text of a key leaves this module
only through `read_key`, for the engine that hands it to the gateway; everything shown to
people is a path and a fingerprint (SHA-256 of the public key).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wizard.core import paths
from wizard.core.errors import WizardError
from wizard.core.release import ALL_KEY_VARIABLES, KEY_FILE_NAMES

KEY_BITS = 2048
MAX_KEY_BYTES = 16 * 1024
_PEM_BEGIN = b"-----BEGIN PRIVATE KEY-----"


class KeyFileError(WizardError):
    """A key folder or file the wizard cannot use (not ours, not a key, unreadable)."""


@dataclass(frozen=True)
class KeyFile:
    variable: str
    path: Path
    fingerprint: str
    """`SHA256:<hex>` of the DER public key: safe to show, log and compare."""


@dataclass(frozen=True)
class KeySet:
    folder: Path
    keys: tuple[KeyFile, ...]
    created: tuple[str, ...] = ()
    """Variables whose key this call generated (empty when every key was reused)."""

    def by_variable(self) -> dict[str, KeyFile]:
        return {key.variable: key for key in self.keys}


def ensure_keys(profile_name: str, variables: Iterable[str] = ALL_KEY_VARIABLES) -> KeySet:
    """The profile's keys, generating any that is missing; existing ones are reused as they are.

    All four are made together on first need, so an upgrade to a release that reads a
    fourth key finds it ready.
    """
    wanted = _known(variables)
    folder = _private_folder(profile_name)
    created: list[str] = []
    for variable in ALL_KEY_VARIABLES:
        target = folder / KEY_FILE_NAMES[variable]
        if _existing_file(target) is None:
            _write_private(target, _generate())
            created.append(variable)
    keys = tuple(_describe(variable, folder / KEY_FILE_NAMES[variable]) for variable in wanted)
    return KeySet(folder, keys, tuple(created))


def rotate_keys(profile_name: str) -> KeySet:
    """Replace every key of the profile with a new one (the gateway needs a re-apply after)."""
    folder = _private_folder(profile_name)
    for variable in ALL_KEY_VARIABLES:
        target = folder / KEY_FILE_NAMES[variable]
        _existing_file(target)  # refuses a symlink or a folder in the key's place
        _write_private(target, _generate())
    keys = tuple(_describe(variable, folder / KEY_FILE_NAMES[variable]) for variable in ALL_KEY_VARIABLES)
    return KeySet(folder, keys, ALL_KEY_VARIABLES)


def describe_keys(profile_name: str) -> KeySet:
    """The keys that exist now (none made); missing ones are simply absent from `keys`."""
    folder = paths.keys_dir(profile_name)
    keys = []
    for variable in ALL_KEY_VARIABLES:
        target = folder / KEY_FILE_NAMES[variable]
        if _existing_file(target) is not None:
            keys.append(_describe(variable, target))
    return KeySet(folder, tuple(keys))


def read_key(path: Path | str) -> str:
    """The PEM text of one key, for the engine creating the container or the Secret only."""
    data = _read_checked(Path(path))
    return data.decode("ascii")


class _Reference(Protocol):
    variable: str
    path: str


def key_environment(references: Iterable[_Reference]) -> dict[str, str]:
    """Docker: variable → PEM text for `spec.ContainerSpec.keys`, read as the container is made."""
    return {ref.variable: read_key(ref.path) for ref in references}


def secret_data(references: Iterable[_Reference]) -> dict[str, str]:
    """Helm: the wizard's Secret's data (`KEY_FILE_NAMES` key → PEM text) for the same references."""
    return {KEY_FILE_NAMES[ref.variable]: read_key(ref.path) for ref in references}


def delete_keys(profile_name: str) -> bool:
    """Remove the profile's key folder (when the profile is deleted); False if there was none."""
    folder = paths.keys_dir(profile_name)
    if not folder.exists():
        return False
    for variable in ALL_KEY_VARIABLES:
        target = folder / KEY_FILE_NAMES[variable]
        if target.is_symlink() or target.exists():
            target.unlink()
    try:
        folder.rmdir()
    except OSError as error:
        raise KeyFileError(f"{folder}: not removed: {error.strerror} (files the wizard did not make?)") from None
    return True


def fingerprint(pem: bytes) -> str:
    """`SHA256:<hex>` of the DER SubjectPublicKeyInfo of a PEM private key."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyFileError("not an unencrypted PEM private key") from None
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + hashlib.sha256(public).hexdigest()


# --- internals ---------------------------------------------------------------------------------


def _known(variables: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(variables)
    unknown = [name for name in wanted if name not in KEY_FILE_NAMES]
    if unknown:
        raise ValueError(f"not a JWT key variable: {', '.join(unknown)}")
    return wanted


def _private_folder(profile_name: str) -> Path:
    try:
        folder = paths.keys_dir(profile_name)
    except ValueError as error:
        raise KeyFileError(str(error)) from None
    paths.ensure_private_dir(paths.keys_root())
    if folder.is_symlink():
        raise KeyFileError(f"{folder}: is a symlink; the key folder must be a real folder", ["remove it and retry"])
    return paths.ensure_private_dir(folder)


def _existing_file(target: Path) -> os.stat_result | None:
    """None when absent; the file's status when it is a regular file; an error otherwise."""
    try:
        info = target.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(
            f"{target}: is not a regular file (a symlink or folder where a key belongs)",
            [f"remove {target}, then run `aigw-wizard keys NAME --rotate`"],
        )
    return info


def _read_checked(target: Path) -> bytes:
    info = _existing_file(target)
    if info is None:
        raise KeyFileError(f"{target}: the key does not exist", ["run `aigw-wizard keys NAME --rotate` to make new keys"])
    if info.st_size > MAX_KEY_BYTES:
        raise KeyFileError(f"{target}: is {info.st_size} bytes, too large for an RSA-2048 key")
    if info.st_mode & 0o077:
        target.chmod(0o600)  # someone loosened it; a key is for the owner only
    try:
        data = target.read_bytes()
    except OSError as error:
        raise KeyFileError(f"{target}: cannot be read: {error.strerror}") from None
    if not data.startswith(_PEM_BEGIN):
        raise KeyFileError(
            f"{target}: is not a PEM private key", ["run `aigw-wizard keys NAME --rotate` to replace the keys"]
        )
    return data


def _describe(variable: str, target: Path) -> KeyFile:
    data = _read_checked(target)
    try:
        print_ = fingerprint(data)
    except KeyFileError:
        raise KeyFileError(
            f"{target}: is not a usable private key", ["run `aigw-wizard keys NAME --rotate` to replace the keys"]
        ) from None
    return KeyFile(variable, target, print_)


def _generate() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(target: Path, data: bytes) -> None:
    """Write `data` to a fresh 0600 file beside `target`, then rename it into place."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
