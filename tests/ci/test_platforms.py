from __future__ import annotations

import json
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
