"""The CLI ends without interpreter finalisation, and nothing it wrote is lost for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.checks_servers import refused_docker_host
from tests.factories import docker_profile
from tests.netguard import sitecustomize as netguard
from wizard.core import store

ROOT = Path(__file__).resolve().parent.parent


def _wizard(args: list[str], stdout: Path, env: dict[str, str]) -> int:
    with stdout.open("w") as out:  # a file, not a terminal: block-buffered until the final flush
        return subprocess.run([sys.executable, "-m", "wizard", *args], stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, cwd=ROOT, env={**env, "PYTHONPATH": netguard.child_pythonpath(ROOT)}, timeout=60).returncode


def test_a_failed_apply_leaves_its_whole_output_journal_and_outcome(config_dir: Path, tmp_path: Path) -> None:
    store.save(docker_profile(gateway={"hostname": "gw.test"}), config_dir / "profiles" / "quick.toml")
    env = {**os.environ, **refused_docker_host()}
    code = _wizard(["apply", "quick", "--yes", "--skip-checks"], tmp_path / "out.txt", env)
    output = (tmp_path / "out.txt").read_text().splitlines()
    assert code == 1, output
    steps = [line for line in output if line.startswith("==> ")]
    assert steps[0] == "==> Connect to the Docker engine" and any(line.startswith("Failed: ") for line in output)
    log = Path(output[-1].removeprefix("Log: "))
    assert output[-1].startswith("Log: ") and log.is_file()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    started = [record["step"] for record in records if record["event"] == "step_started"]
    assert started[0] == "engine" and records[-1]["event"] == "result"  # whole, first to last
    outcome = json.loads(next(config_dir.rglob("quick.json")).read_text())  # the last outcome, beside the journal
    assert outcome["log"] == str(log) and outcome["ok"] is False


def test_the_exit_skips_finalisation_but_not_the_exit_code(tmp_path: Path) -> None:
    probe = (
        "import atexit, sys; atexit.register(lambda: print('finalised', flush=True));"
        "sys.argv = ['aigw-wizard', 'validate', 'missing-profile']; from wizard.cli import entry; entry()"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": netguard.child_pythonpath(ROOT)})
    assert done.returncode == 2 and "missing-profile" in done.stderr
    assert "finalised" not in done.stdout


def test_long_output_to_a_file_is_complete(config_dir: Path, tmp_path: Path) -> None:
    for number in range(400):
        store.save(docker_profile(gateway={"hostname": "gw.test"}), config_dir / "profiles" / f"p{number:03}.toml")
    code = _wizard(["profiles", "--json"], tmp_path / "out.json", dict(os.environ))
    assert code == 0
    assert len(json.loads((tmp_path / "out.json").read_text())) == 400
