"""The one step runner: every step closes exactly once, every run ends in exactly one Result."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from wizard.core.errors import WizardError
from wizard.core.events import Result, StepFinished, StepStarted
from wizard.install.runner import Step, StepFailed, StepRunner


def finishes(events: list) -> Counter[str]:
    return Counter(event.step for event in events if isinstance(event, StepFinished))


def test_a_step_reports_the_bodys_own_verdict_once() -> None:
    runner = StepRunner()

    def body(step: Step):
        yield from ()
        step.skip("nothing to do")
        return 42

    def verb():
        value = yield from runner.step("image", "Get the image", body)
        return Result(True, f"got {value}")

    events = list(runner.run(verb()))
    assert isinstance(events[0], StepStarted)
    assert events[1] == StepFinished("image", "skipped", "nothing to do", at=events[1].at)
    assert isinstance(events[-1], Result) and events[-1].summary == "got 42"


def test_cancel_between_steps_closes_no_finished_step_twice() -> None:
    cancel = threading.Event()
    runner = StepRunner(cancel)

    def first(step: Step):
        yield from ()
        step.done("ok")
        cancel.set()  # the user presses Cancel while the first step ends

    def verb():
        yield from runner.step("tls", "Read TLS", first)
        yield from runner.step("cluster", "Connect", first)
        return Result(True, "unreachable")

    events = list(runner.run(verb()))
    assert finishes(events) == Counter({"tls": 1})
    result = events[-1]
    assert isinstance(result, Result) and not result.ok and not result.changed


def test_a_failure_closes_its_step_and_carries_remedies_and_log_tail() -> None:
    runner = StepRunner()

    def broken(_step: Step):
        yield from ()
        raise StepFailed("the container exited", "Look at gateway.image.", log_tail=["boom"])

    events = list(runner.run(runner.step("health", "Wait", broken)))
    assert [e.status for e in events if isinstance(e, StepFinished)] == ["failed"]
    result = events[-1]
    assert isinstance(result, Result)
    assert (result.ok, result.summary, result.remedies, result.log_tail) == (
        False, "the container exited", ("Look at gateway.image.",), ("boom",)
    )


def test_engine_errors_are_diagnosed_and_bugs_still_end_in_one_result() -> None:
    class EngineDown(Exception):
        pass

    def diagnose(error: Exception) -> WizardError | None:
        return WizardError("the engine is down", ["start it"]) if isinstance(error, EngineDown) else None

    runner = StepRunner(diagnose=diagnose)

    def raises(error: Exception):
        def body(_step: Step):
            yield from ()
            raise error
        return body

    down = list(runner.run(runner.step("engine", "Connect", raises(EngineDown()))))
    assert down[-1].summary == "the engine is down" and down[-1].remedies == ("start it",)
    bug = list(runner.run(runner.step("engine", "Connect", raises(KeyError("x")))))
    assert bug[-1].summary.startswith("unexpected error: KeyError")
    assert sum(isinstance(event, Result) for event in bug) == 1


def test_closing_the_stream_runs_cleanup_and_yields_nothing_more() -> None:
    cleaned = []
    runner = StepRunner()

    def slow(_step: Step):
        yield StepStarted("inner", "inner")
        yield StepStarted("inner2", "inner2")

    stream = runner.run(runner.step("image", "Get", slow), cleanup=lambda: cleaned.append(True))
    next(stream)
    next(stream)
    stream.close()  # the consumer went away (GeneratorExit at the yield)
    assert cleaned == [True]
    with pytest.raises(StopIteration):
        next(stream)
