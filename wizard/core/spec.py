"""What a profile means concretely: the container to run, and the Helm values to install.

The plan, the installers, `status` drift and the config hash all read these, so the
commands we show and the things we do cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from wizard.core import paths
from wizard.core import release as releases
from wizard.core.profile import DEFAULT_IMAGE, GATEWAY_CONTAINER_PORT, Profile

CA_BUNDLE_MOUNT = "/etc/aigw/ca-bundle.pem"
CA_BUNDLE_DIR = "/etc/aigw"
CA_SECRET_SUFFIX = "-ca-bundle"
CA_SECRET_KEY = "ca-bundle.pem"
LABEL_PREFIX = "io.gitlab.aigw-wizard"
LABEL_MANAGED = f"{LABEL_PREFIX}.managed"
LABEL_PROFILE = f"{LABEL_PREFIX}.profile"
LABEL_CONFIG_HASH = f"{LABEL_PREFIX}.config-hash"
TLS_DIR = "/etc/aigw/tls"
TLS_CERT_MOUNT = f"{TLS_DIR}/tls.crt"
TLS_KEY_MOUNT = f"{TLS_DIR}/tls.key"
JWT_SECRET_SUFFIX = "-aigw-wizard-jwt-keys"
GITLAB_TIMEOUT_ADVICE_S = 300


@dataclass(frozen=True)
class KeyReference:
    """One JWT key variable and the file holding its PEM text: never the text itself.

    The Docker engine reads the file when it creates the container; a plan shows
    `shell_assignment()`; Helm reads it from the Secret under `secret_key`.
    """

    variable: str
    path: str

    @property
    def secret_key(self) -> str:
        return releases.KEY_FILE_NAMES[self.variable]

    def shell_assignment(self) -> str:
        """`NAME="$(cat PATH)"`: shell text for a plan line (already quoted; do not quote again)."""
        return f'{self.variable}="$(cat {shlex.quote(self.path)})"'


@dataclass(frozen=True)
class ReadOnlyMount:
    source: str
    target: str


@dataclass(frozen=True)
class ContainerSpec:
    """Everything `docker run` needs for the gateway, derived from a profile."""

    name: str
    image: str
    environment: dict[str, str]
    host_port: int
    ca_bundle: str | None
    restart_policy: str
    labels: dict[str, str] = field(default_factory=dict)
    agent_platform_host_port: int | None = None
    """Host port published to the Agent Platform's 50052 (releases 18.0+), else None."""
    extra_hosts: dict[str, str] = field(default_factory=dict)
    """`--add-host NAME:IP` entries."""
    mounts: tuple[ReadOnlyMount, ...] = ()
    """Read-only bind mounts besides the CA bundle (the native-TLS certificate and key)."""
    keys: tuple[KeyReference, ...] = ()
    """JWT key variables to set from files when the container is created."""

    @property
    def container_port(self) -> str:
        return f"{GATEWAY_CONTAINER_PORT}/tcp"

    @property
    def ports(self) -> dict[str, int]:
        """Container port → host port, for every published port."""
        published = {self.container_port: self.host_port}
        if self.agent_platform_host_port is not None:
            published[f"{releases.AGENT_PLATFORM_PORT}/tcp"] = self.agent_platform_host_port
        return published

    def config_hash(self) -> str:
        """A digest of what defines the running gateway; a change means a replacement.

        Key *paths* count, their contents do not (the spec never reads them): the engine adds
        `keys` fingerprints itself if a rotation must replace the container.
        """
        defining: dict[str, Any] = {
            "image": self.image,
            "environment": self.environment,
            "host_port": self.host_port,
            "ca_bundle": self.ca_bundle,
            "restart_policy": self.restart_policy,
        }
        # Only what is set joins the digest, so a 17.x container keeps the hash it always had.
        if self.agent_platform_host_port is not None:
            defining["agent_platform_host_port"] = self.agent_platform_host_port
        if self.extra_hosts:
            defining["extra_hosts"] = self.extra_hosts
        if self.mounts:
            defining["mounts"] = [[mount.source, mount.target] for mount in self.mounts]
        if self.keys:
            defining["keys"] = [[key.variable, key.path] for key in self.keys]
        encoded = json.dumps(defining, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


def release_environment(profile: Profile) -> dict[str, str]:
    """What the release itself asks for besides the URLs: fixed values and the offline licence."""
    release = profile.release
    if release is None:
        return {}
    environment = dict(release.fixed_environment)
    if profile.gitlab.offline_license:
        environment.update({name: profile.gitlab.url for name in release.customer_portal_variables})
    return environment


def tls_environment(profile: Profile) -> dict[str, str]:
    """Native TLS for both services (Docker, release with native TLS, tls.cert/key set)."""
    release = profile.release
    if release is None or not profile.serves_tls:
        return {}
    environment: dict[str, str] = {}
    for tls in release.tls_variables:
        environment.update(
            {tls.enabled: "true", tls.cert_file: TLS_CERT_MOUNT, tls.key_file: TLS_KEY_MOUNT}
        )
    return environment


def gateway_environment(profile: Profile) -> dict[str, str]:
    """The gateway's variables (no secrets), in the order the reference procedure lists them."""
    environment = {
        "AIGW_GITLAB_URL": profile.gitlab.url,
        "AIGW_GITLAB_API_URL": profile.gitlab.effective_api_url,
    }
    environment.update(release_environment(profile))
    environment.update(tls_environment(profile))
    environment.update(profile.gateway.extra_env)
    if profile.gateway.ca_bundle:
        environment["SSL_CERT_FILE"] = CA_BUNDLE_MOUNT
        environment["REQUESTS_CA_BUNDLE"] = CA_BUNDLE_MOUNT
    if profile.gateway.auth_bypass:
        environment[releases.BYPASS_VARIABLE] = "true"
    return environment


def key_references(profile: Profile, profile_name: str) -> tuple[KeyReference, ...]:
    """The JWT keys the profile's release needs, as variable + file path (empty for 17.x)."""
    release = profile.release
    if release is None:
        return ()
    return tuple(
        KeyReference(variable, str(paths.key_file(profile_name, variable)))
        for variable in release.key_variables
    )


def tls_mounts(profile: Profile) -> tuple[ReadOnlyMount, ...]:
    if not profile.serves_tls:
        return ()
    return (
        ReadOnlyMount(str(profile.resolve(profile.tls.cert)), TLS_CERT_MOUNT),
        ReadOnlyMount(str(profile.resolve(profile.tls.key)), TLS_KEY_MOUNT),
    )


def container_spec(profile: Profile, profile_name: str) -> ContainerSpec:
    ca_bundle = str(profile.resolve(profile.gateway.ca_bundle)) if profile.gateway.ca_bundle else None
    release = profile.release
    spec = ContainerSpec(
        name=profile.docker.container_name,
        image=profile.image_ref,
        environment=gateway_environment(profile),
        host_port=profile.gateway.port,
        ca_bundle=ca_bundle,
        restart_policy=profile.docker.restart_policy,
        agent_platform_host_port=profile.gateway.agent_platform_port if release and release.agent_platform else None,
        extra_hosts=dict(profile.docker.extra_hosts),
        mounts=tls_mounts(profile),
        keys=key_references(profile, profile_name),
    )
    spec.labels.update(
        {
            LABEL_MANAGED: "true",
            LABEL_PROFILE: profile_name,
            LABEL_CONFIG_HASH: spec.config_hash(),
        }
    )
    return spec


def ca_secret_name(profile: Profile) -> str:
    return f"{profile.helm.release}{CA_SECRET_SUFFIX}"


def jwt_secret_name(profile: Profile) -> str:
    """The Secret the wizard makes from the key files (not the chart's own `<release>-jwt-keys`)."""
    return f"{profile.helm.release}{JWT_SECRET_SUFFIX}"


def helm_values(profile: Profile) -> dict[str, Any]:
    """The chart values of the reference's `--set` flags, as one values file.

    17.x: `authBypassExternal` is always written (some chart versions default it to true), as
    before. 18.0+: the chart has no such value; `AIGW_AUTH__BYPASS_EXTERNAL` is written
    explicitly (true or false) among `extraEnvironmentVariables`, with the release's fixed
    variables, the offline licence and the JWT keys by `secretKeyRef` to `jwt_secret_name`.
    """
    host = profile.gateway.hostname
    release = profile.release
    current = release is not None and release.agent_platform
    image: dict[str, Any] = {"tag": profile.image_tag}
    if profile.image_repository != DEFAULT_IMAGE:
        image = {"repository": profile.image_repository, **image}
    values: dict[str, Any] = {
        "image": image,
        "gitlab": {"url": profile.gitlab.url, "apiUrl": profile.gitlab.effective_api_url},
        "ingress": {
            "enabled": True,
            "className": profile.helm.ingress_class,
            "hosts": [
                {"host": host, "paths": [{"path": "/", "pathType": "ImplementationSpecific"}]}
            ],
            "tls": [{"secretName": profile.helm.tls_secret, "hosts": [host]}],
        },
    }
    if not current:
        values["authBypassExternal"] = profile.gateway.auth_bypass
    extra_env = release_environment(profile)
    extra_env.update(profile.gateway.extra_env)
    if profile.gateway.ca_bundle:
        extra_env["SSL_CERT_FILE"] = CA_BUNDLE_MOUNT
        extra_env["REQUESTS_CA_BUNDLE"] = CA_BUNDLE_MOUNT
        values["volumes"] = [
            {"name": "ca-bundle", "secret": {"secretName": ca_secret_name(profile)}}
        ]
        values["volumeMounts"] = [
            {"name": "ca-bundle", "mountPath": CA_BUNDLE_DIR, "readOnly": True}
        ]
    if current:
        extra_env[releases.BYPASS_VARIABLE] = "true" if profile.gateway.auth_bypass else "false"
    entries: list[dict[str, Any]] = [{"name": name, "value": value} for name, value in extra_env.items()]
    if release is not None:
        secret = jwt_secret_name(profile)
        entries += [
            {
                "name": variable,
                "valueFrom": {"secretKeyRef": {"name": secret, "key": releases.KEY_FILE_NAMES[variable]}},
            }
            for variable in release.key_variables
        ]
    if entries:
        values["extraEnvironmentVariables"] = entries
    return values


@dataclass(frozen=True)
class GitLabSettings:
    """What an administrator sets in Admin > GitLab Duo > Change configuration."""

    ai_gateway_url: str
    """"Local AI Gateway URL": http(s)://HOST:PORT (Helm: https://HOST on the ingress)."""
    agent_platform_url: str
    """"Local URL for the GitLab Duo Agent Platform service": HOST:PORT, no scheme ("" for 17.x)."""
    agent_platform_tls: bool
    """Whether to tick "Use TLS for the GitLab Duo Agent Platform service"."""
    timeout_seconds: int | None
    """The advised AI gateway request timeout (300 s for the Agent Platform), None for 17.x."""

    def lines(self) -> list[str]:
        """The settings as plain lines for the Done screen, `apply` and `status`."""
        lines = [f"Local AI Gateway URL: {self.ai_gateway_url}"]
        if self.agent_platform_url:
            lines.append(f"Local URL for the GitLab Duo Agent Platform service: {self.agent_platform_url}")
            tick = "tick" if self.agent_platform_tls else "leave unticked"
            lines.append(f"Use TLS for the GitLab Duo Agent Platform service: {tick}")
        if self.timeout_seconds:
            lines.append(
                f"AI gateway request timeout: {self.timeout_seconds} s (advised for the Agent Platform)"
            )
        return lines


def gitlab_settings(profile: Profile) -> GitLabSettings:
    """The GitLab-side settings for this profile (Done screen, apply, status, connect)."""
    release = profile.release
    agent_platform = release is not None and release.agent_platform
    if not agent_platform:
        return GitLabSettings(profile.gateway_url, "", False, None)
    if profile.target == "helm":
        # The chart exposes gRPC through its TLS proxy's ingress (backend protocol GRPCS).
        return GitLabSettings(profile.gateway_url, f"{profile.url_host}:443", True, GITLAB_TIMEOUT_ADVICE_S)
    return GitLabSettings(
        profile.gateway_url,
        f"{profile.url_host}:{profile.gateway.agent_platform_port}",
        profile.serves_tls,
        GITLAB_TIMEOUT_ADVICE_S,
    )
