"""The one private-file writer and the one bounded reader.

`write_private` replaces a file atomically: a temporary file with a unique name in the same
folder (so two writers never share or delete each other's), fsync, rename, fsync of the
folder. A path that is a symlink is written *through* the link: the link's target is
replaced and the link stays a link. Missing folders are created 0700.

`read_bounded` reads a file we were pointed at (a profile, a CA bundle, a manifest beside an
archive): regular files only, opened non-blocking so a FIFO never blocks, and never more than
`cap` bytes, so a symlink to /dev/zero or a huge file cannot exhaust memory.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from wizard.core.errors import WizardError

KIB, MIB = 1024, 1024 * 1024


class FileRefused(WizardError):
    """A file we will not read: missing, not regular, too large, or unreadable."""

    def __init__(self, path: Path, what: str, reason: str) -> None:
        self.path = path
        self.what = what
        self.reason = reason
        super().__init__(f"{what} {path} {reason}")


def human_size(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"


def read_bounded(path: Path, cap: int, what: str = "file") -> bytes:
    """The bytes of the regular file at `path`, at most `cap` of them, or `FileRefused`."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        reason = "is a dangling symlink" if os.path.islink(path) else "does not exist"
        raise FileRefused(path, what, reason) from None
    except OSError as error:
        raise FileRefused(path, what, f"cannot be read: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused(path, what, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(path, what, "is not a regular file")
        if info.st_size > cap:
            raise FileRefused(path, what, f"is {info.st_size} bytes; {what} is at most {human_size(cap)}")
        chunks: list[bytes] = []
        total = 0
        while total <= cap:
            try:
                chunk = os.read(fd, min(MIB, cap + 1 - total))
            except OSError as error:
                raise FileRefused(path, what, f"cannot be read: {error.strerror or error}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > cap:  # it grew while we read it
            raise FileRefused(path, what, f"is more than {human_size(cap)}; {what} is at most {human_size(cap)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_target(path: Path) -> Path:
    """Where writing `path` really lands: the end of its symlink chain, or `path` itself."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def write_private(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    """Replace `path` atomically with `data`, readable by the owner only; returns the file written.

    Raises OSError when the folder cannot be made or the write fails; the old file is then intact.
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    target = write_target(path)
    folder = target.parent
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_stale_temp_files(target)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return target


def remove_stale_temp_files(target: Path) -> None:
    """A writer killed between creating its temp file and the rename (SIGKILL, power loss)
    leaves `.NAME.PID.XXXX.tmp` behind. Only those of writers no longer alive are removed:
    a concurrent writer's temp file is left alone."""
    from glob import escape

    for stale in target.parent.glob(f".{escape(target.name)}.*.tmp"):
        middle = stale.name[len(target.name) + 2 : -len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        if pid_text.isdigit() and _alive(int(pid_text)):
            continue
        try:
            stale.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable; not every filesystem allows opening a directory."""
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


def loose_permissions(path: Path) -> str | None:
    """Why others than the current user could change the file at `path`, or None.

    World-writable files, files in a world-writable folder without the sticky bit, and files
    owned by another user (root running a file a user can edit) are all ways for someone else
    to decide what gets installed.
    """
    try:
        info = path.stat()
        folder = path.resolve().parent.stat()
    except OSError:
        return None
    uid = os.geteuid()
    if info.st_mode & stat.S_IWOTH:
        return f"{path} is writable by every user (mode {stat.S_IMODE(info.st_mode):04o})"
    if folder.st_mode & stat.S_IWOTH and not folder.st_mode & stat.S_ISVTX:
        return f"the folder of {path} is writable by every user: anyone can replace the profile"
    if info.st_uid != uid:
        owner = _user_name(info.st_uid)
        return f"{path} is owned by {owner}, not by the user running aigw-wizard ({_user_name(uid)})"
    if info.st_mode & stat.S_IWGRP and uid == 0:
        return f"{path} is writable by its group (mode {stat.S_IMODE(info.st_mode):04o}) and root applies it"
    return None


def _user_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"
