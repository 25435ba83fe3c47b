"""Hostile profile files: each must give a one-line error naming the file, and stay untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

HOSTILE_HOSTNAMES = [
    "aigw example.com", "aigw;reboot", "$(rm -rf ~)", "`id`", "aigw|nc", "bücher.example",
    "аigw.example.com",  # Cyrillic 'а': a confusable
    "localhost", "127.0.0.1", "-oProxyCommand=x", "a" * 300, "aigw\nexample",
]


def _write(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _symlink_to_nowhere(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.toml")


def _directory(path: Path) -> None:
    path.mkdir()


HOSTILE_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "invalid toml": (_write("target = docker\n"), "not valid TOML"),
    "wrong type": (_write("[gateway]\nport = 'http'\n"), "gateway.port"),
    "unknown key": (_write("[gateway]\nhost = 'x'\n"), "gateway.host"),
    "unknown section": (_write("[kubernetes]\nx = 1\n"), "kubernetes"),
    "section as value": (_write("gateway = 5\n"), "gateway"),
    "empty": (_write(""), "is empty"),
    "whitespace": (_write("  \n\n"), "is empty"),
    "binary": (lambda path: path.write_bytes(bytes(range(256)) * 4), "not UTF-8"),
    "nul bytes": (lambda path: path.write_bytes(b'target = "docker"\x00\n'), "not valid TOML"),
    "ten megabytes": (lambda path: path.write_bytes(b"#" * (10 * 1024 * 1024)), "at most 1 MiB"),
    "directory": (_directory, "is a directory"),
    "dangling symlink": (_symlink_to_nowhere, "dangling symlink"),
    "future schema": (_write("schema_version = 99\n"), "schema_version"),
    "schema as text": (_write("schema_version = 'one'\n"), "schema_version"),
    "bad target": (_write("target = 'k8s'\n"), "target"),
    **{
        f"hostname {index}": (_write(f"[gateway]\nhostname = {value!r}\n".replace("'", '"')
                                     if "'" not in value else f"[gateway]\nhostname = \"{value}\"\n"),
                              "gateway.hostname")
        for index, value in enumerate(HOSTILE_HOSTNAMES)
        if "\n" not in value
    },
}
