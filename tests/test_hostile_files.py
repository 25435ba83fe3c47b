"""Paths that are not files where a certificate, key, CA bundle or archive should be: each is
refused with a plain reason by the checks, the Helm engine and the TUI, and nothing hangs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from screens.app import make_app
from tests.factories import docker_profile, helm_profile
from tests.tui_support import save_profile
from wizard.checks import run_checks
from wizard.checks.tls import inspect_tls
from wizard.install.helm import HelmError, read_tls_pair


@pytest.fixture
def hostile_paths(tmp_path: Path) -> Iterator[dict[str, Path]]:
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo)  # opening it for reading would block forever
    loop = tmp_path / "loop.pem"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.pem"
    dangling.symlink_to(tmp_path / "nowhere.pem")
    sock_path = tmp_path / "sock.pem"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    binary = tmp_path / "binary.pem"
    binary.write_bytes(bytes(range(256)) * 64)
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    try:
        yield {
            "directory": tmp_path,
            "char device": Path("/dev/zero"),
            "fifo": fifo,
            "symlink loop": loop,
            "dangling symlink": dangling,
            "socket": sock_path,
            "binary": binary,
            "empty": empty,
        }
    finally:
        server.close()


def test_tls_inspection_refuses_every_non_file_plainly(hostile_paths: dict[str, Path]) -> None:
    for kind, path in hostile_paths.items():
        for cert, key in ((path, path), (path, hostile_paths["empty"])):
            results = inspect_tls(cert, key, "aigw.example.com")
            failed = [result for result in results if result.status == "fail"]
            assert failed, kind
            assert all(result.detail and "Traceback" not in result.detail for result in results), kind


@pytest.mark.parametrize("field", ["tls.cert", "tls.key", "gateway.ca_bundle", "gateway.image_archive"])
def test_the_checks_report_non_files_in_every_path_field(hostile_paths: dict[str, Path], field: str) -> None:
    section, name = field.split(".")
    for kind, path in hostile_paths.items():
        values = {name: str(path)}
        if section == "tls":
            values = {"cert": str(path), "key": str(path)}
        profile = docker_profile(**{section: values})
        related = {
            "tls.cert": {"tls.files"}, "tls.key": {"tls.files"},
            "gateway.ca_bundle": {"gateway.ca_bundle"}, "gateway.image_archive": {"docker.image"},
        }[field]
        results = {r.id: r for r in run_checks(profile, "p", related)}
        assert all(results[check].status == "fail" for check in related), (kind, results)
        assert all("timed out" not in results[check].detail for check in related), kind


def test_the_helm_engine_refuses_them_before_reading(hostile_paths: dict[str, Path]) -> None:
    for kind, path in hostile_paths.items():
        profile = helm_profile(tls={"cert": str(path), "key": str(path)})
        with pytest.raises(HelmError) as caught:
            read_tls_pair(profile)
        assert caught.value.message and "tls." in caught.value.message, kind


async def test_the_tls_screen_shows_the_reason_and_blocks_next(hostile_paths: dict[str, Path], config_dir: Path) -> None:
    save_profile("p", helm_profile(tls={"cert": "", "key": ""}))
    app = make_app("p")
    async with app.run_test(size=(80, 24)) as pilot:
        for kind in ("fifo", "char device", "symlink loop", "directory"):
            path = str(hostile_paths[kind])
            for field_name in ("tls.cert", "tls.key"):
                assert app.session.set(field_name, path) is None
            app.screen.inspect()
            await app.workers.wait_for_complete()
            await pilot.pause()
            findings = str(app.screen.query_one("#tls-findings").render())
            assert findings, kind
            assert app.screen.blocking_reason(), kind
