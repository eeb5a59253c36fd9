"""GitHub Actions: workflow commands, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY, PR comments."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci import redact
from mlci.ci.base import Echo, Facts, Level, Platform, PostOutcome, Token, print_dry_run
from mlci.errors import InputError

READ_ONLY = "Resource not accessible by integration"
FORK_HELP = ("GitHub gives workflows run for pull requests from forks a read-only token and "
             "no secrets. The report is in the job summary; to comment on fork pull requests, "
             "upload the out folder as an artifact and run `mlci report --post` from a "
             "workflow triggered by `workflow_run` (docs/report.md, \"Fork pull requests\")")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class PullRef:
    """How to find the PR: its number from the event, else a lookup by commit or branch.

    `read_only` is true when the event is a pull request from a fork, where
    GitHub's token cannot write whatever `permissions:` says."""

    number: int | None
    how: str
    sha: str | None = None
    head: tuple[str, str] | None = None  # (fork owner, branch) for workflow_run on forks
    read_only: bool = False


class GitHub(Platform):
    name = "github"
    comment_limit = 65_536  # "Body is too long (maximum is 65536 characters)", HTTP 422
    summary_limit = 1_000_000  # GitHub allows 1 MiB per step summary
    token_names = ("MLCI_TOKEN", "GITHUB_TOKEN")

    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        path = self._get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as handle:
            for key, value in outputs.items():
                # The heredoc form is safe for any value, including newlines.
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
                handle.write(f"{key}<<{delimiter}\n{redact.text(value)}\n{delimiter}\n")

    def write_summary(self, markdown: str) -> None:
        path = self._get("GITHUB_STEP_SUMMARY")
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(redact.text(markdown).rstrip("\n") + "\n")

    def annotate(self, level: Level, message: str, file: str | None = None,
                 line: int | None = None) -> None:
        props = []
        if file:
            props.append(f"file={_escape_property(redact.text(file))}")
        if line:
            props.append(f"line={line}")
        sep = " " if props else ""
        print(f"::{level}{sep}{','.join(props)}::{_escape_data(redact.text(message))}",
              flush=True)

    def mask(self, secret: str) -> None:
        for part in secret.splitlines():
            if part.strip():
                print(f"::add-mask::{part}", flush=True)

    def event(self) -> dict[str, Any]:
        path = self._get("GITHUB_EVENT_PATH")
        if not path:
            return {}
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def facts(self) -> Facts:
        server, repo, run = (self._get("GITHUB_SERVER_URL"), self._get("GITHUB_REPOSITORY"),
                             self._get("GITHUB_RUN_ID"))
        run_url = f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
        sha = self._get("GITHUB_SHA")
        head = (self.event().get("pull_request") or {}).get("head", {}).get("sha")
        return Facts(platform=self.name, run_url=run_url, actor=self._get("GITHUB_ACTOR"),
                     event=self._get("GITHUB_EVENT_NAME"), sha=sha, head_sha=head or sha,
                     ref=self._get("GITHUB_REF"), repository=repo, pipeline_id=run,
                     job_id=self._get("GITHUB_JOB"))

    # --- the sticky PR comment -------------------------------------------------

    def api_url(self) -> str:
        from mlci.ci.github_api import DEFAULT_API_URL

        return (self._get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")

    def _workflow_run(self) -> dict[str, Any]:
        if self._get("GITHUB_EVENT_NAME") != "workflow_run":
            return {}
        run = self.event().get("workflow_run")
        return run if isinstance(run, dict) else {}

    def default_report_id(self) -> str:
        """The workflow's name; under `workflow_run`, the name of the workflow that
        produced the results, so the split fork-safe setup updates the same comment."""
        name = self._workflow_run().get("name")
        return str(name) if name else (self._get("GITHUB_WORKFLOW") or "mlci")

    def run_link(self) -> str | None:
        url = self._workflow_run().get("html_url")
        return str(url) if url else self.facts()["run_url"]

    def full_report_hint(self, report_path: str) -> str:
        link = self.facts()["run_url"]  # this run: where this step's summary is written
        where = f"the job summary of [the run]({link})" if link else "the job summary"
        return f"{where} and in `{report_path}`"

    def pull_ref(self) -> PullRef | None:
        """The PR this run reports on, from the event only (never from an artifact)."""
        event_name = self._get("GITHUB_EVENT_NAME") or ""
        event = self.event()
        base_repo = (event.get("repository") or {}).get("full_name") or self._get(
            "GITHUB_REPOSITORY")
        pr = event.get("pull_request")
        if isinstance(pr, dict) and isinstance(pr.get("number"), int):
            head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
            fork = event_name == "pull_request" and head_repo != base_repo
            return PullRef(pr["number"], f"the {event_name} event", read_only=fork)
        issue = event.get("issue")
        if (event_name == "issue_comment" and isinstance(issue, dict)
                and "pull_request" in issue and isinstance(issue.get("number"), int)):
            return PullRef(issue["number"], "the issue_comment event")
        run = self._workflow_run()
        if run:
            return self._workflow_run_ref(run, base_repo)
        sha = self._get("GITHUB_SHA")
        return PullRef(None, f"the open PR of commit {sha[:12]}", sha=sha) if sha else None

    @staticmethod
    def _workflow_run_ref(run: Mapping[str, Any], base_repo: str | None) -> PullRef | None:
        sha = run.get("head_sha") if isinstance(run.get("head_sha"), str) else None
        for pr in run.get("pull_requests") or []:
            if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                return PullRef(pr["number"], "the workflow_run event")
        head_repo = run.get("head_repository") or {}
        owner = (head_repo.get("owner") or {}).get("login")
        branch = run.get("head_branch")
        if (run.get("event") in ("pull_request", "pull_request_target") and owner and branch
                and head_repo.get("full_name") != base_repo):
            return PullRef(None, f"the open PR from {owner}:{branch} (workflow_run event)",
                           sha=sha, head=(str(owner), str(branch)))
        return PullRef(None, f"the open PR of commit {sha[:12]}", sha=sha) if sha else None

    def post_report(self, body: str, marker: str, token: Token | None, *,
                    dry_run: bool = False, echo: Echo = print) -> PostOutcome:
        from mlci.ci import github_api
        from mlci.ci.http import ApiError

        repo = self._get("GITHUB_REPOSITORY")
        ref = self.pull_ref()
        body = redact.text(body)
        if not repo or ref is None:
            return PostOutcome("skipped", "no pull request to comment on (GITHUB_REPOSITORY or "
                               "the commit is unknown)")
        api = self.api_url()
        if dry_run:
            print_dry_run(echo, self._plan(api, repo, ref, marker, token), body,
                          self.comment_limit)
            return PostOutcome("dry-run", "dry run: nothing was sent",
                               target=f"PR #{ref.number}" if ref.number else None)
        if token is None:
            if ref.read_only:
                return PostOutcome("refused", f"not commenting: no token. {FORK_HELP}")
            raise InputError("--post: no token to comment with: set GITHUB_TOKEN (e.g. "
                             "`env: GITHUB_TOKEN: ${{ github.token }}` with `permissions: "
                             "pull-requests: write`) or MLCI_TOKEN")
        client = github_api.client(api, token.value)
        number = ref.number
        if number is None:
            if ref.head is not None:
                number = github_api.pulls_for_branch(client, repo, *ref.head, ref.sha)
            elif ref.sha:
                number = github_api.pulls_for_commit(client, repo, ref.sha)
            if number is None:
                return PostOutcome("skipped", f"no open pull request found for {ref.how}")
        target = f"PR #{number}"
        try:
            action, url = github_api.upsert_comment(client, repo, number, marker, body)
        except ApiError as exc:
            if exc.status == 401:
                raise InputError(f"--post: GitHub rejected the token from {token.source} "
                                 f"(401 {exc.api_message or 'Bad credentials'})") from exc
            if exc.status == 403 and (ref.read_only or READ_ONLY in exc.api_message):
                why = (FORK_HELP if ref.read_only else
                       "the token may not write to pull requests: give the job `permissions: "
                       "pull-requests: write` (or use a token that can)")
                return PostOutcome("refused", f"could not comment on {target} "
                                   f"(403 {exc.api_message or 'Forbidden'}): {why}",
                                   target=target)
            raise
        return PostOutcome(action, f"{action} the report comment on {target}", url=url,
                           target=target)

    def _plan(self, api: str, repo: str, ref: PullRef, marker: str,
              token: Token | None) -> list[str]:
        from mlci.ci.github_api import headers

        base = f"{api}/repos/{repo}"
        number = str(ref.number) if ref.number is not None else "{number}"
        plan = [f"pull request: {'#' + number if ref.number is not None else 'not known yet'}"
                f" (from {ref.how})"]
        if ref.number is None and ref.head is not None:
            plan.append(f"GET {base}/pulls?head={ref.head[0]}:{ref.head[1]}&state=open"
                        "&per_page=100")
        elif ref.number is None:
            plan.append(f"GET {base}/commits/{ref.sha}/pulls?per_page=100")
        plan += [f"GET {api}/user to learn whose comments are ours (403 'Resource not "
                 "accessible by integration' means the job's token: github-actions[bot])",
                 f"GET {base}/issues/{number}/comments?per_page=100 (every page, following "
                 f"Link headers) to find our comment that starts with {marker}",
                 f"PATCH {base}/issues/comments/{{comment_id}} when found, else "
                 f"POST {base}/issues/{number}/comments, with JSON {{\"body\": <below>}}"]
        shown = headers("***")
        plan.append("headers: " + "; ".join(f"{k}: {v}" for k, v in shown.items()))
        plan.append(f"token: from {token.source}" if token else
                    "token: none found (set GITHUB_TOKEN or MLCI_TOKEN): a real run would fail")
        if ref.read_only:
            plan.append("this is a pull request from a fork: GitHub's token is read-only "
                        "here, so a real run would warn and not comment")
        return plan
