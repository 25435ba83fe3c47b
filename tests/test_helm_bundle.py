"""HelmInstaller.bundle: chart (pulled or copied) + docker save + manifest + a profile pointing at both."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from tests.docker_fixtures import StandinImages
from tests.helm_support import NAME, Tls, finished, helm_calls, result, run, saved_profile
from tests.kube_fixtures import HelmDouble
from wizard.core import store
from wizard.core.profile import Profile
from wizard.install.helm import HelmInstaller

pytestmark = pytest.mark.docker


def standin_profile(tls: Tls, images: StandinImages, **sections: dict[str, str]) -> Profile:
    gateway = {
        "hostname": "aigw.example.com",
        "image": images.repository,
        "tag": images.tags["healthy"],
    }
    return saved_profile(tls, gateway=gateway, **sections)


def bundle(profile: Profile, directory: Path):
    return run(HelmInstaller(profile, NAME).bundle(directory))


def test_a_repository_chart_is_pulled_and_everything_is_listed_with_its_digest(
    tls: Tls, helm_double: HelmDouble, standin_images: StandinImages, tmp_path: Path
) -> None:
    folder = tmp_path / "bundle"
    events = bundle(standin_profile(tls, standin_images), folder)
    outcome = result(events)
    assert outcome.ok, outcome.summary
    calls = helm_double.calls()
    assert [c["argv"][:2] for c in helm_calls(calls, "repo")] == [
        ["repo", "add"],
        ["repo", "update"],
    ]
    [pull] = helm_calls(calls, "pull")
    assert pull["argv"][1:3] == ["ai-gateway/ai-gateway", "--version=0.1.1"]

    manifest = json.loads((folder / "manifest.json").read_text())
    names = {entry["name"] for entry in manifest["files"]}
    assert names == {
        "ai-gateway-0.1.1.tgz",
        f"model-gateway-{standin_images.tags['healthy']}.tar",
        f"{NAME}.toml",
    }
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    with tarfile.open(folder / f"model-gateway-{standin_images.tags['healthy']}.tar") as archive:
        repo_tags = json.load(archive.extractfile("manifest.json"))[0]["RepoTags"]  # type: ignore[arg-type]
    assert repo_tags == [standin_images.healthy]
    assert finished(events)["manifest"].status == "ok"


def test_the_bundled_profile_points_at_the_bundle_by_relative_names(
    tls: Tls, helm_double: HelmDouble, standin_images: StandinImages, tmp_path: Path
) -> None:
    folder = tmp_path / "bundle"
    assert result(bundle(standin_profile(tls, standin_images), folder)).ok
    copied = store.load(folder / f"{NAME}.toml")
    assert copied.helm.chart == "ai-gateway-0.1.1.tgz"
    assert copied.gateway.image_archive == f"model-gateway-{standin_images.tags['healthy']}.tar"
    assert copied.helm.local_chart and copied.helm.repo_name == ""  # air-gapped: no repo add
    assert copied.resolve(copied.helm.chart) == folder / "ai-gateway-0.1.1.tgz"
    assert copied.resolve(copied.gateway.image_archive).is_file()
    assert copied.tls.cert == str(tls.cert)  # the key stays where it is, named absolutely
    assert not any(
        "PRIVATE KEY" in path.read_text(errors="ignore")
        for path in folder.iterdir()
        if path.suffix != ".tar"
    )


def test_a_local_chart_is_copied_without_helm(
    tls: Tls, helm_double: HelmDouble, standin_images: StandinImages, tmp_path: Path
) -> None:
    chart = tmp_path / "charts" / "ai-gateway-0.2.0.tgz"
    chart.parent.mkdir()
    chart.write_bytes(b"a chart archive")
    profile = standin_profile(tls, standin_images, helm={"chart": str(chart)})
    folder = tmp_path / "bundle"
    assert result(bundle(profile, folder)).ok
    assert (folder / chart.name).read_bytes() == b"a chart archive"
    assert helm_double.calls() == []


def test_a_failing_chart_download_is_reported(
    tls: Tls, helm_double: HelmDouble, standin_images: StandinImages, tmp_path: Path
) -> None:
    helm_double.set_scenario(repo_add_exit=1)
    outcome = result(bundle(standin_profile(tls, standin_images), tmp_path / "bundle"))
    assert not outcome.ok and outcome.summary.startswith("cannot add the chart repository")
