"""Canary samples from a real Prometheus (Debian's package, scripts/tools/prometheus.sh),
started on 127.0.0.1 with a scrape target this module serves; and the client's
headers and retries against a local stand-in that records each request."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SCRAPE = "250ms"
SAMPLES = 12  # per side, before the tests start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Target(BaseHTTPRequestHandler):
    """A service with a stable and a canary deployment: every scrape shows new latency
    samples (canary 1.5 × slower) and a batch of requests and errors (canary 5 % vs 1 %)."""

    rng = np.random.default_rng(3)

    def do_GET(self) -> None:
        stable, canary = self.rng.lognormal(np.log(0.1), 0.1, 2)
        canary *= 1.5
        body = (
            "# TYPE app_latency_seconds gauge\n"
            f'app_latency_seconds{{side="stable"}} {stable:.6f}\n'
            f'app_latency_seconds{{side="canary"}} {canary:.6f}\n'
            "# TYPE app_batch_requests gauge\n"
            'app_batch_requests{side="stable"} 1000\n'
            'app_batch_requests{side="canary"} 1000\n'
            "# TYPE app_batch_errors gauge\n"
            f'app_batch_errors{{side="stable"}} {self.rng.binomial(1000, 0.01)}\n'
            f'app_batch_errors{{side="canary"}} {self.rng.binomial(1000, 0.05)}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Server:
    url: str
    log: Path


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.loads(answer.read()) if "api" in url else answer.read()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not found: run scripts/tools/prometheus.sh")
    target = ThreadingHTTPServer(("127.0.0.1", 0), Target)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "prometheus.yml").write_text(
        f"global:\n  scrape_interval: {SCRAPE}\n  scrape_timeout: {SCRAPE}\n"
        "scrape_configs:\n  - job_name: app\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target.server_address[1]}']\n")
    port = free_port()
    log = folder / "prometheus.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={folder / 'prometheus.yml'}",
             f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--log.level=warn"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        query = urllib.parse.urlencode({"query": 'count_over_time(app_latency_seconds'
                                                 '{side="canary"}[1m])'})
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prometheus did not collect {SAMPLES} samples: {log.read_text()}")
            try:
                result = _get(f"{url}/api/v1/query?{query}")["data"]["result"]
                if result and float(result[0]["value"][1]) >= SAMPLES:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield Server(url, log)
    finally:
        process.terminate()
        process.wait(timeout=10)
        target.shutdown()


def config(url: str, metrics: str, extra: str = "") -> str:
    return (f"version: 1\ncanary:\n  min_samples: 5\n  prometheus:\n    url: {url}\n"
            f"    window: 1m\n    step: {SCRAPE}\n{extra}  metrics:\n{metrics}")


LATENCY = ("    latency:\n      direction: increase\n"
           "      query: 'app_latency_seconds{side=\"{{side}}\"}'\n")
ERRORS = ("    errors:\n      direction: increase\n      critical: true\n"
          "      events_query: 'app_batch_errors{side=\"{{side}}\"}'\n"
          "      trials_query: 'app_batch_requests{side=\"{{side}}\"}'\n")

Write = Callable[..., Path]


def test_judges_a_slow_canary_from_prometheus(prometheus: Server, write_config: Write,
                                              mlci: Any) -> None:
    write_config(config(prometheus.url, LATENCY + ERRORS))
    run = mlci("canary", "--stable", "prometheus", "--canary", "prometheus")
    assert run.exit_code == 1, run.stderr
    doc = run.doc("canary")
    checks = {c["name"]: c for c in doc["checks"]}
    assert (checks["latency"]["classification"], checks["errors"]["classification"]) == (
        "High", "High")
    assert checks["errors"]["critical"] is True
    assert (doc["verdict"], doc["score"]) == ("fail", 0.0)
    assert checks["latency"]["samples"]["canary"] >= SAMPLES
    assert checks["latency"]["ratio"] == pytest.approx(1.5, rel=0.15)
    assert doc["queries"]["canary:latency"] == 'app_latency_seconds{side="canary"}'
    assert doc["queries"]["stable:errors.events"] == 'app_batch_errors{side="stable"}'
    assert doc["subject"]["inputs"]["canary"].startswith("sha256:")


def test_stable_against_itself_passes(prometheus: Server, write_config: Write,
                                      mlci: Any) -> None:
    """Both sides read the stable series (the URL form of the source, sides relabelled)."""
    write_config(config("http://unused.invalid", LATENCY,
                        "    sides: {stable: stable, canary: stable}\n"))
    src = f"prometheus+{prometheus.url}"
    run = mlci("canary", "--stable", src, "--canary", src)
    assert run.exit_code == 0, run.stderr
    assert run.doc("canary")["verdict"] == "pass"


@pytest.mark.parametrize(("query", "message"), [
    ('app_latency_seconds{side="{{side}}"', "answered bad_data: "),
    ('no_such_metric{side="{{side}}"}', "returned no samples (an empty result) for the time "
                                        "range; check the metric and its labels; query: "
                                        'no_such_metric{side="stable"}'),
])
def test_an_error_or_empty_answer_exits_2_with_the_query(query: str, message: str,
                                                         prometheus: Server, write_config: Write,
                                                         mlci: Any) -> None:
    write_config(config(prometheus.url, f"    latency:\n      query: '{query}'\n"))
    run = mlci("canary", "--stable", "prometheus", "--canary", "prometheus")
    assert run.exit_code == 2, run.stdout
    assert message in run.stderr
    assert f"query: {query.replace('{{side}}', 'stable')}" in run.stderr


def test_a_query_without_the_side_placeholder_exits_2(write_config: Write, mlci: Any) -> None:
    write_config(config("http://127.0.0.1:9", "    latency:\n      query: 'app_latency_seconds'\n"))
    run = mlci("canary", "--stable", "prometheus", "--canary", "prometheus")
    assert run.exit_code == 2
    assert "query 'app_latency_seconds' has no {{side}}" in run.stderr


def test_a_metric_without_a_query_exits_2(write_config: Write, mlci: Any) -> None:
    write_config(config("http://127.0.0.1:9", "    latency: {direction: increase}\n"))
    run = mlci("canary", "--stable", "prometheus", "--canary", "prometheus")
    assert run.exit_code == 2
    assert ("mlci.yml:9: canary.metrics.latency: a Prometheus source needs query for this "
            "metric") in run.stderr


def test_unreachable_prometheus_exits_3_after_retries(write_config: Write, mlci: Any) -> None:
    port = free_port()
    write_config(config(f"http://127.0.0.1:{port}", LATENCY, "    retries: 1\n"))
    run = mlci("canary", "--stable", "prometheus", "--canary", "prometheus")
    assert run.exit_code == 3
    assert f"Prometheus http://127.0.0.1:{port}/api/v1/query_range did not answer after 2 " \
           "attempt(s)" in run.stderr
    assert 'query: app_latency_seconds{side="stable"}' in run.stderr


# --- the request itself, against a stand-in that records it ---


@dataclass
class Recorder:
    answers: list[tuple[int, dict[str, Any]]]
    requests: list[dict[str, Any]] = field(default_factory=list)


RECORDED = {"status": "success", "data": {"resultType": "matrix", "result": [
    {"metric": {"__name__": "app_latency_seconds", "side": "stable", "instance": "a"},
     "values": [[1700000000, "0.1"], [1700000001, "0.2"], [1700000002, "NaN"]]},
    {"metric": {"__name__": "app_latency_seconds", "side": "stable", "instance": "b"},
     "values": [[1700000000, "0.3"]]}]}}


@pytest.fixture
def stand_in() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(answers=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            recorder.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "form": {k: v[0] for k, v in form.items()}})
            status, body = recorder.answers.pop(0) if recorder.answers else (200, RECORDED)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    server.shutdown()


def test_request_has_the_bearer_token_and_the_range(stand_in: tuple[str, Recorder],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from mlci.canary import prometheus
    from mlci.canary.settings import Prometheus

    url, recorder = stand_in
    monkeypatch.setenv("PROM_TOKEN", "s3cret")
    recorder.answers = [(503, {"status": "error", "error": "busy"})]
    settings = Prometheus(url=url, token_env="PROM_TOKEN", step_s=15.0, retries=2)
    client = prometheus.Client(url, settings, sleep=lambda _: None)
    values = client.query_range('app_latency_seconds{side="stable"}', 1700000000.0,
                                1700000600.0)
    assert list(values[[0, 1, 3]]) == [0.1, 0.2, 0.3] and np.isnan(values[2])
    assert len(recorder.requests) == 2  # the 503 was retried
    request = recorder.requests[-1]
    assert request["path"] == "/api/v1/query_range"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["form"] == {"query": 'app_latency_seconds{side="stable"}',
                               "start": "1700000000.000", "end": "1700000600.000",
                               "step": "15"}


def test_recorded_error_answer_is_named(stand_in: tuple[str, Recorder]) -> None:
    from mlci.canary import prometheus
    from mlci.canary.settings import Prometheus
    from mlci.errors import InputError

    url, recorder = stand_in
    recorder.answers = [(422, {"status": "error", "errorType": "execution",
                               "error": "query processing would load too many samples"})]
    client = prometheus.Client(url, Prometheus(url=url), sleep=lambda _: None)
    with pytest.raises(InputError) as caught:
        client.query_range("big{side=\"canary\"}", 0.0, 60.0)
    assert str(caught.value) == (f"Prometheus {url} answered execution: query processing would "
                                 'load too many samples; query: big{side="canary"}')


def test_retries_wait_as_the_one_retry_loop_says_then_exit_3(
        stand_in: tuple[str, Recorder]) -> None:
    """retries: 3 is four tries with waits of 0.25, 0.5 and 1 s (a 429 is retried like a
    5xx); the last answer is named, and nothing was taken for an empty result."""
    from mlci.canary import prometheus
    from mlci.canary.settings import Prometheus
    from mlci.errors import ServiceError

    url, recorder = stand_in
    recorder.answers = [(503, {"status": "error", "error": "busy"}),
                        (429, {"status": "error", "error": "slow down"}),
                        (502, {}), (500, {"status": "error", "error": "still busy"})]
    waits: list[float] = []
    client = prometheus.Client(url, Prometheus(url=url, retries=3), sleep=waits.append)
    with pytest.raises(ServiceError) as caught:
        client.query_range('up{side="canary"}', 0.0, 60.0)
    assert waits == [0.25, 0.5, 1.0]
    assert len(recorder.requests) == 4
    assert str(caught.value) == (f"Prometheus {url}/api/v1/query_range did not answer after 4 "
                                 'attempt(s) (HTTP 500: still busy); query: up{side="canary"}')


def test_a_refused_token_is_not_retried(stand_in: tuple[str, Recorder]) -> None:
    from mlci.canary import prometheus
    from mlci.canary.settings import Prometheus
    from mlci.errors import InputError

    url, recorder = stand_in
    recorder.answers = [(401, {"status": "error", "error": "unauthorized"})]
    waits: list[float] = []
    client = prometheus.Client(url, Prometheus(url=url, retries=5), sleep=waits.append)
    with pytest.raises(InputError, match=r"refused the query \(HTTP 401\); set the token in "
                                         r"\$PROMETHEUS_TOKEN"):
        client.query_range('up{side="canary"}', 0.0, 60.0)
    assert (len(recorder.requests), waits) == (1, [])
