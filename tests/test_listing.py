"""The profile list's words and the memo that lets the picker show whole rows at once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from screens.app import make_app
from screens.profiles import ProfilesScreen
from tests.factories import docker_profile, helm_profile
from tests.tui_support import profiles_ready, save_profile, screen_text
from wizard.core import listing, paths, store
from wizard.core.listing import Verdict
from wizard.core.revision import Revision


def test_state_words_join_the_verdict_and_the_last_run() -> None:
    assert listing.state_words("incomplete (2 to fill in)", {"command": "apply", "ok": True}) == "incomplete (2 to fill in)"
    assert listing.state_words("ready", None) == "ready"
    assert listing.state_words("ready", {"command": "apply", "ok": True}) == "installed"
    assert listing.state_words("ready", {"command": "apply", "ok": False}) == "install failed"
    assert listing.state_words("ready", {"command": "uninstall", "ok": True}) == "ready (uninstalled)"


def saved(name: str, **gateway: object) -> Path:
    return store.save(docker_profile(gateway=gateway) if gateway else docker_profile(), name)


def test_an_unchanged_file_is_remembered_and_a_changed_one_is_not(config_dir: Path) -> None:
    prod, half = saved("prod"), saved("half", hostname="")
    listing.remember({path: (Revision.read(path), Verdict("docker", word))
                      for path, word in ((prod, "ready"), (half, "incomplete (1 to fill in)"))})
    assert listing.remembered([prod, half]) == {prod: Verdict("docker", "ready"), half: Verdict("docker", "incomplete (1 to fill in)")}
    memo = paths.state_dir() / listing.MEMO_NAME
    assert memo.stat().st_mode & 0o777 == 0o600 and memo.parent.stat().st_mode & 0o777 == 0o700
    half.write_text(half.read_text() + "\n# edited by hand\n")
    assert listing.remembered([prod, half]) == {prod: Verdict("docker", "ready")}


def test_a_verdict_on_bytes_the_file_no_longer_holds_never_matches_it(config_dir: Path) -> None:
    prod = saved("prod")
    before = Revision.read(prod)
    prod.write_text(prod.read_text().replace("5052", "5053"))  # changed while the model read it
    listing.remember({prod: (before, Verdict("docker", "ready"))})
    assert listing.remembered([prod]) == {}


DAMAGED = {
    "not JSON": b"not json",
    "a list": b"[1, 2]",
    "another version": json.dumps({"version": "0.0.0-other", "files": {}}).encode(),
    "files not a table": json.dumps({"version": "x", "files": []}).encode(),
    "too large": b" " * (listing.MAX_MEMO_BYTES + 1),
}


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_damaged_or_foreign_memo_is_ignored_and_replaced(config_dir: Path, damage: str) -> None:
    prod = saved("prod")
    memo = paths.ensure_private_dir(paths.state_dir()) / listing.MEMO_NAME
    memo.write_bytes(DAMAGED[damage])
    assert listing.remembered([prod]) == {}
    listing.remember({prod: (Revision.read(prod), Verdict("docker", "ready"))})
    assert listing.remembered([prod]) == {prod: Verdict("docker", "ready")}


def test_a_fifo_in_the_memo_s_place_does_not_block(config_dir: Path) -> None:
    prod = saved("prod")
    os.mkfifo(paths.ensure_private_dir(paths.state_dir()) / listing.MEMO_NAME)
    assert listing.remembered([prod]) == {}


def test_entries_in_the_memo_with_the_wrong_shape_are_skipped(config_dir: Path) -> None:
    prod = saved("prod")
    memo = paths.ensure_private_dir(paths.state_dir()) / listing.MEMO_NAME
    from wizard import __version__

    memo.write_text(json.dumps({"version": __version__, "files": {str(prod): {"sha256": Revision.read(prod).digest, "target": 3}}}))
    assert listing.remembered([prod]) == {}


async def test_the_picker_shows_each_unchanged_row_before_the_model_is_asked(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("prod", docker_profile())
    save_profile("staging", helm_profile(tls={"cert": "", "key": ""}))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:  # the first start judges and remembers
        await profiles_ready(pilot)
        first = screen_text(app)
    assert "incomplete (" in first
    (config_dir / "profiles" / "prod.toml").write_text((config_dir / "profiles" / "prod.toml").read_text() + "\n# edited\n")

    monkeypatch.setattr(ProfilesScreen, "load_details", lambda self: None)  # the model never answers now
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rows = {line.split()[0]: line for line in screen_text(app).splitlines()[4:6]}
    assert "helm" in rows["staging"] and "incomplete (" in rows["staging"] and "2026-11-25 09:30" in rows["staging"]
    assert "reading..." in rows["prod"] and "docker" not in rows["prod"]  # changed since: the model must say


def test_each_listed_profile_carries_the_revision_it_was_judged_from(config_dir: Path) -> None:
    prod = saved("prod")
    broken = prod.with_name("broken.toml")
    broken.write_text('target = "kubernetes"\n')  # parses, but no profile can have it
    os.mkfifo(prod.with_name("pipe.toml"))
    entries = {entry.name: entry for entry in store.list_profiles()}
    assert entries["prod"].revision == Revision.of(prod.read_bytes())
    assert entries["broken"].revision == Revision.of(broken.read_bytes()) and store.verdict(entries["broken"]).startswith("invalid")
    assert entries["pipe"].revision is None and store.verdict(entries["pipe"]) == "cannot be read"
