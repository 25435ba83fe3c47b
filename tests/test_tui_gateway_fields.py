"""Today's gateway on the screens: the fields each release uses, and only those."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import RadioSet

from screens.app import make_app
from screens.widgets import Choice, FormField, PairsField, Toggle, field_id
from tests.factories import docker_profile
from tests.tui_support import canned_checks, save_profile, type_into
from wizard.core import store

SIZE = (80, 40)


def text_of(app: object) -> str:
    return " ".join(str(widget.render()) for widget in app.screen.query("Static"))  # type: ignore[attr-defined]


async def test_agent_platform_port_shows_for_18_and_hides_for_17(config_dir: Path) -> None:
    for version, shown in (("17.5.0", False), ("18.2.0", True)):
        save_profile("p", docker_profile(gitlab={"version": version}))
        app = make_app("p", run_checks=canned_checks([]))
        async with app.run_test(size=SIZE) as pilot:
            app.goto("gateway")
            await pilot.pause()
            port = app.screen.query_one(f"#{field_id('gateway.agent_platform_port')}", FormField)
            assert port.display is shown, version
            if shown:
                await type_into(pilot, "gateway.agent_platform_port", "50100")
                assert store.load("p").gateway.agent_platform_port == 50100
                await type_into(pilot, "gateway.agent_platform_port", "port")
                assert port.has_class("-invalid") and store.load("p").gateway.agent_platform_port == 50100


async def test_an_empty_tag_says_automatic_and_the_variant_picks_the_fips_image(config_dir: Path) -> None:
    save_profile("p", docker_profile(gitlab={"version": "18.2.0"}))
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("gateway")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        used = str(app.screen.query_one("#image-used").render())
        assert "self-hosted-v18.2" in used  # resolved by the worker (or the automatic words)
        tag = app.screen.query_one(f"#{field_id('gateway.tag')}", FormField)
        assert tag.input.placeholder == "automatic: newest self-hosted-v18.2.*-ee"
        fips = [choice for choice in app.screen.query_one("#variant", RadioSet).query(Choice) if choice.name == "fips"][0]
        fips.value = True
        await pilot.pause()
        assert store.load("p").gateway.variant == "fips"
        assert "self-hosted-fips" in str(app.screen.query_one("#image-used").render())
        await type_into(pilot, "gateway.tag", "self-hosted-v18.2.1-ee")
        assert ":self-hosted-v18.2.1-ee" in str(app.screen.query_one("#image-used").render())


async def test_extra_hosts_and_extra_env_are_edited_as_lines_and_bad_lines_are_refused(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("gateway")
        await pilot.pause()
        hosts = app.screen.query_one(f"#{field_id('docker.extra_hosts')}", PairsField)
        hosts.set_value("gitlab.corp.test=10.0.0.5\n# a comment\nregistry.corp.test = 10.0.0.6")
        await pilot.pause()
        assert store.load("p").docker.extra_hosts == {"gitlab.corp.test": "10.0.0.5", "registry.corp.test": "10.0.0.6"}
        hosts.set_value("gitlab.corp.test=not-an-address")
        await pilot.pause()
        assert hosts.has_class("-invalid") and "IP address" in str(hosts.query_one(".field-error").render())
        assert store.load("p").docker.extra_hosts["gitlab.corp.test"] == "10.0.0.5"
        env = app.screen.query_one(f"#{field_id('gateway.extra_env')}", PairsField)
        env.set_value("AIGW_LOGGING__LEVEL=debug")
        await pilot.pause()
        assert store.load("p").gateway.extra_env == {"AIGW_LOGGING__LEVEL": "debug"}
        for bad in ("AIGW_API_TOKEN=abc", "no equals sign", "1BAD=x"):
            env.set_value(bad)
            await pilot.pause()
            assert env.has_class("-invalid"), bad
        assert store.load("p").gateway.extra_env == {"AIGW_LOGGING__LEVEL": "debug"}
        assert "abc" not in store.resolve("p").read_text(encoding="utf-8")


async def test_the_offline_licence_toggle_is_saved(config_dir: Path) -> None:
    save_profile("p", docker_profile())
    app = make_app("p", run_checks=canned_checks([]))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("gitlab")
        await pilot.pause()
        toggle = app.screen.query_one("#offline-license", Toggle)
        toggle.focus()
        await pilot.press("space")
        await pilot.pause()
        assert store.load("p").gitlab.offline_license is True


async def test_tls_says_plain_http_behind_a_proxy_for_releases_without_native_tls(config_dir: Path) -> None:
    for version, plain in (("18.2.0", True), ("19.1.0", False)):
        save_profile("p", docker_profile(gitlab={"version": version}))
        app = make_app("p", run_checks=canned_checks([]))
        async with app.run_test(size=SIZE) as pilot:
            app.goto("tls")
            await pilot.pause()
            said = "reverse proxy" in text_of(app) and "plain HTTP" in text_of(app)
            assert said is plain, version
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.step.id == "preflight"  # neither file is required for Docker
