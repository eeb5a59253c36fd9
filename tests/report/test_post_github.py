"""`mlci report --post` against a local server that checks every request against
GitHub's documented REST API (see fake_hosts.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlci.ci import github_api
from tests.report.conftest import GITHUB_TOKEN, SHA, Run, assert_secret_absent, pr_event
from tests.report.fake_hosts import ACTIONS_BOT, FakeHosts

MARKER = "<!-- mlci-report:CI -->"
READ_ONLY = {"message": "Resource not accessible by integration",
             "documentation_url": "https://docs.github.com/rest/issues/comments"}

RunReport = Callable[..., Run]
Env = Callable[..., dict[str, str]]


def test_first_post_creates_the_comment(results: Path, hosts: FakeHosts, github_env: Env,
                                        run_report: RunReport) -> None:
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert [(s.method, s.path.split("/v3")[1], s.status) for s in hosts.requests] == [
        ("GET", "/user", 403), ("GET", "/repos/o/r/issues/5/comments", 200),
        ("POST", "/repos/o/r/issues/5/comments", 201)]
    (comment,) = hosts.comments[5]
    assert comment["user"] == ACTIONS_BOT  # the job token writes as the Actions bot
    assert comment["body"].startswith(MARKER + "\n### ❌ mlci: fail — compare failed: f1")
    assert run.check("post")["status"] == "pass"
    assert run.doc()["comment_url"] == comment["html_url"]
    outputs = (run.workdir / "github_output").read_text()
    assert comment["html_url"] in outputs and "overall-verdict<<" in outputs


def test_second_post_updates_the_same_comment(results: Path, hosts: FakeHosts,
                                              github_env: Env, run_report: RunReport) -> None:
    assert run_report("--post", env=github_env()).exit_code == 0
    (first,) = hosts.comments[5]
    (results / "compare.json").unlink()
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    (comment,) = hosts.comments[5]  # still one comment
    assert comment["id"] == first["id"]
    assert "compare" not in comment["body"].splitlines()[1]
    assert [s.method for s in hosts.requests] == ["GET", "GET", "POST", "GET", "GET", "PATCH"]
    assert hosts.of("PATCH")[0].path.endswith(f"/repos/o/r/issues/comments/{first['id']}")
    assert run.check("post")["message"] == "updated the report comment on PR #5"


def test_marker_on_page_3_is_found(results: Path, hosts: FakeHosts, github_env: Env,
                                   run_report: RunReport) -> None:
    bodies = [f"comment {i}" for i in range(250)]
    bodies[230] = MARKER + "\nold report"
    bodies[240] = "quoting it: " + MARKER  # not a report: the marker must start the body
    ids = hosts.add_comments(5, bodies)
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert [s.query.get("page", "1") for s in hosts.of("GET", "/comments")] == ["1", "2", "3"]
    assert not hosts.of("POST")
    assert hosts.of("PATCH")[0].path.endswith(f"/issues/comments/{ids[230]}")
    assert len(hosts.comments[5]) == 250


def test_403_on_a_fork_falls_back_and_exits_0(results: Path, hosts: FakeHosts,
                                              github_env: Env, run_report: RunReport) -> None:
    hosts.fail("POST", r"/issues/5/comments$", 403, times=5, body=READ_ONLY)
    run = run_report("--post", env=github_env(event=pr_event(head_repo="someone/r")))
    assert run.exit_code == 0, run.stderr
    warning = next(line for line in run.stdout.splitlines() if line.startswith("::warning::"))
    assert "read-only token" in warning and "workflow_run" in warning
    assert run.check("post")["status"] == "warn"
    summary = (run.workdir / "step_summary.md").read_text()
    assert summary.startswith("### ❌ mlci: fail")
    assert len(hosts.of("POST")) == 1  # a 403 is not retried


def test_fork_without_any_token_warns_and_exits_0(results: Path, hosts: FakeHosts,
                                                 github_env: Env, run_report: RunReport
                                                 ) -> None:
    run = run_report("--post", env=github_env(event=pr_event(head_repo="someone/r"),
                                              token=None))
    assert run.exit_code == 0, run.stderr
    assert run.check("post")["status"] == "warn"
    assert hosts.requests == []


def test_502_twice_then_201_succeeds(results: Path, hosts: FakeHosts, github_env: Env,
                                     run_report: RunReport) -> None:
    hosts.fail("POST", r"/issues/5/comments$", 502, times=2, body={"message": "Bad Gateway"})
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert [s.status for s in hosts.of("POST")] == [502, 502, 201]
    # before each retry of the POST the comments are listed again (a 502 may have landed)
    assert [s.method for s in hosts.requests] == ["GET"] + ["GET", "POST"] * 3
    assert len(hosts.comments[5]) == 1


def test_502_after_the_comment_was_created_does_not_duplicate(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport) -> None:
    """A gateway can fail after the backend created the comment; the re-list finds it."""
    hosts.fail("POST", r"/issues/5/comments$", 502, times=1)
    hosts.comments.setdefault(5, [])

    original = hosts._answer

    def landed_then_502(seen: Any) -> Any:
        if seen.method == "POST" and not hosts.comments[5]:
            hosts.add_comments(5, [json.loads(seen.body)["body"]])
        return original(seen)

    hosts._answer = landed_then_502  # type: ignore[method-assign]
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert [s.method for s in hosts.requests] == ["GET", "GET", "POST", "GET", "PATCH"]
    assert len(hosts.comments[5]) == 1


def test_429_with_retry_after_waits(results: Path, hosts: FakeHosts, github_env: Env,
                                    run_report: RunReport) -> None:
    hosts.fail("GET", r"/issues/5/comments$", 429, headers={"Retry-After": "1"},
               body={"message": "API rate limit exceeded"})
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    first, second = hosts.of("GET", "/comments")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.0


def test_server_errors_until_the_end_exit_3(results: Path, hosts: FakeHosts, github_env: Env,
                                           run_report: RunReport,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real = github_api.client
    monkeypatch.setattr(github_api, "client", lambda *a: replace(real(*a), backoff_s=0.01))
    hosts.fail("GET", r"/issues/5/comments$", 503, times=100)
    run = run_report("--post", env=github_env())
    assert run.exit_code == 3
    assert "failed after 5 attempts (HTTP 503" in run.stderr
    assert (run.workdir / "step_summary.md").read_text().startswith("### ❌ mlci: fail")


def test_token_is_absent_from_all_output_and_files(results: Path, hosts: FakeHosts,
                                                   github_env: Env, run_report: RunReport
                                                   ) -> None:
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0
    assert f"::add-mask::{GITHUB_TOKEN}" in run.stdout.splitlines()
    assert_secret_absent(run, GITHUB_TOKEN)
    hosts.fail("POST", r"/comments", 401, times=9, body={"message": "Bad credentials"})
    (results.parent / "event.json").write_text(json.dumps(pr_event(6)))
    run = run_report("--post", env=github_env(event=pr_event(6)))
    assert run.exit_code == 2
    assert "GitHub rejected the token from GITHUB_TOKEN (401 Bad credentials)" in run.stderr
    assert_secret_absent(run, GITHUB_TOKEN)


def test_dry_run_prints_what_would_be_sent_and_sends_nothing(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport) -> None:
    run = run_report("--post", "--dry-run", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert hosts.requests == []
    out = run.stdout
    assert "dry run: nothing is sent" in out
    assert f"POST {hosts.github_api}/repos/o/r/issues/5/comments" in out
    assert f"PATCH {hosts.github_api}/repos/o/r/issues/comments/{{comment_id}}" in out
    assert "Authorization: Bearer ***" in out and "X-GitHub-Api-Version: 2022-11-28" in out
    assert "token: from GITHUB_TOKEN" in out
    assert MARKER + "\n### ❌ mlci: fail" in out
    assert run.check("post")["status"] == "skip"
    assert GITHUB_TOKEN not in out + run.stderr  # a dry run does not even mask it


def test_push_event_finds_the_pr_of_the_commit(results: Path, hosts: FakeHosts,
                                               github_env: Env, run_report: RunReport) -> None:
    hosts.commit_pulls[SHA] = [
        {"number": 3, "state": "closed", "head": {"sha": SHA}},
        {"number": 8, "state": "open", "head": {"sha": "f" * 40}},
        {"number": 7, "state": "open", "head": {"sha": SHA}}]
    run = run_report("--post", env=github_env(event={"ref": "refs/heads/feature"},
                                              event_name="push"))
    assert run.exit_code == 0, run.stderr
    assert hosts.of("GET")[0].path.endswith(f"/repos/o/r/commits/{SHA}/pulls")
    assert list(hosts.comments) == [7]


def test_push_without_a_pr_skips(results: Path, hosts: FakeHosts, github_env: Env,
                                 run_report: RunReport) -> None:
    run = run_report("--post", env=github_env(event={}, event_name="push"))
    assert run.exit_code == 0, run.stderr
    assert run.check("post")["status"] == "skip"
    assert "no open pull request" in run.check("post")["message"]


def test_workflow_run_on_a_fork_takes_the_pr_from_the_event(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport) -> None:
    """The split fork-safe setup: the PR comes from the event, never from the artifact,
    and the sticky ID is the name of the workflow that produced the results."""
    hosts.branch_pulls["someone:feature"] = [{"number": 5, "state": "open",
                                              "head": {"sha": SHA}}]
    hosts.add_comments(5, [MARKER + "\nreport posted by the pull_request workflow"])
    event = {"workflow_run": {"name": "CI", "event": "pull_request", "head_sha": SHA,
                              "head_branch": "feature", "pull_requests": [],
                              "html_url": "https://github.example/o/r/actions/runs/41",
                              "head_repository": {"full_name": "someone/r",
                                                  "owner": {"login": "someone"}}},
             "repository": {"full_name": "o/r"}}
    run = run_report("--post", env=github_env(event=event, event_name="workflow_run",
                                              GITHUB_WORKFLOW="Report"))
    assert run.exit_code == 0, run.stderr
    assert hosts.of("GET")[0].query == {"head": "someone:feature", "state": "open",
                                        "per_page": "100"}
    (comment,) = hosts.comments[5]
    assert comment["body"].startswith(MARKER)
    assert "[CI run](https://github.example/o/r/actions/runs/41)" in comment["body"]


def test_missing_token_on_a_same_repo_pr_is_bad_usage(results: Path, hosts: FakeHosts,
                                                      github_env: Env, run_report: RunReport
                                                      ) -> None:
    run = run_report("--post", env=github_env(token=None))
    assert run.exit_code == 2
    assert "no token to comment with: set GITHUB_TOKEN" in run.stderr
    assert (run.workdir / ".mlci" / "report.md").is_file()  # the report itself was written


def test_custom_id_and_mlci_token(results: Path, hosts: FakeHosts, github_env: Env,
                                  run_report: RunReport) -> None:
    hosts.github_token = "mlci-token-value"
    run = run_report("--post", "--id", "nightly --> x", env=github_env(
        token=None, MLCI_TOKEN="mlci-token-value"))
    assert run.exit_code == 0, run.stderr
    assert hosts.comments[5][0]["body"].startswith("<!-- mlci-report:nightly - x -->\n")


def test_a_200_check_report_fits_github_s_limit(clean_env: Path, hosts: FakeHosts,
                                               github_env: Env, run_report: RunReport,
                                               big_result: dict[str, Any]) -> None:
    out = clean_env / ".mlci"
    out.mkdir()
    (out / "compare.json").write_text(json.dumps(big_result))
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    body = hosts.comments[5][0]["body"]
    assert len(body.encode()) <= 65_536 < len((out / "report.md").read_bytes())
    assert "✂️ Shortened to fit the 65,536-byte limit" in body
    assert "job summary of [the run](https://github.example/o/r/actions/runs/42)" in body


# ---------------------------------------------------------------- whose comment it is

MALLORY = {"login": "mallory", "id": 666, "type": "User"}


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    real = github_api.client
    monkeypatch.setattr(github_api, "client", lambda *a: replace(real(*a), backoff_s=0.01))


def test_a_marked_comment_by_someone_else_is_never_updated(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport) -> None:
    """Anyone may post a comment that starts with the marker; it is not ours."""
    (planted,) = hosts.add_comments(5, [MARKER + "\n### ✅ mlci: pass (trust me)"], MALLORY)
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert not hosts.of("PATCH")
    first, ours = hosts.comments[5]
    assert (first["id"], first["body"]) == (planted, MARKER + "\n### ✅ mlci: pass (trust me)")
    assert ours["user"] == ACTIONS_BOT and ours["body"].startswith(MARKER + "\n### ❌ mlci: fail")
    assert run.check("post")["message"] == "created the report comment on PR #5"


def test_a_user_token_updates_only_the_comment_of_its_own_user(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport) -> None:
    """GET /user names the token's user; the Actions bot's and an impostor's comments
    (same login, another id) are left alone."""
    hosts.github_token = "github_pat_ci_bot_token"
    hosts.github_users["github_pat_ci_bot_token"] = {"login": "ci-bot", "id": 77, "type": "User"}
    bot, impostor, own = hosts.add_comments(5, [MARKER + "\nbot"], ACTIONS_BOT) + \
        hosts.add_comments(5, [MARKER + "\nimpostor"], {"login": "ci-bot", "id": 78,
                                                        "type": "User"}) + \
        hosts.add_comments(5, [MARKER + "\nold report"], {"login": "ci-bot", "id": 77,
                                                          "type": "User"})
    run = run_report("--post", env=github_env(token=None, MLCI_TOKEN="github_pat_ci_bot_token"))
    assert run.exit_code == 0, run.stderr
    assert hosts.of("GET", "/user")[0].status == 200
    (patch,) = hosts.of("PATCH")
    assert patch.path.endswith(f"/issues/comments/{own}")
    bodies = {c["id"]: c["body"] for c in hosts.comments[5]}
    assert bodies[bot] == MARKER + "\nbot" and bodies[impostor] == MARKER + "\nimpostor"
    assert bodies[own].startswith(MARKER + "\n### ❌ mlci: fail")


@pytest.mark.parametrize(("answer", "why"), [
    (b"<html><body>502 from a proxy, with status 200</body></html>", "(not JSON)"),
    (b'[{"id": 1001, "body": "<!-- mlci-rep', "(not JSON)"),
    (b'{"message": "Server Error"}', "(an object with message)"),
    (b"", "(an empty body)"),
    (b'[{"body": "x"}]', "(an item is an object with body)"),
])
def test_a_comment_list_that_is_not_json_is_retried_then_exit_3(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport,
        monkeypatch: pytest.MonkeyPatch, answer: bytes, why: str) -> None:
    """Never read as "no comments yet": that would post a second sticky comment."""
    fast_retries(monkeypatch)
    hosts.add_comments(5, [MARKER + "\nold report"])
    hosts.fail("GET", r"/issues/5/comments$", 200, times=100, raw=answer)
    run = run_report("--post", env=github_env())
    assert run.exit_code == 3, run.stderr
    assert (f"failed after 5 attempts (HTTP 200: the answer is not a JSON list of issue "
            f"comments {why})") in run.stderr
    assert len(hosts.of("GET", "/comments")) == 5
    assert not hosts.of("POST") and not hosts.of("PATCH")
    assert len(hosts.comments[5]) == 1


def test_a_garbled_page_once_is_retried_and_the_comment_updated(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fast_retries(monkeypatch)
    (old,) = hosts.add_comments(5, [MARKER + "\nold report"])
    hosts.fail("GET", r"/issues/5/comments$", 200, times=1, raw=b"<html>oops</html>")
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert [s.status for s in hosts.of("GET", "/comments")] == [200, 200]
    assert hosts.of("PATCH")[0].path.endswith(f"/issues/comments/{old}")
    assert len(hosts.comments[5]) == 1


def test_an_identity_answer_that_is_not_a_user_is_exit_3(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fast_retries(monkeypatch)
    hosts.fail("GET", r"/user$", 200, times=100, raw=b'{"login": "x"}')
    run = run_report("--post", env=github_env())
    assert run.exit_code == 3
    assert "GET" in run.stderr and "/user: failed after 5 attempts (HTTP 200: the answer is " \
        "not a user (login and id) (an object with login))" in run.stderr
    assert not hosts.of("GET", "/comments") and not hosts.of("POST")


def test_dry_run_says_how_the_comment_s_author_is_learned(
        results: Path, hosts: FakeHosts, github_env: Env, run_report: RunReport) -> None:
    run = run_report("--post", "--dry-run", env=github_env())
    assert run.exit_code == 0, run.stderr
    assert (f"  GET {hosts.github_api}/user to learn whose comments are ours (403 'Resource "
            "not accessible by integration' means the job's token: github-actions[bot])"
            ) in run.stdout.splitlines()
    assert hosts.requests == []
