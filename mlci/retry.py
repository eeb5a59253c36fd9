"""The one retry loop for every outside service: Git host APIs, Prometheus, the model registry.

Each caller says what one attempt is and which failures deserve another try;
this loop decides how long to wait and when to give up, so the rules are the
same everywhere: `attempts` tries in all, waits that double from `base` up to
`cap` (with equal jitter where writers that failed together must not retry
together), and a wait the service asked for (`Retry-After`, a rate-limit reset)
taken as asked, counted apart from failures: a throttled service is working as
designed, a failing one is not. Exhausted retries end in `RetriesExhausted`,
which each caller turns into its own exit-3 message naming the service.

Tests inject `sleep` to record the waits instead of sleeping them; a caller with
a time budget refuses a wait in `before_wait` instead of sleeping past it."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all; after failed try k (0-based) wait `base * 2**k`, at
    most `cap`; with `jitter`, half of that wait is fixed and half random."""

    attempts: int = 5
    base: float = 0.25
    cap: float = math.inf
    jitter: bool = False

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed try `attempt` (0-based). Equal jitter keeps at least
        half the backoff, so a jittered wait is never close to zero."""
        backoff = min(self.cap, self.base * (2 ** attempt))
        if not self.jitter:
            return backoff
        return backoff / 2 + (rng or random).uniform(0, backoff / 2)


class Again(Exception):
    """Raised by an attempt whose failure deserves another try, saying what went wrong.

    `after` is the wait the service asked for (seconds), when it said: it is
    waited as asked and counts against a separate allowance of `attempts` waits,
    not against the failures."""

    def __init__(self, problem: str, *, after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.after = after


class RetriesExhausted(Exception):
    """The last retryable failure, after every try (or every wait the service asked
    for, `asked`) was used; `waited` is the time spent waiting in between."""

    def __init__(self, last: BaseException, attempts: int, waited: float, *,
                 asked: bool = False) -> None:
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts
        self.waited = waited
        self.asked = asked


def is_again(exc: BaseException) -> bool:
    return isinstance(exc, Again)


def call(attempt: Callable[[], T], backoff: Backoff, *,
         retryable: Callable[[BaseException], bool] = is_again,
         sleep: Callable[[float], None] = time.sleep,
         before_wait: Callable[[float, BaseException], None] | None = None) -> T:
    """`attempt()` until it returns, retrying the failures `retryable` accepts.

    Any other exception propagates at once (a permanent error is never retried).
    `before_wait(seconds, failure)` runs before each wait and may raise to stop."""
    failures = asked = 0
    waited = 0.0
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not retryable(exc):
                raise
            failure = exc
        after = failure.after if isinstance(failure, Again) else None
        if after is not None:
            asked += 1
            if asked > backoff.attempts:
                raise RetriesExhausted(failure, failures + 1, waited, asked=True) from failure
            pause = max(0.0, after)
        else:
            failures += 1
            if failures >= backoff.attempts:
                raise RetriesExhausted(failure, failures, waited) from failure
            pause = backoff.delay(failures - 1)
        if before_wait is not None:
            before_wait(pause, failure)
        waited += pause
        sleep(pause)
