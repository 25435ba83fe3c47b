"""Host minimums, judged on injected facts (and a sanity look at the real readers)."""

from __future__ import annotations

import pytest

from tests.checks_servers import context_for, make_profile, run_one
from wizard.checks.host import (
    CPUS_KEY,
    DISK_FREE_KEY,
    DOCKER_ROOT_KEY,
    MACHINE_KEY,
    MEMORY_KEY,
    GiB,
    MiB,
    total_memory,
    usable_cpus,
)

DOCKER = make_profile({"target": "docker"})


def host_check(check_id: str, **facts: object):
    return run_one(check_id, context_for(DOCKER, **facts))


@pytest.mark.parametrize(
    ("memory", "status"),
    [(256 * MiB, "fail"), (512 * MiB - 1, "fail"), (512 * MiB, "warn"), (2 * GiB - 1, "warn"), (2 * GiB, "pass")],
)
def test_memory_thresholds(memory, status):
    result = host_check("host.memory", **{MEMORY_KEY: memory})
    assert result.status == status
    if status != "pass":
        assert "memory" in result.remedy


def test_memory_fail_says_how_much_is_needed():
    result = host_check("host.memory", **{MEMORY_KEY: 256 * MiB})
    assert "256 MiB" in result.detail and "512 MiB" in result.detail


@pytest.mark.parametrize(("machine", "status"), [("x86_64", "pass"), ("AMD64", "pass"), ("aarch64", "fail"), ("arm64", "fail")])
def test_architecture(machine, status):
    result = host_check("host.arch", **{MACHINE_KEY: machine})
    assert result.status == status
    if status == "fail":
        assert "linux/amd64" in result.detail and "amd64" in result.remedy


@pytest.mark.parametrize(("cpus", "status"), [(1, "warn"), (2, "pass"), (16, "pass")])
def test_cpus(cpus, status):
    result = host_check("host.cpus", **{CPUS_KEY: cpus})
    assert result.status == status
    assert (result.remedy != "") == (status == "warn")


@pytest.mark.parametrize(("free", "status"), [(1 * GiB, "fail"), (3 * GiB, "warn"), (20 * GiB, "pass")])
def test_disk_thresholds(free, status):
    result = host_check("host.disk", **{DISK_FREE_KEY: free, DOCKER_ROOT_KEY: "/var/lib/docker"})
    assert result.status == status
    assert "/var/lib/docker" in result.detail
    if status != "pass":
        assert "docker system prune" in result.remedy


def test_disk_when_the_engines_data_dir_is_out_of_sight(tmp_path):
    result = host_check("host.disk", **{DOCKER_ROOT_KEY: str(tmp_path / "elsewhere")})
    assert result.status == "warn"
    assert "elsewhere" in result.detail and result.remedy


def test_disk_skips_without_an_engine():
    context = context_for(DOCKER, environ={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    result = run_one("host.disk", context)
    assert result.status == "skip" and "docker.engine" in result.detail


def test_the_real_readers_give_plausible_numbers():
    assert total_memory() > 64 * MiB
    assert usable_cpus() >= 1


def test_host_checks_are_for_docker_only():
    helm = make_profile({"target": "helm"})
    result = run_one("host.memory", context_for(helm, **{MEMORY_KEY: 1}))
    assert result.status == "skip"
