"""Bounded retries with backoff and jitter for registry calls, and which errors deserve them.

MLflow's HTTP client retries on its own (7 times with factor-2 backoff by
default: minutes against a registry that is down), and it does not retry the
HTTP 400 that a racing alias creation returns (an IntegrityError inside the
server). mlci switches MLflow's own retries off for its calls (see
`quiet_mlflow_retries`) and retries here instead, so that one policy decides how long a step may
wait, transient and permanent errors are told apart in one place, and the
final error names the registry and the operation that failed. The loop itself
is `mlci.retry`, the one every outside service goes through."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from mlci import retry
from mlci.retry import Backoff
from mlci.retry import RetriesExhausted as RetriesExhausted  # what callers catch

T = TypeVar("T")

# HTTP statuses worth another try: the server or something in front of it was busy.
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
# What a lost database race looks like inside a 400 (SQLite and PostgreSQL wording).
_RACE_MARKERS = ("integrityerror", "unique constraint", "uniqueviolation", "duplicate key",
                 "database is locked", "deadlock", "could not serialize",
                 "serializationfailure")
_PERMANENT_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE",
                    "RESOURCE_ALREADY_EXISTS", "PERMISSION_DENIED", "UNAUTHENTICATED",
                    "NOT_FOUND", "ALREADY_EXISTS", "INVALID_STATE"}


@dataclass(frozen=True)
class RetryPolicy(Backoff):
    """The registry's backoff (`mlci.retry`): `attempts` tries in all, waits from
    `base` doubling up to `cap`, with equal jitter so that racing writers that
    failed together do not retry together.

    Defaults give at most about 4 s of waiting before a step gives up with
    exit 3, so "registry down" is reported quickly, while a server restart or
    a burst of lock contention is ridden out."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 2.0
    jitter: bool = True


DEFAULT_POLICY = RetryPolicy()
# Cleaning up after a failure (undo, releasing a ticket) must not double the wait.
CLEANUP_POLICY = RetryPolicy(attempts=2, base=0.25, cap=0.5)


def policy_from_env(environ: dict[str, str] | None = None) -> RetryPolicy:
    """`MLCI_REGISTRY_RETRIES` (attempts) lets a team that knows its registry
    restarts slowly wait longer, without a flag on every step."""
    env = os.environ if environ is None else environ
    raw = env.get("MLCI_REGISTRY_RETRIES")
    if not raw:
        return DEFAULT_POLICY
    try:
        attempts = int(raw)
    except ValueError:
        return DEFAULT_POLICY
    return RetryPolicy(attempts=max(1, min(attempts, 20)))


_MLFLOW_FAIL_FAST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@contextlib.contextmanager
def quiet_mlflow_retries() -> Iterator[None]:
    """Make MLflow fail fast during one call so that mlci's policy is the only one.

    MLflow reads these variables on every request; they are set only for the
    call and only when the user has not set them (a user's value wins), so
    nothing else in the process, tests included, sees a changed environment."""
    added = [name for name in _MLFLOW_FAIL_FAST if name not in os.environ]
    for name in added:
        os.environ[name] = _MLFLOW_FAIL_FAST[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def http_status(exc: BaseException) -> int | None:
    getter = getattr(exc, "get_http_status_code", None)
    if getter is None:
        return None
    try:
        status = getter()
    except Exception:
        return None
    return status if isinstance(status, int) else None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_transient(exc: BaseException) -> bool:
    """Connection refused or reset, timeouts, 5xx and 429, database lock and
    unique-key races; never "not found" or "invalid value", which no retry fixes."""
    for link in _chain(exc):
        name = type(link).__name__
        module = type(link).__module__
        if module.startswith(("requests", "urllib3")) and any(
                word in name for word in ("Connection", "Timeout", "Protocol", "ReadTimeout")):
            return True
        if isinstance(link, (ConnectionError, TimeoutError)):
            return True
        if "OperationalError" in name:  # sqlite "database is locked", a dropped connection
            return True
    code = getattr(exc, "error_code", None)
    message = str(exc).lower()
    if code in _PERMANENT_CODES:
        return False
    if any(marker in message for marker in _RACE_MARKERS):
        return True
    if code == "BAD_REQUEST":
        return False  # MLflow maps this code to 500 when asked; it is a 400: only races retry
    if "api request to" in message and "failed with exception" in message:
        return True  # MLflow's wrapper around a connection error
    if "failed with timeout exception" in message:
        return True
    status = http_status(exc)
    return status in _TRANSIENT_STATUS if status is not None else False


def call(fn: Callable[[], T], policy: RetryPolicy = DEFAULT_POLICY,
         sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `fn` (with MLflow's own retries off); retry transient errors per `policy`
    in the one retry loop; re-raise permanent ones at once. Exhausted retries raise
    `RetriesExhausted`, which the registry client turns into exit 3."""

    def once() -> T:
        with quiet_mlflow_retries():
            return fn()

    return retry.call(once, policy, retryable=is_transient, sleep=sleep)
