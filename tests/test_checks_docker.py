"""Docker engine and image checks: without an engine (refused DOCKER_HOST, synthetic archives)
and, under the `docker` marker, against the real engine with stand-in images."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import tarfile
import time

import pytest

from tests.checks_servers import black_hole, context_for, make_profile, refused_docker_host, run_one
from wizard.checks.docker import normalized_ref, registry_host

STANDIN = "aigw-test/model-gateway"
TAG = "self-hosted-v17.5.0-ee"


def image_profile(image=STANDIN, tag=TAG, archive="", version=""):
    return make_profile(
        {"target": "docker", "gitlab": {"version": version}, "gateway": {"image": image, "tag": tag, "image_archive": str(archive)}}
    )


def write_save_archive(path, repo_tags, *, compress=False, with_index=True):
    """A minimal `docker save` layout: manifest.json and repositories naming `repo_tags`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        members = {"blobs/sha256/abc": b"layer"}
        if with_index:
            members["manifest.json"] = json.dumps([{"Config": "blobs/sha256/abc", "RepoTags": repo_tags, "Layers": []}]).encode()
            repositories: dict[str, dict[str, str]] = {}
            for ref in repo_tags:
                repo, _, tag = ref.rpartition(":")
                repositories.setdefault(repo, {})[tag] = "abc"
            members["repositories"] = json.dumps(repositories).encode()
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def resolver(known):
    def resolve(host):
        if host not in known:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["10.9.8.7"]

    return resolve


# --- references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "host"),
    [
        ("registry.gitlab.com/group/image", "registry.gitlab.com"),
        ("localhost:5000/image", "localhost:5000"),
        ("mirror:5000/image", "mirror:5000"),
        ("group/image", "docker.io"),
        ("busybox", "docker.io"),
    ],
)
def test_registry_host(repository, host):
    assert registry_host(repository) == host


def test_normalized_refs_compare_like_the_engine():
    assert normalized_ref("busybox") == normalized_ref("docker.io/library/busybox:latest")
    assert normalized_ref("aigw-test/model-gateway:x") == "docker.io/aigw-test/model-gateway:x"
    assert normalized_ref("localhost:5000/a:b") == "localhost:5000/a:b"


# --- docker.image without an engine ---------------------------------------------------------


def test_an_archive_holding_the_image_passes_without_any_engine(tmp_path):
    archive = write_save_archive(tmp_path / "gw.tar", [f"{STANDIN}:{TAG}"])
    result = run_one("docker.image", context_for(image_profile(archive=archive), environ=refused_docker_host()))
    assert result.status == "pass" and "without contacting any registry" in result.detail


def test_a_compressed_archive_is_left_to_the_load_not_inflated_twice(tmp_path):
    archive = write_save_archive(tmp_path / "gw.tar.gz", [f"docker.io/{STANDIN}:{TAG}"], compress=True)
    result = run_one("docker.image", context_for(image_profile(archive=archive)))
    assert result.status == "pass" and "checked while it loads" in result.detail


def test_a_compressed_file_that_holds_no_tar_fails(tmp_path):
    archive = tmp_path / "gw.tar.gz"
    archive.write_bytes(gzip.compress(b"no tar in here\n" * 100))
    result = run_one("docker.image", context_for(image_profile(archive=archive)))
    assert result.status == "fail" and "not a readable `docker save` archive" in result.detail


def test_an_archive_of_another_tag_fails_and_lists_what_it_holds(tmp_path):
    archive = write_save_archive(tmp_path / "gw.tar", [f"{STANDIN}:self-hosted-v17.4.0-ee"])
    result = run_one("docker.image", context_for(image_profile(archive=archive)))
    assert result.status == "fail" and "self-hosted-v17.4.0-ee" in result.detail
    assert result.field == "gateway.image_archive" and "gateway.tag" in result.remedy


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"just text\n", "not a readable `docker save` archive"), (None, "not one made by `docker save`")],
)
def test_archives_that_are_not_docker_save(tmp_path, content, words):
    path = tmp_path / "x.tar"
    if content is None:
        write_save_archive(path, [], with_index=False)
    else:
        path.write_bytes(content)
    result = run_one("docker.image", context_for(image_profile(archive=path)))
    assert result.status == "fail" and words in result.detail and "gateway.image_archive" in result.remedy


def test_a_missing_archive(tmp_path):
    result = run_one("docker.image", context_for(image_profile(archive=tmp_path / "none.tar")))
    assert result.status == "fail" and "does not exist" in result.detail


def test_no_tag_at_all():
    result = run_one("docker.image", context_for(image_profile(tag="", version="")))
    assert result.status == "fail" and result.field == "gateway.tag" and "gitlab.version" in result.remedy


def test_a_registry_reference_only_needs_its_host_to_resolve():
    profile = image_profile(image="registry.example.test/group/model-gateway")
    ok = run_one("docker.image", context_for(profile, environ=refused_docker_host(), resolver=resolver({"registry.example.test"})))
    assert ok.status == "pass" and "will be pulled from registry.example.test" in ok.detail
    assert "could not look in the engine" in ok.detail
    bad = run_one("docker.image", context_for(profile, environ=refused_docker_host(), resolver=resolver(set())))
    assert bad.status == "fail" and "gateway.image_archive" in bad.remedy and bad.field == "gateway.image"


# --- docker.engine without an engine --------------------------------------------------------


def test_no_engine_listening():
    result = run_one("docker.engine", context_for(image_profile(), environ=refused_docker_host()))
    assert result.status == "fail" and "no Docker engine is listening" in result.detail
    assert "systemctl start docker" in result.remedy


def test_an_engine_that_never_answers():
    with black_hole() as port:
        started = time.monotonic()
        result = run_one("docker.engine", context_for(image_profile(), environ={"DOCKER_HOST": f"tcp://127.0.0.1:{port}"}))
    assert result.status == "fail" and result.remedy
    assert time.monotonic() - started < 2.9


# --- with the real engine -------------------------------------------------------------------


def real_engine_context(profile, **overrides):
    return context_for(profile, environ=dict(os.environ), **overrides)


@pytest.mark.docker
def test_engine_version(docker_client):
    result = run_one("docker.engine", real_engine_context(image_profile()))
    assert result.status == "pass" and result.detail.startswith("Docker Engine ")


@pytest.mark.docker
def test_an_image_present_in_the_engine(standin_images):
    result = run_one("docker.image", real_engine_context(image_profile()))
    assert result.status == "pass" and "present in the engine" in result.detail


@pytest.mark.docker
def test_the_real_saved_archive(image_archive, standin_images):
    good = run_one("docker.image", context_for(image_profile(archive=image_archive)))
    assert good.status == "pass", good
    other = run_one("docker.image", context_for(image_profile(tag="self-hosted-v99.0.0-ee", archive=image_archive)))
    assert other.status == "fail" and f"{STANDIN}:{TAG}" in other.detail


@pytest.mark.docker
def test_an_absent_image_falls_back_to_the_registry_reference(docker_client):
    profile = image_profile(image="localhost:5999/absent/model-gateway")
    result = run_one("docker.image", real_engine_context(profile))
    assert result.status == "pass" and "will be pulled from localhost:5999" in result.detail
    assert "could not look" not in result.detail


@pytest.mark.docker
def test_disk_space_where_the_engine_keeps_images(docker_client):
    root = docker_client.info()["DockerRootDir"]
    result = run_one("host.disk", real_engine_context(image_profile()))
    assert root in result.detail and result.status in ("pass", "warn", "fail")
