"""Gateway host name, its DNS (through an injected resolver), and the host port."""

from __future__ import annotations

import os
import socket
import time

import pytest

from tests.checks_servers import (
    context_for,
    listening_port,
    make_profile,
    refused_docker_host,
    run_one,
)
from wizard.core.spec import LABEL_PROFILE

NAME = "aigw.example.test"


def profile_for(hostname=NAME, target="docker", port=5052):
    return make_profile({"target": target, "gateway": {"hostname": hostname, "port": port}})


def resolver(table):
    def resolve(host):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


# --- gateway.hostname -----------------------------------------------------------------------


def test_hostname_set_and_valid():
    assert run_one("gateway.hostname", context_for(profile_for())).status == "pass"


def test_hostname_missing():
    result = run_one("gateway.hostname", context_for(profile_for("")))
    assert result.status == "fail" and "gateway.hostname" in result.remedy


def test_an_ip_is_fine_for_docker_but_not_for_an_ingress():
    assert run_one("gateway.hostname", context_for(profile_for("10.1.2.3"))).status == "pass"
    helm = run_one("gateway.hostname", context_for(profile_for("10.1.2.3", target="helm")))
    assert helm.status == "fail" and "DNS name" in helm.remedy


# --- gateway.dns ----------------------------------------------------------------------------


def test_dns_resolves():
    result = run_one("gateway.dns", context_for(profile_for(), resolver=resolver({NAME: ["10.1.2.3", "fd00::3"]})))
    assert result.status == "pass" and "10.1.2.3" in result.detail


def test_dns_does_not_resolve():
    result = run_one("gateway.dns", context_for(profile_for(), resolver=resolver({})))
    assert result.status == "fail" and f"add a DNS record for {NAME}" in result.remedy
    assert result.field == "gateway.hostname"


def test_dns_to_loopback_warns():
    result = run_one("gateway.dns", context_for(profile_for(), resolver=resolver({NAME: ["127.0.1.1"]})))
    assert result.status == "warn" and "/etc/hosts" in result.remedy


def test_an_address_needs_no_lookup():
    def forbidden(host):
        raise AssertionError("no lookup expected")

    result = run_one("gateway.dns", context_for(profile_for("10.1.2.3"), resolver=forbidden))
    assert result.status == "pass"


def test_a_hanging_resolver_is_bounded():
    def hang(host):
        time.sleep(10)
        return []

    started = time.monotonic()
    result = run_one("gateway.dns", context_for(profile_for(), resolver=hang))
    assert time.monotonic() - started < 2.9
    assert result.status == "fail" and "no DNS answer" in result.detail
    assert "resolv.conf" in result.remedy and "gateway.hostname" in result.remedy


def test_the_real_resolver_reports_a_failed_lookup():
    # The test guard answers for DNS here: names outside /etc/hosts never reach a server.
    result = run_one("gateway.dns", context_for(profile_for("aigw.invalid")))
    assert result.status == "fail"


# --- gateway.port ---------------------------------------------------------------------------


def test_a_free_port_passes():
    result = run_one("gateway.port", context_for(profile_for(port=free_port())))
    assert result.status == "pass"


def test_a_port_in_use_fails_with_a_remedy():
    with listening_port() as port:
        context = context_for(profile_for(port=port), environ=refused_docker_host())
        result = run_one("gateway.port", context)
    assert result.status == "fail" and f"port {port}" in result.detail
    assert "gateway.port" in result.remedy and f"sport = :{port}" in result.remedy
    assert result.field == "gateway.port"


def test_port_is_a_docker_only_check():
    assert run_one("gateway.port", context_for(profile_for(target="helm"))).status == "skip"


@pytest.mark.docker
def test_our_own_container_may_hold_the_port(docker_cleanup, standin_images):
    port = free_port()
    docker_cleanup.run(
        standin_images.healthy,
        labels={LABEL_PROFILE: "mine"},
        ports={"5052/tcp": ("127.0.0.1", port)},
        environment={"AIGW_GITLAB_URL": "http://gitlab.example.test"},
    )
    time.sleep(0.3)  # let the engine publish the port
    environ = dict(os.environ)
    ours = run_one("gateway.port", context_for(profile_for(port=port), environ=environ, name="mine"))
    assert ours.status == "pass" and "this profile's container" in ours.detail
    theirs = run_one("gateway.port", context_for(profile_for(port=port), environ=environ, name="other"))
    assert theirs.status == "fail" and "container" in theirs.detail
