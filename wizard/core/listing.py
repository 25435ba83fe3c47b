"""The profile list's words, and what the last start of the list found, without pydantic.

A row's state has two parts: the profile model's verdict on the file ("ready",
"incomplete (2 to fill in)", "invalid (1 problem)", "cannot be read": `store.verdict`) and
the profile's last run (`outcomes.last_outcome`). `state_words` joins them, here, so the TUI's
picker can show a whole row before pydantic is even imported: each start remembers the
model's verdict per profile, keyed by the file's revision (its SHA-256) and the wizard's
version, and the
next start shows it at once for every file that has not changed. A file that changed, or a
memo that is missing, damaged or from another version, shows "reading..." until the model
has judged the file again, as it does on every start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.core import files, paths
from wizard.core.revision import Revision

MEMO_NAME = "profile-list.json"
MAX_MEMO_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    """What the profile model said of one file."""

    target: str
    """"docker", "helm", "-" (not chosen yet) or "?" (the file cannot be read)."""
    verdict: str


def state_words(verdict: str, outcome: dict[str, Any] | None) -> str:
    """A profile's state in a few words: the model's verdict, and for a ready profile its
    last run (`outcomes.last_outcome`)."""
    if verdict != "ready":
        return verdict
    if outcome and outcome.get("command") == "apply":
        return "installed" if outcome.get("ok") else "install failed"
    if outcome and outcome.get("command") == "uninstall" and outcome.get("ok"):
        return "ready (uninstalled)"
    return "ready"


def _memo_path() -> Path:
    return paths.state_dir() / MEMO_NAME


def _read_memo() -> dict[str, Any]:
    try:
        memo = json.loads(files.read_bounded(_memo_path(), MAX_MEMO_BYTES, "the profile list memo"))
    except (files.FileRefused, OSError, ValueError, RecursionError):
        return {}
    if not isinstance(memo, dict) or memo.get("version") != __version__ or not isinstance(memo.get("files"), dict):
        return {}
    return memo["files"]


def remembered(found: list[Path]) -> dict[Path, Verdict]:
    """The verdicts of the last start for the files in `found` that have not changed since."""
    memo = _read_memo()
    known: dict[Path, Verdict] = {}
    for path in found:
        entry = memo.get(str(path))
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("sha256", "target", "verdict")):
            continue
        now = Revision.read(path)
        if now is not None and entry["sha256"] == now.digest:
            known[path] = Verdict(entry["target"], entry["verdict"])
    return known


def remember(verdicts: dict[Path, tuple[Revision | None, Verdict]]) -> None:
    """Keep these verdicts for the next start (the whole list: files gone are forgotten), each
    with the revision of the bytes it was judged from (`ProfileEntry.revision`).

    Best effort: a memo that cannot be written only costs the next start its head start."""
    entries = {
        str(path): {"sha256": revision.digest, "target": verdict.target, "verdict": verdict.verdict}
        for path, (revision, verdict) in verdicts.items()
        if revision is not None
    }
    if entries == _read_memo():
        return
    try:
        paths.ensure_private_dir(_memo_path().parent)
        files.write_private(_memo_path(), json.dumps({"version": __version__, "files": entries}, indent=1))
    except OSError:
        pass
