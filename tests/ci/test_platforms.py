from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from mlci.ci import GitHub, GitLab, Local, detect


def test_detect() -> None:
    assert isinstance(detect({"GITHUB_ACTIONS": "true"}), GitHub)
    assert isinstance(detect({"GITLAB_CI": "true"}), GitLab)
    assert isinstance(detect({}), Local)


def test_github_outputs_are_multiline_safe(tmp_path: Path) -> None:
    out = tmp_path / "output"
    GitHub({"GITHUB_OUTPUT": str(out)}).set_outputs("validate", {"verdict": "pass",
                                                                 "note": "a\nb"}, tmp_path)
    lines = out.read_text().splitlines()
    delimiter = lines[0].split("<<")[1]
    assert lines == [f"verdict<<{delimiter}", "pass", delimiter,
                     f"note<<{lines[3].split('<<')[1]}", "a", "b", lines[3].split("<<")[1]]


def test_github_annotation_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    GitHub({}).annotate("error", "50% off\nnext", "dir,a:b.yml", 3)
    assert capsys.readouterr().out == "::error file=dir%2Ca%3Ab.yml,line=3::50%25 off%0Anext\n"


def test_github_mask(capsys: pytest.CaptureFixture[str]) -> None:
    GitHub({}).mask("line1\nline2")
    assert capsys.readouterr().out == "::add-mask::line1\n::add-mask::line2\n"


def test_github_facts_use_pr_head(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5, "head": {"sha": "head123"}}}))
    facts = GitHub({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
                    "GITHUB_RUN_ID": "42", "GITHUB_SHA": "merge456", "GITHUB_ACTOR": "ana",
                    "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
                    "GITHUB_REF": "refs/pull/5/merge", "GITHUB_JOB": "validate"}).facts()
    assert facts == {"platform": "github", "run_url": "https://github.com/o/r/actions/runs/42",
                     "actor": "ana", "event": "pull_request", "sha": "merge456",
                     "head_sha": "head123", "ref": "refs/pull/5/merge", "repository": "o/r",
                     "pipeline_id": "42", "job_id": "validate"}


def test_gitlab_dotenv_and_facts(tmp_path: Path) -> None:
    platform = GitLab({"CI_COMMIT_SHA": "abc", "CI_JOB_URL": "https://gl/j/1",
                       "CI_PIPELINE_ID": "7", "CI_JOB_ID": "1", "GITLAB_USER_LOGIN": "bo",
                       "CI_PIPELINE_SOURCE": "merge_request_event",
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "def",
                       "CI_COMMIT_REF_NAME": "feature", "CI_PROJECT_PATH": "g/p"})
    platform.set_outputs("validate", {"verdict": "fail", "result-path": ".mlci/validate.json"},
                         tmp_path)
    assert (tmp_path / "validate.env").read_text() == (
        "MLCI_VALIDATE_VERDICT=fail\nMLCI_VALIDATE_RESULT_PATH=.mlci/validate.json\n")
    assert platform.facts() == {"platform": "gitlab", "run_url": "https://gl/j/1",
                                "actor": "bo", "event": "merge_request_event", "sha": "abc",
                                "head_sha": "def", "ref": "feature", "repository": "g/p",
                                "pipeline_id": "7", "job_id": "1"}


# --- the posting interface ------------------------------------------------------


def test_token_precedence_and_repr_hides_the_value() -> None:
    token = GitHub({"GITHUB_TOKEN": "gh", "MLCI_TOKEN": "ml"}).token()
    assert token is not None and (token.value, token.source) == ("ml", "MLCI_TOKEN")
    assert "ml" not in repr(token).replace("MLCI_TOKEN", "") and str(token) == (
        "<token from MLCI_TOKEN>")
    assert GitHub({"GITHUB_TOKEN": " "}).token() is None
    gitlab = GitLab({"GITLAB_TOKEN": "gl", "CI_JOB_TOKEN": "job"}).token()
    assert gitlab is not None and gitlab.source == "GITLAB_TOKEN"
    assert GitLab({"CI_JOB_TOKEN": "job"}).token() is None  # cannot post notes


def _github(tmp_path: Path, event: Mapping[str, object], name: str, **env: str) -> GitHub:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return GitHub({"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": name,
                   "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "a" * 40, **env})


def test_github_pull_ref_from_events(tmp_path: Path) -> None:
    pr = {"pull_request": {"number": 5, "head": {"repo": {"full_name": "fork/r"}}},
          "repository": {"full_name": "o/r"}}
    ref = _github(tmp_path, pr, "pull_request").pull_ref()
    assert ref is not None and (ref.number, ref.read_only) == (5, True)
    ref = _github(tmp_path, pr, "pull_request_target").pull_ref()
    assert ref is not None and (ref.number, ref.read_only) == (5, False)
    ref = _github(tmp_path, {"issue": {"number": 8, "pull_request": {}}},
                  "issue_comment").pull_ref()
    assert ref is not None and ref.number == 8
    ref = _github(tmp_path, {}, "push").pull_ref()
    assert ref is not None and (ref.number, ref.sha) == (None, "a" * 40)
    same_repo_run = {"workflow_run": {"name": "CI", "pull_requests": [{"number": 3}],
                                      "html_url": "https://gh/o/r/actions/runs/1"}}
    platform = _github(tmp_path, same_repo_run, "workflow_run", GITHUB_WORKFLOW="Report")
    ref = platform.pull_ref()
    assert ref is not None and ref.number == 3
    assert platform.default_report_id() == "CI"
    assert platform.run_link() == "https://gh/o/r/actions/runs/1"


def test_github_default_report_id_is_the_workflow_name(tmp_path: Path) -> None:
    assert _github(tmp_path, {}, "push", GITHUB_WORKFLOW="Model CI").default_report_id() == (
        "Model CI")


def test_gitlab_merge_request_from_variables() -> None:
    mr = GitLab({"CI_MERGE_REQUEST_IID": "4", "CI_MERGE_REQUEST_PROJECT_ID": "10",
                 "CI_PROJECT_ID": "11", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "11"}
                ).merge_request()
    assert mr is not None and (mr.project, mr.iid, mr.fork) == ("10", 4, True)
    branch = GitLab({"CI_PROJECT_ID": "10", "CI_PROJECT_PATH": "g/p",
                     "CI_OPEN_MERGE_REQUESTS": "g/other!1, g/p!6"}).merge_request()
    assert branch is not None and (branch.project, branch.iid) == ("10", 6)
    assert GitLab({"CI_PROJECT_ID": "10"}).merge_request() is None
    assert GitLab({"CI_JOB_NAME": "report"}).default_report_id() == "report"


def test_local_has_nothing_to_post_to() -> None:
    outcome = Local({}).post_report("body", "<!-- m -->", None)
    assert outcome.action == "skipped"
    assert Local({}).comment_limit == 65_536 and GitLab({}).comment_limit == 1_000_000
