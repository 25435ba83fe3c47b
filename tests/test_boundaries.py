"""The core stays UI-free and light: proven in a fresh interpreter, as Harlequin does."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import wizard

HEAVY = ["textual", "docker", "kubernetes", "httpx", "cryptography"]


def imported_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output))


def test_no_core_module_imports_textual() -> None:
    names = [info.name for info in pkgutil.walk_packages(wizard.__path__, "wizard.") if info.name != "wizard.__main__"]
    loaded = imported_after("\n".join(f"import {name}" for name in names))
    assert "textual" not in loaded


def test_the_cli_starts_without_heavy_modules() -> None:
    loaded = imported_after("from wizard import cli\ncli.build_parser()")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_every_verb_parses_without_loading_an_engine() -> None:
    loaded = imported_after("from wizard import cli\ncli.build_parser().parse_args(['apply', 'x', '--yes'])")
    assert "asyncio" not in loaded and "pydantic" not in loaded, loaded & {"asyncio", "pydantic"}
