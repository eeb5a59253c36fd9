"""Samples from Prometheus's HTTP API: one `query_range` per metric and side.

Each metric's PromQL has `{{side}}` replaced by the side's label value (by
default `stable` / `canary`), so one query template serves both deployments.
Every point of every returned series is a sample. An answer Prometheus marks as
an error, or one with no series, is bad input (exit 2) naming the query as sent:
that is something the user fixes in the config. Connection failures and 5xx
answers are retried (`mlci.retry`); if they persist the service is the problem (exit 3)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from mlci import retry
from mlci.canary.samples import Samples, totals
from mlci.canary.settings import Metric, Prometheus, Settings, fail
from mlci.errors import InputError, ServiceError

FloatArray = npt.NDArray[np.float64]
_PLACEHOLDER = re.compile(r"\{\{\s*side\s*\}\}")
ENV_URL = "MLCI_PROMETHEUS_URL"
USER_AGENT = "mlci-canary"
BACKOFF_S = 0.25  # 0.25, 0.5, 1, 2, 4, 4 … s between tries (`canary.prometheus.retries`)
MAX_BACKOFF_S = 4.0


def base_url(spec: str, settings: Prometheus) -> str:
    url = spec.split("+", 1)[1] if spec.startswith("prometheus+") else (
        settings.url or os.environ.get(ENV_URL))
    if not url:
        raise InputError(f"{spec}: no Prometheus URL; set canary.prometheus.url in the config, "
                         f"${ENV_URL}, or pass prometheus+http://HOST:9090")
    return url.rstrip("/")


def render(query: str, label: str) -> str:
    if not _PLACEHOLDER.search(query):
        raise InputError(f"query {query!r} has no {{{{side}}}}: stable and canary would read the "
                         "same series; select the side with a label, e.g. "
                         "rate(http_errors_total{track=\"{{side}}\"}[1m])")
    return _PLACEHOLDER.sub(label, query)


def time_range(settings: Prometheus, now: float | None = None) -> tuple[float, float]:
    end = _instant(settings.end, "end") if settings.end else (time.time() if now is None else now)
    start = _instant(settings.start, "start") if settings.start else end - settings.window_s
    if start >= end:
        raise InputError(f"canary.prometheus: start ({start}) is not before end ({end})")
    return start, end


def _instant(text: str, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"canary.prometheus.{key}: {text!r} is neither a Unix time nor an "
                         "RFC 3339 time such as 2024-05-01T12:00:00Z") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


class Client:
    """`POST /api/v1/query_range` with a bearer token, a timeout and retries."""

    def __init__(self, url: str, settings: Prometheus, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url, self.settings, self.sleep = url, settings, sleep
        token = os.environ.get(settings.token_env, "")
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def query_range(self, query: str, start: float, end: float) -> FloatArray:
        """All values of all series the query returns over [start, end], in order."""
        endpoint = f"{self.url}/api/v1/query_range"
        form = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                "step": f"{self.settings.step_s:g}"}  # seconds; "0.25s" is not PromQL
        backoff = retry.Backoff(attempts=self.settings.retries + 1, base=BACKOFF_S,
                                cap=MAX_BACKOFF_S)
        try:
            answer = retry.call(lambda: self._post(endpoint, form), backoff, sleep=self.sleep)
        except retry.RetriesExhausted as exc:
            raise ServiceError(f"Prometheus {endpoint} did not answer after {exc.attempts} "
                               f"attempt(s) ({exc}); query: {query}") from None
        return self._values(answer, query)

    def _post(self, endpoint: str, form: dict[str, str]) -> Any:
        """One try: the answer, or `retry.Again` when Prometheus (or the way to it) is
        down or busy; a 4xx is the query's problem and goes to `_values`."""
        import requests

        try:
            answer = requests.post(endpoint, data=form, headers=self.headers,
                                   timeout=self.settings.timeout_s)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise retry.Again(f"{type(exc).__name__}: {exc}") from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise retry.Again(f"HTTP {answer.status_code}: {_error_text(answer)}")
        return answer

    def _values(self, answer: Any, query: str) -> FloatArray:
        where = f"Prometheus {self.url}"
        if answer.status_code in (401, 403):
            raise InputError(f"{where} refused the query (HTTP {answer.status_code}); set the "
                             f"token in ${self.settings.token_env}; query: {query}")
        try:
            body = answer.json()
        except ValueError:
            raise InputError(f"{where} answered HTTP {answer.status_code} with no JSON (is "
                             f"this the Prometheus URL?); query: {query}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            kind = body.get("errorType", "error") if isinstance(body, dict) else "error"
            text = body.get("error", body) if isinstance(body, dict) else body
            raise InputError(f"{where} answered {kind}: {text}; query: {query}")
        data = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise InputError(f"{where} answered a {data.get('resultType')!r} result, expected a "
                             f"range vector (matrix); query: {query}")
        series = [s.get("values") or [] for s in data.get("result") or []]
        points = [p for values in series for p in values]
        if not points:
            raise InputError(f"{where} returned no samples (an empty result) for the time range; "
                             f"check the metric and its labels; query: {query}")
        values = np.array([float(p[1]) for p in points], dtype=np.float64)
        if np.isinf(values).any():
            raise InputError(f"{where} returned {int(np.isinf(values).sum())} infinite value(s) "
                             f"(e.g. histogram_quantile past the last bucket); query: {query}")
        return values


def _error_text(answer: Any) -> str:
    try:
        body = answer.json()
        return str(body.get("error", body)) if isinstance(body, dict) else str(body)
    except ValueError:
        return (answer.text or "").strip()[:200]


def load(spec: str, side: str, settings: Settings, metrics: list[Metric], *,
         now: float | None = None) -> Samples:
    config = settings.prometheus
    url = base_url(spec, config)
    label = config.sides.get(side, side)
    start, end = time_range(config, now)
    client = Client(url, config)
    samples = Samples(side=side, source=url, available=tuple(m.name for m in metrics))
    digest = hashlib.sha256()
    for metric in metrics:
        if metric.is_rate:
            if not (metric.events_query and metric.trials_query):
                raise _no_query(settings, metric, "events_query and trials_query")
            events = _run(client, metric, metric.events_query, label, start, end, samples, "events")
            trials = _run(client, metric, metric.trials_query, label, start, end, samples, "trials")
            samples.counts[metric.name] = totals(events, trials, metric, f"Prometheus {url}")
            digest.update(events.tobytes() + trials.tobytes())
        else:
            if not metric.query:
                raise _no_query(settings, metric, "query")
            values = _run(client, metric, metric.query, label, start, end, samples, "")
            samples.values[metric.name] = values
            digest.update(values.tobytes())
    samples.digest = f"sha256:{digest.hexdigest()}"
    return samples


def _run(client: Client, metric: Metric, template: str, label: str, start: float, end: float,
         samples: Samples, part: str) -> FloatArray:
    query = render(template, label)
    samples.queries[f"{metric.name}.{part}" if part else metric.name] = query
    return client.query_range(query, start, end)


def _no_query(settings: Settings, metric: Metric, keys: str) -> InputError:
    return fail(settings, ("canary", "metrics", metric.name),
                f"a Prometheus source needs {keys} for this metric, with {{{{side}}}} where the "
                "side's label value goes")
