"""What a profile means concretely: the container to run, and the Helm values to install.

The plan, the installers, `status` drift and the config hash all read these, so the
commands we show and the things we do cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from wizard.core.profile import DEFAULT_IMAGE, GATEWAY_CONTAINER_PORT, Profile

CA_BUNDLE_MOUNT = "/etc/aigw/ca-bundle.pem"
CA_BUNDLE_DIR = "/etc/aigw"
CA_SECRET_SUFFIX = "-ca-bundle"
CA_SECRET_KEY = "ca-bundle.pem"
LABEL_PREFIX = "io.gitlab.aigw-wizard"
LABEL_MANAGED = f"{LABEL_PREFIX}.managed"
LABEL_PROFILE = f"{LABEL_PREFIX}.profile"
LABEL_CONFIG_HASH = f"{LABEL_PREFIX}.config-hash"


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

    @property
    def container_port(self) -> str:
        return f"{GATEWAY_CONTAINER_PORT}/tcp"

    def config_hash(self) -> str:
        """A digest of what defines the running gateway; a change means a replacement."""
        defining = {
            "image": self.image,
            "environment": self.environment,
            "host_port": self.host_port,
            "ca_bundle": self.ca_bundle,
            "restart_policy": self.restart_policy,
        }
        encoded = json.dumps(defining, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


def gateway_environment(profile: Profile) -> dict[str, str]:
    """The gateway's variables, in the order the reference procedure lists them."""
    environment = {
        "AIGW_GITLAB_URL": profile.gitlab.url,
        "AIGW_GITLAB_API_URL": profile.gitlab.effective_api_url,
    }
    environment.update(profile.gateway.extra_env)
    if profile.gateway.ca_bundle:
        environment["SSL_CERT_FILE"] = CA_BUNDLE_MOUNT
        environment["REQUESTS_CA_BUNDLE"] = CA_BUNDLE_MOUNT
    if profile.gateway.auth_bypass:
        environment["AIGW_AUTH__BYPASS_EXTERNAL"] = "true"
    return environment


def container_spec(profile: Profile, profile_name: str) -> ContainerSpec:
    ca_bundle = str(profile.resolve(profile.gateway.ca_bundle)) if profile.gateway.ca_bundle else None
    spec = ContainerSpec(
        name=profile.docker.container_name,
        image=profile.image_ref,
        environment=gateway_environment(profile),
        host_port=profile.gateway.port,
        ca_bundle=ca_bundle,
        restart_policy=profile.docker.restart_policy,
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


def helm_values(profile: Profile) -> dict[str, Any]:
    """The chart values of the reference's `--set` flags, as one values file.

    `authBypassExternal` is always written: some chart versions default it to true.
    """
    host = profile.gateway.hostname
    image: dict[str, Any] = {"tag": profile.image_tag}
    if profile.gateway.image != DEFAULT_IMAGE:
        image = {"repository": profile.gateway.image, **image}
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
        "authBypassExternal": profile.gateway.auth_bypass,
    }
    extra_env = dict(profile.gateway.extra_env)
    if profile.gateway.ca_bundle:
        extra_env["SSL_CERT_FILE"] = CA_BUNDLE_MOUNT
        extra_env["REQUESTS_CA_BUNDLE"] = CA_BUNDLE_MOUNT
        values["volumes"] = [
            {"name": "ca-bundle", "secret": {"secretName": ca_secret_name(profile)}}
        ]
        values["volumeMounts"] = [
            {"name": "ca-bundle", "mountPath": CA_BUNDLE_DIR, "readOnly": True}
        ]
    if extra_env:
        values["extraEnvironmentVariables"] = [
            {"name": name, "value": value} for name, value in extra_env.items()
        ]
    return values
