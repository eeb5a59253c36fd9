"""The one retry loop (`mlci.retry`): how long it waits, when it stops, what it never retries.

Waits are recorded instead of slept, so every number below is the exact wait."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from mlci import retry


def script(*steps: object) -> Callable[[], str]:
    """An attempt that raises each exception in `steps` in turn and returns the rest."""
    queue = list(steps)

    def attempt() -> str:
        step = queue.pop(0)
        if isinstance(step, BaseException):
            raise step
        return str(step)

    return attempt


def test_waits_double_from_base_up_to_cap_then_it_succeeds() -> None:
    waits: list[float] = []
    attempt = script(*[retry.Again(f"HTTP 50{i}") for i in range(5)], "ok")
    backoff = retry.Backoff(attempts=6, base=0.25, cap=2.0)
    assert retry.call(attempt, backoff, sleep=waits.append) == "ok"
    assert waits == [0.25, 0.5, 1.0, 2.0, 2.0]


def test_gives_up_after_attempts_tries_with_the_last_failure() -> None:
    waits: list[float] = []
    attempt = script(retry.Again("refused"), retry.Again("refused"), retry.Again("HTTP 503"))
    with pytest.raises(retry.RetriesExhausted) as caught:
        retry.call(attempt, retry.Backoff(attempts=3, base=1.0), sleep=waits.append)
    assert (caught.value.attempts, caught.value.waited, caught.value.asked) == (3, 3.0, False)
    assert str(caught.value) == "HTTP 503"
    assert isinstance(caught.value.last, retry.Again)
    assert waits == [1.0, 2.0]  # no wait after the last try


def test_one_attempt_means_no_retry() -> None:
    waits: list[float] = []
    with pytest.raises(retry.RetriesExhausted) as caught:
        retry.call(script(retry.Again("down")), retry.Backoff(attempts=1), sleep=waits.append)
    assert (caught.value.attempts, waits) == (1, [])


def test_a_permanent_error_propagates_at_once() -> None:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        raise PermissionError("401 bad token")

    with pytest.raises(PermissionError, match="401 bad token"):
        retry.call(attempt, retry.Backoff(attempts=5), sleep=lambda _: None)
    assert calls == [1]


def test_the_caller_decides_what_is_retryable() -> None:
    waits: list[float] = []
    attempt = script(ConnectionResetError(104, "reset"), TimeoutError("slow"), "ok")
    assert retry.call(attempt, retry.Backoff(attempts=3, base=0.5), sleep=waits.append,
                      retryable=lambda exc: isinstance(exc, OSError)) == "ok"
    assert waits == [0.5, 1.0]
    with pytest.raises(retry.Again):  # not an OSError: this caller does not retry it
        retry.call(script(retry.Again("x")), retry.Backoff(), sleep=waits.append,
                   retryable=lambda exc: isinstance(exc, OSError))


def test_a_wait_the_service_asks_for_is_taken_as_asked_and_counted_apart() -> None:
    """Retry-After: 7 then 0 then a failure: the asked waits are exact and do not use
    up the failures' allowance (2 tries here), so the failure still gets its retry."""
    waits: list[float] = []
    attempt = script(retry.Again("429", after=7.0), retry.Again("429", after=-3.0),
                     retry.Again("HTTP 502"), "ok")
    assert retry.call(attempt, retry.Backoff(attempts=2, base=0.5), sleep=waits.append) == "ok"
    assert waits == [7.0, 0.0, 0.5]  # a negative wait (a reset in the past) is no wait


def test_a_service_that_keeps_asking_to_wait_is_given_up_on() -> None:
    waits: list[float] = []
    attempt = script(*[retry.Again("429", after=1.0)] * 4)
    with pytest.raises(retry.RetriesExhausted) as caught:
        retry.call(attempt, retry.Backoff(attempts=3), sleep=waits.append)
    assert (caught.value.asked, caught.value.waited, waits) == (True, 3.0, [1.0, 1.0, 1.0])


def test_before_wait_sees_each_wait_and_can_refuse_it() -> None:
    seen: list[tuple[float, str]] = []
    waits: list[float] = []

    def budget(seconds: float, failure: BaseException) -> None:
        seen.append((seconds, str(failure)))
        if seconds > 60:
            raise TimeoutError(f"{failure}: {seconds:.0f} s would pass the budget")

    attempt = script(retry.Again("HTTP 500"), retry.Again("429", after=3600.0), "never")
    with pytest.raises(TimeoutError, match="429: 3600 s would pass the budget"):
        retry.call(attempt, retry.Backoff(attempts=5, base=0.5), sleep=waits.append,
                   before_wait=budget)
    assert seen == [(0.5, "HTTP 500"), (3600.0, "429")]
    assert waits == [0.5]  # the refused wait was never slept


def test_equal_jitter_keeps_half_of_the_backoff() -> None:
    backoff = retry.Backoff(base=0.5, cap=1.0, jitter=True)
    rng = random.Random(3)
    seen = {attempt: [backoff.delay(attempt, rng) for _ in range(200)] for attempt in (0, 1, 6)}
    for attempt, full in ((0, 0.5), (1, 1.0), (6, 1.0)):
        assert all(full / 2 <= wait <= full for wait in seen[attempt])
        assert max(seen[attempt]) - min(seen[attempt]) > full / 4  # it does vary
    assert retry.Backoff(base=0.5, cap=1.0).delay(1) == 1.0  # without jitter: exact
