"""`aigw-wizard check`: output forms, exit codes, and the acceptance scenario end to end."""

from __future__ import annotations

import io
import json
import time

import pytest
import tomlkit
import trustme
from rich.console import Console

from tests.checks_servers import (
    context_for,
    fake_gitlab,
    listening_port,
    make_profile,
    self_signed,
    server_context,
    write_leaf,
)
from wizard.checks import run_checks, select_checks
from wizard.checks.base import CheckResult
from wizard.checks.host import (
    CPUS_KEY,
    DISK_FREE_KEY,
    DOCKER_ROOT_KEY,
    MACHINE_KEY,
    MEMORY_KEY,
    GiB,
)
from wizard.cli import main
from wizard.cli.checks import format_result, print_results
from wizard.core import store

HOST = "aigw.example.test"
HEALTHY_HOST = {MEMORY_KEY: 8 * GiB, MACHINE_KEY: "x86_64", CPUS_KEY: 4, DISK_FREE_KEY: 50 * GiB, DOCKER_ROOT_KEY: "/var/lib/docker"}
NEEDS_ENGINE = {"docker.engine", "docker.image", "host.disk"}


def save_profile(name, data):
    path = store.resolve(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomlkit.dumps(data))
    return path


@pytest.fixture
def broken_setup(tmp_path):
    """The acceptance scenario: a self-signed GitLab, a wrong-SAN certificate, a taken port."""
    ca = trustme.CA()
    leaf = write_leaf(ca, tmp_path, "wrong.example.test")
    cert, key = self_signed("localhost", common_name="gitlab.internal self-signed")
    with fake_gitlab(server_context(cert, key, tmp_path)) as gitlab, listening_port() as port:
        yield {
            "target": "docker",
            "gitlab": {"url": gitlab.url, "version": "17.5.0"},
            "gateway": {"hostname": HOST, "port": port},
            "tls": {"cert": str(leaf.cert), "key": str(leaf.key)},
        }


def test_the_acceptance_scenario_gives_three_fixable_failures_fast(broken_setup):
    profile = make_profile(broken_setup)
    context = context_for(profile, environ={"DOCKER_HOST": "tcp://127.0.0.1:9"}, resolver=lambda host: ["10.1.2.3"], **HEALTHY_HOST)
    started = time.monotonic()
    ids = {check.id for check in select_checks(profile)[0]} - NEEDS_ENGINE
    results = list(run_checks(profile, "broken", ids, context=context))
    elapsed = time.monotonic() - started
    failed = {result.id: result for result in results if result.status == "fail"}
    assert set(failed) == {"gitlab.tls", "tls.hostname", "gateway.port"}, failed
    assert elapsed < 3.0
    assert "self-signed" in failed["gitlab.tls"].detail and "gateway.ca_bundle" in failed["gitlab.tls"].remedy
    assert HOST in failed["tls.hostname"].remedy and failed["tls.hostname"].field == "tls.cert"
    assert "gateway.port" in failed["gateway.port"].remedy


def test_check_plain_lines_and_exit_one(broken_setup, capsys):
    save_profile("broken", broken_setup)
    code = main(["check", "broken", "--only", "gitlab.tls,tls.hostname,gitlab.api_url"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  gitlab.tls: GitLab's certificate is self-signed" in out
    assert "set gateway.ca_bundle to ca-bundle.pem" in out
    assert "PASS  gitlab.api_url" in out
    assert "2 failed, 1 passed" in out


def test_check_json_parses(broken_setup, capsys):
    save_profile("broken", broken_setup)
    code = main(["check", "broken", "--json", "--only", "tls.hostname, gitlab.url"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["ok"] is False
    assert [row["id"] for row in document["results"]] == ["gitlab.url", "tls.hostname"]
    assert set(document["results"][0]) == {"id", "title", "status", "detail", "remedy", "duration_ms", "field"}


def test_warnings_do_not_fail(tmp_path, capsys):
    save_profile("warned", {"target": "docker", "gitlab": {"url": "http://gitlab.example.test"}})
    assert main(["check", "warned", "--only", "gitlab.url"]) == 0
    assert "WARN" in capsys.readouterr().out


def test_usage_errors_exit_two(capsys, tmp_path):
    save_profile("fine", {"target": "docker"})
    assert main(["check", "fine", "--only", "nope.nothing"]) == 2
    assert "known ids" in capsys.readouterr().err
    assert main(["check", "absent-profile"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("target = 42\n")
    assert main(["check", str(bad)]) == 2


def test_the_live_table_on_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system="standard")
    rows = [
        CheckResult("gitlab.tls", "GitLab certificate", "fail", "self-signed [bold]x[/]", "set gateway.ca_bundle", 12, "gateway.ca_bundle"),
        CheckResult("host.cpus", "CPUs", "pass", "4 CPUs", "", 1),
    ]
    returned = print_results(iter(rows), console)
    output = buffer.getvalue()
    assert returned == rows
    assert "FAIL" in output and "PASS" in output and "set gateway.ca_bundle" in output
    assert "[bold]x[/]" in output  # user text is shown, not interpreted as markup
    assert "\x1b[" in output  # coloured
    assert "1 failed, 1 passed" in output


def test_plain_format_has_the_remedy_on_its_own_line():
    line = format_result(CheckResult("a.b", "t", "warn", "detail", "do this", 5))
    assert line == "WARN  a.b: detail (5 ms)\n      fix: do this"
