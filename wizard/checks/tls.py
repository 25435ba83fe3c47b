"""The gateway's certificate and key, and the CA bundle it trusts GitLab with.

Key material is read to compare and classify, never shown: details name paths, host
names, dates and issuers only. `tls.files` reports unusable input files once; the other
TLS checks skip (pointing at it) rather than fail again for the same cause.
`inspect_tls` runs the same checks straight from the TUI's file picker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.checks.base import (
    REGISTRY,
    CheckContext,
    CheckResult,
    Outcome,
    check,
    file_problem,
    run_sync,
)
from wizard.core.paths import expand_user
from wizard.tools.tls import (
    covers,
    is_ca,
    issuer_of,
    load_key,
    name_matches,
    names_of,
    parse_certificates,
    public_der,
)

__all__ = ["covers", "inspect_tls", "issuer_of", "name_matches", "names_of", "parse_certificates"]

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

EXPIRY_WARNING_DAYS = 30
MAX_BUNDLE_BYTES = 5 * 1024**2
FEW_CAS = 20  # a bundle with public roots holds well over a hundred
TIMEOUT = 1.0


@dataclass(frozen=True)
class TlsInputs:
    """What the TLS checks read: resolved paths (None = not set) and the name to cover."""

    cert: Path | None
    key: Path | None
    hostname: str
    required: bool = True
    """Helm's ingress needs the files; Docker serves plain HTTP and may go without."""


class _Unusable(Exception):
    """An input another check already reports: this check ends with `outcome`."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


def _inputs(context: CheckContext) -> TlsInputs:
    profile = context.profile
    return TlsInputs(
        cert=profile.resolve(profile.tls.cert) if profile.tls.cert else None,
        key=profile.resolve(profile.tls.key) if profile.tls.key else None,
        hostname=profile.gateway.hostname,
        required=profile.target == "helm",
    )


Core = Callable[[TlsInputs], Outcome]
_CORES: dict[str, Core] = {}  # every TLS check's body, for inspect_tls


def _tls_check(check_id: str, title: str, field: str) -> Callable[[Core], Core]:
    """Register `core` as a profile check, and keep it for `inspect_tls`."""

    def register(core: Core) -> Core:
        def run(context: CheckContext) -> Outcome:
            return _settle(core, _inputs(context))

        check(check_id, title, timeout=TIMEOUT, field=field)(run)
        _CORES[check_id] = core
        return core

    return register


def _settle(core: Core, inputs: TlsInputs) -> Outcome:
    try:
        return core(inputs)
    except _Unusable as stop:
        return stop.outcome


def inspect_tls(cert_path: str | Path | None, key_path: str | Path | None, hostname: str) -> list[CheckResult]:
    """Every TLS check on these files, now, in this thread (fast: local files only)."""
    inputs = TlsInputs(
        cert=expand_user(cert_path) if cert_path else None,
        key=expand_user(key_path) if key_path else None,
        hostname=hostname.strip().rstrip(".").lower(),
    )
    return [run_sync(REGISTRY[check_id], lambda core=core: _settle(core, inputs)) for check_id, core in _CORES.items()]


# --- reading the files ------------------------------------------------------------------------


def _read(path: Path | None, field: str) -> bytes:
    if path is None:
        raise _Unusable(Outcome("skip", f"{field} is not set"))
    if file_problem(path):
        raise _Unusable(Outcome("skip", f"{field} cannot be used (see tls.files)"))
    return path.read_bytes()


def _certificates(inputs: TlsInputs) -> list[Certificate]:
    try:
        return parse_certificates(_read(inputs.cert, "tls.cert"))
    except ValueError:
        raise _Unusable(Outcome("skip", "tls.cert holds no PEM certificate (see tls.files)")) from None


def _private_key(inputs: TlsInputs) -> Any:
    try:
        return load_key(_read(inputs.key, "tls.key"))
    except TypeError:
        raise _Unusable(Outcome("skip", "tls.key is encrypted (see tls.key_encrypted)")) from None
    except ValueError:
        raise _Unusable(Outcome("skip", "tls.key is not a PEM private key (see tls.files)")) from None


# --- the checks -------------------------------------------------------------------------------


@_tls_check("tls.files", "Certificate and key files", field="tls.cert")
def files(inputs: TlsInputs) -> Outcome:
    if inputs.cert is None and inputs.key is None:
        if inputs.required:
            return Outcome("fail", "tls.cert and tls.key are not set: the ingress serves HTTPS with them", "set tls.cert and tls.key to the PEM certificate and key for gateway.hostname")
        return Outcome("skip", "tls.cert and tls.key are not set (the Docker target serves HTTP)")
    for path, field, other in ((inputs.cert, "tls.cert", "tls.key"), (inputs.key, "tls.key", "tls.cert")):
        if path is None:
            return Outcome("fail", f"{field} is not set but {other} is", f"set {field} too (they are used as a pair)", field)
        problem = file_problem(path)
        if problem:
            return Outcome("fail", problem, f"set {field} to a readable PEM file", field)
    try:
        chain = parse_certificates(inputs.cert.read_bytes())  # type: ignore[union-attr]
    except ValueError:
        return Outcome("fail", f"{inputs.cert} holds no PEM certificate", "set tls.cert to the PEM certificate (-----BEGIN CERTIFICATE-----)", "tls.cert")
    try:
        load_key(inputs.key.read_bytes())  # type: ignore[union-attr]
    except TypeError:
        pass  # encrypted: tls.key_encrypted says so
    except ValueError:
        return Outcome("fail", f"{inputs.key} is not a PEM private key", "set tls.key to the PEM private key (-----BEGIN … PRIVATE KEY-----)", "tls.key")
    return Outcome("pass", f"{inputs.cert} ({len(chain)} certificate{'s' if len(chain) > 1 else ''}) and {inputs.key}")


@_tls_check("tls.pair", "Key matches certificate", field="tls.key")
def pair(inputs: TlsInputs) -> Outcome:
    chain = _certificates(inputs)
    key = _private_key(inputs)
    mine = public_der(key.public_key())
    if public_der(chain[0].public_key()) == mine:
        return Outcome("pass", "tls.key belongs to the certificate in tls.cert")
    if any(public_der(certificate.public_key()) == mine for certificate in chain[1:]):
        return Outcome(
            "fail",
            "tls.key belongs to a later certificate in tls.cert, not the first",
            "put the server certificate first in tls.cert, then its intermediates",
            "tls.cert",
        )
    return Outcome(
        "fail",
        f"tls.key ({inputs.key}) is not the key of the certificate in tls.cert ({inputs.cert})",
        "set tls.key to the private key the certificate was issued for (or tls.cert to its certificate)",
    )


@_tls_check("tls.hostname", "Certificate covers the host name", field="tls.cert")
def hostname(inputs: TlsInputs) -> Outcome:
    leaf = _certificates(inputs)[0]
    if not inputs.hostname:
        return Outcome("skip", "gateway.hostname is not set")
    names = names_of(leaf)
    if not names:
        return Outcome(
            "fail",
            f"the certificate has no subjectAltName; clients ignore its subject ({leaf.subject.rfc4514_string()})",
            f"reissue tls.cert with subjectAltName DNS:{inputs.hostname}",
        )
    if covers(leaf, inputs.hostname):
        return Outcome("pass", f"{inputs.hostname} is covered ({', '.join(names[:6])})")
    return Outcome(
        "fail",
        f"the certificate is for {', '.join(names[:6])}, not {inputs.hostname}",
        f"reissue tls.cert with subjectAltName DNS:{inputs.hostname}, or set gateway.hostname to a name it covers",
    )


@_tls_check("tls.expiry", "Certificate validity dates", field="tls.cert")
def expiry(inputs: TlsInputs) -> Outcome:
    leaf = _certificates(inputs)[0]
    now = datetime.now(UTC)
    renew = "renew the certificate and point tls.cert (and tls.key) at the new files"
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if now < start:
        return Outcome("fail", f"the certificate is not valid before {start:%Y-%m-%d %H:%M} UTC", "check this host's clock, or reissue tls.cert with a start date in the past")
    if now > end:
        return Outcome("fail", f"the certificate expired on {end:%Y-%m-%d}", renew)
    days = (end - now).days
    if days < EXPIRY_WARNING_DAYS:
        return Outcome("warn", f"the certificate expires in {days} days ({end:%Y-%m-%d})", renew)
    return Outcome("pass", f"valid until {end:%Y-%m-%d} ({days} days)")


@_tls_check("tls.key_encrypted", "Key is not encrypted", field="tls.key")
def key_encrypted(inputs: TlsInputs) -> Outcome:
    data = _read(inputs.key, "tls.key")
    try:
        load_key(data)
    except TypeError:
        return Outcome(
            "fail",
            f"{inputs.key} is encrypted with a passphrase; `kubectl create secret tls` needs a plain key",
            f"write a decrypted copy (`openssl pkey -in {inputs.key} -out KEY.pem`, keep it private) and set tls.key to it",
        )
    except ValueError:
        raise _Unusable(Outcome("skip", "tls.key is not a PEM private key (see tls.files)")) from None
    return Outcome("pass", "the key is not encrypted")


@check("gateway.ca_bundle", "CA bundle", timeout=TIMEOUT, field="gateway.ca_bundle")
def ca_bundle(context: CheckContext) -> Outcome:
    setting = context.profile.gateway.ca_bundle
    if not setting:
        return Outcome("skip", "gateway.ca_bundle is not set: the gateway trusts the public CAs of its image")
    path = context.profile.resolve(setting)
    fix = "set gateway.ca_bundle to a PEM file holding the CA that signed GitLab's certificate"
    problem = file_problem(path, MAX_BUNDLE_BYTES)
    if problem:
        return Outcome("fail", problem, fix)
    try:
        certificates = parse_certificates(path.read_bytes())
    except ValueError:
        return Outcome("fail", f"{path} holds no readable PEM certificate", fix)
    authorities = [certificate for certificate in certificates if is_ca(certificate)]
    if not authorities:
        return Outcome(
            "fail",
            f"{path} holds {len(certificates)} certificate(s) but no CA certificate (GitLab's own certificate does not do)",
            fix + " (its root, and any intermediates)",
        )
    if len(authorities) < FEW_CAS:
        return Outcome(
            "warn",
            f"{path} holds only {len(authorities)} CA certificate(s): SSL_CERT_FILE replaces the gateway's whole trust store, "
            "so public services (model providers) would fail",
            f"append the system bundle: `cat /etc/ssl/certs/ca-certificates.crt >> {path}` "
            "(skip this if every service the gateway calls uses your private CA)",
        )
    return Outcome("pass", f"{path}: {len(authorities)} CA certificates")
