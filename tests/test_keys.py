"""JWT key files: private modes, reuse, rotation, and key text nowhere but the key folder."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories import docker_profile
from wizard import cli
from wizard.core import paths, store
from wizard.core.release import ALL_KEY_VARIABLES, KEY_FILE_NAMES
from wizard.install import plan
from wizard.tools import keys


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_need_makes_four_private_rsa_2048_keys(config_dir: Path) -> None:
    made = keys.ensure_keys("prod")
    assert made.folder == config_dir / "keys" / "prod" == paths.keys_dir("prod")
    assert set(made.created) == set(ALL_KEY_VARIABLES)
    assert mode(made.folder) == 0o700 and mode(made.folder.parent) == 0o700
    for key in made.keys:
        assert key.path.name == KEY_FILE_NAMES[key.variable]
        assert mode(key.path) == 0o600
        loaded = serialization.load_pem_private_key(key.path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey) and loaded.key_size == 2048
        assert key.fingerprint.startswith("SHA256:") and len(key.fingerprint) == 7 + 64
    assert len({key.fingerprint for key in made.keys}) == 4
    assert sorted(p.name for p in made.folder.iterdir()) == sorted(KEY_FILE_NAMES.values())


def test_later_needs_reuse_the_same_keys() -> None:
    first = keys.ensure_keys("prod")
    texts = {key.variable: key.path.read_bytes() for key in first.keys}
    again = keys.ensure_keys("prod", ALL_KEY_VARIABLES[:3])
    assert again.created == ()
    assert [key.variable for key in again.keys] == list(ALL_KEY_VARIABLES[:3])
    assert {key.variable: key.path.read_bytes() for key in again.keys} == {
        name: texts[name] for name in ALL_KEY_VARIABLES[:3]
    }
    assert keys.describe_keys("prod").by_variable()[ALL_KEY_VARIABLES[0]].fingerprint == first.keys[0].fingerprint


def test_a_lost_key_is_made_again_alone() -> None:
    first = keys.ensure_keys("prod").by_variable()
    first[ALL_KEY_VARIABLES[3]].path.unlink()
    again = keys.ensure_keys("prod")
    assert again.created == (ALL_KEY_VARIABLES[3],)
    assert again.by_variable()[ALL_KEY_VARIABLES[0]].fingerprint == first[ALL_KEY_VARIABLES[0]].fingerprint


def test_rotation_replaces_every_key_and_keeps_the_modes() -> None:
    before = keys.ensure_keys("prod").by_variable()
    after = keys.rotate_keys("prod").by_variable()
    for variable in ALL_KEY_VARIABLES:
        assert after[variable].fingerprint != before[variable].fingerprint
        assert mode(after[variable].path) == 0o600
    assert not [p for p in after[ALL_KEY_VARIABLES[0]].path.parent.iterdir() if p.name.startswith(".")]


def test_profiles_have_separate_keys() -> None:
    one = keys.ensure_keys("one").keys[0].fingerprint
    two = keys.ensure_keys("two").keys[0].fingerprint
    assert one != two


def test_a_loosened_key_is_made_private_again_when_read() -> None:
    key = keys.ensure_keys("prod").keys[0]
    key.path.chmod(0o644)
    assert keys.read_key(key.path).startswith("-----BEGIN PRIVATE KEY-----")
    assert mode(key.path) == 0o600


def test_a_symlink_or_garbage_in_a_keys_place_is_refused(tmp_path: Path) -> None:
    key = keys.ensure_keys("prod").keys[0]
    elsewhere = tmp_path / "elsewhere.pem"
    elsewhere.write_text("not yours")
    key.path.unlink()
    key.path.symlink_to(elsewhere)
    with pytest.raises(keys.KeyFileError, match="not a regular file"):
        keys.ensure_keys("prod")
    with pytest.raises(keys.KeyFileError, match="not a regular file"):
        keys.rotate_keys("prod")
    assert elsewhere.read_text() == "not yours"
    key.path.unlink()
    key.path.write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n")
    with pytest.raises(keys.KeyFileError, match="not a usable private key"):
        keys.describe_keys("prod")


def test_a_profile_name_with_a_path_is_refused() -> None:
    with pytest.raises(keys.KeyFileError, match="not a valid profile name"):
        keys.ensure_keys("../escape")


def test_deleting_keys_removes_the_folder() -> None:
    folder = keys.ensure_keys("prod").folder
    assert keys.delete_keys("prod") and not folder.exists()
    assert not keys.delete_keys("prod")


def _saved(name: str, **sections: dict[str, object]) -> None:
    store.save(docker_profile(**sections), name)  # type: ignore[arg-type]


def test_keys_verb_shows_paths_and_fingerprints_never_text(capsys: pytest.CaptureFixture[str]) -> None:
    _saved("prod", gitlab={"version": "19.2.1"})
    assert cli.main(["keys", "prod"]) == 0
    assert "No keys yet" in capsys.readouterr().out
    made = keys.ensure_keys("prod")
    assert cli.main(["keys", "prod"]) == 0
    out = capsys.readouterr().out
    for key in made.keys:
        assert str(key.path.name) in out and key.fingerprint in out
    assert "BEGIN" not in out
    assert cli.main(["keys", "prod", "--rotate", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rotated"] and len(document["keys"]) == 4
    assert {entry["fingerprint"] for entry in document["keys"]}.isdisjoint(key.fingerprint for key in made.keys)
    assert document["needed"] == list(ALL_KEY_VARIABLES)


def test_keys_verb_on_a_17x_profile_says_none_are_needed(capsys: pytest.CaptureFixture[str]) -> None:
    _saved("old")
    assert cli.main(["keys", "old"]) == 0
    assert "needs no JWT keys" in capsys.readouterr().out
    assert not paths.keys_dir("old").exists()


def test_keys_verb_refuses_unknown_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["keys", "nope"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_key_bodies_appear_in_no_other_file(config_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Everything the wizard writes for a 19.x profile: profile, plan script, verb output."""
    _saved("prod", gitlab={"version": "19.2.1"}, docker={"extra_hosts": {"gitlab.corp.test": "10.0.0.5"}})
    made = keys.ensure_keys("prod")
    profile = store.load("prod")
    plan.write_script(config_dir / "plan.sh", plan.script(plan.build(profile, "prod"), "prod"))
    cli.main(["keys", "prod"])
    cli.main(["show", "prod"])
    printed = capsys.readouterr()
    bodies = [
        "".join(key.path.read_text().splitlines()[1:-1]) for key in made.keys
    ]  # the base64 between the PEM armour lines
    fragments = [body[i : i + 48] for body in bodies for i in range(0, len(body) - 48, 200)]
    outside = [p for p in config_dir.rglob("*") if p.is_file() and made.folder not in p.parents]
    assert outside, "the scan must look at something"
    for path in outside:
        text = path.read_text(errors="replace").replace("\n", "")
        assert "PRIVATE KEY" not in text, path
        assert not [f for f in fragments if f in text], path
    for stream in (printed.out, printed.err):
        assert "PRIVATE KEY" not in stream and not [f for f in fragments if f in stream.replace("\n", "")]


def test_the_engines_read_the_keys_the_spec_references() -> None:
    from wizard.core import spec

    container = spec.container_spec(docker_profile(gitlab={"version": "18.4.0"}), "prod")
    keys.ensure_keys("prod")
    environment = keys.key_environment(container.keys)
    assert list(environment) == [key.variable for key in container.keys] and len(environment) == 3
    assert all(text.startswith("-----BEGIN PRIVATE KEY-----") for text in environment.values())
    data = keys.secret_data(container.keys)
    assert sorted(data) == sorted(KEY_FILE_NAMES[key.variable] for key in container.keys)
    assert set(data.values()) == set(environment.values())
