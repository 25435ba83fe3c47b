"""Heavy modules load with the screen that needs them, not at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.factories import docker_profile
from tests.tui_support import save_profile

PROBE = """
import asyncio, json, sys
from screens.app import make_app

async def main():
    app = make_app({profile!r})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = type(app.screen).__name__
    heavy = sorted({{"docker", "kubernetes", "httpx", "cryptography"}} & {{m.split(".")[0] for m, loaded in sys.modules.items() if loaded is not None}})
    print(json.dumps({{"screen": screen, "heavy": heavy}}))

asyncio.run(main())
"""


def probe(profile: str | None, config_dir: Path) -> dict:
    env_code = f"import os; os.environ['AIGW_WIZARD_CONFIG_DIR'] = {str(config_dir)!r}\n"
    output = subprocess.run(
        [sys.executable, "-c", env_code + PROBE.format(profile=profile)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_profile_picker_and_forms_start_without_heavy_modules(config_dir: Path) -> None:
    save_profile("half", docker_profile(gateway={"hostname": ""}))
    assert probe(None, config_dir) == {"screen": "ProfilesScreen", "heavy": []}
    assert probe("half", config_dir) == {"screen": "GatewayScreen", "heavy": []}
