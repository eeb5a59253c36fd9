"""The HTTP client's retry, rate-limit and budget rules, against a scripted local server.

Sleeps are recorded instead of slept, so the waits the rules choose are exact."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mlci.ci import github_api, gitlab_api
from mlci.ci.http import ApiError, Client, TransientError, next_link
from mlci.errors import ServiceError

Answer = tuple[int, dict[str, str], Any]


class Scripted:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        hosts = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                hosts.seen.append((self.command, self.path, dict(self.headers.items())))
                status, headers, body = hosts.answers.pop(0) if hosts.answers else (200, {}, [])
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.server.shutdown()
    scripted.server.server_close()


def client(url: str, sleeps: list[float], **kwargs: Any) -> Client:
    return Client("GitHub", url, {"Authorization": "Bearer t"}, sleep=sleeps.append,
                  wall_clock=lambda: 1_000_000.0, **kwargs)


def test_server_errors_back_off_exponentially(server: Scripted) -> None:
    server.answers = [(502, {}, {}), (503, {}, {}), (200, {}, {"ok": True})]
    sleeps: list[float] = []
    response = client(server.url, sleeps).request("GET", "x")
    assert response.data == {"ok": True}
    assert sleeps == [0.5, 1.0]


def test_secondary_rate_limit_without_headers_waits_a_minute(server: Scripted) -> None:
    server.answers = [(403, {}, {"message": "You have exceeded a secondary rate limit."}),
                      (200, {}, [])]
    sleeps: list[float] = []
    client(server.url, sleeps).request("GET", "x")
    assert sleeps == [60.0]


def test_primary_rate_limit_waits_until_the_reset(server: Scripted) -> None:
    server.answers = [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000030"},
                       {"message": "API rate limit exceeded"}), (200, {}, [])]
    sleeps: list[float] = []
    client(server.url, sleeps).request("GET", "x")
    assert sleeps == [31.0]


def test_retry_after_wins_and_a_wait_past_the_budget_gives_up_at_once(server: Scripted
                                                                      ) -> None:
    server.answers = [(429, {"Retry-After": "2"}, {}), (200, {}, [])]
    sleeps: list[float] = []
    client(server.url, sleeps).request("GET", "x")
    assert sleeps == [2.0]
    server.answers = [(429, {"Retry-After": "3600"}, {})]
    sleeps.clear()
    with pytest.raises(ServiceError, match="would pass the 180 s budget"):
        client(server.url, sleeps).request("GET", "x")
    assert sleeps == []


def test_permission_errors_are_not_retried(server: Scripted) -> None:
    server.answers = [(403, {}, {"message": "Resource not accessible by integration"})]
    with pytest.raises(ApiError) as caught:
        client(server.url, []).request("POST", "x", body={"body": "b"})
    assert (caught.value.status, caught.value.api_message) == (
        403, "Resource not accessible by integration")
    assert len(server.seen) == 1


def test_a_create_that_may_have_landed_is_left_to_the_caller(server: Scripted) -> None:
    server.answers = [(502, {}, {})]
    with pytest.raises(TransientError):
        client(server.url, []).request("POST", "x", body={"body": "b"},
                                       retry_server_errors=False)
    assert len(server.seen) == 1


def test_connection_errors_are_retried_then_reported() -> None:
    sleeps: list[float] = []
    api = client("http://127.0.0.1:9/api", sleeps)  # discard port: refused
    with pytest.raises(ServiceError, match=r"failed after 5 attempts \(ConnectionError\)"):
        api.request("GET", "x")
    assert sleeps == [0.5, 1.0, 2.0, 4.0]


def test_link_header_parsing() -> None:
    header = ('<https://api.github.com/r?page=2>; rel="next", '
              '<https://api.github.com/r?page=5>; rel="last"')
    assert next_link(header) == "https://api.github.com/r?page=2"
    assert next_link('<https://x/r?page=1>; rel="prev"') is None
    assert next_link(None) is None


def test_a_link_to_another_host_is_not_followed(server: Scripted) -> None:
    server.answers = [(200, {"Link": '<https://elsewhere.example/steal?page=2>; rel="next"'},
                       [{"id": 1, "body": "x"}])]
    api = github_api.client(server.url, "secret")
    assert github_api.find_comment(api, "o/r", 5, "<!-- m -->", github_api.ACTIONS_BOT) is None
    assert len(server.seen) == 1


def test_gitlab_follows_x_next_page_without_link(server: Scripted) -> None:
    me = {"id": 7, "username": "bot"}
    server.answers = [(200, {"X-Next-Page": "2"}, [{"id": 1, "body": "x", "system": False}]),
                      (200, {"X-Next-Page": ""}, [{"id": 2, "body": "<!-- m -->\nr",
                                                  "system": False, "author": me}])]
    api = gitlab_api.client(server.url, "secret")
    mine = gitlab_api.Author(7, "bot")
    assert gitlab_api.find_note(api, "g/p", 3, "<!-- m -->", mine) == gitlab_api.Note(2)
    assert [s[1] for s in server.seen] == [
        "/api/projects/g%2Fp/merge_requests/3/notes?sort=asc&order_by=created_at&per_page=100",
        "/api/projects/g%2Fp/merge_requests/3/notes?sort=asc&order_by=created_at&per_page=100"
        "&page=2"]
    assert server.seen[0][2]["PRIVATE-TOKEN"] == "secret"
