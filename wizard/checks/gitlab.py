"""The GitLab side: its URLs make sense, its API answers, and its certificate is trusted.

Requests go straight to GitLab (no proxy from this shell's environment), the way the
gateway's container does by default. With `gateway.ca_bundle` set, certificates are
verified against that bundle alone, as the gateway will (SSL_CERT_FILE replaces its
trust store). `GITLAB_TOKEN`, when given, is sent only over verified HTTPS (plain HTTP
only to a host written as a loopback address: 127.x.x.x, ::1, localhost) and never
appears in a result.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wizard.checks.base import CheckContext, Outcome, check, is_ip, plain_error, root_os_error
from wizard.checks.tls import issuer_of, names_of
from wizard.core import validators
from wizard.tools.gitlab import TokenRefused, check_token_transport

if TYPE_CHECKING:
    import httpx
    from cryptography.x509 import Certificate

REACH_TIMEOUT = 2.5
TLS_TIMEOUT = 2.5
IO_TIMEOUT = 2.0  # below the checks' own timeouts, so a black hole gets our precise words
TOKEN_ENV = "GITLAB_TOKEN"
_TAG_VERSION = re.compile(r"^self-hosted-v(\d+\.\d+\.\d+)-ee$")
# OpenSSL X509_V_ERR_* codes behind ssl.SSLCertVerificationError.verify_code
_SELF_SIGNED = {18}
_UNKNOWN_ISSUER = {2, 19, 20, 21}
_HOST_MISMATCH = {62, 64}
_EXPIRED, _NOT_YET_VALID = 10, 9


def _is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return is_ip(host) and ipaddress.ip_address(host).is_loopback


def token_allowed(url: str) -> bool:
    """Whether GITLAB_TOKEN may go to `url`: the one token rule of `wizard.tools.gitlab`
    (HTTPS, or plain HTTP to a host written as loopback), without --allow-http."""
    try:
        check_token_transport(url)
    except TokenRefused:
        return False
    return True


def _api_field(context: CheckContext) -> str:
    return "gitlab.api_url" if context.profile.gitlab.api_url else "gitlab.url"


@check("gitlab.url", "GitLab URL", timeout=0.5, field="gitlab.url")
def url(context: CheckContext) -> Outcome:
    value = context.profile.gitlab.url
    if not value:
        return Outcome("fail", "gitlab.url is not set", "set gitlab.url to GitLab's address, like https://gitlab.example.com")
    parts = urlsplit(value)
    if _is_loopback(parts.hostname or ""):
        return Outcome(
            "warn",
            f"{value} names this host's loopback: inside the gateway's container (or pod) that is the gateway itself",
            "set gitlab.url to a name or address of GitLab that other hosts and containers can reach",
        )
    if parts.path.rstrip("/").endswith("/api/v4"):
        return Outcome(
            "warn",
            f"{value} is GitLab's API root, not its address",
            "set gitlab.url without /api/v4 (and gitlab.api_url to the API root if it differs)",
        )
    if parts.scheme == "http":
        return Outcome(
            "warn",
            f"{value} is plain HTTP: GitLab's signing keys reach the gateway unprotected",
            "use https:// in gitlab.url if GitLab serves HTTPS",
        )
    return Outcome("pass", value)


def _origin(value: str) -> tuple[str, str, int | None]:
    parts = urlsplit(value)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


@check("gitlab.api_url", "GitLab API URL", timeout=0.5, field="gitlab.api_url")
def api_url(context: CheckContext) -> Outcome:
    gitlab = context.profile.gitlab
    if not gitlab.effective_api_url:
        return Outcome("skip", "gitlab.url is not set")
    if not gitlab.api_url:
        return Outcome("pass", f"{gitlab.effective_api_url} (derived from gitlab.url)")
    if gitlab.url and _origin(gitlab.api_url) != _origin(gitlab.url):
        return Outcome(
            "warn",
            f"gitlab.api_url ({gitlab.api_url}) and gitlab.url ({gitlab.url}) name different servers",
            "make sure both point at the same GitLab, or clear gitlab.api_url to derive it from gitlab.url",
        )
    return Outcome("pass", gitlab.api_url)


def trust_context(context: CheckContext) -> ssl.SSLContext:
    """What the gateway will trust: the CA bundle alone when set, else this host's store."""
    bundle = context.profile.gateway.ca_bundle
    if bundle:
        return ssl.create_default_context(cafile=str(context.profile.resolve(bundle)))
    return ssl.create_default_context()


def _unverified() -> ssl.SSLContext:
    """Only to look at the certificate a server presents; nothing secret is ever sent."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    return insecure


def connection_problem(error: BaseException, target: str, field: str, timed_out: bool = False) -> Outcome:
    """A failed connection to `target` (host:port), with the fix for that particular cause."""
    cause = root_os_error(error)
    if timed_out or isinstance(cause, TimeoutError):
        return Outcome(
            "fail",
            f"{target} accepted no conversation within {IO_TIMEOUT:g} s",
            f"check {field}, and firewalls or proxies between this host and GitLab",
            field,
        )
    if isinstance(cause, socket.gaierror):
        return Outcome("fail", f"{target.rsplit(':', 1)[0]} does not resolve ({plain_error(cause)})", f"fix the host name in {field}, or this host's DNS", field)
    if isinstance(cause, ConnectionRefusedError):
        return Outcome(
            "fail",
            f"nothing listens at {target} (connection refused)",
            f"check the host and port in {field}, and that GitLab is running",
            field,
        )
    if isinstance(cause, ssl.SSLError):
        return Outcome(
            "fail",
            f"TLS with {target} failed ({cause.reason or plain_error(cause)})",
            f"check the scheme in {field}: https:// for a TLS port, http:// for a plain one",
            field,
        )
    return Outcome("fail", f"cannot talk to {target}: {plain_error(cause or error)}", f"check {field}", field)


def _target(value: str) -> str:
    parts = urlsplit(value)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- gitlab.reachable -------------------------------------------------------------------------


def _get(address: str, verify: ssl.SSLContext | bool, token: str) -> httpx.Response:
    import httpx

    headers = {"PRIVATE-TOKEN": token} if token else {}
    # trust_env=False: no proxy from this shell; the gateway's container connects directly too.
    with httpx.Client(verify=verify, trust_env=False, timeout=IO_TIMEOUT, follow_redirects=False) as client:
        return client.get(address, headers=headers)


def _expected_version(context: CheckContext) -> tuple[str, str]:
    """(the GitLab version the profile's image is for, the field that says so)."""
    tag = context.profile.gateway.tag
    if tag:
        match = _TAG_VERSION.match(tag)
        return (match.group(1) if match else "", "gateway.tag")
    return context.profile.gitlab.version, "gitlab.version"


def _version_outcome(context: CheckContext, reported: str, where: str) -> Outcome:
    try:
        found = validators.gitlab_version(reported)
    except ValueError:
        found = reported[:40]
    expected, field = _expected_version(context)
    if field == "gateway.tag" and not expected:
        return Outcome("pass", f"GitLab {found} answered at {where} (gateway.tag does not name a version: make sure it fits)")
    if not expected:
        return Outcome("warn", f"GitLab {found} answered at {where}; gitlab.version is not set", f'set gitlab.version = "{found}" (it picks the image tag)', "gitlab.version")
    if found != expected:
        fix = f'set gateway.tag = "self-hosted-v{found}-ee" (or clear it)' if field == "gateway.tag" else f'set gitlab.version = "{found}"'
        return Outcome(
            "warn",
            f"GitLab reports version {found}, but the profile's image is for {expected}",
            f"{fix} so the gateway image matches GitLab",
            field,
        )
    return Outcome("pass", f"GitLab {found} answered at {where}, as the profile expects")


def _judge(context: CheckContext, response: httpx.Response, token: str, where: str) -> Outcome:
    field = _api_field(context)
    code = response.status_code
    if code == 401 and not token:
        return Outcome("pass", f"a GitLab API answered at {where} (401; set {TOKEN_ENV} to compare versions)")
    if code in (401, 403):
        return Outcome(
            "warn",
            f"a GitLab API answered at {where}, but refused {TOKEN_ENV} ({code}), so the version was not compared",
            f"set {TOKEN_ENV} to a personal access token with the read_api scope (it is never saved)",
            "gitlab.version",
        )
    if 300 <= code < 400:
        location = response.headers.get("location", "")[:200]
        fix = "use https:// in gitlab.url" if location.startswith("https:") and where.startswith("http:") else f"set {field} to GitLab's API root, ending with /api/v4/"
        return Outcome("fail", f"{where} redirects to {location or '(nowhere)'}", fix, field)
    if code == 200:
        try:
            reported = response.json().get("version")
        except (ValueError, AttributeError):
            reported = None
        if isinstance(reported, str):
            return _version_outcome(context, reported, where)
    return Outcome(
        "fail",
        f"{where} answered HTTP {code}, which is not GitLab's version API",
        f"check {field}: {where} must be GitLab's /api/v4/version",
        field,
    )


@check("gitlab.reachable", "GitLab API answers", timeout=REACH_TIMEOUT, field="gitlab.url")
def reachable(context: CheckContext) -> Outcome:
    import httpx

    api = context.profile.gitlab.effective_api_url
    if not api:
        return Outcome("skip", "gitlab.url is not set")
    where, field, target = f"{api}version", _api_field(context), _target(api)
    token = context.environ.get(TOKEN_ENV, "")
    withheld = bool(token) and not token_allowed(where)
    if withheld:
        token = ""  # never over plain HTTP: anyone on the path would read it
    try:
        # Loading a trust store takes ~30 ms: only for the https:// it is used for.
        trust: ssl.SSLContext | bool = trust_context(context) if where.startswith("https:") else False
    except (OSError, ssl.SSLError) as error:
        return Outcome("skip", f"gateway.ca_bundle cannot be loaded ({plain_error(error)}; see gateway.ca_bundle)")
    try:
        response = _get(where, trust, token)
        if withheld and response.status_code in (401, 403):
            return Outcome(
                "warn",
                f"a GitLab API answered at {where}; {TOKEN_ENV} was not sent over plain HTTP, so the version was not compared",
                "use https:// in gitlab.url (the token is sent over HTTPS only)",
                "gitlab.url",
            )
        return _judge(context, response, token, where)
    except httpx.HTTPError as error:
        if not isinstance(root_os_error(error), ssl.SSLCertVerificationError):
            return connection_problem(error, target, field, isinstance(error, httpx.TimeoutException))
    # An untrusted certificate: show whether a GitLab API is there at all, without the token.
    try:
        response = _get(where, False, "")
    except httpx.HTTPError as error:
        return connection_problem(error, target, field, isinstance(error, httpx.TimeoutException))
    if response.status_code in (200, 401):
        return Outcome(
            "warn",
            f"a GitLab API answered at {where}, but its certificate is not trusted (see gitlab.tls)",
            "fix gitlab.tls first (usually by setting gateway.ca_bundle); the token is sent only over trusted TLS",
            "gateway.ca_bundle",
        )
    return _judge(context, response, "", where)


# --- gitlab.tls -------------------------------------------------------------------------------


def presented_certificate(host: str, port: int, trust: ssl.SSLContext, timeout: float) -> bytes:
    """The DER certificate `host:port` presents after a handshake under `trust`."""
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with trust.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True) or b""


def _load_der(data: bytes) -> Certificate | None:
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        return None


def _untrusted(context: CheckContext, error: ssl.SSLCertVerificationError, host: str, port: int) -> Outcome:
    """Say exactly why verification failed, and who issued what GitLab presented."""
    try:
        presented = _load_der(presented_certificate(host, port, _unverified(), IO_TIMEOUT))
    except OSError:
        presented = None
    issuer = issuer_of(presented) if presented else "unknown"
    code = error.verify_code
    chain_cmd = f"`openssl s_client -showcerts -connect {host}:{port}` shows what GitLab sends"
    bundle = context.profile.gateway.ca_bundle
    if code in _HOST_MISMATCH:
        names = ", ".join(names_of(presented)[:6]) if presented else "other names"
        return Outcome(
            "fail",
            f"hostname mismatch: GitLab's certificate is for {names}, not {host} (issuer: {issuer})",
            f"set gitlab.url to a name the certificate covers, or have GitLab's certificate reissued for {host}",
            "gitlab.url",
        )
    if code in (_EXPIRED, _NOT_YET_VALID):
        when = ""
        if presented:
            when = f" (valid {presented.not_valid_before_utc:%Y-%m-%d} to {presented.not_valid_after_utc:%Y-%m-%d})"
        state = "expired" if code == _EXPIRED else "not valid yet"
        return Outcome(
            "fail",
            f"GitLab's certificate is {state}{when}, issuer: {issuer}",
            "GitLab's administrator must renew its certificate; also check this host's clock",
            "gitlab.url",
        )
    if code in _SELF_SIGNED:
        why = f"GitLab's certificate is self-signed (issuer: {issuer})"
        get = f"save it (it is its own CA): `openssl s_client -connect {host}:{port} </dev/null | openssl x509 -out gitlab-ca.pem`"
    else:
        reason = "is issued by an unknown CA" if code in _UNKNOWN_ISSUER else f"cannot be verified: {error.verify_message}"
        why = f"GitLab's certificate {reason} (issuer: {issuer})"
        get = f"get the certificate of the CA {issuer} as gitlab-ca.pem from GitLab's administrator ({chain_cmd})"
    if bundle:
        fix = f"{get}, then append it to gateway.ca_bundle: `cat gitlab-ca.pem >> {bundle}`"
    else:
        fix = (
            f"{get}, then `cat /etc/ssl/certs/ca-certificates.crt gitlab-ca.pem > ca-bundle.pem` "
            "and set gateway.ca_bundle to ca-bundle.pem"
        )
    return Outcome("fail", why, fix, "gateway.ca_bundle")


@check("gitlab.tls", "GitLab certificate is trusted", timeout=TLS_TIMEOUT, field="gateway.ca_bundle")
def tls(context: CheckContext) -> Outcome:
    api = context.profile.gitlab.effective_api_url
    if not api:
        return Outcome("skip", "gitlab.url is not set")
    parts = urlsplit(api)
    if parts.scheme != "https":
        return Outcome("skip", "GitLab is reached over plain HTTP (see gitlab.url)")
    host, port = parts.hostname or "", parts.port or 443
    try:
        trust = trust_context(context)
    except (OSError, ssl.SSLError) as error:
        return Outcome("skip", f"gateway.ca_bundle cannot be loaded ({plain_error(error)}; see gateway.ca_bundle)")
    try:
        certificate = _load_der(presented_certificate(host, port, trust, IO_TIMEOUT))
    except ssl.SSLCertVerificationError as error:
        return _untrusted(context, error, host, port)
    except OSError as error:
        return connection_problem(error, _target(api), _api_field(context))
    issuer = issuer_of(certificate) if certificate else "unknown"
    against = "gateway.ca_bundle" if context.profile.gateway.ca_bundle else "this host's trusted CAs"
    until = f", valid until {certificate.not_valid_after_utc:%Y-%m-%d}" if certificate else ""
    return Outcome("pass", f"verified against {against} (issuer: {issuer}{until})")
