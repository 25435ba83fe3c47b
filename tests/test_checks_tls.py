"""The gateway's certificate, key and CA bundle, on certificates made for each test."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from tests.checks_servers import (
    context_for,
    encrypt_key,
    make_profile,
    run_all,
    self_signed,
    write_leaf,
)
from wizard.checks.tls import inspect_tls, name_matches

HOST = "aigw.example.test"
TLS_IDS = {"tls.files", "tls.pair", "tls.hostname", "tls.expiry", "tls.key_encrypted"}
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def by_id(results):
    return {result.id: result for result in results}


def check_files(cert, key, hostname=HOST, target="helm"):
    profile = make_profile(
        {"target": target, "gateway": {"hostname": hostname}, "tls": {"cert": str(cert) if cert else "", "key": str(key) if key else ""}}
    )
    return run_all(TLS_IDS, context_for(profile))


def test_a_good_pair_passes_everything(ca, tmp_path):
    files = write_leaf(ca, tmp_path, HOST)
    results = check_files(files.cert, files.key)
    assert {r.status for r in results.values()} == {"pass"}, results


# --- tls.files ------------------------------------------------------------------------------


def test_missing_files_fail_once_and_the_rest_skip(tmp_path):
    results = check_files(tmp_path / "nope.crt", tmp_path / "nope.key")
    assert results["tls.files"].status == "fail"
    assert "does not exist" in results["tls.files"].detail
    assert results["tls.files"].field == "tls.cert"
    assert "tls.cert" in results["tls.files"].remedy
    for check_id in TLS_IDS - {"tls.files"}:
        assert results[check_id].status == "skip", results[check_id]


def test_directory_fifo_and_oversized_files_are_refused(ca, tmp_path):
    good = write_leaf(ca, tmp_path, HOST)
    fifo = tmp_path / "pipe.crt"
    os.mkfifo(fifo)  # opening it would block: the check must not even try
    big = tmp_path / "big.crt"
    big.write_bytes(good.cert.read_bytes() + b"\n" * (1024 * 1024))
    for cert, words in ((tmp_path, "directory"), (fifo, "not a regular file"), (big, "at most 1024 KiB")):
        result = check_files(cert, good.key)["tls.files"]
        assert result.status == "fail" and words in result.detail


def test_files_that_are_not_pem_are_named(ca, tmp_path):
    good = write_leaf(ca, tmp_path, HOST)
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    cert_result = check_files(junk, good.key)["tls.files"]
    assert cert_result.status == "fail" and cert_result.field == "tls.cert"
    key_result = check_files(good.cert, junk)["tls.files"]
    assert key_result.status == "fail" and key_result.field == "tls.key"
    assert "PRIVATE KEY" in key_result.remedy


def test_half_a_pair_points_at_the_missing_half(ca, tmp_path):
    good = write_leaf(ca, tmp_path, HOST)
    result = check_files(good.cert, None)["tls.files"]
    assert result.status == "fail" and result.field == "tls.key"


def test_no_files_skip_for_docker_but_fail_for_helm():
    assert check_files(None, None, target="docker")["tls.files"].status == "skip"
    helm = check_files(None, None, target="helm")["tls.files"]
    assert helm.status == "fail" and "tls.cert" in helm.remedy


# --- tls.pair -------------------------------------------------------------------------------


def test_a_key_from_another_certificate_fails(ca, tmp_path):
    one = write_leaf(ca, tmp_path, HOST, stem="one")
    two = write_leaf(ca, tmp_path, HOST, stem="two")
    result = check_files(one.cert, two.key)["tls.pair"]
    assert result.status == "fail" and result.field == "tls.key"
    assert "tls.key" in result.remedy


def test_a_chain_in_the_wrong_order_is_explained(ca, tmp_path):
    leaf = write_leaf(ca, tmp_path, HOST)
    leaf.cert.write_bytes(ca.cert_pem.bytes() + leaf.cert.read_bytes())  # CA first: wrong
    # The key matches the second certificate only.
    result = check_files(leaf.cert, leaf.key)["tls.pair"]
    assert result.status == "fail" and "first" in result.remedy and result.field == "tls.cert"


# --- tls.hostname ---------------------------------------------------------------------------


def test_wrong_san_fails_and_lists_what_it_covers(ca, tmp_path):
    files = write_leaf(ca, tmp_path, "other.example.test")
    result = check_files(files.cert, files.key)["tls.hostname"]
    assert result.status == "fail"
    assert "other.example.test" in result.detail and HOST in result.detail
    assert f"DNS:{HOST}" in result.remedy and "gateway.hostname" in result.remedy
    assert result.field == "tls.cert"


def test_a_wildcard_covers_one_label(ca, tmp_path):
    files = write_leaf(ca, tmp_path, "*.example.test")
    assert check_files(files.cert, files.key)["tls.hostname"].status == "pass"
    deeper = check_files(files.cert, files.key, hostname="a.aigw.example.test")["tls.hostname"]
    assert deeper.status == "fail"


def test_an_ip_hostname_needs_an_ip_san(ca, tmp_path):
    files = write_leaf(ca, tmp_path, "10.20.30.40", HOST)
    assert check_files(files.cert, files.key, hostname="10.20.30.40", target="docker")["tls.hostname"].status == "pass"
    assert check_files(files.cert, files.key, hostname="10.20.30.41", target="docker")["tls.hostname"].status == "fail"


def test_a_certificate_without_san_fails(tmp_path):
    cert_pem, key_pem = self_signed(with_san=False, common_name=HOST)
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    result = check_files(tmp_path / "c.pem", tmp_path / "k.pem")["tls.hostname"]
    assert result.status == "fail" and "subjectAltName" in result.detail


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("aigw.example.test", "AIGW.example.test", True),
        ("aigw.example.test.", "aigw.example.test", True),
        ("*.example.test", "aigw.example.test", True),
        ("*.example.test", "example.test", False),
        ("*.example.test", "a.b.example.test", False),
        ("*.test", "example.test", False),
        ("a*.example.test", "aigw.example.test", False),
        ("aigw.*.test", "aigw.example.test", False),
        ("*.*.test", "a.example.test", False),
    ],
)
def test_rfc6125_wildcards(pattern, host, matches):
    assert name_matches(pattern, host) is matches


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(first=label, second=label, domain=st.lists(label, min_size=2, max_size=3))
def test_wildcards_stand_for_exactly_one_label(first, second, domain):
    suffix = ".".join(domain)
    assert name_matches(f"*.{suffix}", f"{first}.{suffix}")
    assert not name_matches(f"*.{suffix}", f"{first}.{second}.{suffix}")
    assert not name_matches(f"*.{suffix}", suffix)


# --- tls.expiry -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("not_before", "not_after", "status", "words"),
    [
        (NOW - timedelta(days=400), NOW - timedelta(days=2), "fail", "expired"),
        (NOW + timedelta(days=2), NOW + timedelta(days=400), "fail", "not valid before"),
        (NOW - timedelta(days=300), NOW + timedelta(days=10), "warn", "expires in"),
        (NOW - timedelta(days=1), NOW + timedelta(days=300), "pass", "valid until"),
    ],
)
def test_validity_dates(ca, tmp_path, not_before, not_after, status, words):
    files = write_leaf(ca, tmp_path, HOST, not_before=not_before, not_after=not_after)
    result = check_files(files.cert, files.key)["tls.expiry"]
    assert result.status == status and words in result.detail
    assert (result.remedy != "") == (status != "pass")


# --- tls.key_encrypted ----------------------------------------------------------------------


def test_an_encrypted_key_fails_and_the_pair_check_defers(ca, tmp_path):
    files = write_leaf(ca, tmp_path, HOST)
    encrypt_key(files.key)
    results = check_files(files.cert, files.key)
    assert results["tls.files"].status == "pass"
    assert results["tls.key_encrypted"].status == "fail"
    assert "openssl pkey" in results["tls.key_encrypted"].remedy
    assert results["tls.pair"].status == "skip" and "tls.key_encrypted" in results["tls.pair"].detail


# --- inspect_tls and secrecy ----------------------------------------------------------------


def test_inspect_tls_runs_the_tls_checks_directly(ca, tmp_path):
    files = write_leaf(ca, tmp_path, "other.example.test")
    results = by_id(inspect_tls(files.cert, files.key, HOST))
    assert set(results) == TLS_IDS
    assert results["tls.hostname"].status == "fail" and results["tls.hostname"].field == "tls.cert"
    assert results["tls.pair"].status == "pass"
    assert all(result.title for result in results.values())


def test_inspect_tls_with_nothing_picked_yet():
    results = by_id(inspect_tls(None, None, ""))
    assert results["tls.files"].status == "fail"
    assert {results[i].status for i in TLS_IDS - {"tls.files"}} == {"skip"}


def test_no_key_material_in_any_result(ca, tmp_path):
    one = write_leaf(ca, tmp_path, "other.example.test", stem="one")
    two = write_leaf(ca, tmp_path, HOST, stem="two", not_after=NOW + timedelta(days=3))
    encrypted = write_leaf(ca, tmp_path, HOST, stem="enc")
    encrypt_key(encrypted.key)
    key_lines = set()
    for files in (one, two, encrypted):
        key_lines |= {line for line in files.key.read_text().splitlines() if line and "-----" not in line}
    outputs = [
        inspect_tls(one.cert, two.key, HOST),
        inspect_tls(encrypted.cert, encrypted.key, HOST),
        inspect_tls(two.key, one.key, HOST),  # keys where certificates belong
    ]
    text = json.dumps([result.to_dict() for results in outputs for result in results])
    assert "BEGIN PRIVATE KEY" not in text and "BEGIN ENCRYPTED PRIVATE KEY" not in text
    assert not any(line in text for line in key_lines)


# --- gateway.ca_bundle ----------------------------------------------------------------------


def bundle_result(path):
    profile = make_profile({"target": "docker", "gateway": {"ca_bundle": str(path) if path else ""}})
    return run_all({"gateway.ca_bundle"}, context_for(profile))["gateway.ca_bundle"]


def test_bundle_unset_is_skipped():
    assert bundle_result(None).status == "skip"


def test_a_private_ca_alone_warns_about_public_services(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    result = bundle_result(path)
    assert result.status == "warn" and "ca-certificates.crt" in result.remedy


def test_a_full_bundle_passes(tmp_path):
    path = tmp_path / "bundle.pem"
    path.write_bytes(b"".join(trustme.CA().cert_pem.bytes() for _ in range(25)))
    result = bundle_result(path)
    assert result.status == "pass" and "25 CA" in result.detail


def test_a_bundle_without_a_ca_or_without_pem_fails(ca, tmp_path):
    leaf = write_leaf(ca, tmp_path, HOST)
    junk = tmp_path / "junk.pem"
    junk.write_text("not pem\n")
    for path, words in ((leaf.cert, "no CA certificate"), (junk, "no readable PEM"), (tmp_path / "missing.pem", "does not exist")):
        result = bundle_result(path)
        assert result.status == "fail" and words in result.detail
        assert "gateway.ca_bundle" in result.remedy and result.field == "gateway.ca_bundle"
