"""Git facts: commit vs PR head, dirty flag, remote without credentials, not a checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci.errors import InputError
from mlci.lineage import gitinfo
from tests.lineage.conftest import LOCAL_FACTS, git


def test_clean_checkout(work: Path) -> None:
    head = git(work, "rev-parse", "HEAD")
    facts = gitinfo.describe(str(work), LOCAL_FACTS)
    assert facts == {
        "recorded": True, "commit": head, "checkout": head, "merge_commit": None,
        "ref": "refs/heads/main", "branch": "main", "dirty": False, "changed": [],
        "changed_count": 0,
        "untracked": ["data/eval/part-0.csv", "data/eval/part-1.csv", "data/train.csv",
                      "model/MLmodel", "model/model.pkl"],
        "untracked_count": 5, "remote": None,
    }


def test_tracked_change_makes_the_tree_dirty_and_is_named(work: Path) -> None:
    git(work, "add", "data/train.csv")
    git(work, "commit", "-q", "-m", "data")
    (work / "data/train.csv").write_text("changed\n")
    facts = gitinfo.describe(str(work), LOCAL_FACTS)
    assert (facts["dirty"], facts["changed"], facts["changed_count"]) == (
        True, ["data/train.csv"], 1)


def test_untracked_files_are_listed_but_not_dirty_and_out_folder_is_ignored(work: Path) -> None:
    (work / "out").mkdir()
    (work / "out" / "result.json").write_text("{}")
    facts = gitinfo.describe(str(work), LOCAL_FACTS, ignore=["out"])
    assert facts["dirty"] is False
    assert "out/result.json" not in facts["untracked"]
    assert "data/train.csv" in facts["untracked"]


def test_pull_request_records_the_head_and_keeps_the_merge_commit(work: Path) -> None:
    merge = git(work, "rev-parse", "HEAD")
    pr_head = "a" * 40
    facts = {**LOCAL_FACTS, "platform": "github", "event": "pull_request", "sha": merge,
             "head_sha": pr_head, "ref": "refs/pull/7/merge"}
    recorded = gitinfo.describe(str(work), facts)
    assert (recorded["commit"], recorded["merge_commit"], recorded["checkout"],
            recorded["ref"]) == (pr_head, merge, merge, "refs/pull/7/merge")


def test_push_event_head_equals_sha(work: Path) -> None:
    head = git(work, "rev-parse", "HEAD")
    facts = {**LOCAL_FACTS, "sha": head, "head_sha": head}
    assert gitinfo.describe(str(work), facts)["merge_commit"] is None


def test_remote_is_recorded_without_credentials(work: Path) -> None:
    git(work, "remote", "add", "origin",
        "https://x-access-token:ghs_SECRET@github.com/org/repo.git")
    assert gitinfo.describe(str(work), LOCAL_FACTS)["remote"] == "https://github.com/org/repo.git"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://user:pw@gitlab.example.com:8443/g/p.git?private_token=x",
     "https://gitlab.example.com:8443/g/p.git"),
    ("https://ghp_token@github.com/o/r", "https://github.com/o/r"),
    ("ssh://git@host/o/r.git", "ssh://host/o/r.git"),
    ("git@github.com:o/r.git", "git@github.com:o/r.git"),
    ("/srv/repos/r.git", "/srv/repos/r.git"),
])
def test_strip_credentials(url: str, expected: str) -> None:
    assert gitinfo.strip_credentials(url) == expected


def test_not_a_checkout_is_bad_input_naming_the_folder_and_the_way_out(
        tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"{tmp_path}: not a git checkout .*pass --no-git"):
        gitinfo.describe(str(tmp_path), LOCAL_FACTS)


def test_repository_without_commits_is_bad_input(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    with pytest.raises(InputError, match=r"has no commits yet"):
        gitinfo.describe(str(tmp_path), LOCAL_FACTS)
