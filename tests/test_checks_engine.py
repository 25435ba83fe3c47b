"""The engine: concurrency, per-check timeouts, streaming, selection, and failure containment."""

from __future__ import annotations

import json
import time

import pytest

from tests.checks_servers import context_for, make_profile
from wizard.checks import run_checks, select_checks
from wizard.checks.base import REGISTRY, Outcome, check
from wizard.core.profile import Profile

MY_MODULES = {f"wizard.checks.{name}" for name in ("host", "network", "gitlab", "tls", "docker")}


@pytest.fixture
def scratch():
    """Register throwaway checks (ids `t.*`) for one test; the registry is restored after."""
    select_checks(Profile())  # load the real checks first, so restoring keeps them
    before = dict(REGISTRY)
    yield check
    REGISTRY.clear()
    REGISTRY.update(before)


def docker_profile() -> Profile:
    return make_profile({"target": "docker"})


def test_results_stream_as_each_check_finishes(scratch):
    @scratch("t.slow", "slow", timeout=2)
    def slow(context):
        time.sleep(0.6)
        return Outcome("pass", "slow")

    @scratch("t.fast", "fast", timeout=2)
    def fast(context):
        return Outcome("pass", "fast")

    started = time.monotonic()
    stream = run_checks(docker_profile(), "p", {"t.slow", "t.fast"}, context=context_for(docker_profile()))
    first = next(stream)
    first_at = time.monotonic() - started
    rest = list(stream)
    assert first.id == "t.fast" and first_at < 0.4
    assert [result.id for result in rest] == ["t.slow"]


def test_checks_run_concurrently(scratch):
    for index in range(12):
        @scratch(f"t.sleepy{index}", "sleepy", timeout=3)
        def sleepy(context):
            time.sleep(0.5)
            return Outcome("pass", "done")

    started = time.monotonic()
    results = list(run_checks(docker_profile(), "p", {c for c in REGISTRY if c.startswith("t.")}))
    assert len(results) == 12 and all(result.status == "pass" for result in results)
    assert time.monotonic() - started < 2.0  # sequentially this would be 6 s


def test_an_overrunning_check_fails_with_its_timeout_and_a_remedy(scratch):
    @scratch("t.stuck", "stuck", timeout=0.3, field="gitlab.url")
    def stuck(context):
        time.sleep(5)  # a blocking call that ignores us: its daemon thread is left behind
        return Outcome("pass", "never seen")

    @scratch("t.later", "stuck longer", timeout=0.6)
    def later(context):
        time.sleep(5)
        return Outcome("pass", "never seen")

    started = time.monotonic()
    stream = run_checks(docker_profile(), "prod", {"t.stuck", "t.later"})
    results = {}
    for result in stream:  # each on its own clock: the 0.3 s one is reported first, at 0.3 s
        results[result.id] = (result, time.monotonic() - started)
    assert list(results) == ["t.stuck", "t.later"]
    assert 0.3 <= results["t.stuck"][1] < results["t.later"][1] and 0.6 <= results["t.later"][1] < 2.0
    for (result, _at), limit in zip(results.values(), ("0.3", "0.6"), strict=True):
        assert result.status == "fail"
        assert result.detail == f"timed out after {limit} s"
        assert "aigw-wizard check prod --only" in result.remedy
    results = {check_id: result for check_id, (result, _at) in results.items()}
    assert "gitlab.url" in results["t.stuck"].remedy
    assert results["t.stuck"].field == "gitlab.url"


def test_an_exception_becomes_a_plain_failing_row(scratch):
    @scratch("t.buggy", "buggy", timeout=1)
    def buggy(context):
        raise RuntimeError("boom happened\nsecond line of noise")

    @scratch("t.fine", "fine", timeout=1)
    def fine(context):
        return Outcome("pass", "ok")

    results = {r.id: r for r in run_checks(docker_profile(), "p", {"t.buggy", "t.fine"})}
    assert results["t.fine"].status == "pass"
    buggy_result = results["t.buggy"]
    assert buggy_result.status == "fail"
    assert buggy_result.detail == "the check could not finish: boom happened"
    assert "Traceback" not in json.dumps(buggy_result.to_dict())
    assert buggy_result.remedy


def test_unknown_ids_are_refused_at_once_with_the_known_ones():
    with pytest.raises(ValueError) as error:
        run_checks(docker_profile(), "p", {"no.such", "gitlab.url"})  # not even iterated
    message = str(error.value)
    assert "no.such" in message and "gitlab.url" in message and "tls.pair" in message


def test_checks_apply_by_target(scratch):
    @scratch("t.docker", "docker only", targets=("docker",), timeout=1)
    def docker_only(context):
        return Outcome("pass", "ran")

    @scratch("t.both", "both", timeout=1)
    def both(context):
        return Outcome("pass", "ran")

    helm = make_profile({"target": "helm"})
    results = {r.id: r for r in run_checks(helm, "p", {"t.docker", "t.both"})}
    assert results["t.docker"].status == "skip" and "helm" in results["t.docker"].detail
    assert results["t.both"].status == "pass"
    # Without `only`, what does not apply is not even listed.
    ran = {r.id for r in run_checks(Profile(), "p", context=context_for(Profile()))}
    assert "t.both" in ran and "t.docker" not in ran and "host.memory" not in ran


def test_every_real_check_knows_its_target_and_runs_on_an_empty_profile():
    for target in ("docker", "helm"):
        profile = make_profile({"target": target})
        ids = {check_id for check_id, c in REGISTRY.items() if c.run.__module__ in MY_MODULES}
        environ = {"DOCKER_HOST": "tcp://127.0.0.1:9"}  # discard port: refused at once
        results = list(run_checks(profile, "p", ids, context=context_for(profile, environ=environ)))
        assert len(results) == len(ids)
        for result in results:
            assert "could not finish" not in result.detail, result
            if result.status in ("fail", "warn"):
                assert result.remedy, result


def test_a_token_a_check_leaks_is_masked(scratch):
    @scratch("t.leaky", "leaky", timeout=1)
    def leaky(context):
        return Outcome("fail", f"server said {context.environ['GITLAB_TOKEN']}", "token was glpat-123")

    profile = docker_profile()
    [result] = run_checks(profile, "p", {"t.leaky"}, context=context_for(profile, environ={"GITLAB_TOKEN": "glpat-123"}))
    assert "glpat-123" not in json.dumps(result.to_dict())
    assert result.detail == "server said ***"


def test_control_characters_from_servers_are_neutralised(scratch):
    @scratch("t.escape", "escape", timeout=1)
    def escape(context):
        return Outcome("warn", "version \x1b[2J17.5", "fix\x07 it")

    [result] = run_checks(docker_profile(), "p", {"t.escape"})
    assert "\x1b" not in result.detail and "\x07" not in result.remedy


def test_stopping_early_does_not_wait_for_the_rest(scratch):
    @scratch("t.quick", "quick", timeout=5)
    def quick(context):
        return Outcome("pass", "quick")

    @scratch("t.long", "long", timeout=5)
    def long(context):
        time.sleep(4)
        return Outcome("pass", "long")

    started = time.monotonic()
    stream = run_checks(docker_profile(), "p", {"t.quick", "t.long"})
    assert next(stream).id == "t.quick"
    stream.close()  # the consumer walks away
    assert time.monotonic() - started < 1.0
