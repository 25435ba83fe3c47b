"""A read-only client for the Docker Registry HTTP API v2: tag lists and platforms.

Only what tag resolution and the architecture check need: `GET /v2/<name>/tags/list`
(following `Link: <…>; rel="next"` pages on the same registry), manifests and image
configs. Authentication is the standard one: a 401 with `WWW-Authenticate: Bearer
realm=…,service=…,scope=…` is answered by fetching a token from the realm (with the
`~/.docker/config.json` `auths` credentials for the registry, when there are any), and a
`Basic` challenge by those credentials directly. HTTPS always, plain HTTP only for a
registry on loopback (127.0.0.0/8, ::1, localhost), which is what dockerd allows too.
Everything the registry sends is size-capped and treated as hostile.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.core.errors import WizardError
from wizard.core.paths import expand_user
from wizard.core.text import clean as sanitize

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PAGES = 50
PAGE_SIZE = 1000
TIMEOUT_S = 10.0
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(WizardError):
    """The registry could not be asked (unreachable, refused, or answered nonsense)."""


@dataclass(frozen=True)
class ImageName:
    """An image repository split the way the registry API needs it."""

    registry: str  # "registry.gitlab.com", "127.0.0.1:5000", "docker.io"
    path: str  # "gitlab-org/…/model-gateway", "library/ubuntu"

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def canonical(self) -> str:
        return f"{self.registry}/{self.path}"


def parse_repository(repository: str) -> ImageName:
    """`registry.example.com:5000/group/image` → its registry and path (Docker Hub rules)."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return ImageName(first.lower(), rest)
    name = repository.removeprefix("index.docker.io/").removeprefix("docker.io/")
    return ImageName(DOCKER_HUB, name if "/" in name else f"library/{name}")


def canonical_reference(ref: str) -> str:
    """`ubuntu:22` and `docker.io/library/ubuntu:22` compare equal after this."""
    repository, tag = split_reference(ref)
    return f"{parse_repository(repository).canonical}:{tag}"


def split_reference(ref: str) -> tuple[str, str]:
    """`repo:tag` → (repo, tag); the tag is "latest" when absent (a port is not a tag)."""
    head, _, last = ref.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return (f"{head}/{name}" if head else name), tag
    return ref, "latest"


def is_loopback_host(host: str) -> bool:
    """`127.0.0.1:5000`, `[::1]:5000`, `localhost` → True."""
    name = host
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


def docker_config_credentials(registry: str, config_path: Path | None = None) -> tuple[str, str] | None:
    """(user, password) for `registry` from `~/.docker/config.json` `auths`, or None.

    Credential helpers (`credsStore`, `credHelpers`) are not run: only inline `auth`.
    """
    if config_path is None:
        folder = os.environ.get("DOCKER_CONFIG")
        config_path = (expand_user(folder) if folder else expand_user("~/.docker")) / "config.json"
    try:
        if not config_path.is_file() or config_path.stat().st_size > MAX_BODY_BYTES:
            return None
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    keys = [registry, f"https://{registry}", f"http://{registry}"]
    if registry == DOCKER_HUB:
        keys += ["https://index.docker.io/v1/", "index.docker.io"]
    for key in keys:
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if user:
                return user, password
        if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            return entry["username"], entry["password"]
    return None


@dataclass
class RegistryClient:
    """Reads one registry. `credentials=None` looks them up in the Docker config on first need."""

    name: ImageName
    credentials: tuple[str, str] | None = None
    timeout: float = TIMEOUT_S
    _authorization: str = field(default="", repr=False)
    """The Authorization header a challenge earned (Bearer token or Basic), sent from then on."""
    _looked_up: bool = field(default=False, repr=False)

    @classmethod
    def for_repository(cls, repository: str, **kwargs: Any) -> RegistryClient:
        return cls(parse_repository(repository), **kwargs)

    @property
    def base_url(self) -> str:
        scheme = "http" if is_loopback_host(self.name.api_host) else "https"
        return f"{scheme}://{self.name.api_host}"

    # --- public reads ------------------------------------------------------------------------

    def tags(self) -> list[str]:
        """Every tag of the repository, across all pages."""
        found: list[str] = []
        url = f"{self.base_url}/v2/{self.name.path}/tags/list?n={PAGE_SIZE}"
        for _ in range(MAX_PAGES):
            body, headers = self._get(url, "application/json")
            data = _json(body, url)
            tags = data.get("tags") if isinstance(data, dict) else None
            if tags is not None and not isinstance(tags, list):
                raise RegistryError(f"{self.name.canonical}: the registry's tag list is not a list")
            found.extend(str(tag) for tag in tags or [] if isinstance(tag, str))
            url = self._next_page(headers.get("Link", ""))
            if not url:
                return found
        return found  # a registry with more pages than this is not listing tags honestly

    def platforms(self, tag: str) -> list[Platform]:
        """The platforms a tag is built for: a manifest list's entries, or the one config's."""
        body, headers = self._get(f"{self.base_url}/v2/{self.name.path}/manifests/{urllib.parse.quote(tag)}", MANIFEST_TYPES)
        manifest = _json(body, tag)
        if not isinstance(manifest, dict):
            raise RegistryError(f"{self.name.canonical}:{tag}: the manifest is not an object")
        if isinstance(manifest.get("manifests"), list):
            platforms = []
            for entry in manifest["manifests"]:
                platform = entry.get("platform") if isinstance(entry, dict) else None
                if isinstance(platform, dict) and platform.get("architecture") not in (None, "unknown"):
                    platforms.append(_platform(platform))
            return platforms
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise RegistryError(f"{self.name.canonical}:{tag}: the manifest names no image config")
        blob, _ = self._get(f"{self.base_url}/v2/{self.name.path}/blobs/{digest}", "application/json")
        data = _json(blob, digest)
        return [_platform(data)] if isinstance(data, dict) else []

    # --- HTTP --------------------------------------------------------------------------------

    def _next_page(self, link: str) -> str:
        match = _LINK_NEXT.search(link)
        if not match:
            return ""
        target = urllib.parse.urljoin(self.base_url + "/", match.group(1))
        if not target.startswith(self.base_url + "/v2/"):
            raise RegistryError(f"{self.name.canonical}: the registry sent a next page on another host")
        return target

    def _get(self, url: str, accept: str) -> tuple[bytes, dict[str, str]]:
        try:
            return self._open(url, accept)
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise self._status_error(error) from None
            challenge = error.headers.get("WWW-Authenticate", "")
            error.close()
        self._authenticate(challenge)
        try:
            return self._open(url, accept)
        except urllib.error.HTTPError as error:
            raise self._status_error(error) from None

    def _open(self, url: str, accept: str, authorization: str | None = None) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "aigw-wizard"})
        header = self._authorization if authorization is None else authorization
        if header:
            request.add_header("Authorization", header)
        try:
            with _opener(url).open(request, timeout=self.timeout) as response:
                body = response.read(MAX_BODY_BYTES + 1)
                headers = {key: value for key, value in response.headers.items()}
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryError(
                f"{self.name.api_host}: cannot reach the registry: {sanitize(str(reason))}",
                ["check gateway.image and this host's access to the registry (proxy, firewall, DNS)"],
                field="gateway.image",
            ) from None
        if len(body) > MAX_BODY_BYTES:
            raise RegistryError(f"{self.name.api_host}: the registry's answer is larger than {MAX_BODY_BYTES} bytes")
        return body, headers

    def _credentials(self) -> tuple[str, str] | None:
        if self.credentials is None and not self._looked_up:
            self.credentials = docker_config_credentials(self.name.registry)
        self._looked_up = True
        return self.credentials

    def _authenticate(self, challenge: str) -> None:
        scheme, _, rest = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(rest))
        credentials = self._credentials()
        basic = (
            "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            if credentials
            else ""
        )
        if scheme.lower() == "basic":
            if not basic:
                raise self._denied("asks for a user name and password")
            self._authorization = basic  # credentials go only where a challenge asks for them
            return
        if scheme.lower() != "bearer" or not params.get("realm"):
            raise self._denied("refused the request without a usable challenge")
        realm = params["realm"]
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(parts.netloc)):
            raise RegistryError(f"{self.name.api_host}: the token service {sanitize(realm)} is not HTTPS")
        query = {key: params[key] for key in ("service", "scope") if params.get(key)}
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query) if query else realm
        try:
            body, _ = self._open(url, "application/json", authorization=basic or "")
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                raise self._denied("refused the credentials") from None
            raise self._status_error(error) from None
        data = _json(body, "token")
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.name.api_host}: the token service answered without a token")
        self._authorization = f"Bearer {token}"

    def _denied(self, what: str) -> RegistryError:
        return RegistryError(
            f"{self.name.api_host}: the registry {what}",
            [f"run `docker login {self.name.registry}` (credentials in ~/.docker/config.json `auths`)"],
            field="gateway.image",
        )

    def _status_error(self, error: urllib.error.HTTPError) -> RegistryError:
        error.close()
        if error.code == 404:
            return RegistryError(
                f"{self.name.canonical}: the registry has no such repository or tag",
                ["check gateway.image (a mirror keeps the same path?)"],
                field="gateway.image",
            )
        if error.code in (401, 403):
            return self._denied("refused the request")
        return RegistryError(f"{self.name.api_host}: the registry answered HTTP {error.code}")


def _opener(url: str) -> urllib.request.OpenerDirector:
    """Proxies from the environment, except for loopback (never sent through a proxy)."""
    host = urllib.parse.urlsplit(url).netloc
    if is_loopback_host(host):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirectToPlainHTTP())
    return urllib.request.build_opener(_NoRedirectToPlainHTTP())


class _NoRedirectToPlainHTTP(urllib.request.HTTPRedirectHandler):
    """Blob downloads redirect to storage; never from HTTPS down to plain HTTP off loopback."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        parts = urllib.parse.urlsplit(newurl)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(parts.netloc)):
            return None
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(req.full_url).netloc != parts.netloc:
            new.remove_header("Authorization")  # storage on another host gets no registry token
        return new


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise RegistryError(f"{sanitize(what)}: the registry's answer is not JSON") from None


def _platform(data: dict[str, Any]) -> Platform:
    def text(key: str) -> str:
        value = data.get(key)
        return sanitize(value)[:32] if isinstance(value, str) else ""

    return Platform(text("os") or "linux", text("architecture"), text("variant"))

