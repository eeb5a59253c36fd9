"""Which registry errors are retried, and how long mlci waits before giving up."""

from __future__ import annotations

import random

import pytest
import requests
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    REQUEST_LIMIT_EXCEEDED,
    TEMPORARILY_UNAVAILABLE,
)

from mlci.registry import retry


def connection_refused() -> MlflowException:
    try:
        try:
            raise requests.exceptions.ConnectionError("[Errno 111] Connection refused")
        except requests.exceptions.ConnectionError:
            raise MlflowException("API request to http://x/api failed with exception "
                                  "Connection refused") from None
    except MlflowException as exc:
        return exc


@pytest.mark.parametrize(("error", "transient"), [
    (connection_refused(), True),
    (MlflowException("API request to http://x failed with timeout exception ..."), True),
    (MlflowException("boom", error_code=INTERNAL_ERROR), True),
    (MlflowException("db busy", error_code=TEMPORARILY_UNAVAILABLE), True),
    (MlflowException("slow down", error_code=REQUEST_LIMIT_EXCEEDED), True),
    (MlflowException("(sqlite3.IntegrityError) UNIQUE constraint failed: "
                     "registered_model_aliases.name", error_code=BAD_REQUEST), True),
    (MlflowException('(psycopg2.errors.UniqueViolation) duplicate key value violates unique '
                     'constraint "registered_model_alias_pk"', error_code=BAD_REQUEST), True),
    (RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such model"}),
     False),
    (RestException({"error_code": "INVALID_PARAMETER_VALUE", "message": "'latest' alias "
                    "name (case insensitive) is reserved."}), False),
    (MlflowException("bad request for another reason", error_code=BAD_REQUEST), False),
    (ValueError("a bug"), False),
    (ConnectionRefusedError(111, "refused"), True),
])
def test_classification(error: BaseException, transient: bool) -> None:
    assert retry.is_transient(error) is transient


def test_retries_then_succeeds_with_growing_jittered_pauses() -> None:
    pauses: list[float] = []
    attempts = iter([connection_refused(), connection_refused(), "done"])

    def flaky() -> str:
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    policy = retry.RetryPolicy(attempts=5, base=0.25, cap=2.0)
    assert retry.call(flaky, policy, sleep=pauses.append) == "done"
    assert len(pauses) == 2
    assert 0.125 <= pauses[0] <= 0.25 and 0.25 <= pauses[1] <= 0.5


def test_gives_up_after_the_bounded_attempts() -> None:
    pauses: list[float] = []

    def down() -> None:
        raise connection_refused()

    with pytest.raises(retry.RetriesExhausted) as caught:
        retry.call(down, retry.RetryPolicy(attempts=5), sleep=pauses.append)
    assert caught.value.attempts == 5 and len(pauses) == 4
    assert caught.value.waited == pytest.approx(sum(pauses))
    assert sum(pauses) <= 0.25 + 0.5 + 1.0 + 2.0  # the default policy's worst case: < 4 s


def test_permanent_errors_are_not_retried() -> None:
    calls = []

    def missing() -> None:
        calls.append(1)
        raise RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"})

    with pytest.raises(RestException):
        retry.call(missing, sleep=lambda _: None)
    assert calls == [1]


def test_delay_is_within_half_to_full_backoff() -> None:
    policy = retry.RetryPolicy(base=0.5, cap=1.0)
    rng = random.Random(7)
    for attempt, full in ((0, 0.5), (1, 1.0), (5, 1.0)):
        for _ in range(50):
            assert full / 2 <= policy.delay(attempt, rng) <= full


def test_attempts_from_the_environment() -> None:
    assert retry.policy_from_env({"MLCI_REGISTRY_RETRIES": "9"}).attempts == 9
    assert retry.policy_from_env({"MLCI_REGISTRY_RETRIES": "nope"}) == retry.DEFAULT_POLICY
    assert retry.policy_from_env({}) == retry.DEFAULT_POLICY
