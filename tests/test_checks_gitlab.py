"""GitLab URLs, the API answering, and TLS trust, against fake GitLabs on 127.0.0.1."""

from __future__ import annotations

import json
import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest
import trustme

from tests.checks_servers import (
    black_hole,
    closed_port,
    context_for,
    fake_gitlab,
    make_profile,
    run_one,
    self_signed,
    server_context,
    trustme_server_context,
)

TOKEN = "glpat-test-token-0123456789"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def gitlab_context(url, *, version="17.5.0", ca_bundle=None, token="", api_url="", tag=""):
    profile = make_profile(
        {
            "target": "docker",
            "gitlab": {"url": url, "version": version, "api_url": api_url},
            "gateway": {"ca_bundle": str(ca_bundle) if ca_bundle else "", "tag": tag},
        }
    )
    return context_for(profile, environ={"GITLAB_TOKEN": token} if token else {})


# --- gitlab.url / gitlab.api_url ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("", "fail", "not set"),
        ("https://localhost:8443", "warn", "loopback"),
        ("https://127.0.0.1", "warn", "loopback"),
        ("http://gitlab.example.test", "warn", "plain HTTP"),
        # a pasted API root is cut back when the profile loads (#16): nothing left to warn about
        ("https://gitlab.example.test/api/v4/", "pass", "https://gitlab.example.test"),
        ("https://gitlab.example.test", "pass", "gitlab.example.test"),
        ("https://example.test/gitlab", "pass", "/gitlab"),
    ],
)
def test_url_form(url, status, words):
    result = run_one("gitlab.url", gitlab_context(url))
    assert result.status == status and words in result.detail
    if status != "pass":
        assert "gitlab.url" in result.remedy and result.field == "gitlab.url"


def test_api_url_derived_same_host_or_different():
    derived = run_one("gitlab.api_url", gitlab_context("https://gitlab.example.test"))
    assert derived.status == "pass" and "derived" in derived.detail
    same = run_one("gitlab.api_url", gitlab_context("https://gitlab.example.test", api_url="https://gitlab.example.test/api/v4/"))
    assert same.status == "pass"
    other = run_one("gitlab.api_url", gitlab_context("https://gitlab.example.test", api_url="https://api.example.test/api/v4/"))
    assert other.status == "warn" and "gitlab.api_url" in other.remedy


# --- gitlab.reachable -----------------------------------------------------------------------


def test_a_401_without_token_proves_a_gitlab_api():
    with fake_gitlab() as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url))
    assert result.status == "pass" and "401" in result.detail and "GITLAB_TOKEN" in result.detail


def test_with_the_token_the_version_is_read_and_matches():
    with fake_gitlab(token=TOKEN) as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN))
        [(path, headers)] = gitlab.requests
    assert path == "/api/v4/version" and headers.get("PRIVATE-TOKEN") == TOKEN
    assert result.status == "pass" and "17.5.0" in result.detail
    assert TOKEN not in json.dumps(result.to_dict())


def test_a_version_mismatch_warns_and_names_the_field():
    with fake_gitlab(token=TOKEN, version="17.6.2-ee") as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN))
        by_tag = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN, tag="self-hosted-v17.5.0-ee"))
    assert result.status == "warn" and "17.6.2" in result.detail and "17.5.0" in result.detail
    assert result.field == "gitlab.version" and 'gitlab.version = "17.6.2"' in result.remedy
    assert by_tag.field == "gateway.tag" and "self-hosted-v17.6.2-ee" in by_tag.remedy


def test_no_version_in_the_profile_suggests_the_reported_one():
    with fake_gitlab(token=TOKEN) as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN, version="", tag=""))
    assert result.status == "warn" and 'gitlab.version = "17.5.0"' in result.remedy


def test_a_refused_token_warns_without_showing_it():
    with fake_gitlab(token="the-right-one") as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN))
    assert result.status == "warn" and "read_api" in result.remedy
    assert TOKEN not in json.dumps(result.to_dict())


def test_something_that_is_not_gitlabs_api_fails():
    with fake_gitlab() as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, api_url=f"{gitlab.url}/elsewhere/api/v4/"))
    assert result.status == "fail" and "404" in result.detail
    assert result.field == "gitlab.api_url" and "gitlab.api_url" in result.remedy


def test_a_closed_port_is_refused_with_a_remedy():
    with closed_port() as port:
        result = run_one("gitlab.reachable", gitlab_context(f"http://127.0.0.1:{port}"))
    assert result.status == "fail" and "connection refused" in result.detail
    assert "gitlab.url" in result.remedy


def test_a_name_that_does_not_resolve():
    result = run_one("gitlab.reachable", gitlab_context("https://gitlab.invalid"))
    assert result.status == "fail" and "does not resolve" in result.detail


def test_a_black_hole_fails_within_the_timeout():
    with black_hole() as port:
        started = time.monotonic()
        result = run_one("gitlab.reachable", gitlab_context(f"https://127.0.0.1:{port}"))
        elapsed = time.monotonic() - started
    assert result.status == "fail" and elapsed < 2.9
    assert "within" in result.detail and "firewalls" in result.remedy


def test_an_untrusted_certificate_still_shows_the_api_but_never_gets_the_token(ca):
    with fake_gitlab(trustme_server_context(ca, "localhost"), token=TOKEN) as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN))
        sent = [headers.get("PRIVATE-TOKEN") for _path, headers in gitlab.requests]
    assert result.status == "warn" and "gitlab.tls" in result.detail
    assert result.field == "gateway.ca_bundle"
    assert TOKEN not in sent


def test_with_the_ca_bundle_the_token_goes_and_the_version_is_read(ca, ca_file):
    with fake_gitlab(trustme_server_context(ca, "localhost"), token=TOKEN) as gitlab:
        result = run_one("gitlab.reachable", gitlab_context(gitlab.url, token=TOKEN, ca_bundle=ca_file))
    assert result.status == "pass" and "17.5.0" in result.detail


# --- gitlab.tls -----------------------------------------------------------------------------


def test_private_ca_without_bundle_names_the_issuer_and_the_fix(ca):
    with fake_gitlab(trustme_server_context(ca, "localhost")) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url))
    assert result.status == "fail" and "unknown CA" in result.detail
    assert "trustme" in result.detail  # the presented certificate's issuer
    assert "set gateway.ca_bundle" in result.remedy and f"-connect localhost:{gitlab.port}" in result.remedy
    assert result.field == "gateway.ca_bundle"


def test_with_the_bundle_it_verifies(ca, ca_file):
    with fake_gitlab(trustme_server_context(ca, "localhost")) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url, ca_bundle=ca_file))
    assert result.status == "pass" and "gateway.ca_bundle" in result.detail


def test_a_bundle_missing_the_right_ca_says_add_it(ca, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with fake_gitlab(trustme_server_context(ca, "localhost")) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url, ca_bundle=other))
    assert result.status == "fail" and f">> {other}" in result.remedy


def test_self_signed_and_the_remedy_that_fixes_it(tmp_path):
    cert, key = self_signed("localhost", common_name="gitlab self-signed")
    with fake_gitlab(server_context(cert, key, tmp_path)) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url))
        assert result.status == "fail" and "self-signed" in result.detail
        assert "gitlab self-signed" in result.detail
        assert f"-connect localhost:{gitlab.port}" in result.remedy and "set gateway.ca_bundle" in result.remedy
        # Following the remedy: the saved certificate in the bundle makes it pass.
        bundle = tmp_path / "ca-bundle.pem"
        bundle.write_bytes(cert)
        fixed = run_one("gitlab.tls", gitlab_context(gitlab.url, ca_bundle=bundle))
    assert fixed.status == "pass"


def test_hostname_mismatch_points_at_gitlab_url(ca, ca_file):
    with fake_gitlab(trustme_server_context(ca, "gitlab.other.test")) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url, ca_bundle=ca_file))
    assert result.status == "fail" and "hostname mismatch" in result.detail
    assert "gitlab.other.test" in result.detail and result.field == "gitlab.url"
    assert "gitlab.url" in result.remedy


def test_expired_gitlab_certificate(ca, ca_file):
    now = datetime.now(UTC)
    tls = trustme_server_context(ca, "localhost", not_before=now - timedelta(days=60), not_after=now - timedelta(days=1))
    with fake_gitlab(tls) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url, ca_bundle=ca_file))
    assert result.status == "fail" and "expired" in result.detail and "renew" in result.remedy


def test_plain_http_is_skipped_and_a_plain_port_under_https_explained():
    with fake_gitlab() as gitlab:
        assert run_one("gitlab.tls", gitlab_context(gitlab.url)).status == "skip"
        wrong = run_one("gitlab.tls", gitlab_context(gitlab.url.replace("http:", "https:")))
    assert wrong.status == "fail" and "TLS" in wrong.detail and "scheme" in wrong.remedy


def test_tls_to_a_closed_port_and_a_black_hole():
    with closed_port() as port:
        refused = run_one("gitlab.tls", gitlab_context(f"https://127.0.0.1:{port}"))
    assert refused.status == "fail" and "refused" in refused.detail
    with black_hole() as port:
        silent = run_one("gitlab.tls", gitlab_context(f"https://127.0.0.1:{port}"))
    assert silent.status == "fail" and silent.remedy


def test_an_unreadable_bundle_defers_to_its_own_check(ca, tmp_path):
    with fake_gitlab(trustme_server_context(ca, "localhost")) as gitlab:
        result = run_one("gitlab.tls", gitlab_context(gitlab.url, ca_bundle=tmp_path / "missing.pem"))
    assert result.status == "skip" and "gateway.ca_bundle" in result.detail


def test_the_server_side_helpers_use_real_tls(ca):
    # Sanity: the fake really serves TLS, so the checks above test what they claim.
    with fake_gitlab(trustme_server_context(ca, "localhost")) as gitlab:
        client = ssl.create_default_context()
        ca.configure_trust(client)
        import http.client

        connection = http.client.HTTPSConnection("localhost", gitlab.port, context=client, timeout=2)
        connection.request("GET", "/api/v4/version")
        assert connection.getresponse().status == 401
        connection.close()
