"""The few GitHub REST calls a sticky PR comment needs.

Endpoints (REST API version 2022-11-28):

* `GET  /repos/{owner}/{repo}/commits/{sha}/pulls`: the PRs of a pushed commit;
* `GET  /repos/{owner}/{repo}/pulls?head={user}:{branch}&state=open`: the PR of a
  fork branch, for `workflow_run` events (whose `pull_requests` list is empty for forks);
* `GET  /repos/{owner}/{repo}/issues/{number}/comments?per_page=100`, following
  `Link: rel="next"`: every page, not just the first, so a busy PR never gets a
  second report;
* `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}` and
  `POST /repos/{owner}/{repo}/issues/{number}/comments` with `{"body": …}`;
* `GET /user`: who the token is, because only a comment the token's own identity
  wrote is ever updated — anyone can post a comment that starts with the marker.
  GitHub answers it for user tokens (classic and fine-grained personal access
  tokens, OAuth). App installation tokens, such as the job's `GITHUB_TOKEN`, get
  403 "Resource not accessible by integration"; what the job token writes is
  authored by the GitHub Actions app's bot user, `github-actions[bot]` (type
  Bot), so that is the author looked for then. Another app's installation token
  is taken for the same bot: its own earlier comments are not recognised, and a
  new one is posted each time (never someone else's updated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mlci import __version__
from mlci.ci.http import (
    ApiError,
    Client,
    Upsert,
    first_marked,
    list_of,
    member,
    next_link,
    object_with,
    upsert,
)

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
MAX_PAGES = 100  # 10,000 comments: a bound on time, far beyond any real PR
NOT_FOR_APPS = "Resource not accessible by integration"
# `user` may be null (a deleted account) and `body` absent: only the id is required
COMMENTS = list_of("issue comments", {"id": int})
USER = object_with("a user (login and id)", {"login": str, "id": int})


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION, "User-Agent": f"mlci/{__version__}"}


def client(api_url: str, token: str) -> Client:
    return Client("GitHub", api_url, headers(token))


@dataclass(frozen=True)
class Comment:
    id: int
    url: str | None


@dataclass(frozen=True)
class Author:
    """Whose comments are ours: a user (login and id) or the Actions bot (login, type Bot)."""

    login: str
    id: int | None = None
    bot: bool = False

    def wrote(self, user: Any) -> bool:
        if not isinstance(user, dict) or user.get("login") != self.login:
            return False
        if self.bot:
            return user.get("type") == "Bot"
        return user.get("id") == self.id

    def __str__(self) -> str:
        return self.login if self.id is None else f"{self.login} (id {self.id})"


ACTIONS_BOT = Author("github-actions[bot]", bot=True)


def author(api: Client) -> Author:
    """The token's own identity (see the module docstring)."""
    try:
        response = api.request("GET", "user", expect=USER)
    except ApiError as exc:
        if exc.status == 403 and NOT_FOR_APPS in exc.api_message:
            return ACTIONS_BOT
        raise
    return Author(str(response.data["login"]), int(response.data["id"]))


def _repo_path(repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def pulls_for_commit(api: Client, repo: str, sha: str) -> int | None:
    """The open PR whose head is `sha` (else the lowest-numbered open PR containing it)."""
    response = api.request("GET", f"{_repo_path(repo)}/commits/{quote(sha, safe='')}/pulls",
                           params={"per_page": "100"})
    return _pick_open(response.data, sha)


def pulls_for_branch(api: Client, repo: str, head_owner: str, branch: str,
                     sha: str | None) -> int | None:
    response = api.request("GET", f"{_repo_path(repo)}/pulls",
                           params={"head": f"{head_owner}:{branch}", "state": "open",
                                   "per_page": "100"})
    return _pick_open(response.data, sha)


def _pick_open(data: Any, sha: str | None) -> int | None:
    if not isinstance(data, list):
        return None
    open_prs = [pr for pr in data if isinstance(pr, dict) and pr.get("state") == "open"
                and isinstance(pr.get("number"), int)]
    if not open_prs:
        return None
    exact = [pr for pr in open_prs if (pr.get("head") or {}).get("sha") == sha]
    chosen = min(exact or open_prs, key=lambda pr: int(pr["number"]))
    return int(chosen["number"])


def find_comment(api: Client, repo: str, number: int, marker: str, mine: Author
                 ) -> Comment | None:
    """The oldest comment `mine` wrote that starts with `marker`, looking through every
    page. A page that is not a JSON list of comments is retried, then exit 3: never
    read as "no comment yet", which would post a second one."""
    url: str | None = api.url(f"{_repo_path(repo)}/issues/{number}/comments")
    params: dict[str, str] | None = {"per_page": "100"}
    for _ in range(MAX_PAGES):
        if url is None:
            return None
        response = api.request("GET", url, params=params, expect=COMMENTS)
        item = first_marked(response.data, marker, lambda i: mine.wrote(i.get("user")))
        if item is not None:
            return Comment(int(item["id"]), item.get("html_url"))
        url = next_link(response.header("link"))
        if url is not None and not api.owns(url):
            return None  # never send the token to another host
        params = None  # the next link carries its own query
    return None


def upsert_comment(api: Client, repo: str, number: int, marker: str, body: str
                   ) -> tuple[Upsert, str | None]:
    """Update our marked comment, or create it: ("updated" | "created", html_url)."""
    mine = author(api)

    def update(existing: Comment) -> str | None:
        response = api.request("PATCH", f"{_repo_path(repo)}/issues/comments/{existing.id}",
                               body={"body": body})
        return member(response.data, "html_url", str) or existing.url

    def create() -> str | None:
        response = api.request("POST", f"{_repo_path(repo)}/issues/{number}/comments",
                               body={"body": body}, retry_server_errors=False)
        return member(response.data, "html_url", str)

    return upsert(api, lambda: find_comment(api, repo, number, marker, mine), update, create)
