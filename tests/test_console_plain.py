"""The console off a terminal: plain lines, flushed as they happen; progress every few seconds."""

from __future__ import annotations

import io

from wizard.cli.console import PLAIN_PROGRESS_EVERY, make_console, render_events
from wizard.core.events import LogLine, Progress, Result, StepFinished, StepStarted

MIB = 2**20


def test_progress_off_a_terminal_is_a_line_every_few_seconds_with_bytes_percent_and_rate() -> None:
    total = 600 * MIB
    events = [StepStarted("image", "Get the image", at=0.0)]
    # 30 s of a load at 20 MiB/s, an event every 0.1 s
    events += [Progress("image", "archive", min(total, int(n * 2 * MIB)), total, "gw.tar", at=n / 10) for n in range(1, 301)]
    events += [StepFinished("image", "ok", "loaded", at=30.0), Result(True, "done", at=30.0)]
    buffer = io.StringIO()
    assert render_events(iter(events), make_console(buffer)) == events[-1]
    lines = buffer.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("    gw.tar: ")]
    assert 10 <= len(progress) <= 30 / PLAIN_PROGRESS_EVERY + 2
    assert progress[-1] == "    gw.tar: 600.0 MiB of 600.0 MiB (100%), 20.0 MiB/s"
    percents = [int(line.rsplit("(", 1)[1].split("%")[0]) for line in progress]
    assert percents == sorted(percents) and percents[0] < 10
    assert lines[0] == "==> Get the image" and lines[-1] == "Done: done"


def test_layer_states_are_lines_off_a_terminal_and_bar_labels_on_one() -> None:
    events = [
        LogLine("pull", "5d72e1d95ba7: Pulling fs layer"),
        Progress("image", "5d72e1d95ba7", 10, 100, "5d72e1d95ba7 downloading"),
        LogLine("pull", "5d72e1d95ba7: Pull complete"),
        Result(True, "done"),
    ]
    plain = io.StringIO()
    render_events(iter(events), make_console(plain))
    assert "    [pull] 5d72e1d95ba7: Pulling fs layer" in plain.getvalue().splitlines()
    assert "    [pull] 5d72e1d95ba7: Pull complete" in plain.getvalue().splitlines()
    assert "5d72e1d95ba7 downloading: 10 B of 100 B (10%)" in plain.getvalue()
    live = io.StringIO()
    console = make_console(live)
    console._force_terminal = True
    render_events(iter(events), console)
    assert "Pulling fs layer" not in live.getvalue()  # shown in the bar, as docker pull does, not printed
