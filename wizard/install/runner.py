"""The one step runner both engines are written on.

A verb is a generator body driven by `StepRunner.run`, which always ends the event stream
with exactly one `Result`. Inside it, every step is

    value = yield from runner.step("image", "Get the image", lambda step: body(step))

The runner yields the start, delegates to the body, and yields exactly one finish: the
body's own verdict (`step.done(detail)`, `step.skip(detail)`), or "failed" with the error's
message, or "cancelled". Bodies never write `StepFinished` themselves (Subiquity's step
context, in generator form).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TypeVar

from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import Event, Result, StepFinished, StepStarted, StepStatus

T = TypeVar("T")
Run = Generator[Event, None, T]
Diagnose = Callable[[Exception], WizardError | None]
"""Turns an engine's own exception (docker SDK, requests, …) into a WizardError, or None."""

CANCELLED_DETAIL = "stopped at your request"


class StepFailed(WizardError):
    """A failed install step: the reason, remedies, and the gateway's last log lines."""

    def __init__(
        self,
        message: str,
        *remedies: str,
        log_tail: Iterable[str] = (),
        field: str | None = None,
    ) -> None:
        super().__init__(message, remedies, field)
        self.log_tail = tuple(log_tail)
        self.outcome = ""
        """What rolling back achieved, when there was something to roll back."""

    @property
    def summary(self) -> str:
        return self.message + (f"; {self.outcome}" if self.outcome else "")


class Step:
    """The open step; its body records how it ended, the runner reports it once."""

    def __init__(self, step_id: str) -> None:
        self.id = step_id
        self.status: StepStatus = "ok"
        self.detail = ""

    def done(self, detail: str = "", status: StepStatus = "ok") -> None:
        self.status, self.detail = status, detail

    def skip(self, detail: str) -> None:
        self.done(detail, "skipped")


def _no_diagnosis(_error: Exception) -> WizardError | None:
    return None


class StepRunner:
    """Opens and closes steps, checks for cancellation, and turns errors into one Result."""

    def __init__(self, cancel: threading.Event | None = None, diagnose: Diagnose = _no_diagnosis) -> None:
        self.cancel = cancel or threading.Event()
        self.diagnose = diagnose

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled

    def failure(self, error: Exception) -> WizardError:
        """Any exception as a WizardError: ours as they are, engine errors diagnosed, bugs named."""
        if isinstance(error, WizardError):
            return error
        diagnosed = self.diagnose(error)
        if diagnosed is not None:
            return diagnosed
        return WizardError(
            f"unexpected error: {type(error).__name__}: {error}",
            ["Run the same command again; if it fails the same way, report it with the run's log."],
        )

    def step(
        self, step_id: str, title: str, body: Callable[[Step], Run[T]], *, cancellable: bool = True
    ) -> Run[T]:
        if cancellable:
            self.check_cancel()  # every step boundary is a place to stop
        yield StepStarted(step_id, title)
        current = Step(step_id)
        try:
            value = yield from body(current)
        except Cancelled:
            yield StepFinished(step_id, "cancelled", CANCELLED_DETAIL)
            raise
        except Exception as error:  # GeneratorExit and KeyboardInterrupt pass through
            failure = self.failure(error)
            yield StepFinished(step_id, "failed", failure.message)
            if failure is error:
                raise
            raise failure from error
        yield StepFinished(step_id, current.status, current.detail)
        return value

    def run(self, body: Run[Result], cleanup: Callable[[], None] | None = None) -> Iterator[Event]:
        """Drive a verb to exactly one Result, whatever goes wrong inside it."""
        try:
            result = yield from body
        except Cancelled as stop:
            yield Result(ok=False, summary=stop.message, remedies=stop.remedies, changed=False)
        except Exception as error:
            failure = self.failure(error)
            summary = failure.summary if isinstance(failure, StepFailed) else failure.message
            yield Result(
                ok=False,
                summary=summary,
                remedies=failure.remedies,
                log_tail=getattr(failure, "log_tail", ()),
            )
        else:
            yield result
        finally:
            if cleanup is not None:
                cleanup()
