"""Secrets stay out: the gateway's private key and GITLAB_TOKEN appear in nothing we write or show.

Both targets run their whole flow as a user runs it — the CLI in subprocesses (Docker on the
real engine with the stand-in image; Helm against the fake API and the helm double), then the
TUI under Pilot over the same profile — with a recognisable key (a marker line, then a fresh
RSA key) and a recognisable token in the environment. The token is really used: GitLab is a
fake on loopback that only answers the version API to that token, and it must have seen it.

Then everything is searched: every file under AIGW_WIZARD_CONFIG_DIR (profiles, journals,
state), the scripts of `plan --script`, whatever is left in the TMPDIR the commands ran with,
the helm double's record of every call (argv, values files as read, environment), every object
in the fake API, the container's configuration, the stdout and stderr of every command and
every captured screen. The key may appear in one place only: the TLS secret in the cluster,
where it has to be (and where the search must find it, or the search proves nothing).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets as random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import trustme
from textual.widgets import DirectoryTree, TextArea
from textual.worker import WorkerCancelled

from screens.app import make_app
from screens.base import WizardScreen
from screens.dialogs import FilePickerModal
from tests.checks_servers import FakeGitLab, fake_gitlab
from tests.docker_fixtures import STANDIN_REPOSITORY, DockerCleanup, StandinImages, free_port
from tests.factories import docker_profile, helm_profile
from tests.fakekube import FakeKube
from tests.fakekube.server import RESOURCES
from tests.kube_fixtures import HelmDouble
from tests.netguard import sitecustomize as netguard
from wizard.core import store, validators
from wizard.install.docker import PREVIOUS_SUFFIX

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)
HEALTHY_TAG = "self-hosted-v17.5.0-ee"
NEXT_TAG = "self-hosted-v17.6.0-ee"
NEEDLE = 16
"""Characters per searched piece of the key: any leak of 31 characters or more holds one."""


# --- the secrets, and searching for them --------------------------------------------------------


def _hosts_names() -> list[str]:
    names: list[str] = []
    try:
        for line in Path("/etc/hosts").read_text().splitlines():
            names += line.split("#", 1)[0].split()[1:]
    except OSError:
        pass
    return names


def local_hostname() -> str:
    """A gateway host name that /etc/hosts resolves, so no check run here ever asks DNS."""
    listed = _hosts_names()
    for name in [socket.gethostname(), *listed]:
        if name not in listed:
            continue
        try:
            validators.hostname(name)
        except ValueError:
            continue  # localhost and friends: not a gateway host name
        return name
    pytest.skip("/etc/hosts names no host besides localhost: the gateway.dns check would ask a DNS server")


@dataclass(frozen=True)
class Secrets:
    token: str
    marker: str
    cert: Path
    key: Path
    needles: dict[str, str] = field(repr=False)
    """Searched text → what it is."""

    def found(self, text: str) -> list[str]:
        return sorted({label for needle, label in self.needles.items() if needle in text})


def make_secrets(folder: Path, hostname: str) -> Secrets:
    folder.mkdir(parents=True)
    leaf = trustme.CA().issue_cert(hostname, key_type=trustme.KeyType.RSA)
    marker = f"aigw-test-private-key-marker-{random.token_hex(8)}"
    # Text before the PEM block is allowed (RFC 7468) and every reader here skips it.
    key_pem = f"{marker}\n".encode() + leaf.private_key_pem.bytes()
    cert, key = folder / "gateway.crt", folder / "gateway.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    key.write_bytes(key_pem)
    key.chmod(0o600)
    lines = key_pem.decode().splitlines()
    begin = next(index for index, line in enumerate(lines) if line.startswith("-----BEGIN"))
    body = lines[begin + 1 : -1]
    token = f"glpat-SECRET-{random.token_hex(10)}"
    needles = {marker: "key marker line", token: "GITLAB_TOKEN", token.removeprefix("glpat-"): "GITLAB_TOKEN"}
    # The body without its first line (an RSA key's ASN.1 header is the same in every key).
    for line in body[1:]:
        for start in range(0, len(line) - NEEDLE + 1, NEEDLE):
            needles[line[start : start + NEEDLE]] = "private key body"
    encoded = base64.b64encode(key_pem).decode()  # the key as a Secret manifest would carry it
    for start in range(48, len(encoded) - NEEDLE, NEEDLE):
        needles[encoded[start : start + NEEDLE]] = "private key, base64"
    needles[lines[begin]] = "the private key's BEGIN line"
    made = Secrets(token, marker, cert, key, needles)
    assert set(made.found(key.read_text())) >= {"key marker line", "private key body", "the private key's BEGIN line"}
    assert made.found(encoded) == ["private key, base64"]
    return made


@dataclass
class Evidence:
    """Everything written or shown, by where it came from."""

    texts: dict[str, str] = field(default_factory=dict)

    def output(self, label: str, done: subprocess.CompletedProcess[str]) -> None:
        self.texts[f"{label}: stdout"] = done.stdout
        self.texts[f"{label}: stderr"] = done.stderr

    def tree(self, folder: Path) -> list[Path]:
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        for path in files:
            self.texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
        return files

    def leaks(self, secrets: Secrets) -> dict[str, list[str]]:
        return {where: found for where, text in self.texts.items() if (found := secrets.found(text))}


def screen_text(svg: str) -> str:
    """The characters of an exported screen, row by row (the SVG's <text> runs, unescaped)."""
    rows: dict[str, list[str]] = {}
    for y, content in re.findall(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg, flags=re.S):
        rows.setdefault(y, []).append(html.unescape(re.sub(r"<[^>]+>", "", content)))
    return "\n".join("".join(parts).replace("\xa0", " ") for _, parts in sorted(rows.items(), key=lambda item: float(item[0])))


# --- the CLI and the TUI, as a user runs them ---------------------------------------------------


@dataclass
class Flow:
    name: str
    secrets: Secrets
    gitlab: FakeGitLab
    evidence: Evidence
    workdir: Path

    def wizard(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "wizard", *args],
            cwd=self.workdir,
            env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(ROOT), "TMPDIR": str(self.workdir / "tmp")},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.evidence.output(" ".join(["aigw-wizard", *args]), done)
        assert done.returncode == expect, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def assert_token_used(self) -> None:
        sent = [headers.get("PRIVATE-TOKEN") for _path, headers in self.gitlab.requests]
        assert self.secrets.token in sent, "the gitlab check never sent GITLAB_TOKEN"


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    hostname = local_hostname()
    made = make_secrets(tmp_path / "tls", hostname)
    monkeypatch.setenv("GITLAB_TOKEN", made.token)
    (tmp_path / "work" / "tmp").mkdir(parents=True)
    with fake_gitlab(token=made.token) as gitlab:
        yield Flow(f"sec-{uuid.uuid4().hex[:6]}", made, gitlab, Evidence(), tmp_path / "work")


def step(app: Any) -> str:
    return app.screen.step.id if isinstance(app.screen, WizardScreen) else type(app.screen).__name__


async def walk_the_wizard(evidence: Evidence, expected: list[str]) -> list[str]:
    """Open the profile from the list, go back to the first screen, then forward to Review,
    capturing every screen on the way (and the key's file picker); returns the steps seen."""
    app = make_app()
    seen: list[str] = []
    shots: list[str] = []

    async def settle(pilot: Any) -> None:
        """Let the screen's own workers finish (a DirectoryTree's loader never does: not those)."""
        await pilot.pause()
        ours = [worker for worker in app.workers if not isinstance(worker.node, DirectoryTree)]
        try:
            await app.workers.wait_for_complete(ours)
        except WorkerCancelled:
            pass  # its screen was left meanwhile
        await pilot.pause()

    def capture(label: str) -> None:
        svg = app.export_screenshot(simplify=True)
        shots.append(label)
        evidence.texts[f"screen {len(shots)}: {label}"] = svg + "\n" + screen_text(svg)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        capture("profiles")
        await pilot.press("enter")  # the only profile, complete: it opens at the checks
        await settle(pilot)
        assert step(app) == "preflight"
        for _ in range(len(expected) + 1):  # back to the first screen
            seen.append(step(app))
            capture(step(app))
            if step(app) == "tls":
                await pilot.click(app.screen.query(".field-browse").last())  # the key's Browse
                deadline = time.monotonic() + 10
                while not key_file_listed(app):
                    assert time.monotonic() < deadline, "the file picker never listed the key's folder"
                    await pilot.pause(0.05)
                capture("file picker for tls.key")
                await pilot.press("escape")
                await settle(pilot)
            if step(app) == "target":
                break
            await pilot.press("escape")
            await settle(pilot)
        assert seen[-1] == "target", seen
        while step(app) != "review":  # and forward to the end
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert step(app) != seen[-1], str(app.screen.query_one("#nav-status").render())
            seen.append(step(app))
            capture(step(app))
        plan = app.screen.query_one(TextArea)
        for page in range(2, 12):  # the whole plan, page by page
            before = plan.scroll_y
            await pilot.press("pagedown")
            await settle(pilot)
            if plan.scroll_y == before:
                break
            capture(f"review, page {page}")
    assert set(expected) <= set(seen), seen
    return seen


def key_file_listed(app: Any) -> bool:
    """Whether the file picker lists the key's folder yet."""
    return isinstance(app.screen, FilePickerModal) and "gateway.key" in screen_text(app.export_screenshot())


def assert_no_leaks(flow: Flow, extra: dict[str, list[str]] | None = None) -> None:
    leaks = {**flow.evidence.leaks(flow.secrets), **(extra or {})}
    assert not leaks, "secrets leaked:\n" + "\n".join(f"  {where}: {what}" for where, what in leaks.items())


def common_files(flow: Flow, config_dir: Path) -> None:
    """Add every file we wrote; check the search saw the kinds of files it must see."""
    files = flow.evidence.tree(config_dir)
    kinds = {path.relative_to(config_dir).parts[0] for path in files}
    assert {"profiles", "logs", "state"} <= kinds, kinds
    profile_text = (config_dir / "profiles" / f"{flow.name}.toml").read_text()
    assert str(flow.secrets.key) in profile_text  # the path, and only the path
    flow.evidence.tree(flow.workdir)  # plan scripts, and whatever was left in TMPDIR
    assert not list((flow.workdir / "tmp").glob("aigw-*")), "a private temporary folder was left behind"


# --- Docker ---------------------------------------------------------------------------------------


@pytest.mark.docker
async def test_docker_flow_keeps_the_key_and_token_out(
    flow: Flow,
    config_dir: Path,
    docker_client: docker.DockerClient,
    docker_cleanup: DockerCleanup,
    standin_images: StandinImages,
) -> None:
    container = f"aigw-test-{flow.name}"
    docker_cleanup.track_container(container)
    docker_cleanup.track_container(container + PREVIOUS_SUFFIX)
    profile = docker_profile(
        gitlab={"url": flow.gitlab.url, "version": "17.5.0"},
        gateway={"hostname": local_hostname(), "port": free_port(), "image": STANDIN_REPOSITORY, "tag": HEALTHY_TAG},
        tls={"cert": str(flow.secrets.cert), "key": str(flow.secrets.key)},
        docker={"container_name": container},
    )
    store.save(profile, store.resolve(flow.name))

    checked = flow.wizard("check", flow.name, "--json")
    rows = {row["id"]: row for row in json.loads(checked.stdout)["results"]}
    assert rows["gitlab.reachable"]["status"] == "pass" and "GitLab 17.5.0" in rows["gitlab.reachable"]["detail"]
    assert rows["tls.pair"]["status"] == "pass"  # the key was read, and said nothing
    flow.wizard("apply", flow.name, "--yes")
    flow.assert_token_used()
    flow.wizard("status", flow.name)
    flow.wizard("status", flow.name, "--json")
    flow.wizard("upgrade", flow.name, "--tag", NEXT_TAG, "--yes")
    flow.wizard("show", flow.name)
    flow.wizard("validate", flow.name)
    flow.wizard("plan", flow.name)
    flow.wizard("plan", flow.name, "--script", str(flow.workdir / "install.sh"))
    assert (flow.workdir / "install.sh").stat().st_mode & 0o777 == 0o700

    running = docker_client.containers.get(container)
    flow.evidence.texts["container configuration"] = json.dumps(running.attrs)
    seen = await walk_the_wizard(flow.evidence, ["target", "gitlab", "gateway", "tls", "preflight", "review"])
    assert "tls" in seen

    flow.wizard("uninstall", flow.name, "--yes")
    assert not docker_client.containers.list(all=True, filters={"name": container})
    common_files(flow, config_dir)
    assert_no_leaks(flow)


# --- Helm -----------------------------------------------------------------------------------------


def cluster_leaks(fake_kube: FakeKube, secrets: Secrets, tls_secret: tuple[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """(leaks in any object but the TLS secret, what the search finds in the TLS secret)."""
    leaks: dict[str, list[str]] = {}
    in_tls_secret: list[str] = []
    for resource in RESOURCES:
        for obj in fake_kube.list(resource.plural):
            meta = obj.get("metadata", {})
            where = f"{resource.plural}/{meta.get('namespace', '-')}/{meta.get('name')}"
            text = json.dumps(obj)
            if resource.plural == "secrets":  # their data is base64: search the decoded bytes too
                for value in (obj.get("data") or {}).values():
                    text += "\n" + base64.b64decode(value).decode("utf-8", "replace")
            found = secrets.found(text)
            if (meta.get("namespace"), meta.get("name")) == tls_secret and resource.plural == "secrets":
                in_tls_secret = found
            elif found:
                leaks[f"fake API: {where}"] = found
    return leaks, in_tls_secret


async def test_helm_flow_keeps_the_key_and_token_out(
    flow: Flow, config_dir: Path, kubeconfig: Path, helm_double: HelmDouble, fake_kube: FakeKube
) -> None:
    profile = helm_profile(
        gitlab={"url": flow.gitlab.url, "version": "17.5.0"},
        gateway={"hostname": local_hostname()},
        tls={"cert": str(flow.secrets.cert), "key": str(flow.secrets.key)},
    )
    store.save(profile, store.resolve(flow.name))
    tls_secret = (profile.helm.namespace, profile.helm.tls_secret)

    flow.wizard("check", flow.name)
    flow.wizard("apply", flow.name, "--yes")
    flow.assert_token_used()
    flow.wizard("status", flow.name)
    flow.wizard("status", flow.name, "--json")
    flow.wizard("show", flow.name)
    flow.wizard("plan", flow.name)
    flow.wizard("plan", flow.name, "--script", str(flow.workdir / "install.sh"))
    seen = await walk_the_wizard(flow.evidence, ["target", "gitlab", "gateway", "tls", "helm", "preflight", "review"])
    assert "helm" in seen

    leaks, in_tls_secret = cluster_leaks(fake_kube, flow.secrets, tls_secret)
    # The one place the key belongs; finding it there proves the search works on real data.
    assert {"key marker line", "private key body", "private key, base64"} <= set(in_tls_secret), in_tls_secret
    assert "GITLAB_TOKEN" not in in_tls_secret
    calls = helm_double.calls()
    upgrades = [call for call in calls if call["argv"][:1] == ["upgrade"]]
    assert upgrades and upgrades[0]["values"], "the values file was not recorded"

    flow.wizard("uninstall", flow.name, "--yes", "--purge")
    assert fake_kube.get("secrets", *tls_secret) is None
    flow.evidence.tree(helm_double.log_path.parent)  # argv, values files as read, env, state
    common_files(flow, config_dir)
    assert_no_leaks(flow, leaks)
