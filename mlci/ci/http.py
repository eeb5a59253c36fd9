"""HTTP to a Git host's REST API: retries, rate limits, a time budget, size caps.

A report step runs with `if: always()` at the end of a pipeline; it must
neither hang the job on a throttled API nor give up on the first 502. So every
call shares one deadline: server errors and dropped connections are retried
with exponential backoff, 429s and GitHub's secondary rate limits wait as the
host asks (`Retry-After`, else `x-ratelimit-reset`, else a minute, as GitHub's
docs say), and when the host asks for longer than the budget has left we stop
at once with exit 3 instead of sleeping past it. The loop itself is
`mlci.retry`, the one every outside service goes through.

`requests` is imported only when a client makes its first call, so commands
that never post do not pay for it. Nothing here logs headers: the token lives
only in the session."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mlci import retry
from mlci.errors import ServiceError

if TYPE_CHECKING:
    import requests

# What a successful answer must hold: None when it does, else what is wrong with it.
Shape = Callable[[Any], "str | None"]

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_RESPONSE_BYTES = 20_000_000  # a page of 100 comments of 65,536 chars is ~7 MB at most
DEFAULT_BUDGET_S = 180.0  # one secondary-rate-limit minute fits, twice over
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_S = 0.5  # 0.5, 1, 2, 4: 7.5 s over the retries of one call
REQUEST_TIMEOUT_S = (10.0, 30.0)  # connect, read


class ApiError(ServiceError):
    """The host answered with an error that retrying will not fix (401, 403, 404, 422…).

    Callers look at `status` and `api_message` to decide: a 403 on a fork pull
    request is a warning, not a failure."""

    def __init__(self, message: str, *, status: int, api_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.api_message = api_message


class TransientError(ServiceError):
    """A call that may or may not have taken effect (5xx or a dropped connection on a
    POST): the caller re-reads before trying again, so a retry never duplicates."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any
    url: str

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Client:
    """One API, one token, one deadline. `sleep` and `clock` are injectable for tests."""

    service: str  # "GitHub" / "GitLab", for messages
    base_url: str
    headers: Mapping[str, str]
    budget_s: float = DEFAULT_BUDGET_S
    attempts: int = DEFAULT_ATTEMPTS
    backoff_s: float = DEFAULT_BACKOFF_S
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    _deadline: float | None = field(default=None, init=False, repr=False)
    _session: requests.Session | None = field(default=None, init=False, repr=False)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def owns(self, url: str) -> bool:
        """Only URLs under the API base get the token (a `Link` header could point anywhere)."""
        return url.startswith(self.base_url.rstrip("/") + "/")

    def remaining(self) -> float:
        if self._deadline is None:
            self._deadline = self.clock() + self.budget_s
        return self._deadline - self.clock()

    @property
    def backoff(self) -> retry.Backoff:
        """0.5, 1, 2, 4 s between the attempts of one call: no jitter, one client
        per job does not race itself."""
        return retry.Backoff(attempts=self.attempts, base=self.backoff_s)

    def within_budget(self, where: str = "") -> Callable[[float, BaseException], None]:
        """The retry loop's `before_wait`: a wait that would pass the deadline ends the
        call at once (exit 3) instead of sleeping past it."""

        def check(seconds: float, failure: BaseException) -> None:
            asked = isinstance(failure, retry.Again) and failure.after is not None
            why = f"rate limited ({failure})" if asked else str(failure)
            why = f"{where}: {why}" if where else why
            if seconds >= self.remaining():
                raise ServiceError(f"{self.service} API: {why}; waiting {seconds:.0f} s more "
                                   f"would pass the {self.budget_s:.0f} s budget, giving up")

        return check

    def request(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                body: Mapping[str, Any] | None = None, retry_server_errors: bool = True,
                expect: Shape | None = None) -> Response:
        """One call, retried as described in the module docstring (`mlci.retry`).

        With `retry_server_errors=False` (a POST that creates something) a 5xx or a
        dropped connection raises `TransientError` instead of retrying blindly.
        `expect` says what a 2xx answer must hold (e.g. a JSON list of comments); an
        answer that does not (HTML from a proxy, a truncated body) is retried like a
        5xx and is never taken for an empty list."""
        if not (url.startswith("http://") or url.startswith("https://")):
            url = self.url(url)
        where = f"{method} {_display(url)}"
        last = "no attempt made"

        def once() -> Response:
            nonlocal last
            left = self.remaining()
            if left <= 0:
                raise ServiceError(f"{self.service} API: {where}: out of time after "
                                   f"{self.budget_s:.0f} s ({last})")
            try:
                return self._attempt(method, url, params, body, left, retry_server_errors,
                                     expect)
            except retry.Again as again:
                last = again.problem
                raise

        try:
            return retry.call(once, self.backoff, sleep=self.sleep,
                              before_wait=self.within_budget(where))
        except retry.RetriesExhausted as exc:
            if exc.asked:
                raise ServiceError(f"{self.service} API: {where}: still rate limited after "
                                   f"{self.attempts} waits ({exc})") from exc.last
            raise ServiceError(f"{self.service} API: {where}: failed after {exc.attempts} "
                               f"attempts ({exc})") from exc.last

    def _attempt(self, method: str, url: str, params: Mapping[str, str] | None,
                 body: Mapping[str, Any] | None, left: float, retry_server_errors: bool,
                 expect: Shape | None) -> Response:
        """One try: the response, or `retry.Again` (with the wait a rate limit asks
        for), or the error no retry fixes (`ApiError`, `TransientError`)."""
        import requests

        where = f"{self.service} API: {method} {_display(url)}"
        try:
            response = self._call(method, url, params, body, left)
        except requests.RequestException as exc:
            if not retry_server_errors:
                raise TransientError(f"{where}: {type(exc).__name__}") from exc
            raise retry.Again(type(exc).__name__) from exc
        problem = expect(response.data) if expect and 200 <= response.status < 300 else None
        if 200 <= response.status < 300 and problem is None:
            return response
        message = _api_message(response) if problem is None else problem
        last = f"HTTP {response.status}" + (f": {message}" if message else "")
        delay = self._rate_limit_delay(response, message)
        if delay is not None:
            raise retry.Again(last, after=delay)
        if problem is None and response.status not in RETRY_STATUSES:
            raise ApiError(f"{where}: {last}", status=response.status, api_message=message)
        if not retry_server_errors:
            raise TransientError(f"{where}: {last}")
        raise retry.Again(last)

    def _call(self, method: str, url: str, params: Mapping[str, str] | None,
              body: Mapping[str, Any] | None, left: float) -> Response:
        session = self._get_session()
        connect, read = REQUEST_TIMEOUT_S
        timeout = (min(connect, left), min(read, left))
        send_params = dict(params) if params else None
        with session.request(method, url, params=send_params, json=body, timeout=timeout,
                             stream=True, allow_redirects=False) as raw:
            content = _read_capped(raw, f"{self.service} API: {method} {_display(url)}")
            data: Any = None
            if content:
                try:
                    data = json.loads(content)
                except ValueError:
                    data = content.decode("utf-8", "replace")
            return Response(raw.status_code, dict(raw.headers), data, raw.url or url)

    def _get_session(self) -> requests.Session:
        import requests

        if self._session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            session.trust_env = True  # proxies from the runner's environment
            self._session = session
        return self._session

    def _rate_limit_delay(self, response: Response, message: str) -> float | None:
        """Seconds to wait, or None when this is not a rate limit.

        GitHub signals both limits with 403 or 429: the primary with
        `x-ratelimit-remaining: 0`, the secondary with a message that says so."""
        remaining = response.header("x-ratelimit-remaining")
        limited = response.status == 429 or (
            response.status == 403 and (remaining == "0" or "rate limit" in message.lower()))
        if not limited:
            return None
        retry_after = response.header("retry-after")
        if retry_after:
            seconds = _retry_after_seconds(retry_after, self.wall_clock())
            if seconds is not None:
                return seconds
        reset = response.header("x-ratelimit-reset") or response.header("ratelimit-reset")
        if reset and (remaining == "0" or response.header("ratelimit-remaining") == "0"
                      or response.status == 429):
            try:
                return max(0.0, float(reset) - self.wall_clock()) + 1.0
            except ValueError:
                pass
        return 60.0


def _retry_after_seconds(value: str, now: float) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _read_capped(raw: requests.Response, where: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ServiceError(f"{where}: response larger than {MAX_RESPONSE_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _api_message(response: Response) -> str:
    data = response.data
    if isinstance(data, dict):
        for key in ("message", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, (list, dict)) and value:
                return json.dumps(value)[:300]
    if isinstance(data, str):
        return " ".join(data.split())[:300]
    return ""


def _display(url: str) -> str:
    """The URL without its query string: short enough for a log line."""
    return url.split("?", 1)[0]


def list_of(what: str, required: Mapping[str, type]) -> Shape:
    """A JSON list of objects, each with `required` fields of the given types."""

    def check(data: Any) -> str | None:
        if not isinstance(data, list):
            return f"the answer is not a JSON list of {what} ({_kind(data)})"
        for item in data:
            if not isinstance(item, dict) or not all(
                    isinstance(item.get(k), t) and not isinstance(item.get(k), bool)
                    for k, t in required.items()):
                return f"the answer is not a JSON list of {what} (an item is {_kind(item)})"
        return None

    return check


def object_with(what: str, required: Mapping[str, type]) -> Shape:
    """A JSON object with `required` fields of the given types."""

    def check(data: Any) -> str | None:
        if isinstance(data, dict) and all(isinstance(data.get(k), t) and not isinstance(
                data.get(k), bool) for k, t in required.items()):
            return None
        return f"the answer is not {what} ({_kind(data)})"

    return check


def _kind(data: Any) -> str:
    if isinstance(data, str):
        return "not JSON" if data else "an empty body"
    if data is None:
        return "an empty body"
    if isinstance(data, dict):
        return "an object with " + (", ".join(sorted(map(str, data))[:6]) or "no fields")
    return f"a JSON {type(data).__name__}"


def member(data: Any, key: str, kind: type[Value]) -> Value | None:
    """`data[key]` when the answer is an object holding a `kind` there, else None: what a
    create or update answered is used when it is there and never trusted blindly."""
    if isinstance(data, dict) and isinstance(data.get(key), kind):
        value: Value = data[key]
        return value
    return None


def first_marked(items: list[Any], marker: str, ours: Callable[[Any], bool]) -> Any:
    """The first comment or note whose body starts with `marker` and that `ours` accepts
    (written by the token's own identity): another user's copy of the marker is never
    taken for ours."""
    for item in items:
        body = item.get("body")
        if isinstance(body, str) and body.lstrip().startswith(marker) and ours(item):
            return item
    return None


def next_link(link_header: str | None) -> str | None:
    """The `rel="next"` target of an RFC 8288 `Link` header (GitHub and GitLab both send it)."""
    if not link_header:
        return None
    for part in link_header.split(","):
        section = part.strip().split(";")
        if len(section) < 2:
            continue
        target = section[0].strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        for param in section[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip() == "rel" and "next" in value.strip().strip('"').split():
                return target[1:-1]
    return None


Upsert = Literal["created", "updated"]
Found = TypeVar("Found")
Value = TypeVar("Value")
Made = TypeVar("Made")


def upsert(api: Client, find: Callable[[], Found | None], update: Callable[[Found], Made],
           create: Callable[[], Made]) -> tuple[Upsert, Made]:
    """Update what `find` finds, or create it, and never leave two.

    A create that failed with a 5xx may still have landed, so `create` is not
    retried blindly: before each retry we look again and update what is there."""

    def once() -> tuple[Upsert, Made]:
        existing = find()
        if existing is not None:
            return "updated", update(existing)
        return "created", create()

    try:
        return retry.call(once, api.backoff, sleep=api.sleep,
                          retryable=lambda exc: isinstance(exc, TransientError),
                          before_wait=api.within_budget())
    except retry.RetriesExhausted as exc:
        raise exc.last from exc.last.__cause__
