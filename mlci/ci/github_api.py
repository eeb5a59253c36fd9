"""The few GitHub REST calls a sticky PR comment needs.

Endpoints (REST API version 2022-11-28):

* `GET  /repos/{owner}/{repo}/commits/{sha}/pulls`: the PRs of a pushed commit;
* `GET  /repos/{owner}/{repo}/pulls?head={user}:{branch}&state=open`: the PR of a
  fork branch, for `workflow_run` events (whose `pull_requests` list is empty for forks);
* `GET  /repos/{owner}/{repo}/issues/{number}/comments?per_page=100`, following
  `Link: rel="next"`: every page, not just the first, so a busy PR never gets a
  second report;
* `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}` and
  `POST /repos/{owner}/{repo}/issues/{number}/comments` with `{"body": …}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mlci import __version__
from mlci.ci.http import Client, Upsert, next_link, upsert

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
MAX_PAGES = 100  # 10,000 comments: a bound on time, far beyond any real PR


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION, "User-Agent": f"mlci/{__version__}"}


def client(api_url: str, token: str) -> Client:
    return Client("GitHub", api_url, headers(token))


@dataclass(frozen=True)
class Comment:
    id: int
    url: str | None


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


def find_comment(api: Client, repo: str, number: int, marker: str) -> Comment | None:
    """The oldest comment that starts with `marker`, looking through every page."""
    url: str | None = api.url(f"{_repo_path(repo)}/issues/{number}/comments")
    params: dict[str, str] | None = {"per_page": "100"}
    for _ in range(MAX_PAGES):
        if url is None:
            return None
        response = api.request("GET", url, params=params)
        for item in response.data if isinstance(response.data, list) else []:
            body = item.get("body") if isinstance(item, dict) else None
            if isinstance(body, str) and body.lstrip().startswith(marker):
                return Comment(int(item["id"]), item.get("html_url"))
        url = next_link(response.header("link"))
        if url is not None and not api.owns(url):
            return None  # never send the token to another host
        params = None  # the next link carries its own query
    return None


def upsert_comment(api: Client, repo: str, number: int, marker: str, body: str
                   ) -> tuple[Upsert, str | None]:
    """Update the marked comment, or create it: ("updated" | "created", html_url)."""

    def update(existing: Comment) -> str | None:
        response = api.request("PATCH", f"{_repo_path(repo)}/issues/comments/{existing.id}",
                               body={"body": body})
        return _html_url(response.data) or existing.url

    def create() -> str | None:
        response = api.request("POST", f"{_repo_path(repo)}/issues/{number}/comments",
                               body={"body": body}, retry_server_errors=False)
        return _html_url(response.data)

    return upsert(api, lambda: find_comment(api, repo, number, marker), update, create)


def _html_url(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("html_url"), str):
        return str(data["html_url"])
    return None
