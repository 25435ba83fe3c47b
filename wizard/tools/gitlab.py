"""The one client for GitLab's HTTP endpoints: version, OIDC discovery, JWKS and GraphQL.

Requests go straight to GitLab (no proxy from this shell, no redirects followed: a token is
never carried to another host). With a CA bundle, certificates are verified against that
bundle alone, as the gateway does. The token rule lives in `check_token_transport` and
nowhere else: `GITLAB_TOKEN` comes from the environment only, travels over HTTPS, and over
plain HTTP only to a host *written* as a loopback address (127.x.x.x, ::1, localhost) unless
the user allowed plain HTTP explicitly. GitLab's answers are hostile text: every string this
module puts in an error passes through `wizard.core.text.clean`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard.core.errors import WizardError
from wizard.core.text import clean

if TYPE_CHECKING:
    import httpx

TOKEN_ENV = "GITLAB_TOKEN"
DEFAULT_TIMEOUT = 10.0
MAX_SHOWN = 300

DUO_SETTINGS_FIELDS = "aiGatewayUrl aiGatewayTimeoutSeconds duoAgentPlatformServiceUrl"
DUO_SETTINGS_QUERY = f"query {{ duoSettings {{ {DUO_SETTINGS_FIELDS} }} }}"
DUO_SETTINGS_MUTATION = (
    "mutation($input: DuoSettingsUpdateInput!) { duoSettingsUpdate(input: $input) "
    f"{{ duoSettings {{ {DUO_SETTINGS_FIELDS} }} errors }} }}"
)


class GitLabError(WizardError):
    """GitLab could not be asked, or said no."""


class NoToken(GitLabError):
    def __init__(self) -> None:
        super().__init__(
            f"{TOKEN_ENV} is not set: an administrator's personal access token (scope `api`) is needed",
            [f"export {TOKEN_ENV}=… in this shell (it is read from the environment only and never saved)"],
        )


class TokenRefused(GitLabError):
    """The token would travel over plain HTTP to a host that is not written as loopback."""


class GraphQLErrors(GitLabError):
    """GitLab answered, with errors: one clean line each in `errors`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(errors) or "GitLab reported an error")


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """Text from GitLab made safe to show: control characters visible, length bounded."""
    text = clean(str(value))
    return text if len(text) <= limit else text[:limit] + "…"


def token_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`GITLAB_TOKEN`, from the environment only (never a file, never the profile)."""
    source = os.environ if environ is None else environ
    return source.get(TOKEN_ENV, "").strip()


def is_written_loopback(host: str) -> bool:
    """Whether `host` is *written* as loopback: 127.x.x.x, ::1 or localhost (no lookup)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token_transport(url: str, *, allow_http: bool = False) -> None:
    """The token rule: raise TokenRefused unless a token may be sent to `url`."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and (is_written_loopback(parts.hostname or "") or allow_http):
        return
    where = shown(f"{parts.scheme}://{parts.netloc}")
    raise TokenRefused(
        f"refusing to send {TOKEN_ENV} over plain HTTP to {where}: anyone on the way could read it",
        [
            "use GitLab's https:// address in gitlab.url",
            "or, if you accept the risk on a trusted network, pass --allow-http",
        ],
        field="gitlab.url",
    )


def trust(ca_bundle: Path | None, cadata: str | None = None) -> ssl.SSLContext:
    """The CA bundle alone when given (as the gateway trusts it), else this host's store.

    `cadata` is a bundle's PEM text (one read out of a container, say) instead of a file.
    """
    if cadata is not None:
        try:
            return ssl.create_default_context(cadata=cadata)
        except (ssl.SSLError, ValueError) as error:
            raise GitLabError(f"the CA bundle holds no usable certificate ({shown(error)})", field="gateway.ca_bundle") from None
    if ca_bundle is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as error:
        raise GitLabError(
            f"the CA bundle {shown(ca_bundle)} cannot be loaded ({shown(getattr(error, 'strerror', None) or error)})",
            ["fix gateway.ca_bundle: a readable PEM file with the public roots and GitLab's CA"],
            field="gateway.ca_bundle",
        ) from None


@dataclass(frozen=True)
class DuoSettings:
    """GitLab's Duo settings as GraphQL names them (raw values; `shown()` them for display)."""

    ai_gateway_url: str | None = None
    timeout_seconds: int | None = None
    agent_platform_url: str | None = None

    @classmethod
    def from_graphql(cls, data: Mapping[str, Any] | None) -> DuoSettings:
        data = data or {}

        def text(name: str) -> str | None:
            value = data.get(name)
            return None if value is None else str(value)

        timeout = data.get("aiGatewayTimeoutSeconds")
        return cls(text("aiGatewayUrl"), timeout if isinstance(timeout, int) else None, text("duoAgentPlatformServiceUrl"))

    def to_input(self) -> dict[str, Any]:
        """The `duoSettingsUpdate` input: only the settings that are set."""
        values = {
            "aiGatewayUrl": self.ai_gateway_url,
            "aiGatewayTimeoutSeconds": self.timeout_seconds,
            "duoAgentPlatformServiceUrl": self.agent_platform_url,
        }
        return {name: value for name, value in values.items() if value is not None}


class GitLabClient:
    """One GitLab, one connection pool; use as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        api_url: str = "",
        ca_bundle: Path | None = None,
        token: str = "",
        allow_http: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        cadata: str | None = None,
        addresses: Mapping[str, str] | None = None,
    ) -> None:
        """`addresses` maps host names to the addresses to connect to (a container's /etc/hosts):
        certificates are still checked against the name."""
        import httpx  # heavy: only when GitLab is actually asked

        self.base_url = base_url.rstrip("/")
        self.api_url = api_url or f"{self.base_url}/api/v4/"
        self._token = token
        self._allow_http = allow_http
        context = trust(ca_bundle, cadata)
        transport = _mapped_transport(context, addresses) if addresses else None
        self._http = httpx.Client(verify=context, trust_env=False, timeout=timeout, follow_redirects=False, transport=transport)

    def __enter__(self) -> GitLabClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- requests -------------------------------------------------------------------------------

    def _headers(self, url: str, with_token: bool) -> dict[str, str]:
        if not with_token:
            return {}
        if not self._token:
            raise NoToken()
        check_token_transport(url, allow_http=self._allow_http)
        return {"Authorization": f"Bearer {self._token}"}

    def _send(self, method: str, url: str, *, with_token: bool, body: Any = None) -> httpx.Response:
        import httpx

        headers = self._headers(url, with_token)
        try:
            return self._http.request(method, url, headers=headers, json=body)
        except httpx.HTTPError as error:
            raise GitLabError(
                f"cannot reach GitLab at {shown(url)}: {shown(_reason(error))}",
                ["check gitlab.url, and that this host reaches GitLab (firewall, proxy, DNS, CA bundle)"],
                field="gitlab.url",
            ) from None

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise GitLabError(
                f"{what} answered HTTP {response.status_code} with something that is not JSON",
                ["check that gitlab.url is GitLab's address (not a proxy's login page)"],
                field="gitlab.url",
            ) from None

    def get_json(self, url: str, *, with_token: bool = False) -> tuple[int, Any]:
        """(status, JSON body or None) of a GET; for the probes that judge status themselves."""
        response = self._send("GET", url, with_token=with_token)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        return response.status_code, body

    def version(self, *, with_token: bool = True) -> tuple[int, Any]:
        return self.get_json(f"{self.api_url}version", with_token=with_token)

    def oidc_discovery(self) -> tuple[int, Any]:
        return self.get_json(f"{self.base_url}/.well-known/openid-configuration")

    def jwks(self, uri: str) -> tuple[int, Any]:
        return self.get_json(uri)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a GraphQL answer; top-level `errors` raise GraphQLErrors."""
        url = f"{self.base_url}/api/graphql"
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = dict(variables)
        response = self._send("POST", url, with_token=True, body=body)
        if response.status_code in (401, 403):
            document = self._json(response, "GitLab's GraphQL API") if response.content else {}
            said = document.get("error_description") or document.get("error") or document.get("message") if isinstance(document, dict) else None
            raise GraphQLErrors([f"GitLab refused the token (HTTP {response.status_code}" + (f": {shown(said)})" if said else ")")])
        document = self._json(response, "GitLab's GraphQL API")
        if not isinstance(document, dict):
            raise GitLabError(f"GitLab's GraphQL API answered HTTP {response.status_code} without a JSON object")
        errors = document.get("errors")
        if errors:
            raise GraphQLErrors([_error_line(item) for item in (errors if isinstance(errors, list) else [errors])])
        if response.status_code != 200:
            raise GitLabError(f"GitLab's GraphQL API answered HTTP {response.status_code}")
        data = document.get("data")
        return data if isinstance(data, dict) else {}

    # --- Duo settings ---------------------------------------------------------------------------

    def duo_settings(self) -> DuoSettings:
        data = self.graphql(DUO_SETTINGS_QUERY)
        return DuoSettings.from_graphql(data.get("duoSettings"))

    def update_duo_settings(self, wanted: DuoSettings) -> DuoSettings:
        data = self.graphql(DUO_SETTINGS_MUTATION, {"input": wanted.to_input()})
        payload = data.get("duoSettingsUpdate") or {}
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors:
            raise GraphQLErrors([shown(error) for error in (errors if isinstance(errors, list) else [errors])])
        return DuoSettings.from_graphql(payload.get("duoSettings") if isinstance(payload, dict) else None)


def _mapped_transport(context: ssl.SSLContext, addresses: Mapping[str, str]) -> httpx.HTTPTransport:
    """A transport that connects to `addresses[host]` instead of resolving `host`."""
    import httpcore
    import httpx

    mapping = {name.lower(): address for name, address in addresses.items()}

    class Mapped(httpcore.SyncBackend):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
            return super().connect_tcp(mapping.get(host.lower(), host), port, timeout, local_address, socket_options)

    transport = httpx.HTTPTransport(verify=context)
    # httpx has no resolver hook; its pool takes a network backend (httpx 0.2x keeps it in _pool).
    transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=Mapped())
    return transport


def _error_line(item: object) -> str:
    if isinstance(item, dict):
        message = shown(item.get("message") or "unnamed error")
        path = item.get("path")
        if isinstance(path, list) and path:
            return f"{message} (at {shown('.'.join(str(part) for part in path))})"
        return message
    return shown(item)


def _reason(error: BaseException) -> str:
    """The innermost readable reason (refused, certificate verify failed, timed out…)."""
    seen: set[int] = set()
    current: BaseException | None = error
    text = str(error) or type(error).__name__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"certificate not trusted ({current.verify_message})"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        current = current.__cause__ or current.__context__
    return text.splitlines()[0] if text else type(error).__name__


def pretty(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2)
