"""The profile model: what users may type, and what is still missing before apply."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.factories import docker_profile, helm_profile
from wizard.core.profile import Profile, problems, problems_from_validation_error, validate_field


def field_error(field: str, value: object) -> str | None:
    _updated, error = validate_field(Profile(), field, value)
    return error


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("localhost", "must not be localhost"),
        ("aigw.localhost", "must not be localhost"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "not an address"),
        ("aigw example.com", "not a valid host name"),
        ("aigw;rm -rf /", "not a valid host name"),
        ("$(reboot)", "not a valid host name"),
        ("bücher.example", "punycode"),
        ("-aigw.example.com", "not a valid host name"),
        ("a" * 64 + ".example.com", "not a valid host name"),
        ("aigw\x1b[2J.example.com", "control characters"),
    ],
)
def test_gateway_hostname_refuses_what_gitlab_cannot_reach(value: str, fragment: str) -> None:
    error = field_error("gateway.hostname", value)
    assert error is not None and fragment in error


@pytest.mark.parametrize(
    ("value", "stored"),
    [("AIGW.Example.com", "aigw.example.com"), ("10.0.0.5", "10.0.0.5"), ("aigw.example.com.", "aigw.example.com")],
)
def test_gateway_hostname_accepts_and_normalises(value: str, stored: str) -> None:
    updated, error = validate_field(Profile(), "gateway.hostname", value)
    assert error is None and updated is not None
    assert updated.gateway.hostname == stored


def test_api_url_is_derived_from_the_url_when_absent() -> None:
    profile = docker_profile(gitlab={"url": "https://gitlab.example.com/"})
    assert profile.gitlab.url == "https://gitlab.example.com"
    assert profile.gitlab.api_url == ""
    assert profile.gitlab.effective_api_url == "https://gitlab.example.com/api/v4/"


@pytest.mark.parametrize("value", ["https://gitlab.example.com/api/v4", "https://gitlab.example.com/api/v4/"])
def test_api_url_trailing_slash_is_normalised(value: str) -> None:
    updated, error = validate_field(Profile(), "gitlab.api_url", value)
    assert error is None and updated is not None
    assert updated.gitlab.api_url == "https://gitlab.example.com/api/v4/"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("gitlab.url", "gitlab.example.com", "https://"),
        ("gitlab.url", "ftp://gitlab.example.com", "https://"),
        ("gitlab.url", "https://root:secret@gitlab.example.com", "password"),
        ("gitlab.url", "https://", "must name a host"),
        ("gitlab.url", "https://gitlab.example.com:99999", "port"),
        ("gitlab.api_url", "https://gitlab.example.com/api/v3/", "/api/v4/"),
        ("gitlab.version", "17.5", "like 17.5.0"),
        ("gateway.port", 0, "must be at least 1"),
        ("gateway.port", 70000, "must be at most 65535"),
        ("gateway.image", "registry.example.com/ai:latest", "tag"),
        ("gateway.image", "Registry.example.com/AI", "not a valid image name"),
        ("gateway.tag", "bad tag", "image tag"),
        ("gateway.image_archive", "-rf", "must not start with '-'"),
        ("docker.container_name", "gitlab aigw", "container name"),
        ("helm.namespace", "AI_Gateway", "not a valid name"),
        ("helm.release", "r" * 54, "at most 53"),
        ("helm.chart", "not a chart", "repo/chart"),
        ("helm.chart_version", "latest", "like 0.1.1"),
        ("helm.timeout", "five minutes", "duration"),
        ("target", "kubernetes", "'docker' or 'helm'"),
    ],
)
def test_invalid_values_get_plain_messages(field: str, value: object, fragment: str) -> None:
    error = field_error(field, value)
    assert error is not None and fragment in error, error


def test_gitlab_version_accepts_what_gitlab_reports() -> None:
    updated, error = validate_field(Profile(), "gitlab.version", "v17.5.0-ee")
    assert error is None and updated is not None
    assert updated.gitlab.version == "17.5.0"
    assert updated.image_tag == "self-hosted-v17.5.0-ee"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"1BAD": "x"}, "not a valid environment variable name"),
        ({"AIGW_GITLAB_URL": "x"}, "set by the wizard from gitlab.url"),
        ({"AIGW_GITLAB__TOKEN": "x"}, "looks like a secret"),
        ({"AIGW_LOGGING__LEVEL": "bad\x00value"}, "control characters"),
    ],
)
def test_extra_env_refuses_bad_names_managed_names_and_secrets(env: dict[str, str], fragment: str) -> None:
    error = field_error("gateway.extra_env", env)
    assert error is not None and fragment in error


def test_an_empty_profile_loads_and_lists_what_is_missing() -> None:
    missing = {problem.field for problem in problems(Profile())}
    assert missing == {"target", "gitlab.url", "gitlab.version", "gateway.hostname"}


def test_a_tag_makes_the_version_optional() -> None:
    profile = docker_profile(gitlab={"version": ""}, gateway={"tag": "self-hosted-v17.6.1-ee"})
    assert problems(profile) == []
    assert profile.image_ref.endswith(":self-hosted-v17.6.1-ee")


def test_helm_needs_tls_files_and_chart_settings() -> None:
    # With no release known (a custom tag, no GitLab version) nothing can pick the chart.
    profile = helm_profile(
        gitlab={"version": ""}, gateway={"tag": "mirror-build"}, tls={"cert": "", "key": ""}, helm={"chart_version": ""}
    )
    fields = {problem.field for problem in problems(profile)}
    assert {"tls.cert", "tls.key", "helm.chart_version"} <= fields
    local = helm_profile(helm={"chart": "./ai-gateway-0.1.1.tgz", "chart_version": "", "repo_url": ""})
    assert problems(local) == []


def test_complete_profiles_have_no_problems() -> None:
    assert problems(docker_profile()) == []
    assert problems(helm_profile()) == []


def test_gateway_url_includes_the_port_for_docker_only() -> None:
    assert docker_profile(gateway={"port": 8052}).gateway_url == "http://aigw.example.com:8052"
    assert helm_profile().gateway_url == "https://aigw.example.com"
    assert docker_profile(gateway={"hostname": "2001:db8::5"}).gateway_url == "http://[2001:db8::5]:5052"


def test_unknown_keys_and_wrong_types_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Profile.model_validate({"gateway": {"hostnme": "x", "port": "5052"}})
    found = {str(problem) for problem in problems_from_validation_error(caught.value)}
    assert "gateway.hostnme: is not a setting aigw-wizard knows (misspelt?)" in found
    assert any(text.startswith("gateway.port: must be a valid integer") for text in found)


def test_relative_paths_resolve_against_the_profile_folder(tmp_path) -> None:
    profile = docker_profile(gateway={"image_archive": "gateway.tar"})
    profile._base_dir = tmp_path
    assert profile.resolve(profile.gateway.image_archive) == tmp_path / "gateway.tar"
    assert profile.resolve("/abs/x.tar").as_posix() == "/abs/x.tar"


def test_an_unknown_users_home_stays_as_typed() -> None:
    profile = docker_profile(gateway={"ca_bundle": "~no-such-user-aigw/ca.pem"})
    assert str(profile.resolve(profile.gateway.ca_bundle)).endswith("~no-such-user-aigw/ca.pem")
