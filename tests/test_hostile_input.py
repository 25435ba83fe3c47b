"""Hostile input, generated: every validator either returns a clean value or says why, and no
profile value can ever reach a command line in a position where it would read as an option."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import docker_profile, helm_profile
from wizard.core import validators
from wizard.core.profile import Profile, problems, validate_field
from wizard.install import plan

VALIDATORS: dict[str, Callable[[str], str]] = {
    "hostname": validators.hostname,
    "http_url": validators.http_url,
    "api_url": validators.api_url,
    "gitlab_version": validators.gitlab_version,
    "semver": validators.semver,
    "image_repository": validators.image_repository,
    "image_tag": validators.image_tag,
    "dns_label": validators.dns_label,
    "dns_subdomain": validators.dns_subdomain,
    "helm_release": validators.helm_release,
    "docker_name": validators.docker_name,
    "env_name": validators.env_name,
    "file_path": validators.file_path,
    "chart_reference": validators.chart_reference,
    "duration": validators.duration,
    "profile_name": validators.profile_name,
}

# Shell metacharacters, confusables, invisible and control characters, plus plain text.
NASTY = list(";|&$`'\"\\<>(){}[]*?!#~ \t\n\r\x00\x1b\x7f") + ["\u0430", "\u0435", "\u200b", "\u202e", "\uff41", "\u00e9"]
hostile_text = st.text(alphabet=st.sampled_from(NASTY + list(string.ascii_letters + string.digits + "-._:/@=%+")), max_size=120)
long_text = st.builds(lambda base, n: base * n, st.sampled_from(["a", "-", "é", "$("]), st.integers(1000, 9000))
any_text = st.one_of(hostile_text, long_text, st.text(max_size=60))


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=any_text)
def test_validators_return_clean_values_or_plain_errors(name: str, value: str) -> None:
    try:
        result = VALIDATORS[name](value)
    except ValueError as error:
        message = str(error)
        assert message and "Traceback" not in message
        return
    assert not any(ch in result for ch in "\x00\x1b\x7f\n\r")
    assert not result.startswith("-"), (name, result)  # it would read as an option


# Every flag the plan may put on a command line; anything else starting with '-' would be
# profile text read as an option.
OUR_FLAGS = {
    "-d", "--name", "--restart", "-p", "-e", "-v", "--label", "-i", "-n", "-f", "--install",
    "--version", "--wait", "--wait-for-jobs", "--atomic", "--all", "--fail", "--silent",
    "--show-error", "--retry", "--retry-connrefused", "--retry-delay",
    "--force-update", "--rollback-on-failure", "-l",
}
OUR_PREFIXES = ("--cert=", "--key=", "--context=", "--kube-context=", "--from-file=", "--namespace=",
                "--timeout=", "--for=", "--version=", "--values=")


def assert_no_option_injection(argvs: list[tuple[str, ...]]) -> None:
    for argv in argvs:
        for word in argv[1:]:
            if word.startswith("-"):
                assert word in OUR_FLAGS or word.startswith(OUR_PREFIXES), (argv, word)


field_values = {
    "gateway.hostname": hostile_text,
    "gateway.image": hostile_text,
    "gateway.tag": hostile_text,
    "gateway.image_archive": hostile_text,
    "gateway.ca_bundle": hostile_text,
    "tls.cert": hostile_text,
    "tls.key": hostile_text,
    "docker.container_name": hostile_text,
    "helm.namespace": hostile_text,
    "helm.release": hostile_text,
    "helm.chart": hostile_text,
    "helm.kube_context": hostile_text,
    "helm.tls_secret": hostile_text,
    "helm.ingress_class": hostile_text,
    "gitlab.url": hostile_text,
}


@settings(max_examples=300, deadline=None)
@given(
    target=st.sampled_from(["docker", "helm"]),
    edits=st.lists(st.tuples(st.sampled_from(sorted(field_values)), hostile_text), max_size=8),
)
def test_no_accepted_value_becomes_an_option(target: str, edits: list[tuple[str, str]]) -> None:
    profile: Profile = helm_profile() if target == "helm" else docker_profile()
    for field, value in edits:
        updated, _error = validate_field(profile, field, value)
        if updated is not None and (field != "helm.chart" or value.strip()):
            profile = updated
    if problems(profile):
        return  # plan and apply refuse an incomplete profile before building any command
    steps = plan.build(profile, "p")
    argvs = [step.argv for step in steps if step.argv]
    assert argvs
    assert_no_option_injection(argvs)


def test_option_looking_values_are_refused_where_they_would_land_as_arguments() -> None:
    for field in ("tls.cert", "gateway.image_archive", "gateway.ca_bundle", "helm.chart"):
        _updated, error = validate_field(docker_profile(), field, "--dry-run")
        assert error and "must not start with '-'" in error
    for field in ("gateway.hostname", "helm.namespace", "docker.container_name", "gateway.tag"):
        _updated, error = validate_field(docker_profile(), field, "-x")
        assert error, field
