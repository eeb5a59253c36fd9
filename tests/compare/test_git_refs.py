"""`git:REF:PATH` never hands REF to git as an option, and leaves no copies behind.

Each test runs the real `mlci compare` in a real repository that has an
`origin` (a shallow clone), so the code path that fetches a missing ref is live:
the reproducers of the issue wrote a file (`--output=`) and ran a command
(`--upload-pack=`) through exactly these calls. TMPDIR points at a folder of
the test's own, to see every temporary copy mlci makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROWS = "row,y_true,y_pred\n" + "".join(f"{i},{i % 2},{i % 2}\n" for i in range(40))
HELP = "expected git:REF:PATH, e.g. git:origin/main:eval/predictions.csv"
NOT_A_REF = ("is not a git ref or commit (a branch, tag or remote ref such as origin/main, a "
             "commit SHA, or HEAD~1); " + HELP)
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A shallow clone of `feature`, whose origin also has `main` (one commit behind) and a
    tag: the project's state in a CI job."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    (origin / "pred.csv").write_text(ROWS)
    git(origin, "add", "pred.csv")
    git(origin, "commit", "-qm", "baseline")
    git(origin, "tag", "v1")
    git(origin, "checkout", "-qb", "feature")
    (origin / "pred.csv").write_text(ROWS.replace("\n3,1,1\n", "\n3,1,0\n"))
    git(origin, "commit", "-qam", "feature")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", "--depth=1", "--branch", "feature", "--single-branch",
        f"file://{origin}", str(work))
    (work / "cand.csv").write_text(ROWS)
    (work / "mlci.yml").write_text("version: 1\ntask: binary\ncolumns:\n  id: row\n"
                                   "compare:\n  metrics: [accuracy]\n  resamples: 200\n")
    (tmp_path / "tmp").mkdir()
    return work


def compare(work: Path, baseline: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "MLCI_", "MLFLOW_"))}
    env["TMPDIR"] = str(work.parent / "tmp")
    return subprocess.run([sys.executable, "-m", "mlci", "compare", "--candidate", "cand.csv",
                           "--baseline", baseline], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)


def leftovers(work: Path) -> list[str]:
    return sorted(p.name for p in (work.parent / "tmp").iterdir())


def test_output_option_as_ref_writes_nothing(clone: Path, tmp_path: Path) -> None:
    target = tmp_path / "written"
    spec = f"git:--output={target}:y"
    done = compare(clone, spec)
    assert (done.returncode, done.stderr) == (
        2, f"mlci compare: error: {spec}: '--output={target}' {NOT_A_REF}\n")
    assert not target.exists() and not Path(f"{target}:y").exists()
    assert list(tmp_path.glob("written*")) == []


def test_upload_pack_option_as_ref_runs_nothing(clone: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = f"git:--upload-pack=touch {marker}; false:x"
    done = compare(clone, spec)
    assert (done.returncode, done.stderr) == (
        2, f"mlci compare: error: {spec}: '--upload-pack=touch {marker}; false' {NOT_A_REF}\n")
    assert not marker.exists()


@pytest.mark.parametrize("ref", ["-h", "--exec=id", "-c", "--end-of-options", "main..v1",
                                 "a b", "@{-1}", "main~1~x", "refs/heads/.hidden",
                                 "main\x07"])
def test_what_is_not_a_ref_or_commit_is_bad_input(clone: Path, ref: str) -> None:
    done = compare(clone, f"git:{ref}:pred.csv")
    assert done.returncode == 2
    assert done.stderr == f"mlci compare: error: git:{ref}:pred.csv: {ref!r} {NOT_A_REF}\n"


@pytest.mark.parametrize("path", ["../pred.csv", "/etc/passwd", "-p", "dir/"])
def test_a_path_outside_the_repository_is_bad_input(clone: Path, path: str) -> None:
    done = compare(clone, f"git:HEAD:{path}")
    assert (done.returncode, done.stderr) == (
        2, f"mlci compare: error: git:HEAD:{path}: {path!r} is not a file path inside the "
           f"repository; {HELP}\n")


def test_refs_and_commits_that_are_fine(clone: Path) -> None:
    """A remote branch fetched into the shallow clone, a tag, full and short SHAs, HEAD,
    and each one's file really read (main's file equals the candidate, feature's not)."""
    assert compare(clone, "git:origin/main:pred.csv").returncode == 0  # fetched
    main_sha = git(clone, "rev-parse", "origin/main")
    head_sha = git(clone, "rev-parse", "HEAD")
    for ref, delta in (("origin/main", 0.0), (main_sha, 0.0), (main_sha[:10], 0.0),
                       ("HEAD", -0.025), (head_sha, -0.025), ("feature", -0.025)):
        done = compare(clone, f"git:{ref}:pred.csv")
        doc = json.loads((clone / ".mlci" / "compare.json").read_text())
        assert done.returncode in (0, 1), done.stderr
        assert doc["checks"][0]["delta"] == pytest.approx(-delta), ref
    git(clone, "fetch", "-q", "--depth=1", "origin", "+refs/tags/v1:refs/tags/v1")
    assert compare(clone, "git:v1:pred.csv").returncode == 0


def test_history_expressions_resolve_when_the_history_is_there(clone: Path) -> None:
    git(clone, "fetch", "-q", "--unshallow")
    done = compare(clone, "git:HEAD~1:pred.csv")
    assert done.returncode == 0, done.stderr
    assert json.loads((clone / ".mlci" / "compare.json").read_text())["checks"][0][
        "delta"] == 0.0


def test_no_temporary_copy_is_left_behind(clone: Path) -> None:
    for spec in ("git:origin/main:pred.csv", "git:HEAD:pred.csv", "git:HEAD:missing.csv",
                 "git:--output=x:y"):
        compare(clone, spec)
    assert leftovers(clone) == []


def test_messages_name_the_spec_not_the_temporary_copy(clone: Path) -> None:
    """A file that fails to load (empty) and one that fails to pair."""
    (clone / "other.csv").write_text("")
    (clone / "unpaired.csv").write_text("row,y_true,y_pred\n100,0,0\n")
    git(clone, "add", "other.csv", "unpaired.csv")
    git(clone, "commit", "-qm", "files that do not compare")
    done = compare(clone, "git:HEAD:other.csv")
    assert done.returncode == 2
    assert done.stderr == "mlci compare: error: git:HEAD:other.csv: file is empty\n"
    assert "mlci-git-" not in done.stderr and str(clone.parent / "tmp") not in done.stderr
    done = compare(clone, "git:HEAD:unpaired.csv")
    assert done.returncode == 2
    assert "are not in git:HEAD:unpaired.csv" in done.stderr
    assert "mlci-git-" not in done.stderr and str(clone.parent / "tmp") not in done.stderr
    assert leftovers(clone) == []
