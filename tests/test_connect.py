"""`aigw-wizard connect` against the fake GitLab, and the token rule of the GitLab client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from tests.factories import docker_profile
from tests.fake_gitlab import ADMIN_TOKEN, PERMISSION_ERROR, USER_TOKEN, fake_gitlab
from wizard.cli import main
from wizard.core import store
from wizard.doctor import connect
from wizard.tools.gitlab import (
    GitLabClient,
    GraphQLErrors,
    TokenRefused,
    check_token_transport,
    is_written_loopback,
)

HOST = "gateway.test"


def _save(url: str, version: str = "18.6.1", **gateway: object) -> None:
    profile = docker_profile(gitlab={"url": url, "version": version}, gateway={"hostname": HOST, **gateway})
    store.save(profile, "site")


def _leaks(token: str, *texts: str, folders: tuple[Path, ...] = ()) -> list[str]:
    found = [f"output {index}" for index, text in enumerate(texts) if token in text]
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file() and token.encode() in path.read_bytes():
                found.append(str(path))
    return found


@pytest.mark.parametrize(
    ("url", "allow_http", "allowed"),
    [
        ("https://gitlab.test", False, True),
        ("http://127.0.0.1:8080", False, True),
        ("http://127.9.3.1", False, True),
        ("http://[::1]:8080", False, True),
        ("http://localhost:8080", False, True),
        ("http://LOCALHOST", False, True),
        ("http://gitlab.test", False, False),
        ("http://localhost.gitlab.test", False, False),
        ("http://10.0.0.1", False, False),
        ("http://gitlab.test", True, True),
        ("ftp://gitlab.test", True, False),
    ],
)
def test_the_token_rule(url: str, allow_http: bool, allowed: bool) -> None:
    if allowed:
        check_token_transport(url, allow_http=allow_http)
    else:
        with pytest.raises(TokenRefused, match="refusing to send GITLAB_TOKEN"):
            check_token_transport(url, allow_http=allow_http)


def test_loopback_is_judged_as_written_never_resolved() -> None:
    assert is_written_loopback("127.0.0.1") and is_written_loopback("::1") and is_written_loopback("localhost")
    assert not is_written_loopback("gitlab.test") and not is_written_loopback("128.0.0.1")


def test_connect_over_http_sets_both_urls_and_reads_them_back(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url, port=5052)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        code = main(["connect", "site", "--yes"])
        out, err = capsys.readouterr()
        settings = dict(gitlab.state.settings)
        posts = [request for request in gitlab.requests if request.method == "POST"]
    assert code == 0, err
    assert settings == {"aiGatewayUrl": f"http://{HOST}:5052", "aiGatewayTimeoutSeconds": 300, "duoAgentPlatformServiceUrl": f"{HOST}:50052"}
    assert "GitLab now holds:" in out
    assert f"Local AI Gateway URL: http://{HOST}:5052" in out.split("GitLab now holds:")[1]
    assert f"Duo Agent Platform service URL: {HOST}:50052" in out.split("GitLab now holds:")[1]
    # read, mutate, read back; each with the token as a bearer header
    assert [json.loads(request.body)["query"].split("(")[0].split()[0] for request in posts] == ["query", "mutation", "query"]
    assert all(request.headers.get("Authorization") == f"Bearer {ADMIN_TOKEN}" for request in posts)
    assert not _leaks(ADMIN_TOKEN, out, err, folders=(config_dir,))


def test_connect_over_https_with_a_private_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca-bundle.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with fake_gitlab(ca, host="localhost") as gitlab:
        _save(gitlab.url, ca_bundle=str(bundle), port=5052)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        code = main(["connect", "site", "--yes"])
        out, err = capsys.readouterr()
        settings = dict(gitlab.state.settings)
    assert code == 0, err
    assert settings["aiGatewayUrl"] == f"http://{HOST}:5052"
    assert settings["duoAgentPlatformServiceUrl"] == f"{HOST}:50052"
    assert not _leaks(ADMIN_TOKEN, out, err, folders=(config_dir,))


def test_an_untrusted_certificate_is_one_line_and_sends_nothing_readable(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gitlab(trustme.CA(), host="localhost") as gitlab:
        _save(gitlab.url)  # no CA bundle: this host's store does not know the private CA
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        code = main(["connect", "site", "--yes"])
        _out, err = capsys.readouterr()
        recorded = list(gitlab.requests)
    assert code == 1
    assert "certificate not trusted" in err and "Traceback" not in err
    assert recorded == []  # the handshake failed: no request (and no token) reached the server


def test_before_18_only_the_gateway_url_is_set(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url, version="17.5.0", port=5052)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        assert main(["connect", "site", "--yes"]) == 0
        settings = dict(gitlab.state.settings)
    assert settings == {"aiGatewayUrl": f"http://{HOST}:5052", "aiGatewayTimeoutSeconds": 60, "duoAgentPlatformServiceUrl": None}
    assert "Agent Platform" not in capsys.readouterr().out


def test_dry_run_prints_the_mutation_and_sends_nothing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url, port=5052)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        code = main(["connect", "site", "--dry-run"])
        out, _err = capsys.readouterr()
        recorded = list(gitlab.requests)
    assert code == 0
    assert recorded == []
    document = json.loads(out.split(":\n", 1)[1])
    assert "duoSettingsUpdate" in document["query"]
    assert document["variables"]["input"]["duoAgentPlatformServiceUrl"] == f"{HOST}:50052"
    assert ADMIN_TOKEN not in out


def test_no_token_exits_2_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url)
        code = main(["connect", "site", "--yes"])
        recorded = list(gitlab.requests)
    assert code == 2
    assert "GITLAB_TOKEN" in capsys.readouterr().err
    assert recorded == []


def test_a_non_admin_token_gets_the_permission_error_as_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url)
        monkeypatch.setenv("GITLAB_TOKEN", USER_TOKEN)
        code = main(["connect", "site", "--yes"])
        out, err = capsys.readouterr()
        settings = dict(gitlab.state.settings)
    assert code == 1
    lines = [line for line in err.splitlines() if line]
    assert lines == [f"aigw-wizard: GitLab: {PERMISSION_ERROR} (at duoSettings)"]
    assert settings["aiGatewayUrl"] is None
    assert not _leaks(USER_TOKEN, out, err, folders=(config_dir,))


def test_validation_errors_come_back_one_line_each() -> None:
    with fake_gitlab() as gitlab, GitLabClient(gitlab.url, token=ADMIN_TOKEN) as client:
        wanted = connect.DuoSettings("not a url", 5, "https://gateway.test:50052")
        with pytest.raises(GraphQLErrors) as caught:
            client.update_duo_settings(wanted)
    assert len(caught.value.errors) == 3
    assert any("between 60 and 600" in line for line in caught.value.errors)


def test_trailing_slashes_are_stripped_and_the_read_back_still_matches() -> None:
    with fake_gitlab() as gitlab, GitLabClient(gitlab.url, token=ADMIN_TOKEN) as client:
        plan = connect.ConnectPlan(None, connect.DuoSettings("http://gateway.test:5052/", None, None))
        read_back = connect.apply_plan(client, plan)
    assert read_back.ai_gateway_url == "http://gateway.test:5052"
    assert connect.read_back_matches(plan, read_back) == []


def test_plain_http_to_a_named_host_is_refused_before_anything_is_sent(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _save("http://gitlab.test")
    monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
    assert main(["connect", "site", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "refusing to send GITLAB_TOKEN over plain HTTP" in err and "--allow-http" in err
    assert ADMIN_TOKEN not in err


def test_hostile_settings_are_shown_cleaned(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gitlab() as gitlab:
        gitlab.state.settings["aiGatewayUrl"] = "http://old\x1b]0;pwned\x07"
        _save(gitlab.url)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        assert main(["connect", "site", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "␛]0;pwned␇" in out


def test_without_a_terminal_it_asks_for_yes_and_changes_nothing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        monkeypatch.setattr("sys.stdin.isatty", lambda: False)
        code = main(["connect", "site"])
        settings = dict(gitlab.state.settings)
    assert code == 2 and "--yes" in capsys.readouterr().err
    assert settings["aiGatewayUrl"] is None


def test_a_second_run_has_nothing_to_change(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gitlab() as gitlab:
        _save(gitlab.url)
        monkeypatch.setenv("GITLAB_TOKEN", ADMIN_TOKEN)
        assert main(["connect", "site", "--yes"]) == 0
        capsys.readouterr()
        assert main(["connect", "site", "--yes"]) == 0
        mutations = [r for r in gitlab.requests if r.method == "POST" and b"duoSettingsUpdate" in r.body]
    assert "nothing to change" in capsys.readouterr().out
    assert len(mutations) == 1
