"""The doctor's pure parts: the log-signature catalogue, probe parsing and judging, the env findings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from tests.checks_servers import closed_port
from tests.factories import docker_profile, helm_profile
from tests.fake_gitlab import fake_gitlab
from wizard.doctor import docker as doctor_docker
from wizard.doctor import grpc_health, probe, signatures
from wizard.doctor.fields import facts
from wizard.doctor.findings import Finding, failed

NAME = "site"
SIGNATURE_LINES = {
    "jwks-empty": "ERROR: No keys founds in JWKS; are OIDC providers up?",
    "signature-failed": "ai_gateway.auth: Signature verification failed",
    "jwk-error": "jose.exceptions.JWKError: Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. MalformedFraming",
    "token-creation": "Token creation failed",
    "prefetch-keys": "duo_workflow_service: Could not prefetch keys",
}


# --- the catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize(("signature_id", "line"), SIGNATURE_LINES.items())
def test_each_known_line_is_recognised(signature_id: str, line: str) -> None:
    [hit] = [hit for hit in signatures.scan(["starting", line, "ready"]) if hit.signature.id == signature_id]
    assert hit.count == 1 and line[:60] in hit.example


def test_a_clean_log_has_no_hits() -> None:
    assert signatures.scan(["INFO starting", "INFO Uvicorn running on http://0.0.0.0:5052", "keys loaded"]) == []


def test_hits_are_counted_in_catalogue_order_and_examples_are_cleaned() -> None:
    lines = [SIGNATURE_LINES["token-creation"], "\x1b]0;owned\x07" + SIGNATURE_LINES["jwks-empty"], SIGNATURE_LINES["jwks-empty"]]
    hits = signatures.scan(lines)
    assert [hit.signature.id for hit in hits] == ["jwks-empty", "token-creation"]
    assert hits[0].count == 2
    assert all("\x1b" not in hit.example for hit in hits)


def test_empty_jwks_names_the_containers_reach_and_the_field() -> None:
    [finding] = signatures.findings_for(signatures.scan([SIGNATURE_LINES["jwks-empty"]]), NAME, "docker", "the container x")
    assert finding.status == "fail" and finding.field == "docker.extra_hosts"
    assert "cannot reach GitLab" in finding.detail
    assert "docker.extra_hosts" in finding.remedy and "gateway.ca_bundle" in finding.remedy
    assert f"aigw-wizard apply {NAME}" in finding.remedy


def test_on_helm_the_reach_field_is_the_gitlab_url() -> None:
    [finding] = signatures.findings_for(signatures.scan([SIGNATURE_LINES["jwks-empty"]]), NAME, "helm", "pod x")
    assert finding.field == "gitlab.url" and "docker.extra_hosts" not in finding.remedy


@pytest.mark.parametrize("signature_id", ["jwk-error", "token-creation"])
def test_key_errors_point_at_rotating_the_keys(signature_id: str) -> None:
    [finding] = signatures.findings_for(signatures.scan([SIGNATURE_LINES[signature_id]]), NAME, "docker", "c")
    assert finding.remedy == f"`aigw-wizard keys {NAME} --rotate`, then `aigw-wizard apply {NAME}`"


def test_findings_clean_what_they_quote() -> None:
    finding = Finding("x", "warn", "X", "a\x1b[2Jb", "c\x07")
    assert finding.detail == "a␛[2Jb" and finding.remedy == "c␇"
    assert failed([finding]) is False and failed([Finding("y", "fail", "Y", "")]) is True


# --- profile facts (the fields other helpers are adding) -------------------------------------------


def test_the_agent_platform_comes_with_gitlab_18() -> None:
    assert facts(docker_profile(gitlab={"version": "18.0.0"})).agent_platform
    assert not facts(docker_profile(gitlab={"version": "17.11.2"})).agent_platform
    assert facts(docker_profile(gitlab={"version": ""}, gateway={"tag": "self-hosted-v19.1.0-ee"})).agent_platform
    assert facts(docker_profile()).agent_platform_port == 50052


# --- the sidecar's output ---------------------------------------------------------------------------


def test_sidecar_output_is_parsed_per_endpoint() -> None:
    output = (
        "@@begin discovery\n{\"issuer\": \"http://g\", \"jwks_uri\": \"http://g/oauth/discovery/keys\"}\n@@stderr\n@@end discovery 0\n"
        "@@begin version\n\n@@stderr\nwget: server returned error: HTTP/1.1 401 Unauthorized\n@@end version 1\n"
        "@@begin jwks\n\n@@stderr\nwget: can't connect to remote host (127.0.0.1): Connection refused\n@@end jwks 1\n"
        "@@begin other\n\n@@stderr\nnote: TLS certificate validation not implemented\nwget: bad address 'gitlab.test'\n@@end other 1\n"
    )
    urls = {"discovery": "d", "version": "v", "jwks": "j", "other": "o"}
    parsed = probe.parse_sidecar(output, urls)
    assert parsed["discovery"].status == 200 and parsed["discovery"].body["jwks_uri"].endswith("/keys")
    assert parsed["version"].status == 401
    assert parsed["jwks"].status is None and "Connection refused" in parsed["jwks"].error
    assert parsed["other"].error == "bad address 'gitlab.test'"


# --- judging the probes ------------------------------------------------------------------------------


def _probes(discovery: probe.Probe, jwks: probe.Probe, version: probe.Probe) -> probe.ProbeSet:
    return probe.ProbeSet("test", discovery, jwks, version)


def test_a_reachable_gitlab_passes_all_three() -> None:
    found = doctor_docker.reach_findings(
        _probes(
            probe.Probe("d", 200, body={"issuer": "http://g", "jwks_uri": "j"}),
            probe.Probe("j", 200, body={"keys": 1}),
            probe.Probe("v", 401),
        ),
        docker_profile(), NAME,
    )
    assert [finding.status for finding in found] == ["pass", "pass", "pass", "pass"]
    assert found[0].id == "reach.method" and "probed from test" in found[0].detail


def test_an_unreachable_gitlab_names_the_reach_fields() -> None:
    refused = probe.Probe("http://127.0.0.1:9/.well-known/openid-configuration", error="Connection refused")
    found = doctor_docker.reach_findings(_probes(refused, probe.Probe("", error="no jwks_uri"), probe.Probe("v", error="Connection refused")), docker_profile(), NAME)
    discovery = next(finding for finding in found if finding.id == "reach.discovery")
    assert discovery.status == "fail" and discovery.field == "gitlab.url"
    assert "Connection refused" in discovery.detail and "is loopback" in discovery.detail


def test_an_untrusted_certificate_points_at_the_ca_bundle() -> None:
    bad = probe.Probe("https://g/x", error="SSLError: certificate verify failed")
    found = doctor_docker.reach_findings(_probes(bad, probe.Probe(""), bad), helm_profile(), NAME)
    assert {finding.field for finding in found if finding.status == "fail"} == {"gateway.ca_bundle"}


def test_an_empty_jwks_fails_even_when_reachable() -> None:
    found = doctor_docker.reach_findings(
        _probes(probe.Probe("d", 200, body={"jwks_uri": "j"}), probe.Probe("j", 200, body={"keys": 0}), probe.Probe("v", 200)),
        docker_profile(), NAME,
    )
    assert next(finding for finding in found if finding.id == "reach.jwks").status == "fail"


# --- the probe script the image's own Python runs ---------------------------------------------------


def _run_python_probe(base: str, env: dict[str, str]) -> dict[str, object]:
    pytest.importorskip("requests")
    done = subprocess.run(
        [sys.executable, "-c", probe._PYTHON_PROBE, base, f"{base}/api/v4/"],
        capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin", **env}, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_python_probe_fetches_discovery_jwks_and_version() -> None:
    with fake_gitlab() as gitlab:
        data = _run_python_probe(gitlab.url, {})
        paths = gitlab.state.paths()
    assert data["discovery"]["status"] == 200
    assert data["jwks"]["body"] == {"keys": 1}
    assert data["version"]["status"] == 401
    assert paths == ["/.well-known/openid-configuration", "/oauth/discovery/keys", "/api/v4/version"]


def test_the_python_probe_uses_the_containers_ca_variables(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "bundle.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with fake_gitlab(ca) as gitlab:
        trusted = _run_python_probe(gitlab.url, {"REQUESTS_CA_BUNDLE": str(bundle)})
        untrusted = _run_python_probe(gitlab.url, {"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"})
    assert trusted["jwks"]["body"] == {"keys": 1}
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted["discovery"]["error"]


def test_probing_from_the_host_trusts_only_the_bundle(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "bundle.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with fake_gitlab(ca) as gitlab:
        good = probe.from_host(gitlab.url, f"{gitlab.url}/api/v4/", bundle)
        bad = probe.from_host(gitlab.url, f"{gitlab.url}/api/v4/", None)
    assert good.jwks.body == {"keys": 1} and good.version.status == 401
    assert "certificate not trusted" in bad.discovery.error
    assert "name resolution is this host's" in good.caveat


# --- the environment: names only --------------------------------------------------------------------

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def test_key_variables_are_judged_without_showing_values() -> None:
    known = facts(docker_profile(gitlab={"version": "18.6.0"}))
    env = {name: PEM for name in doctor_docker.KEY_VARIABLES + doctor_docker.AGENT_KEY_VARIABLES}
    assert doctor_docker._keys(env, known, NAME)[0].status == "pass"
    env["AIGW_SELF_SIGNED_JWT__SIGNING_KEY"] = "secret-not-a-pem-value"
    [finding] = doctor_docker._keys(env, known, NAME)
    assert finding.status == "fail" and "AIGW_SELF_SIGNED_JWT__SIGNING_KEY" in finding.detail
    assert "secret-not-a-pem-value" not in json.dumps(finding.to_dict()) and "MIIE" not in json.dumps(finding.to_dict())
    assert "--rotate" in finding.remedy


def test_an_empty_portal_variable_fails_and_offline_needs_both_at_gitlab() -> None:
    profile = docker_profile()
    known = facts(profile)
    [empty] = doctor_docker._portal({"DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL": ""}, profile, known, NAME)
    assert empty.status == "fail" and "crashes" in empty.detail
    offline = type(known)(known.agent_platform, known.agent_platform_port, True, {})
    [wrong] = doctor_docker._portal({"AIGW_CUSTOMER_PORTAL_URL": profile.gitlab.url}, profile, offline, NAME)
    assert wrong.status == "fail" and "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL" in wrong.detail
    both = {name: profile.gitlab.url for name in doctor_docker.PORTAL_VARIABLES}
    assert doctor_docker._portal(both, profile, offline, NAME)[0].status == "pass"


@pytest.mark.parametrize(
    ("error", "field", "words"),
    [
        ("bad address 'gitlab.test'", "docker.extra_hosts", "add gitlab.test with GitLab's address to docker.extra_hosts"),
        ("NameResolutionError: Failed to resolve 'gitlab.test'", "docker.extra_hosts", "docker.extra_hosts"),
        ("SSLError: [SSL: CERTIFICATE_VERIFY_FAILED]", "gateway.ca_bundle", "public roots and GitLab's CA"),
        ("ConnectTimeout: timed out", "gateway.extra_env", "HTTPS_PROXY"),
        ("can't connect to remote host (10.0.0.5): Connection refused", "docker.extra_hosts", "check the port in gitlab.url"),
    ],
)
def test_each_cause_of_no_reach_has_its_own_fix(error: str, field: str, words: str) -> None:
    failing = probe.Probe("http://gitlab.test:8080/.well-known/openid-configuration", error=error)
    found = doctor_docker.reach_findings(_probes(failing, probe.Probe(""), failing), docker_profile(), NAME)
    discovery = next(finding for finding in found if finding.id == "reach.discovery")
    assert discovery.field == field and words in discovery.remedy
    assert discovery.remedy.endswith(f"then `aigw-wizard apply {NAME}`")


def test_a_path_or_a_wrong_answer_points_at_the_gitlab_url() -> None:
    found = doctor_docker.reach_findings(
        _probes(probe.Probe("http://g/gitlab/.well-known/openid-configuration", 404), probe.Probe(""), probe.Probe("v", 401)),
        docker_profile(), NAME,
    )
    discovery = next(finding for finding in found if finding.id == "reach.discovery")
    assert discovery.field == "gitlab.url" and "relative URL root" in discovery.remedy


def test_probing_from_the_host_is_a_warning_that_says_so() -> None:
    found = doctor_docker.reach_findings(probe.ProbeSet("this host (no way in)", probe.Probe("d", 200, body={"jwks_uri": "j"}), probe.Probe("j", 200, body={"keys": 1}), probe.Probe("v", 401), "name resolution is this host's"), docker_profile(), NAME)
    assert found[0].status == "warn" and "name resolution is this host's" in found[0].detail


def test_the_client_connects_where_the_containers_hosts_say_and_checks_the_name(tmp_path: Path) -> None:
    """gitlab.aigwh7.test resolves nowhere (the test guard refuses DNS): only the mapping finds it."""
    ca = trustme.CA()
    with fake_gitlab(ca, host="gitlab.aigwh7.test") as gitlab:
        mapped = probe.from_host(gitlab.url, f"{gitlab.url}/api/v4/", None, cadata=ca.cert_pem.bytes().decode(), addresses={"gitlab.aigwh7.test": "127.0.0.1"})
        unmapped = probe.from_host(gitlab.url, f"{gitlab.url}/api/v4/", None, cadata=ca.cert_pem.bytes().decode())
    assert mapped.jwks.body == {"keys": 1} and mapped.version.status == 401
    assert "container's /etc/hosts" in mapped.caveat
    assert unmapped.discovery.status is None and unmapped.discovery.error


# --- gRPC health over h2c -----------------------------------------------------------------------------



def _h2_server(reply: bytes) -> tuple[int, list[bytes], object]:
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(2)
            data = b""
            while b"\x00\x00\x05\x00\x01\x00\x00\x00\x01" not in data:  # the request's DATA frame
                chunk = connection.recv(4096)
                if not chunk:
                    break
                data += chunk
            received.append(data)
            connection.sendall(reply)
            try:
                connection.recv(4096)  # the client's SETTINGS ack, or its close
            except OSError:
                pass
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], received, thread


def _answer(status: int) -> bytes:
    f = grpc_health.frame
    return (
        f(grpc_health.SETTINGS, 0, 0)
        + f(grpc_health.HEADERS, grpc_health.END_HEADERS, 1, b"\x88")
        + f(grpc_health.DATA, 0, 1, b"\x00\x00\x00\x00\x02\x08" + bytes([status]))
        + f(grpc_health.HEADERS, grpc_health.END_HEADERS | grpc_health.END_STREAM, 1, b"\x00\x0bgrpc-status\x010")
    )


@pytest.mark.parametrize(("status", "word"), [(1, "SERVING"), (2, "NOT_SERVING"), (3, "SERVICE_UNKNOWN")])
def test_grpc_health_reads_the_status(status: int, word: str) -> None:
    port, received, thread = _h2_server(_answer(status))
    health = grpc_health.check("127.0.0.1", port)
    thread.join(3)  # type: ignore[attr-defined]
    assert health.status == word and health.serving is (status == 1)
    [request] = received
    assert request.startswith(grpc_health.PREFACE)
    assert b"/grpc.health.v1.Health/Check" in request and b"application/grpc" in request


def test_grpc_health_says_when_no_grpc_answers() -> None:
    port, _received, thread = _h2_server(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    health = grpc_health.check("127.0.0.1", port, timeout=2)
    thread.join(3)  # type: ignore[attr-defined]
    assert health.status == "" and health.problem
    with closed_port() as port:
        assert "refused" in grpc_health.check("127.0.0.1", port, timeout=1).problem.lower()


def test_an_engine_error_midway_is_one_failing_finding_not_a_traceback() -> None:
    from types import SimpleNamespace

    import docker

    def refuse(_name: str) -> None:
        raise docker.errors.APIError("500 Server Error", explanation="\x1b[2Jdaemon is shutting down")

    client = SimpleNamespace(ping=lambda: True, containers=SimpleNamespace(get=refuse))
    [finding] = doctor_docker.diagnose(docker_profile(), NAME, client=client)  # type: ignore[arg-type]
    assert finding.id == "engine" and finding.status == "fail"
    assert "daemon is shutting down" in finding.detail and "\x1b" not in finding.detail
