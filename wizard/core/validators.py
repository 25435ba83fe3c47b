"""Plain-words validators shared by the profile model, the checks and the TUI.

Each takes the raw text a user typed and returns the normalised value, or raises
`ValueError` with a message that reads well after the field name
(``gateway.hostname: must not be localhost``).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from wizard.core.text import is_clean

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-ee|-ce)?$")
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_IMAGE_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?"
_IMAGE_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(rf"^(?:{_IMAGE_DOMAIN}/)?{_IMAGE_PATH}(?:/{_IMAGE_PATH})*$")
_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
_REPO_CHART = re.compile(r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$")
_DURATION = re.compile(r"^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#: Environment variables the wizard derives from the profile; users edit the source field instead.
MANAGED_ENV = {
    "AIGW_GITLAB_URL": "gitlab.url",
    "AIGW_GITLAB_API_URL": "gitlab.api_url",
    "AIGW_AUTH__BYPASS_EXTERNAL": "gateway.auth_bypass",
    "SSL_CERT_FILE": "gateway.ca_bundle",
    "REQUESTS_CA_BUNDLE": "gateway.ca_bundle",
    "AIGW_SELF_SIGNED_JWT__SIGNING_KEY": "the key folder (aigw-wizard keys NAME)",
    "AIGW_SELF_SIGNED_JWT__VALIDATION_KEY": "the key folder (aigw-wizard keys NAME)",
    "DUO_WORKFLOW_SELF_SIGNED_JWT__SIGNING_KEY": "the key folder (aigw-wizard keys NAME)",
    "DUO_WORKFLOW_SELF_SIGNED_JWT__VALIDATION_KEY": "the key folder (aigw-wizard keys NAME)",
    "DUO_WORKFLOW_AUTH__ENABLED": "the gateway release",
    "AIGW_CUSTOMER_PORTAL_URL": "gitlab.offline_license",
    "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL": "gitlab.offline_license",
    "AIGW_FASTAPI__TLS__ENABLED": "tls.cert",
    "AIGW_FASTAPI__TLS__CERT_FILE": "tls.cert",
    "AIGW_FASTAPI__TLS__KEY_FILE": "tls.key",
    "DUO_WORKFLOW_TLS__ENABLED": "tls.cert",
    "DUO_WORKFLOW_TLS__CERT_FILE": "tls.cert",
    "DUO_WORKFLOW_TLS__KEY_FILE": "tls.key",
}
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PRIVATE_KEY", "API_KEY")
MAX_TEXT = 4096


def plain_text(value: str, *, max_len: int = MAX_TEXT) -> str:
    """Refuse control characters (terminal escapes, NUL) and absurd lengths in any text field."""
    if _CONTROL.search(value) or not is_clean(value):  # C0, DEL, C1 (8-bit CSI), bidi overrides
        return _fail("must not contain control characters")
    if len(value) > max_len:
        return _fail(f"is too long ({len(value)} characters, at most {max_len})")
    return value


def hostname(value: str, *, allow_loopback: bool = False) -> str:
    """A DNS name or an IP address; GitLab must reach it, so loopback is refused by default."""
    value = plain_text(value.strip(), max_len=253).rstrip(".")
    if not value:
        return _fail("must not be empty")
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if address.is_unspecified:
            return _fail(f"{value} is not an address other hosts can reach")
        if address.is_loopback and not allow_loopback:
            return _fail("must not be a loopback address: GitLab has to reach the gateway over the network")
        return str(address)
    if not value.isascii():
        return _fail("must be ASCII: write an internationalised name in its xn-- (punycode) form")
    name = value.lower()
    labels = name.split(".")
    if any(not _DNS_LABEL.match(label) for label in labels):
        return _fail(
            f"{value!r} is not a valid host name (letters, digits and hyphens, dot-separated)"
        )
    if all(label.isdigit() for label in labels):
        return _fail(f"{value!r} is not a valid IP address")
    if not allow_loopback and (name == "localhost" or name.endswith(".localhost")):
        return _fail("must not be localhost: GitLab has to reach the gateway over the network")
    return name


def http_url(value: str) -> str:
    """An http(s) URL with a host and no credentials, query or fragment; trailing slash removed."""
    value = plain_text(value.strip())
    if not value:
        return _fail("must not be empty")
    if any(ch.isspace() for ch in value):
        return _fail("must not contain spaces")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return _fail("must start with https:// or http://")
    if parts.username is not None or parts.password is not None:
        return _fail("must not contain a user name or password (secrets never go in a profile)")
    if parts.query or parts.fragment:
        return _fail("must not contain a query (?…) or fragment (#…)")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError:
        return _fail("has an invalid port")
    if not parts.hostname:
        return _fail("must name a host, like https://gitlab.example.com")
    hostname(parts.hostname, allow_loopback=True)
    return value.rstrip("/")


def gitlab_url(value: str) -> str:
    """GitLab's base URL; an API root pasted by mistake (…/api/v4, …/api/v4/) is cut back."""
    url = http_url(value)
    while url.endswith("/api/v4"):
        url = url.removesuffix("/api/v4").rstrip("/")
    if not urlsplit(url).hostname:
        return _fail("must name a host, like https://gitlab.example.com")
    return url


def api_url(value: str) -> str:
    """GitLab's REST API root; always returned ending in ``/api/v4/``."""
    url = http_url(value)
    if not url.endswith("/api/v4"):
        return _fail("must end with /api/v4/, like https://gitlab.example.com/api/v4/")
    return url + "/"


def gitlab_version(value: str) -> str:
    """`17.5.0`; a leading `v` or an `-ee` suffix (as GitLab reports it) is dropped."""
    match = _VERSION.match(value.strip())
    if not match:
        return _fail("must be a version like 17.5.0")
    return ".".join(match.groups())


def semver(value: str) -> str:
    if not _SEMVER.match(value.strip()):
        return _fail("must be a version like 0.1.1")
    return value.strip()


def image_repository(value: str) -> str:
    """An image name without tag: `registry.example.com:5000/group/model-gateway`."""
    value = plain_text(value.strip(), max_len=255)
    last = value.rsplit("/", 1)[-1]
    if "@" in value or ":" in last:
        return _fail("must not include a tag or digest: put the tag in gateway.tag")
    if not _IMAGE.match(value):
        return _fail(f"{value!r} is not a valid image name (lowercase, like registry.example.com/group/image)")
    return value


def image_tag(value: str) -> str:
    if not _TAG.match(value.strip()):
        return _fail("must be an image tag like self-hosted-v17.5.0-ee (letters, digits, _ . -)")
    return value.strip()


def dns_label(value: str, *, max_len: int = 63) -> str:
    """A Kubernetes name such as a namespace: lowercase letters, digits and hyphens."""
    value = value.strip()
    if len(value) > max_len or not _DNS_LABEL.match(value):
        return _fail(
            f"{value!r} is not a valid name (lowercase letters, digits and '-', at most {max_len})"
        )
    return value


def dns_subdomain(value: str, *, max_len: int = 253) -> str:
    """A Kubernetes object name such as a secret or ingress class (dots allowed)."""
    value = value.strip()
    if len(value) > max_len or any(not _DNS_LABEL.match(label) for label in value.split(".")):
        return _fail(
            f"{value!r} is not a valid name (lowercase letters, digits, '-' and '.', at most {max_len})"
        )
    return value


def helm_release(value: str) -> str:
    return dns_subdomain(value, max_len=53)


def docker_name(value: str) -> str:
    value = value.strip()
    if not _DOCKER_NAME.match(value):
        return _fail(f"{value!r} is not a valid container name (letters, digits, _ . -)")
    return value


def env_name(value: str) -> str:
    """A variable name for `extra_env`: not one the wizard sets, and no secrets."""
    if not _ENV_NAME.fullmatch(value):
        return _fail(f"{value!r} is not a valid environment variable name")
    if value in MANAGED_ENV:
        return _fail(f"{value} is set by the wizard from {MANAGED_ENV[value]}: set that instead")
    if any(word in value.upper() for word in _SECRET_WORDS):
        return _fail(f"{value} looks like a secret, and secrets never go in a profile")
    return value


def extra_host_name(value: str) -> str:
    """A name for `docker.extra_hosts`: a DNS name (not an address, not localhost)."""
    if not isinstance(value, str):
        return _fail("must be a host name")
    name = hostname(value)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return _fail(f"{value!r} is an address: the names in docker.extra_hosts are host names")


def extra_host_address(value: str) -> str:
    """The address for an extra host: an IP literal the container can reach (never DNS, never loopback)."""
    if not isinstance(value, str):
        return _fail("must be an IP address written as text, like \"10.0.0.5\"")
    text = plain_text(value.strip(), max_len=64).strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return _fail(f"{value!r} is not an IP address (the container resolves no names: write the address)")
    if address.is_unspecified or address.is_multicast:
        return _fail(f"{value} is not an address a container can reach")
    if address.is_loopback:
        return _fail(f"{value} is loopback: inside the container that is the container itself")
    return str(address)


def file_path(value: str) -> str:
    """A path as the user typed it; `-` first would read as an option to the tools we call."""
    value = plain_text(value.strip())
    if value.startswith("-"):
        return _fail("must not start with '-': write ./" + value + " for a file of that name")
    return value


def chart_reference(value: str) -> str:
    """`repo/chart`, an `oci://` reference, or a path to a local chart `.tgz`."""
    value = file_path(value)
    if value.startswith("oci://") or _REPO_CHART.match(value) or is_local_chart(value):
        return value
    return _fail("must be repo/chart (like ai-gateway/ai-gateway), oci://…, or a path to a .tgz")


def is_local_chart(chart: str) -> bool:
    return chart.endswith((".tgz", ".tar.gz")) or chart.startswith(("/", "./", "../", "~"))


def duration(value: str) -> str:
    """A Go duration as Helm takes it: `300s`, `5m`, `1h30m`."""
    value = value.strip()
    match = _DURATION.match(value)
    if not match or not any(match.groups()):
        return _fail("must be a duration like 300s, 5m or 1h30m")
    if duration_seconds(value) == 0:  # helm would give up at once; "0s" is never meant
        return _fail("must be longer than 0s, like 300s or 5m")
    return value


def duration_seconds(value: str) -> int:
    hours, minutes, seconds = (int(part or 0) for part in _DURATION.match(value).groups())  # type: ignore[union-attr]
    return hours * 3600 + minutes * 60 + seconds


def profile_name(value: str) -> str:
    if not _PROFILE_NAME.fullmatch(value):
        return _fail(
            f"{value!r} is not a valid profile name (letters, digits, . _ -, at most 64, not starting with . or -)"
        )
    return value


def _fail(message: str) -> str:
    raise ValueError(message)
