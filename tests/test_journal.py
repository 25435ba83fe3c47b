"""The run journal: private JSON lines per run, and each profile's last outcome."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from wizard.core.events import LogLine, Result, StepStarted
from wizard.core.journal import Journal
from wizard.core.outcomes import last_outcome


def test_every_event_is_recorded_privately_and_the_outcome_kept(config_dir: Path) -> None:
    journal = Journal("prod", "apply")
    events = [StepStarted("image", "Image"), LogLine("docker", "pulled"), Result(True, "healthy")]
    assert list(journal.follow(iter(events))) == events
    lines = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["step_started", "log", "result"]
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.path.parent.stat().st_mode) == 0o700
    outcome = last_outcome("prod")
    assert outcome is not None and outcome["ok"] is True and outcome["log"] == str(journal.path)


def test_two_runs_in_one_second_get_two_files(config_dir: Path) -> None:
    first, second = Journal("prod", "apply"), Journal("prod", "apply")
    assert first.path != second.path
    first.close()
    second.close()


def test_a_run_broken_off_is_recorded_as_interrupted(config_dir: Path) -> None:
    journal = Journal("prod", "apply")

    def events():
        yield LogLine("wizard", "starting")
        raise KeyboardInterrupt

    try:
        for _event in journal.follow(events()):
            pass
    except KeyboardInterrupt:
        pass
    outcome = last_outcome("prod")
    assert outcome is not None and outcome["ok"] is False
    assert "interrupted" in outcome["summary"]
