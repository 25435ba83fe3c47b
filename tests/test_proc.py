"""wizard.tools.proc: argument lists, no stdin, both streams live, cancel = terminate then kill."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Generator
from pathlib import Path

import pytest

from wizard.tools import proc


def python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


Run = Generator[tuple[proc.Stream, str] | None, None, int]


def drain(run: Run) -> tuple[list[tuple[str, str]], int]:
    """Every line until the child ends, and its exit code."""
    lines = []
    while True:
        try:
            item = next(run)
        except StopIteration as done:
            return lines, done.value
        if item is not None:
            lines.append(item)


def test_both_streams_arrive_in_order_and_the_exit_code_is_returned() -> None:
    code = (
        "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')\nsys.exit(3)"
    )
    lines, exit_code = drain(proc.stream(python(code)))
    assert exit_code == 3
    assert [text for stream, text in lines if stream == "stdout"] == ["out 1", "out 2"]
    assert [text for stream, text in lines if stream == "stderr"] == ["err 1"]


def test_lines_arrive_while_the_child_still_runs(tmp_path: Path) -> None:
    # The child waits for a file the test creates only after it has seen the first line.
    go = tmp_path / "go"
    code = (
        "import os, sys, time\nprint('first', flush=True)\ndeadline = time.time() + 10\n"
        f"while not os.path.exists({str(go)!r}) and time.time() < deadline: time.sleep(0.01)\n"
        "print('second')"
    )
    run = proc.stream(python(code))
    first = next(item for item in run if item is not None)
    assert first == ("stdout", "first")
    go.touch()
    lines, exit_code = drain(run)
    assert lines == [("stdout", "second")] and exit_code == 0


def test_a_chatty_stderr_cannot_stall_the_child() -> None:
    # 1 MiB on stderr before any stdout: a reader blocked on stdout alone would deadlock.
    code = "import sys\nsys.stderr.write('x' * 1024 * 1024 + '\\n')\nprint('done')"
    lines, exit_code = drain(proc.stream(python(code)))
    assert exit_code == 0 and ("stdout", "done") in lines


def test_stdin_is_never_inherited() -> None:
    lines, _ = drain(proc.stream(python("import sys\nprint(repr(sys.stdin.read()))")))
    assert lines == [("stdout", "''")]
    assert (
        proc.run_capture(python("import sys\nprint(repr(sys.stdin.read()))"), timeout=10).stdout
        == "''\n"
    )


def test_arguments_are_never_read_by_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"$(touch {marker}); touch {marker}"
    lines, _ = drain(proc.stream(python("import sys\nprint(sys.argv[1])") + [hostile]))
    assert lines == [("stdout", hostile)]
    assert not marker.exists()


def test_cancel_terminates_and_the_childs_last_words_still_arrive() -> None:
    code = (
        "import signal, sys, time\n"
        "def bye(*_):\n    print('rolling back', flush=True)\n    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, bye)\nprint('waiting', flush=True)\ntime.sleep(60)"
    )
    cancel = threading.Event()
    run = proc.stream(python(code), cancel=cancel, grace=10)
    assert next(item for item in run if item is not None) == ("stdout", "waiting")
    cancel.set()
    started = time.monotonic()
    lines, exit_code = drain(run)
    assert lines == [("stdout", "rolling back")] and exit_code == 143
    assert time.monotonic() - started < 5


def test_cancel_kills_a_child_that_ignores_terminate() -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('stubborn', flush=True)\ntime.sleep(60)"
    )
    cancel = threading.Event()
    run = proc.stream(python(code), cancel=cancel, grace=0.3)
    next(item for item in run if item is not None)
    cancel.set()
    _, exit_code = drain(run)
    assert exit_code == -9


def test_closing_the_stream_early_stops_the_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\nprint('up', flush=True)\ntime.sleep(60)"
    run = proc.stream(python(code))
    next(item for item in run if item is not None)
    run.close()
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped inside close()


def test_idle_ticks_let_the_caller_do_other_work(tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = (
        f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.01)\nprint('late')"
    )
    run = proc.stream(python(code), idle=0.02)
    assert next(run) is None  # silent child: the caller gets control back
    go.touch()
    lines, _ = drain(run)
    assert lines == [("stdout", "late")]


def test_a_missing_program_is_named() -> None:
    with pytest.raises(proc.ProgramNotFound, match="no-such-program-aigw: not found on PATH"):
        next(proc.stream(["no-such-program-aigw", "version"]))
    with pytest.raises(proc.ProgramNotFound):
        proc.run_capture(["no-such-program-aigw"], timeout=1)


def test_run_capture_returns_both_streams_and_times_out() -> None:
    done = proc.run_capture(
        python("import sys\nprint('o')\nprint('e', file=sys.stderr)\nsys.exit(2)"), timeout=10
    )
    assert (done.code, done.stdout, done.stderr, done.ok) == (2, "o\n", "e\n", False)
    with pytest.raises(proc.TimedOut, match="no answer within 0.3s"):
        proc.run_capture(python("import time\ntime.sleep(30)"), timeout=0.3)


@pytest.mark.parametrize("value", ["-f", "--kube-context=evil", ""])
def test_positional_refuses_what_would_read_as_an_option(value: str) -> None:
    with pytest.raises(ValueError, match="cannot be passed as an argument"):
        proc.positional(value)


def test_positional_passes_ordinary_values() -> None:
    assert proc.positional("ai-gateway/ai-gateway") == "ai-gateway/ai-gateway"


def test_children_never_get_the_gitlab_token(monkeypatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-not-for-children")
    probe = [sys.executable, "-c", "import os; print(os.environ.get('GITLAB_TOKEN', 'absent'))"]
    assert proc.run_capture(probe, timeout=30).stdout.strip() == "absent"
    streamed = [line for item in proc.stream(probe) if item for _stream, line in [item]]
    assert streamed == ["absent"]
