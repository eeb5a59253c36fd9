"""GitLab CI: outputs as a dotenv report, annotations as log lines, MR notes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlci import redact
from mlci.ci.base import Echo, Facts, Platform, PostOutcome, Token, print_dry_run
from mlci.errors import InputError

TOKEN_HELP = ("create a project access token with the `api` scope (role Reporter or higher) "
              "and store it as a masked CI/CD variable MLCI_TOKEN (or GITLAB_TOKEN)")
JOB_TOKEN_NOTE = ("CI_JOB_TOKEN cannot post merge request notes: GitLab's job token reaches "
                  "only a short list of API endpoints, and notes are not among them")
FORK_HELP = ("pipelines for merge requests from forks run in the fork, with the fork's "
             "variables, which cannot write to the target project. The report is in the job "
             "log and artifacts; run the pipeline in the parent project (\"Run pipeline\" on "
             "the merge request) to post it")


def dotenv_key(step: str, key: str) -> str:
    """`validate` + `result-path` → `MLCI_VALIDATE_RESULT_PATH` (GitLab variable names)."""
    return re.sub(r"[^A-Z0-9_]", "_", f"MLCI_{step}_{key}".upper())


def write_dotenv(step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
    """`<out>/<step>.env`, what GitLab's `artifacts: reports: dotenv:` reads (one-line values)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{dotenv_key(step, k)}={' '.join(redact.text(v).splitlines())}"
             for k, v in outputs.items()]
    (out_dir / f"{step}.env").write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class MergeRequestRef:
    project: str  # the target project's ID, where the MR and its notes live
    iid: int
    how: str
    fork: bool


class GitLab(Platform):
    name = "gitlab"
    comment_limit = 1_000_000  # "Limited to 1,000,000 characters" (Notes API)
    summary_limit = 1_000_000  # GitLab has no step summary; the same cap as notes
    token_names = ("MLCI_TOKEN", "MLCI_GITLAB_TOKEN", "GITLAB_TOKEN")

    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        write_dotenv(step, outputs, out_dir)

    def facts(self) -> Facts:
        sha = self._get("CI_COMMIT_SHA")
        return Facts(platform=self.name,
                     run_url=self._get("CI_JOB_URL") or self._get("CI_PIPELINE_URL"),
                     actor=self._get("GITLAB_USER_LOGIN"), event=self._get("CI_PIPELINE_SOURCE"),
                     sha=sha, head_sha=self._get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or sha,
                     ref=self._get("CI_COMMIT_REF_NAME"),
                     repository=self._get("CI_PROJECT_PATH"),
                     pipeline_id=self._get("CI_PIPELINE_ID"), job_id=self._get("CI_JOB_ID"))

    # --- the sticky MR note ----------------------------------------------------

    def default_report_id(self) -> str:
        """The report job's name: stable across pipelines, distinct per report job."""
        return self._get("CI_JOB_NAME") or "mlci"

    def run_link(self) -> str | None:
        return self._get("CI_PIPELINE_URL") or self._get("CI_JOB_URL")

    def full_report_hint(self, report_path: str) -> str:
        job = self._get("CI_JOB_URL")
        where = f"the artifacts of [the report job]({job})" if job else "the job artifacts"
        return f"`{report_path}` in {where}"

    def merge_request(self) -> MergeRequestRef | None:
        """The MR of this pipeline: `CI_MERGE_REQUEST_IID` in MR pipelines, else the
        branch's open MR in this project from `CI_OPEN_MERGE_REQUESTS` (no API call)."""
        iid = self._get("CI_MERGE_REQUEST_IID")
        if iid and iid.isdigit():
            project = self._get("CI_MERGE_REQUEST_PROJECT_ID") or self._get("CI_PROJECT_ID")
            source = self._get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
            fork = bool(source and project and source != project)
            return MergeRequestRef(project, int(iid), "CI_MERGE_REQUEST_IID",
                                   fork) if project else None
        path, project = self._get("CI_PROJECT_PATH"), self._get("CI_PROJECT_ID")
        for item in (self._get("CI_OPEN_MERGE_REQUESTS") or "").split(","):
            mr_path, _, mr_iid = item.strip().rpartition("!")
            if project and mr_path == path and mr_iid.isdigit():
                return MergeRequestRef(project, int(mr_iid), "CI_OPEN_MERGE_REQUESTS", False)
        return None

    def _note_url(self, ref: MergeRequestRef, note_id: int | None) -> str | None:
        project_url = self._get("CI_MERGE_REQUEST_PROJECT_URL") or self._get("CI_PROJECT_URL")
        if not project_url:
            return None
        anchor = f"#note_{note_id}" if note_id is not None else ""
        return f"{project_url}/-/merge_requests/{ref.iid}{anchor}"

    def post_report(self, body: str, marker: str, token: Token | None, *,
                    dry_run: bool = False, echo: Echo = print) -> PostOutcome:
        from mlci.ci import gitlab_api
        from mlci.ci.http import ApiError

        ref = self.merge_request()
        api = (self._get("CI_API_V4_URL") or "").rstrip("/")
        body = redact.text(body)
        if ref is None:
            return PostOutcome("skipped", "not a merge request pipeline (no "
                               "CI_MERGE_REQUEST_IID) and no open merge request for this branch")
        if not api:
            return PostOutcome("skipped", "CI_API_V4_URL is not set: cannot reach GitLab's API")
        target = f"MR !{ref.iid}"
        if dry_run:
            print_dry_run(echo, self._plan(api, ref, marker, token), body, self.comment_limit)
            return PostOutcome("dry-run", "dry run: nothing was sent", target=target)
        job_token = self._get("CI_JOB_TOKEN")
        if token is None:
            if ref.fork:
                return PostOutcome("refused", f"not posting to {target}: no token; {FORK_HELP}",
                                   target=target)
            raise InputError(f"--post: no token to post the {target} note with: {TOKEN_HELP}"
                             + (f". {JOB_TOKEN_NOTE}" if job_token else ""))
        if job_token and token.value == job_token:
            raise InputError(f"--post: {token.source} holds the CI job token. "
                             f"{JOB_TOKEN_NOTE}; {TOKEN_HELP}")
        client = gitlab_api.client(api, token.value)
        try:
            action, note_id = gitlab_api.upsert_note(client, ref.project, ref.iid, marker, body)
        except ApiError as exc:
            if exc.status == 401:
                raise InputError(f"--post: GitLab rejected the token from {token.source} "
                                 f"(401 {exc.api_message or 'Unauthorized'}): {TOKEN_HELP}"
                                 ) from exc
            if ref.fork and exc.status in (403, 404):
                return PostOutcome("refused", f"could not post to {target} ({exc.status} "
                                   f"{exc.api_message or 'Forbidden'}): {FORK_HELP}",
                                   target=target)
            raise
        return PostOutcome(action, f"{action} the report note on {target}",
                           url=self._note_url(ref, note_id), target=target)

    def _plan(self, api: str, ref: MergeRequestRef, marker: str,
              token: Token | None) -> list[str]:
        from urllib.parse import quote

        from mlci.ci.gitlab_api import headers

        notes = f"{api}/projects/{quote(ref.project, safe='')}/merge_requests/{ref.iid}/notes"
        shown = headers("***")
        plan = [f"merge request: !{ref.iid} in project {ref.project} (from {ref.how})",
                f"GET {api}/user to learn whose notes are ours",
                f"GET {notes}?sort=asc&order_by=created_at&per_page=100 (every page) to find "
                f"our note that starts with {marker}",
                f"PUT {notes}/{{note_id}} when found, else POST {notes}, with JSON "
                "{\"body\": <below>}",
                "headers: " + "; ".join(f"{k}: {v}" for k, v in shown.items()),
                f"token: from {token.source}" if token else
                f"token: none found ({TOKEN_HELP}): a real run would fail"]
        if ref.fork:
            plan.append("this is a merge request from a fork: a real run warns when the "
                        "token cannot write to the target project")
        return plan
