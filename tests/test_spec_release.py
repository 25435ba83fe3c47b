"""The container and values spec for today's gateways; 17.x output stays exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.factories import docker_profile, helm_profile
from wizard.core import paths, spec
from wizard.core.profile import Profile, validate_field
from wizard.core.release import ALL_KEY_VARIABLES, KEY_FILE_NAMES

CURRENT = {"version": "19.2.1"}

# The 17.x spec as it was before the release model (config hash included).
LEGACY_ENV = {
    "AIGW_GITLAB_URL": "https://gitlab.example.com",
    "AIGW_GITLAB_API_URL": "https://gitlab.example.com/api/v4/",
}


def test_17x_container_spec_is_unchanged() -> None:
    container = spec.container_spec(docker_profile(), "prod")
    assert container.environment == LEGACY_ENV
    assert container.ports == {"5052/tcp": 5052}
    assert container.agent_platform_host_port is None
    assert container.keys == () and container.mounts == () and container.extra_hosts == {}
    # The hash of the pre-release-model fields only: containers made before keep matching.
    assert container.labels[spec.LABEL_CONFIG_HASH] == "77343717d5f6469c"


def test_17x_helm_values_are_unchanged() -> None:
    values = spec.helm_values(helm_profile())
    assert values["authBypassExternal"] is False
    assert "extraEnvironmentVariables" not in values


def test_current_release_publishes_the_agent_platform_and_names_its_keys() -> None:
    profile = docker_profile(gitlab=CURRENT, gateway={"agent_platform_port": 51052})
    container = spec.container_spec(profile, "prod")
    assert container.ports == {"5052/tcp": 5052, "50052/tcp": 51052}
    assert container.environment["DUO_WORKFLOW_AUTH__ENABLED"] == "true"
    assert [key.variable for key in container.keys] == list(ALL_KEY_VARIABLES)
    for key in container.keys:
        assert key.path == str(paths.key_file("prod", key.variable))
        assert key.variable not in container.environment  # references only, never text
    assert container.keys[0].shell_assignment() == (
        f'AIGW_SELF_SIGNED_JWT__SIGNING_KEY="$(cat {paths.keys_dir("prod")}/aigw_signing.key)"'
    )


def test_key_paths_join_the_config_hash() -> None:
    one = spec.container_spec(docker_profile(gitlab=CURRENT), "one")
    two = spec.container_spec(docker_profile(gitlab=CURRENT), "two")
    assert one.environment == two.environment
    assert one.config_hash() != two.config_hash()


def test_offline_licence_points_both_portal_urls_at_gitlab() -> None:
    profile = docker_profile(gitlab={**CURRENT, "offline_license": True})
    environment = spec.container_spec(profile, "prod").environment
    assert environment["AIGW_CUSTOMER_PORTAL_URL"] == "https://gitlab.example.com"
    assert environment["DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL"] == "https://gitlab.example.com"
    assert "AIGW_CUSTOMER_PORTAL_URL" not in spec.container_spec(docker_profile(gitlab=CURRENT), "p").environment


def test_extra_hosts_reach_the_spec_and_are_validated() -> None:
    profile = docker_profile(docker={"extra_hosts": {"GitLab.Corp.test": "10.0.0.5"}})
    assert spec.container_spec(profile, "prod").extra_hosts == {"gitlab.corp.test": "10.0.0.5"}
    base = docker_profile()
    for hosts, fragment in [
        ({"gitlab.corp.test": "gitlab.other.test"}, "not an IP address"),
        ({"gitlab.corp.test": "127.0.0.1"}, "loopback"),
        ({"gitlab.corp.test": "0.0.0.0"}, "not an address"),
        ({"10.0.0.9": "10.0.0.5"}, "is an address"),
        ({"bad name;x": "10.0.0.5"}, "not a valid host name"),
        ({"gitlab.corp.test": 5}, "must be a valid string"),
    ]:
        updated, error = validate_field(base, "docker.extra_hosts", hosts)
        assert updated is None and error is not None and fragment in error, (hosts, error)


def test_native_tls_mounts_and_https_urls_from_19_1(tmp_path: Path) -> None:
    tls = {"cert": "certs/gw.crt", "key": "certs/gw.key"}
    profile = docker_profile(gitlab=CURRENT, tls=tls)
    profile._base_dir = tmp_path
    container = spec.container_spec(profile, "prod")
    assert [(m.source, m.target) for m in container.mounts] == [
        (str(tmp_path / "certs/gw.crt"), spec.TLS_CERT_MOUNT),
        (str(tmp_path / "certs/gw.key"), spec.TLS_KEY_MOUNT),
    ]
    assert container.environment["AIGW_FASTAPI__TLS__ENABLED"] == "true"
    assert container.environment["DUO_WORKFLOW_TLS__KEY_FILE"] == spec.TLS_KEY_MOUNT
    assert profile.gateway_url == "https://aigw.example.com:5052"
    settings = spec.gitlab_settings(profile)
    assert settings.agent_platform_url == "aigw.example.com:50052" and settings.agent_platform_tls


@pytest.mark.parametrize("version", ["17.5.0", "18.4.0", "19.0.2"])
def test_no_native_tls_before_19_1(version: str) -> None:
    profile = docker_profile(gitlab={"version": version}, tls={"cert": "/c.crt", "key": "/c.key"})
    container = spec.container_spec(profile, "prod")
    assert container.mounts == ()
    assert not any("TLS__" in name for name in container.environment)
    assert profile.gateway_url.startswith("http://")


def test_current_helm_values_use_variables_and_a_secret_for_keys() -> None:
    profile = helm_profile(gitlab={**CURRENT, "offline_license": True}, gateway={"auth_bypass": True})
    values = spec.helm_values(profile)
    assert "authBypassExternal" not in values
    entries = {entry["name"]: entry for entry in values["extraEnvironmentVariables"]}
    assert entries["AIGW_AUTH__BYPASS_EXTERNAL"]["value"] == "true"
    assert entries["DUO_WORKFLOW_AUTH__ENABLED"]["value"] == "true"
    assert entries["AIGW_CUSTOMER_PORTAL_URL"]["value"] == "https://gitlab.example.com"
    for variable in ALL_KEY_VARIABLES:
        assert entries[variable] == {
            "name": variable,
            "valueFrom": {
                "secretKeyRef": {"name": "ai-gateway-aigw-wizard-jwt-keys", "key": KEY_FILE_NAMES[variable]}
            },
        }
    assert "BEGIN" not in yaml.safe_dump(values)
    off = spec.helm_values(helm_profile(gitlab=CURRENT))
    assert {"name": "AIGW_AUTH__BYPASS_EXTERNAL", "value": "false"} in off["extraEnvironmentVariables"]


def test_fips_values_name_the_fips_repository() -> None:
    values = spec.helm_values(helm_profile(gitlab=CURRENT, gateway={"variant": "fips"}))
    assert values["image"]["repository"].endswith("/model-gateway/self-hosted-fips")


def test_gitlab_settings_per_generation() -> None:
    legacy = spec.gitlab_settings(docker_profile())
    assert (legacy.ai_gateway_url, legacy.agent_platform_url, legacy.timeout_seconds) == (
        "http://aigw.example.com:5052", "", None,
    )
    assert legacy.lines() == ["Local AI Gateway URL: http://aigw.example.com:5052"]
    current = spec.gitlab_settings(docker_profile(gitlab=CURRENT, gateway={"hostname": "10.1.2.3"}))
    assert current.ai_gateway_url == "http://10.1.2.3:5052"
    assert current.agent_platform_url == "10.1.2.3:50052"  # no scheme
    assert not current.agent_platform_tls and current.timeout_seconds == 300
    assert any("300 s" in line for line in current.lines())
    ipv6 = spec.gitlab_settings(docker_profile(gitlab=CURRENT, gateway={"hostname": "fd00::5"}))
    assert ipv6.agent_platform_url == "[fd00::5]:50052"
    helm = spec.gitlab_settings(helm_profile(gitlab=CURRENT))
    assert helm.ai_gateway_url == "https://aigw.example.com" and helm.agent_platform_tls


@pytest.mark.parametrize(
    "name",
    ["AIGW_SELF_SIGNED_JWT__SIGNING_KEY", "DUO_WORKFLOW_AUTH__ENABLED", "AIGW_CUSTOMER_PORTAL_URL", "AIGW_FASTAPI__TLS__ENABLED"],
)
def test_extra_env_cannot_override_what_the_release_sets(name: str) -> None:
    updated, error = validate_field(Profile(), "gateway.extra_env", {name: "x"})
    assert updated is None and error is not None and "set by the wizard" in error
