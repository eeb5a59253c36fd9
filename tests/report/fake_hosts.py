"""A local stand-in for the GitHub and GitLab REST endpoints that `report --post` uses.

It implements only those endpoints, as their documentation describes them, and
rejects with 400 (recording an error that fails the test) any request whose
method, path, query, headers or body differ from the documentation:

GitHub (REST API 2022-11-28), under /gh/api/v3 (a GitHub Enterprise-style base):
  GET   /user       the token's user; 403 "Resource not accessible by integration" for an
                    app installation token (every token not in `github_users`, like the
                    job's GITHUB_TOKEN, whose comments github-actions[bot] writes)
  GET   /repos/{o}/{r}/commits/{sha}/pulls
  GET   /repos/{o}/{r}/pulls?head={user}:{branch}&state=open
  GET   /repos/{o}/{r}/issues/{n}/comments?per_page=100[&page=N]   (Link headers)
  POST  /repos/{o}/{r}/issues/{n}/comments          {"body": "..."} (≤ 65,536 chars)
  PATCH /repos/{o}/{r}/issues/comments/{id}         {"body": "..."}
  headers: Authorization: Bearer <token>, Accept: application/vnd.github+json,
           X-GitHub-Api-Version: 2022-11-28, a User-Agent
GitLab (REST v4), under /gl/api/v4:
  GET  /user                                                  the token's user
  GET  /projects/{id}/merge_requests/{iid}/notes?sort=asc&order_by=created_at&per_page=100
  POST /projects/{id}/merge_requests/{iid}/notes            {"body": "..."} (≤ 1,000,000)
  PUT  /projects/{id}/merge_requests/{iid}/notes/{note_id}  {"body": "..."}
  headers: PRIVATE-TOKEN: <token>

Comments and notes carry their author (`user` / `author`): the identity of the
token that created them, or whoever a test says posted them.

`fail(...)` queues scripted answers (502, 429 with Retry-After, a fork's 403, a
200 whose body is not JSON)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

GITHUB_PREFIX = "/gh/api/v3"
GITLAB_PREFIX = "/gl/api/v4"
GITHUB_LIMIT = 65_536
GITLAB_LIMIT = 1_000_000
ACTIONS_BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
NOT_FOR_APPS = {"message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/users/users"
                                     "#get-the-authenticated-user"}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float
    status: int = 0


@dataclass
class Scripted:
    method: str
    path_re: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None  # sent as is instead of the JSON of `body`


class FakeHosts:
    def __init__(self, github_token: str, gitlab_token: str) -> None:
        self.github_token = github_token
        self.gitlab_token = gitlab_token
        self.lock = threading.Lock()
        self.requests: list[Seen] = []
        self.errors: list[str] = []
        self.comments: dict[int, list[dict[str, Any]]] = {}  # GitHub PR number → comments
        self.notes: dict[tuple[str, int], list[dict[str, Any]]] = {}  # GitLab (project, iid)
        self.commit_pulls: dict[str, list[dict[str, Any]]] = {}
        self.branch_pulls: dict[str, list[dict[str, Any]]] = {}
        self.scripted: list[Scripted] = []
        self.github_users: dict[str, dict[str, Any]] = {}  # user tokens → GET /user
        self.gitlab_user: dict[str, Any] = {"id": 501, "username": "project_77_bot_mlci",
                                            "bot": True}
        self.next_id = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def github_api(self) -> str:
        return self.base + GITHUB_PREFIX

    @property
    def gitlab_api(self) -> str:
        return self.base + GITLAB_PREFIX

    def start(self) -> FakeHosts:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- set-up helpers -----------------------------------------------------

    def fail(self, method: str, path_re: str, status: int, times: int = 1,
             headers: dict[str, str] | None = None, body: Any = None,
             raw: bytes | None = None) -> None:
        self.scripted.append(Scripted(method, path_re, status, times, headers or {}, body,
                                      raw))

    def add_comments(self, number: int, bodies: list[str],
                     user: dict[str, Any] | None = None) -> list[int]:
        """Comments already on the PR, by `user` (default: the Actions bot)."""
        ids = []
        for body in bodies:
            self.next_id += 1
            self.comments.setdefault(number, []).append(
                self._comment(number, self.next_id, body, user or ACTIONS_BOT))
            ids.append(self.next_id)
        return ids

    def add_notes(self, project: str, iid: int, bodies: list[str], system: bool = False,
                  author: dict[str, Any] | None = None) -> list[int]:
        """Notes already on the MR, by `author` (default: the token's user)."""
        ids = []
        for body in bodies:
            self.next_id += 1
            self.notes.setdefault((project, iid), []).append(
                {"id": self.next_id, "body": body, "system": system, "noteable_iid": iid,
                 "author": dict(author or self.gitlab_user)})
            ids.append(self.next_id)
        return ids

    @staticmethod
    def _comment(number: int, ident: int, body: str, user: dict[str, Any]) -> dict[str, Any]:
        return {"id": ident, "body": body, "user": dict(user),
                "html_url": f"https://github.example/o/r/pull/{number}#issuecomment-{ident}"}

    def _github_identity(self, seen: Seen) -> dict[str, Any] | None:
        """The user of a user token; None for an app installation token."""
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        return self.github_users.get(token)

    def of(self, method: str, contains: str = "") -> list[Seen]:
        return [s for s in self.requests if s.method == method and contains in s.path]

    # --- the handler --------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hosts = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, parts.path, query, headers, raw, time.monotonic())
                with hosts.lock:
                    hosts.requests.append(seen)
                    status, extra, payload = hosts._answer(seen)
                    seen.status = status
                if isinstance(payload, bytes):
                    data = payload
                else:
                    data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler

    def _reject(self, seen: Seen, why: str) -> tuple[int, dict[str, str], Any]:
        self.errors.append(f"{seen.method} {seen.path}: {why}")
        return 400, {}, {"message": f"fake host rejected the request: {why}"}

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], Any]:
        for item in self.scripted:
            if item.times > 0 and item.method == seen.method and re.search(item.path_re,
                                                                           seen.path):
                item.times -= 1
                return item.status, item.headers, item.raw if item.raw is not None \
                    else item.body
        if seen.path.startswith(GITHUB_PREFIX + "/"):
            return self._github(seen, seen.path[len(GITHUB_PREFIX):])
        if seen.path.startswith(GITLAB_PREFIX + "/"):
            return self._gitlab(seen, seen.path[len(GITLAB_PREFIX):])
        return self._reject(seen, "no such endpoint")

    @staticmethod
    def _json_body(seen: Seen, limit: int) -> tuple[str | None, str]:
        if not seen.headers.get("content-type", "").startswith("application/json"):
            return None, "Content-Type must be application/json"
        try:
            body = json.loads(seen.body)
        except ValueError:
            return None, "body is not JSON"
        if not isinstance(body, dict) or set(body) != {"body"} or not isinstance(body["body"],
                                                                                str):
            return None, f"body must be exactly {{\"body\": string}}, got {body!r:.80}"
        if len(body["body"]) > limit:
            return None, f"body too long: {len(body['body'])} > {limit}"
        return body["body"], ""

    def _github(self, seen: Seen, path: str) -> tuple[int, dict[str, str], Any]:
        h = seen.headers
        if h.get("authorization") != f"Bearer {self.github_token}":
            return self._reject(seen, "Authorization must be 'Bearer <token>'")
        if h.get("accept") != "application/vnd.github+json":
            return self._reject(seen, "Accept must be application/vnd.github+json")
        if h.get("x-github-api-version") != "2022-11-28":
            return self._reject(seen, "X-GitHub-Api-Version must be 2022-11-28")
        if not h.get("user-agent"):
            return self._reject(seen, "a User-Agent is required")
        if "private-token" in h:
            return self._reject(seen, "PRIVATE-TOKEN is GitLab's header")
        if path == "/user":
            if seen.method != "GET" or seen.query or seen.body:
                return self._reject(seen, "expected GET /user without query or body")
            user = self._github_identity(seen)
            return (200, {}, user) if user is not None else (403, {}, NOT_FOR_APPS)
        route = re.fullmatch(r"/repos/([^/]+)/([^/]+)/(.+)", path)
        if not route:
            return self._reject(seen, "no such endpoint")
        rest = route.group(3)
        if seen.method in ("GET",) and seen.body:
            return self._reject(seen, "GET with a body")
        if m := re.fullmatch(r"commits/([0-9a-f]{7,40})/pulls", rest):
            if seen.method != "GET" or set(seen.query) - {"per_page", "page"}:
                return self._reject(seen, "expected GET with per_page/page only")
            return 200, {}, self.commit_pulls.get(m.group(1), [])
        if rest == "pulls":
            if seen.method != "GET" or set(seen.query) - {"head", "state", "per_page", "page"}:
                return self._reject(seen, "expected GET with head/state/per_page")
            if not re.fullmatch(r"[^:]+:.+", seen.query.get("head", "")):
                return self._reject(seen, "head must be user:ref-name")
            return 200, {}, self.branch_pulls.get(seen.query["head"], [])
        if m := re.fullmatch(r"issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if seen.method == "GET":
                return self._github_list(seen, number)
            if seen.method == "POST":
                body, why = self._json_body(seen, GITHUB_LIMIT)
                if body is None:
                    return self._reject(seen, why)
                if seen.query:
                    return self._reject(seen, "POST takes no query")
                self.next_id += 1
                comment = self._comment(number, self.next_id, body,
                                        self._github_identity(seen) or ACTIONS_BOT)
                self.comments.setdefault(number, []).append(comment)
                return 201, {}, comment
            return self._reject(seen, "method not allowed")
        if m := re.fullmatch(r"issues/comments/(\d+)", rest):
            if seen.method != "PATCH":
                return self._reject(seen, "expected PATCH")
            body, why = self._json_body(seen, GITHUB_LIMIT)
            if body is None:
                return self._reject(seen, why)
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == int(m.group(1)):
                        comment["body"] = body
                        return 200, {}, comment
            return 404, {}, {"message": "Not Found"}
        return self._reject(seen, "no such endpoint")

    def _github_list(self, seen: Seen, number: int) -> tuple[int, dict[str, str], Any]:
        if seen.query.get("per_page") != "100" or set(seen.query) - {"per_page", "page"}:
            return self._reject(seen, "list comments with per_page=100 (and page)")
        page = int(seen.query.get("page", "1"))
        comments = self.comments.get(number, [])
        last = max(1, -(-len(comments) // 100))
        url = f"{self.base}{seen.path}?per_page=100&page="
        links = []
        if page < last:
            links += [f'<{url}{page + 1}>; rel="next"', f'<{url}{last}>; rel="last"']
        if page > 1:
            links += [f'<{url}1>; rel="first"', f'<{url}{page - 1}>; rel="prev"']
        extra = {"Link": ", ".join(links)} if links else {}
        return 200, extra, comments[(page - 1) * 100:page * 100]

    def _gitlab(self, seen: Seen, path: str) -> tuple[int, dict[str, str], Any]:
        if seen.headers.get("private-token") != self.gitlab_token:
            return self._reject(seen, "PRIVATE-TOKEN must be the token")
        if "authorization" in seen.headers:
            return self._reject(seen, "use PRIVATE-TOKEN, not Authorization")
        if path == "/user":
            if seen.method != "GET" or seen.query or seen.body:
                return self._reject(seen, "expected GET /user without query or body")
            return 200, {}, self.gitlab_user
        m = re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/notes(?:/(\d+))?", path)
        if not m:
            return self._reject(seen, "no such endpoint")
        key = (m.group(1), int(m.group(2)))
        note_id = m.group(3)
        if note_id is None and seen.method == "GET":
            expected = {"sort": "asc", "order_by": "created_at", "per_page": "100"}
            if {k: v for k, v in seen.query.items() if k != "page"} != expected:
                return self._reject(seen, f"list notes with {expected} (and page)")
            page = int(seen.query.get("page", "1"))
            notes = self.notes.get(key, [])
            last = max(1, -(-len(notes) // 100))
            extra = {"X-Page": str(page), "X-Per-Page": "100", "X-Total": str(len(notes)),
                     "X-Next-Page": str(page + 1) if page < last else ""}
            if page < last:
                url = (f"{self.gitlab_api}/projects/{key[0]}/merge_requests/{key[1]}/notes?"
                       f"order_by=created_at&page={page + 1}&per_page=100&sort=asc")
                extra["Link"] = f'<{url}>; rel="next"'
            return 200, extra, notes[(page - 1) * 100:page * 100]
        if note_id is None and seen.method == "POST":
            body, why = self._json_body(seen, GITLAB_LIMIT)
            if body is None:
                return self._reject(seen, why)
            self.next_id += 1
            note = {"id": self.next_id, "body": body, "system": False, "noteable_iid": key[1],
                    "author": dict(self.gitlab_user)}
            self.notes.setdefault(key, []).append(note)
            return 201, {}, note
        if note_id is not None and seen.method == "PUT":
            body, why = self._json_body(seen, GITLAB_LIMIT)
            if body is None:
                return self._reject(seen, why)
            for note in self.notes.get(key, []):
                if note["id"] == int(note_id):
                    note["body"] = body
                    return 200, {}, note
            return 404, {}, {"message": "404 Not found"}
        return self._reject(seen, "method not allowed")
