"""`upgrade --tag` on an air-gapped profile: the tarball must hold the new image (#16)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.factories import docker_profile
from wizard import cli
from wizard.cli import install as install_verbs
from wizard.core import store

REPO = "registry.test/model-gateway"
OLD, NEW = "self-hosted-v19.2.2-ee", "self-hosted-v19.2.3-ee"


def save_archive(path: Path, *tags: str) -> Path:
    """A minimal `docker save` tarball: manifest.json and an image config, no layers."""
    manifest = [{"Config": "config.json", "RepoTags": [f"{REPO}:{tag}" for tag in tags], "Layers": []}]
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", manifest), ("config.json", {"architecture": "amd64", "os": "linux"})):
            body = json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


@pytest.fixture
def profile_path(config_dir: Path, tmp_path: Path) -> Path:
    old_archive = save_archive(tmp_path / "old.tar", OLD)
    profile = docker_profile(
        gitlab={"url": "https://gitlab.lab.test", "version": "19.2.1"},
        gateway={"hostname": "192.0.2.10", "image": REPO, "tag": OLD, "image_archive": str(old_archive)},
    )
    return store.save(profile, config_dir / "profiles" / "lab.toml")


def test_a_tag_the_archive_does_not_hold_is_refused_before_anything_runs(
    profile_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install_verbs, "apply_profile", lambda *args, **kwargs: pytest.fail("apply ran"))
    before = profile_path.read_text()
    assert cli.main(["upgrade", "lab", "--tag", NEW, "--yes"]) == 2
    error = capsys.readouterr().err
    assert f"holds {OLD}, not {REPO}:{NEW}" in error and "--archive" in error
    assert profile_path.read_text() == before


def test_the_tarball_of_the_new_tag_is_taken_and_saved_with_it(
    profile_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_archive = save_archive(tmp_path / "new.tar", NEW)
    applied = []
    monkeypatch.setattr(install_verbs, "apply_profile", lambda profile, *args, **kwargs: applied.append(profile) or 0)
    assert cli.main(["upgrade", "lab", "--tag", NEW, "--archive", str(new_archive), "--yes"]) == 0
    assert applied[0].gateway.image_archive == str(new_archive) and applied[0].image_tag == NEW
    saved = store.load(profile_path)
    assert (saved.gateway.tag, saved.gateway.image_archive) == (NEW, str(new_archive))
