"""Saving and loading profiles: atomic, private, and never destroying what we cannot read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.factories import docker_profile
from wizard.core import paths, store
from wizard.core.profile import Profile


def test_save_is_private_and_round_trips(config_dir: Path) -> None:
    path = store.save(docker_profile(), "prod")
    assert path == config_dir / "profiles" / "prod.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = store.load("prod")
    assert loaded.model_dump() == docker_profile().model_dump()
    assert loaded._base_dir == path.parent


def test_a_loose_profiles_dir_is_tightened(config_dir: Path) -> None:
    folder = config_dir / "profiles"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    store.save(Profile(), "a")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_save_replaces_atomically_and_leaves_no_temp_files(config_dir: Path, monkeypatch) -> None:
    store.save(docker_profile(), "prod")
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    store.save(docker_profile(gateway={"port": 8052}), "prod")
    assert len(seen) == 1 and seen[0][1].endswith("prod.toml")
    assert Path(seen[0][0]).parent == config_dir / "profiles"
    assert sorted(p.name for p in (config_dir / "profiles").iterdir()) == ["prod.toml"]
    assert store.load("prod").gateway.port == 8052


def test_a_failed_write_keeps_the_old_file(config_dir: Path, monkeypatch) -> None:
    path = store.save(docker_profile(), "prod")
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save(docker_profile(gateway={"port": 9000}), "prod")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["prod.toml"]


def test_an_unparseable_file_is_never_overwritten(config_dir: Path) -> None:
    folder = paths.ensure_private_dir(config_dir / "profiles")
    path = folder / "hand.toml"
    path.write_text("target = 'docker'\n[gateway\nhostname = 'x'\n")
    before = path.read_bytes()
    with pytest.raises(store.ProfileError, match="not valid TOML"):
        store.save(Profile(), "hand")
    assert path.read_bytes() == before


def test_newer_schema_is_refused_and_older_is_migrated(config_dir: Path) -> None:
    folder = paths.ensure_private_dir(config_dir / "profiles")
    (folder / "future.toml").write_text("schema_version = 99\n")
    with pytest.raises(store.ProfileError, match="upgrade aigw-wizard") as caught:
        store.load("future")
    assert caught.value.field == "schema_version"
    (folder / "old.toml").write_text('target = "docker"\n')
    assert store.load("old").schema_version == 1


def test_names_and_paths_resolve(config_dir: Path, tmp_path: Path) -> None:
    assert store.resolve("prod") == config_dir / "profiles" / "prod.toml"
    assert store.resolve(str(tmp_path / "x.toml")) == tmp_path / "x.toml"
    assert store.resolve("./here.toml") == Path("here.toml")
    with pytest.raises(store.ProfileError, match="not a valid profile name"):
        store.resolve("bad name")


def test_create_duplicate_delete_and_list(config_dir: Path) -> None:
    store.create("a", docker_profile())
    with pytest.raises(store.ProfileError, match="already exists"):
        store.create("a")
    store.duplicate("a", "b")
    assert store.load("b").model_dump() == store.load("a").model_dump()
    (config_dir / "profiles" / "broken.toml").write_bytes(b"\x00\xff\xfe")
    entries = {entry.name: entry for entry in store.list_profiles()}
    assert set(entries) == {"a", "b", "broken"}
    assert entries["broken"].profile is None and "UTF-8" in str(entries["broken"].error)
    store.delete("a")
    assert {entry.name for entry in store.list_profiles()} == {"b", "broken"}


def test_temp_files_left_by_a_killed_writer_are_cleaned_on_the_next_save(config_dir: Path) -> None:
    path = store.save(docker_profile(), "prod")
    stale = path.parent / ".prod.toml.k1ll3d.tmp"
    stale.write_text("half a profile")
    other = path.parent / ".other.toml.abc.tmp"
    other.write_text("not ours to judge")
    store.save(docker_profile(gateway={"port": 9052}), "prod")
    assert not stale.exists() and other.exists()
    assert store.load("prod").gateway.port == 9052


def test_hand_edits_and_comments_survive_the_wizards_saves(config_dir: Path) -> None:
    folder = paths.ensure_private_dir(config_dir / "profiles")
    path = folder / "hand.toml"
    path.write_text(
        "# production gateway, owned by the platform team\n"
        'target = "docker"\n\n'
        "[gitlab]\n"
        'url = "https://gitlab.example.com"  # the public name\n'
        'version = "17.5.0"\n\n'
        "[gateway]\n"
        "# ask #netops before changing this\n"
        'hostname = "aigw.example.com"\n'
    )
    from wizard.session import WizardSession

    session = WizardSession.open(str(path))
    assert session.set("gateway.port", "8052") is None
    text = path.read_text()
    assert "# production gateway, owned by the platform team" in text
    assert "# the public name" in text and "# ask #netops before changing this" in text
    assert store.load(path).gateway.port == 8052
    assert store.load(path).model_dump() == session.profile.model_dump()
