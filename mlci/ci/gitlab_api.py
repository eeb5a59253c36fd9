"""The few GitLab REST (v4) calls a sticky merge-request note needs.

* `GET  /projects/:id/merge_requests/:iid/notes?sort=asc&order_by=created_at&per_page=100`,
  following `Link: rel="next"` (or `X-Next-Page`) through every page;
* `PUT  /projects/:id/merge_requests/:iid/notes/:note_id` and
  `POST /projects/:id/merge_requests/:iid/notes` with `{"body": …}` (at most
  1,000,000 characters).

* `GET  /user`: who the token is (a project or group access token has a bot user
  of its own), because only a note that user wrote is ever updated — anyone can
  post a note that starts with the marker.

Authentication is `PRIVATE-TOKEN`: a project, group or personal access token
with the `api` scope. GitLab's `CI_JOB_TOKEN` reaches only a short list of
endpoints, and notes are not among them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mlci import __version__
from mlci.ci.http import (
    Client,
    Upsert,
    first_marked,
    list_of,
    member,
    next_link,
    object_with,
    upsert,
)

MAX_PAGES = 100
NOTES = list_of("notes", {"id": int})
USER = object_with("a user (id and username)", {"id": int, "username": str})


def headers(token: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": token, "User-Agent": f"mlci/{__version__}"}


def client(api_url: str, token: str) -> Client:
    return Client("GitLab", api_url, headers(token))


@dataclass(frozen=True)
class Note:
    id: int


@dataclass(frozen=True)
class Author:
    id: int
    username: str

    def wrote(self, note: dict[str, Any]) -> bool:
        author = note.get("author")
        return isinstance(author, dict) and author.get("id") == self.id


def author(api: Client) -> Author:
    """The token's own user: GitLab answers `GET /user` for every access token."""
    data = api.request("GET", "user", expect=USER).data
    return Author(int(data["id"]), str(data["username"]))


def _notes_path(project: str, iid: int) -> str:
    return f"projects/{quote(project, safe='')}/merge_requests/{iid}/notes"


def find_note(api: Client, project: str, iid: int, marker: str, mine: Author
              ) -> Note | None:
    """The oldest note `mine` wrote that starts with `marker`, looking through every page.
    A page that is not a JSON list of notes is retried, then exit 3: never read as
    "no note yet", which would post a second one."""
    url: str | None = api.url(_notes_path(project, iid))
    params: dict[str, str] | None = {"sort": "asc", "order_by": "created_at",
                                     "per_page": "100"}
    for _ in range(MAX_PAGES):
        if url is None:
            return None
        response = api.request("GET", url, params=params, expect=NOTES)
        item = first_marked(response.data, marker,
                            lambda i: not i.get("system") and mine.wrote(i))
        if item is not None:
            return Note(int(item["id"]))
        link = next_link(response.header("link"))
        if link is not None:
            if not api.owns(link):
                return None  # never send the token to another host
            url, params = link, None
            continue
        next_page = (response.header("x-next-page") or "").strip()
        if not next_page.isdigit():
            return None
        url = api.url(_notes_path(project, iid))
        params = {"sort": "asc", "order_by": "created_at", "per_page": "100",
                  "page": next_page}
    return None


def upsert_note(api: Client, project: str, iid: int, marker: str, body: str
                ) -> tuple[Upsert, int | None]:
    """Update our marked note, or create it: ("updated" | "created", note id)."""
    mine = author(api)

    def update(existing: Note) -> int | None:
        api.request("PUT", f"{_notes_path(project, iid)}/{existing.id}", body={"body": body})
        return existing.id

    def create() -> int | None:
        response = api.request("POST", _notes_path(project, iid), body={"body": body},
                               retry_server_errors=False)
        return member(response.data, "id", int)

    return upsert(api, lambda: find_note(api, project, iid, marker, mine), update, create)
