"""`mlci report --post` against a local server that checks every request against
GitLab's documented Notes API (see fake_hosts.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlci.ci import gitlab_api
from tests.report.conftest import GITLAB_TOKEN, Run, assert_secret_absent
from tests.report.fake_hosts import FakeHosts

MARKER = "<!-- mlci-report:report -->"
RunReport = Callable[..., Run]
Env = Callable[..., dict[str, str]]


def test_create_then_update_the_same_note(results: Path, hosts: FakeHosts, gitlab_env: Env,
                                          run_report: RunReport) -> None:
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    (note,) = hosts.notes[("77", 9)]
    assert note["body"].startswith(MARKER + "\n### ❌ mlci: fail")
    assert "[CI run](https://gitlab.example/g/p/-/pipelines/3)" in note["body"]
    assert run.doc()["comment_url"] == (
        f"https://gitlab.example/g/p/-/merge_requests/9#note_{note['id']}")
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    assert [(s.method, s.path.split("/v4")[1]) for s in hosts.requests] == [
        ("GET", "/user"), ("GET", "/projects/77/merge_requests/9/notes"),
        ("POST", "/projects/77/merge_requests/9/notes"), ("GET", "/user"),
        ("GET", "/projects/77/merge_requests/9/notes"),
        ("PUT", f"/projects/77/merge_requests/9/notes/{note['id']}")]
    assert hosts.of("PUT")[0].path.endswith(f"/projects/77/merge_requests/9/notes/{note['id']}")
    assert len(hosts.notes[("77", 9)]) == 1
    dotenv = (run.out / "report.env").read_text()
    assert "MLCI_REPORT_OVERALL_VERDICT=fail" in dotenv


def test_marker_on_page_3_is_found(results: Path, hosts: FakeHosts, gitlab_env: Env,
                                   run_report: RunReport) -> None:
    hosts.add_notes("77", 9, [MARKER + " mentioned by the system"], system=True)
    bodies = [f"note {i}" for i in range(250)]
    bodies[220] = MARKER + "\nold"
    ids = hosts.add_notes("77", 9, bodies)
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    assert [s.query.get("page", "1") for s in hosts.of("GET", "/notes")] == ["1", "2", "3"]
    assert hosts.of("PUT")[0].path.endswith(f"/notes/{ids[220]}")
    assert not hosts.of("POST")


def test_only_ci_job_token_says_it_cannot_post(results: Path, hosts: FakeHosts,
                                               gitlab_env: Env, run_report: RunReport) -> None:
    run = run_report("--post", env=gitlab_env(token=None))
    assert run.exit_code == 2
    assert "CI_JOB_TOKEN cannot post merge request notes" in run.stderr
    assert "project access token with the `api` scope" in run.stderr
    assert hosts.requests == []


def test_job_token_passed_as_the_token_is_refused_before_any_request(
        results: Path, hosts: FakeHosts, gitlab_env: Env, run_report: RunReport) -> None:
    run = run_report("--post", env=gitlab_env(token="job-token-not-for-notes"))
    assert run.exit_code == 2
    assert "MLCI_TOKEN holds the CI job token" in run.stderr
    assert hosts.requests == []


def test_502_twice_then_201_succeeds(results: Path, hosts: FakeHosts, gitlab_env: Env,
                                     run_report: RunReport) -> None:
    hosts.fail("POST", r"/merge_requests/9/notes$", 502, times=2)
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    assert [s.status for s in hosts.of("POST")] == [502, 502, 201]
    assert len(hosts.notes[("77", 9)]) == 1


def test_429_with_retry_after_waits(results: Path, hosts: FakeHosts, gitlab_env: Env,
                                    run_report: RunReport) -> None:
    hosts.fail("POST", r"/notes$", 429, headers={"Retry-After": "1"},
               body={"message": "Retry later"})
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    first, second = hosts.of("POST")
    assert (first.status, second.status) == (429, 201)
    assert second.at - first.at >= 1.0


def test_fork_merge_request_403_warns_and_exits_0(results: Path, hosts: FakeHosts,
                                                  gitlab_env: Env, run_report: RunReport
                                                  ) -> None:
    hosts.fail("POST", r"/notes$", 403, times=5, body={"message": "403 Forbidden"})
    run = run_report("--post", env=gitlab_env(CI_MERGE_REQUEST_SOURCE_PROJECT_ID="78"))
    assert run.exit_code == 0, run.stderr
    assert run.check("post")["status"] == "warn"
    assert "from forks" in run.check("post")["message"]


def test_branch_pipeline_uses_ci_open_merge_requests(results: Path, hosts: FakeHosts,
                                                     gitlab_env: Env, run_report: RunReport
                                                     ) -> None:
    env = gitlab_env(CI_PROJECT_PATH="g/p", CI_OPEN_MERGE_REQUESTS="other/x!4,g/p!12")
    for name in ("CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_PROJECT_ID",
                 "CI_MERGE_REQUEST_SOURCE_PROJECT_ID"):
        del env[name]
    run = run_report("--post", env=env)
    assert run.exit_code == 0, run.stderr
    assert list(hosts.notes) == [("77", 12)]


def test_not_a_merge_request_pipeline_skips(results: Path, hosts: FakeHosts, gitlab_env: Env,
                                            run_report: RunReport) -> None:
    env = gitlab_env()
    del env["CI_MERGE_REQUEST_IID"]
    run = run_report("--post", env=env)
    assert run.exit_code == 0, run.stderr
    assert run.check("post")["status"] == "skip"
    assert hosts.requests == []


def test_token_is_absent_from_all_output_and_files(results: Path, hosts: FakeHosts,
                                                   gitlab_env: Env, run_report: RunReport
                                                   ) -> None:
    for extra in ({}, {"CI_MERGE_REQUEST_IID": "10"}):
        if extra:
            hosts.fail("GET", r"/notes$", 401, body={"message": "401 Unauthorized"})
        run = run_report("--post", env=gitlab_env(**extra))
        assert run.exit_code == (2 if extra else 0), run.stderr
        assert GITLAB_TOKEN not in run.stdout + run.stderr  # GitLab has no add-mask command
        assert_secret_absent(run, GITLAB_TOKEN)


def test_dry_run_sends_nothing(results: Path, hosts: FakeHosts, gitlab_env: Env,
                               run_report: RunReport) -> None:
    run = run_report("--post", "--dry-run", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    assert hosts.requests == []
    assert f"POST {hosts.gitlab_api}/projects/77/merge_requests/9/notes" in run.stdout
    assert "PRIVATE-TOKEN: ***" in run.stdout
    assert GITLAB_TOKEN not in run.stdout


def test_a_200_check_report_is_not_cut_under_gitlab_s_limit(
        clean_env: Path, hosts: FakeHosts, gitlab_env: Env, run_report: RunReport,
        big_result: dict[str, Any]) -> None:
    import json

    out = clean_env / ".mlci"
    out.mkdir()
    (out / "compare.json").write_text(json.dumps(big_result))
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    body = hosts.notes[("77", 9)][0]["body"]
    assert "Shortened" not in body
    assert body == MARKER + "\n" + (out / "report.md").read_text()


# ---------------------------------------------------------------- whose note it is


def test_a_marked_note_by_someone_else_is_never_updated(
        results: Path, hosts: FakeHosts, gitlab_env: Env, run_report: RunReport) -> None:
    """Only a note by the token's own user (GET /user) is ours."""
    (planted,) = hosts.add_notes("77", 9, [MARKER + "\nall green, merge it"],
                                 author={"id": 666, "username": "mallory"})
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 0, run.stderr
    assert not hosts.of("PUT")
    first, ours = hosts.notes[("77", 9)]
    assert (first["id"], first["body"]) == (planted, MARKER + "\nall green, merge it")
    assert ours["author"]["id"] == 501 and ours["body"].startswith(MARKER + "\n### ❌")


@pytest.mark.parametrize("answer", [b"<html>Bad gateway</html>", b'[{"id": 5, "bo',
                                    b'{"message": "500 Internal Server Error"}'])
def test_a_note_list_that_is_not_json_is_retried_then_exit_3(
        results: Path, hosts: FakeHosts, gitlab_env: Env, run_report: RunReport,
        monkeypatch: pytest.MonkeyPatch, answer: bytes) -> None:
    real = gitlab_api.client
    monkeypatch.setattr(gitlab_api, "client", lambda *a: replace(real(*a), backoff_s=0.01))
    hosts.fail("GET", r"/notes$", 200, times=100, raw=answer)
    run = run_report("--post", env=gitlab_env())
    assert run.exit_code == 3
    assert "failed after 5 attempts (HTTP 200: the answer is not a JSON list of notes" \
        in run.stderr
    assert not hosts.of("POST") and ("77", 9) not in hosts.notes
