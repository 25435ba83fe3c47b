"""The release model: what each gateway generation needs, from its tag or GitLab's version."""

from __future__ import annotations

import dataclasses

import pytest

from tests.factories import docker_profile, helm_profile
from wizard.core import release as releases
from wizard.core.release import (
    AIGW_SIGNING_KEY,
    AIGW_VALIDATION_KEY,
    DUO_SIGNING_KEY,
    DUO_VALIDATION_KEY,
    Version,
    parse_tag,
    release_of,
)


def test_tags_and_versions_parse_strictly() -> None:
    assert parse_tag("self-hosted-v19.2.3-ee") == Version(19, 2, 3)
    assert parse_tag("self-hosted-v19.2.3") is None
    assert parse_tag("v19.2.3") is None
    assert parse_tag("self-hosted-v19.2-ee") is None
    assert releases.parse_version("v18.4.1-ee") == Version(18, 4, 1)
    assert releases.parse_version("18.4") is None
    assert releases.tag_for("19.2.1") == "self-hosted-v19.2.1-ee"
    with pytest.raises(ValueError, match="not a version"):
        releases.tag_for("nineteen")


def test_17x_is_todays_contract() -> None:
    release = release_of("", "17.5.0")
    assert release is not None
    assert release.tag == "self-hosted-v17.5.0-ee" and release.source == "gitlab.version"
    assert release.container_ports == (5052,)
    assert release.agent_platform_port is None and not release.agent_platform_probe
    assert release.key_variables == () and not release.needs_keys
    assert release.fixed_environment == {}
    assert not release.native_tls and release.tls_variables == ()
    assert release.min_cpus == 1 and not release.root_probe
    assert release.chart_version == "0.1.1"
    assert release.warning == ""


def test_18x_adds_the_agent_platform_and_three_keys() -> None:
    release = release_of("self-hosted-v18.2.2-ee", "18.2.1")
    assert release is not None and release.source == "tag" and release.version == Version(18, 2, 2)
    assert release.container_ports == (5052, 50052) and release.agent_platform_port == 50052
    assert release.key_variables == (AIGW_SIGNING_KEY, AIGW_VALIDATION_KEY, DUO_SIGNING_KEY)
    assert release.fixed_environment == {"DUO_WORKFLOW_AUTH__ENABLED": "true"}
    assert release.customer_portal_variables == (
        "AIGW_CUSTOMER_PORTAL_URL",
        "DUO_WORKFLOW_AUTH__OIDC_CUSTOMER_PORTAL_URL",
    )
    assert release.min_cpus == 2 and release.root_probe and release.agent_platform_probe
    assert not release.native_tls
    assert release.chart_version == releases.CURRENT_CHART_VERSION


def test_19_0_needs_all_four_keys_but_no_native_tls() -> None:
    release = release_of("self-hosted-v19.0.4-ee")
    assert release is not None
    assert release.key_variables == (AIGW_SIGNING_KEY, AIGW_VALIDATION_KEY, DUO_SIGNING_KEY, DUO_VALIDATION_KEY)
    assert not release.native_tls


def test_19_1_serves_tls_itself() -> None:
    release = release_of("self-hosted-v19.1.0-ee")
    assert release is not None and release.native_tls
    names = {name for tls in release.tls_variables for name in dataclasses.astuple(tls)}
    assert names == {
        "AIGW_FASTAPI__TLS__ENABLED", "AIGW_FASTAPI__TLS__CERT_FILE", "AIGW_FASTAPI__TLS__KEY_FILE",
        "DUO_WORKFLOW_TLS__ENABLED", "DUO_WORKFLOW_TLS__CERT_FILE", "DUO_WORKFLOW_TLS__KEY_FILE",
    }
    assert names <= release.managed_variables
    assert set(release.key_variables) <= release.managed_variables


@pytest.mark.parametrize("tag", ["self-hosted-v19.3.0-ee", "self-hosted-v20.0.1-ee", "self-hosted-v31.9.9-ee"])
def test_unknown_future_releases_get_the_newest_behaviour_and_a_warning(tag: str) -> None:
    release = release_of(tag)
    newest = releases.newest_release()
    assert release is not None and "newer than the newest release" in release.warning
    assert (release.key_variables, release.native_tls, release.container_ports, release.min_cpus) == (
        newest.key_variables, newest.native_tls, newest.container_ports, newest.min_cpus,
    )


def test_the_newest_known_line_has_no_warning() -> None:
    release = release_of("self-hosted-v19.2.3-ee")
    assert release is not None and release.warning == ""


def test_pre_17_is_treated_as_17_with_a_warning() -> None:
    release = release_of("", "16.11.0")
    assert release is not None and "older than 17.0" in release.warning
    assert release.key_variables == () and release.container_ports == (5052,)


def test_a_custom_tag_falls_back_to_the_gitlab_version_with_a_warning() -> None:
    release = release_of("mirror-build-7", "19.2.1")
    assert release is not None
    assert release.source == "gitlab.version" and release.tag == "mirror-build-7"
    assert release.version == Version(19, 2, 1) and "names no version" in release.warning
    assert release_of("mirror-build-7", "") is None
    assert release_of("", "") is None


def test_the_tag_wins_over_the_gitlab_version() -> None:
    release = release_of("self-hosted-v17.11.2-ee", "19.2.1")
    assert release is not None and release.version == Version(17, 11, 2) and not release.needs_keys


def test_image_repository_per_variant() -> None:
    base = releases.DEFAULT_IMAGE
    assert releases.image_repository("", base) == base
    assert releases.image_repository("fips", base) == f"{base}/self-hosted-fips"
    assert releases.image_repository("fips", f"{base}/self-hosted-fips") == f"{base}/self-hosted-fips"
    mirror = "registry.corp.test:5000/ai/model-gateway"
    assert releases.image_repository("fips", mirror) == f"{mirror}/self-hosted-fips"


def test_releases_are_frozen() -> None:
    release = release_of("self-hosted-v19.2.3-ee")
    assert release is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.min_cpus = 1  # type: ignore[misc]


def test_every_key_variable_has_the_install_pages_file_name() -> None:
    assert set(releases.KEY_FILE_NAMES) == set(releases.ALL_KEY_VARIABLES)
    assert releases.KEY_FILE_NAMES[DUO_SIGNING_KEY] == "duo_workflow_jwt.key"


# --- the profile asks the model --------------------------------------------------------------


def test_profile_release_and_chart_follow_the_version() -> None:
    assert helm_profile().helm.chart_version == "0.1.1"
    current = helm_profile(gitlab={"version": "19.2.1"})
    assert current.helm.chart_version == releases.CURRENT_CHART_VERSION
    pinned = helm_profile(gitlab={"version": "19.2.1"}, helm={"chart_version": "0.7.3"})
    assert pinned.chart_version == "0.7.3"
    assert docker_profile(gitlab={"version": "19.2.1"}).release.agent_platform  # type: ignore[union-attr]


def test_fips_variant_changes_only_the_repository() -> None:
    profile = docker_profile(gitlab={"version": "19.2.1"}, gateway={"variant": "fips"})
    assert profile.image_ref == f"{releases.DEFAULT_IMAGE}/self-hosted-fips:self-hosted-v19.2.1-ee"
    assert docker_profile().image_ref == f"{releases.DEFAULT_IMAGE}:self-hosted-v17.5.0-ee"


def test_a_chart_the_release_chose_follows_a_new_version_but_a_pinned_one_stays() -> None:
    from wizard.core.profile import validate_field

    old = helm_profile()
    assert old.helm.chart_version == releases.LEGACY_CHART_VERSION
    updated, error = validate_field(old, "gitlab.version", "19.2.1")
    assert error is None and updated is not None
    assert updated.helm.chart_version == releases.CURRENT_CHART_VERSION
    pinned = helm_profile(helm={"chart_version": "0.5.0"})
    kept, _ = validate_field(pinned, "gitlab.version", "19.2.1")
    assert kept is not None and kept.helm.chart_version == "0.5.0"
