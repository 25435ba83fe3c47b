"""The TUI end to end over the real engines: a Docker install on the real engine with the
stand-in image, and a Helm install against the fake Kubernetes API and the helm double."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from textual.widgets import DataTable

from screens.app import make_app
from screens.logpane import LogPane
from tests.checks_servers import fake_gitlab
from tests.docker_fixtures import free_port
from tests.helm_support import helm_calls, make_tls
from tests.tui_support import profiles_ready, save_profile, screen_step, type_into
from wizard.checks import run_checks
from wizard.checks.base import CheckContext
from wizard.core import store
from wizard.core.profile import Profile
from wizard.install import installer_for

SIZE = (80, 24)
# A documentation address: a valid gateway host name that nothing ever resolves or contacts.
GATEWAY_HOST = "192.0.2.10"
# Helm's ingress needs a DNS name; the checks resolve it through this table, never DNS.
INGRESS_HOST = "aigw.example.com"


def checks_resolving(table: dict[str, list[str]]):
    """The real checks engine, with a resolver that knows only `table` (loopback-only tests)."""

    def resolver(host: str) -> list[str]:
        if host in table:
            return table[host]
        return socket_getaddrinfo(host)

    def run(profile: Profile, name: str):
        context = CheckContext(profile, name, environ=dict(os.environ), overrides={"resolver": resolver})
        return run_checks(profile, name, context=context)

    return run


def socket_getaddrinfo(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


async def type_valid(pilot, field: str, text: str) -> None:
    widget = await type_into(pilot, field, text)
    assert not widget.has_class("-invalid"), (field, text)


async def next_screen(pilot, expected: str) -> None:
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert screen_step(pilot.app) == expected, str(pilot.app.screen.query_one("#nav-status").render())


async def wait_for_workers(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)  # one drain of the install screen's event queue


def log_text(app) -> str:
    return "\n".join(app.screen.query_one(LogPane).lines)


@pytest.mark.docker
async def test_docker_flow_from_a_new_profile_to_done(standin_images, docker_client, config_dir: Path) -> None:
    container = f"aigw-tui-{uuid.uuid4().hex[:8]}"
    port = free_port()
    app = make_app()
    try:
        with fake_gitlab() as gitlab:
            async with app.run_test(size=SIZE) as pilot:
                await profiles_ready(pilot)
                await pilot.press("n", *"lab", "enter")
                await pilot.pause()
                await pilot.press("enter")
                await next_screen(pilot, "gitlab")
                await type_valid(pilot, "gitlab.url", gitlab.url)
                await type_valid(pilot, "gitlab.version", "17.5.0")
                await next_screen(pilot, "gateway")
                await type_valid(pilot, "gateway.hostname", GATEWAY_HOST)
                await type_valid(pilot, "gateway.port", str(port))
                await type_valid(pilot, "gateway.image", standin_images.repository)
                await type_valid(pilot, "docker.container_name", container)
                await next_screen(pilot, "tls")
                await next_screen(pilot, "preflight")
                await wait_for_workers(pilot)
                table = app.screen.query_one(DataTable)
                statuses = {app.screen.results[row].id: app.screen.results[row].status for row in range(table.row_count)}
                assert statuses["docker.image"] == "pass" and statuses["gitlab.reachable"] in ("pass", "warn")
                assert "fail" not in statuses.values(), statuses
                await next_screen(pilot, "review")
                await pilot.press("ctrl+n")  # asks first
                await pilot.pause()
                await pilot.press("y")
                await pilot.pause()
                assert screen_step(app) == "install"
                await wait_for_workers(pilot)
                screen = app.screen
                assert screen.result is not None and screen.result.ok, screen.result
                assert f"gitlab url: {gitlab.url}" in log_text(app)  # the container's own log, live
                await next_screen(pilot, "done")
                shown = " ".join(str(widget.render()) for widget in app.screen.query("Static"))
                assert f"http://{GATEWAY_HOST}:{port}" in shown
        running = docker_client.containers.get(container)
        assert running.status == "running"
        assert running.labels["io.gitlab.aigw-wizard.profile"] == "lab"
    finally:
        profile = store.load("lab")
        list(installer_for(profile, "lab").uninstall())


async def test_helm_flow_against_the_fake_cluster(kubeconfig: Path, helm_double, fake_kube, tmp_path: Path, config_dir: Path) -> None:
    tls = make_tls(tmp_path / "tls", host=INGRESS_HOST)
    with fake_gitlab() as gitlab:
        save_profile(
            "prod",
            Profile.model_validate({
                "target": "helm",
                "gitlab": {"url": gitlab.url, "version": "17.5.0"},
                "gateway": {"hostname": INGRESS_HOST},
            }),
        )
        app = make_app("prod", run_checks=checks_resolving({INGRESS_HOST: [GATEWAY_HOST]}))
        async with app.run_test(size=SIZE) as pilot:
            assert screen_step(app) == "tls"
            await type_valid(pilot, "tls.cert", str(tls.cert))
            await type_valid(pilot, "tls.key", str(tls.key))
            await wait_for_workers(pilot)
            findings = str(app.screen.query_one("#tls-findings").render())
            assert "Certificate" in findings or "certificate" in findings
            await next_screen(pilot, "helm")
            await next_screen(pilot, "preflight")
            await wait_for_workers(pilot)
            results = {result.id: result for result in app.screen.results}
            assert results["kube.api"].status == "pass" and results["helm.version"].status == "pass", {r.id: r.detail for r in results.values()}
            assert "fail" not in {result.status for result in results.values()}, {
                r.id: r.detail for r in results.values() if r.status == "fail"
            }
            await next_screen(pilot, "review")
            await pilot.press("ctrl+n", "y")
            await pilot.pause()
            await wait_for_workers(pilot)
            assert app.screen.result is not None and app.screen.result.ok, app.screen.result
            logs = log_text(app)
            assert "[helm]" in logs and "Running, ready" in logs  # pods turn Ready live
            await next_screen(pilot, "done")
            shown = " ".join(str(widget.render()) for widget in app.screen.query("Static"))
            assert f"https://{INGRESS_HOST}" in shown
    assert fake_kube.get("secrets", "ai-gateway", "ai-gateway-tls") is not None
    [upgrade] = helm_calls(helm_double.calls(), "upgrade")
    assert "--atomic" in upgrade["argv"]
