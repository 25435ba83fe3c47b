"""Release-aware checks, called directly on injected facts, and their place in the check engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks_servers import context_for, listening_port
from tests.factories import docker_profile
from wizard.checks import release as checks
from wizard.checks.base import REGISTRY
from wizard.checks.engine import select_checks
from wizard.checks.host import CPUS_KEY, MACHINE_KEY
from wizard.tools.registry import Platform
from wizard.tools.tags import Platforms, TagResolution

CURRENT = {"version": "19.2.1"}


def test_the_check_engine_runs_the_release_checks_instead_of_the_host_rules() -> None:
    assert {entry[0] for entry in checks._PENDING} >= {"gateway.tag", "gateway.cpus", "docker.extra_hosts"}
    selected, _ = select_checks(docker_profile(gitlab=CURRENT))
    ids = {check.id for check in selected}
    assert {"gateway.tag", "gateway.cpus", "gateway.platform", "gateway.agent_platform_port", "docker.extra_hosts"} <= ids
    assert not ids & {"host.cpus", "host.arch"}  # superseded in a full run
    assert "gateway.agent_platform_port" in REGISTRY
    asked, _ = select_checks(docker_profile(), {"host.cpus"})
    assert [check.id for check in asked] == ["host.cpus"]  # still there when asked for by id


def test_cpus_fail_below_the_release_minimum() -> None:
    few = checks.cpus(context_for(docker_profile(gitlab=CURRENT), **{CPUS_KEY: 1}))
    assert few.status == "fail" and "needs 2" in few.detail
    assert checks.cpus(context_for(docker_profile(), **{CPUS_KEY: 1})).status == "pass"


def test_release_check_names_what_the_release_needs() -> None:
    current = checks.release(context_for(docker_profile(gitlab=CURRENT)))
    assert current.status == "pass" and "50052" in current.detail and "4 JWT keys" in current.detail
    legacy = checks.release(context_for(docker_profile()))
    assert legacy.status == "pass" and "50052" not in legacy.detail
    future = checks.release(context_for(docker_profile(gitlab={"version": "21.0.0"})))
    assert future.status == "warn" and "newer than the newest" in future.detail


@pytest.mark.parametrize(
    ("resolution", "status", "fragment"),
    [
        (TagResolution("self-hosted-v19.2.3-ee", "registry", ("registry r",)), "pass", "newest of its line in the registry"),
        (TagResolution("self-hosted-v19.2.1-ee", "exact", ("registry r",), "no self-hosted-v19.2.*-ee found in registry r"), "warn", "found in registry r"),
        (TagResolution("self-hosted-v19.2.1-ee", "pinned", (), "", "self-hosted-v19.2.3-ee"), "pass", "self-hosted-v19.2.3-ee is available"),
        (TagResolution("", "none", (), "set gitlab.version"), "fail", "set gitlab.version"),
    ],
)
def test_tag_check_shows_the_resolved_tag(resolution: TagResolution, status: str, fragment: str) -> None:
    result = checks.tag(context_for(docker_profile(gitlab=CURRENT), **{checks.RESOLUTION_KEY: resolution}))
    assert result.status == status and fragment in result.detail
    if resolution.tag:
        assert resolution.tag in result.detail


def test_agent_platform_port_only_for_releases_that_have_one() -> None:
    assert checks.agent_platform_port(context_for(docker_profile())).status == "skip"
    with listening_port() as port:
        taken = docker_profile(gitlab=CURRENT, gateway={"agent_platform_port": port})
        result = checks.agent_platform_port(context_for(taken))
    assert result.status == "fail" and str(port) in result.detail
    clash = docker_profile(gitlab=CURRENT, gateway={"port": 6000, "agent_platform_port": 6000})
    assert "also gateway.port" in checks.agent_platform_port(context_for(clash)).detail


@pytest.mark.parametrize(("version", "count", "status"), [("19.2.1", 1, "fail"), ("19.2.1", 2, "pass"), ("17.5.0", 1, "pass")])
def test_cpus_follow_the_release(version: str, count: int, status: str) -> None:
    result = checks.cpus(context_for(docker_profile(gitlab={"version": version}), **{CPUS_KEY: count}))
    assert result.status == status


def test_platform_from_the_image_not_a_rule() -> None:
    both = Platforms((Platform("linux", "amd64"), Platform("linux", "arm64")), "registry")
    arm = context_for(docker_profile(gitlab=CURRENT), **{MACHINE_KEY: "aarch64", checks.PLATFORMS_KEY: both})
    assert checks.image_platform(arm).status == "pass"
    amd_only = Platforms((Platform("linux", "amd64"),), "registry")
    fips = docker_profile(gitlab=CURRENT, gateway={"variant": "fips"})
    result = checks.image_platform(context_for(fips, **{MACHINE_KEY: "aarch64", checks.PLATFORMS_KEY: amd_only}))
    assert result.status == "fail" and "FIPS images are amd64 only" in result.detail
    unknown = Platforms((), "unknown", "no archive")
    assert checks.image_platform(context_for(fips, **{checks.PLATFORMS_KEY: unknown})).status == "warn"


def test_extra_hosts_offers_the_entry_a_container_needs(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.0.0.5 gitlab.corp.test gitlab # corp\n127.0.1.1 loopy.test\n")
    profile = docker_profile(gitlab={"url": "https://gitlab.corp.test"})
    result = checks.extra_hosts(context_for(profile, **{checks.HOSTS_FILE_KEY: str(hosts)}))
    assert result.status == "warn" and 'docker.extra_hosts = { "gitlab.corp.test" = "10.0.0.5" }' in result.remedy
    fixed = docker_profile(gitlab={"url": "https://gitlab.corp.test"}, docker={"extra_hosts": {"gitlab.corp.test": "10.0.0.5"}})
    assert checks.extra_hosts(context_for(fixed, **{checks.HOSTS_FILE_KEY: str(hosts)})).status == "pass"
    loopy = docker_profile(gitlab={"url": "https://loopy.test"})
    assert "loopback" in checks.extra_hosts(context_for(loopy, **{checks.HOSTS_FILE_KEY: str(hosts)})).detail
    dns = docker_profile(gitlab={"url": "https://gitlab.example.com"})
    assert checks.extra_hosts(context_for(dns, **{checks.HOSTS_FILE_KEY: str(hosts)})).status == "pass"


def test_tls_files_before_19_1_are_named_unused() -> None:
    tls = {"cert": "/c.crt", "key": "/c.key"}
    old = checks.native_tls(context_for(docker_profile(gitlab={"version": "19.0.2"}, tls=tls)))
    assert old.status == "warn" and "plain HTTP only" in old.detail and "proxy" in old.remedy
    new = checks.native_tls(context_for(docker_profile(gitlab=CURRENT, tls=tls)))
    assert new.status == "pass" and "HTTPS" in new.detail


def test_platform_of_a_compressed_archive_is_left_to_the_load_not_inflated(tmp_path: Path) -> None:
    import gzip

    archive = tmp_path / "gateway.tar.gz"
    with gzip.open(archive, "wb") as out:
        out.write(b"not a tar at all")  # reading it for its index would fail: it must not be read
    profile = docker_profile(gateway={"image_archive": str(archive), "tag": "self-hosted-v19.2.3-ee"})
    outcome = checks.image_platform(context_for(profile, **{MACHINE_KEY: "x86_64"}))
    assert outcome.status == "skip" and "compressed" in outcome.detail
