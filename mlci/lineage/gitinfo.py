"""Git facts for lineage: which commit a model came from, and whether the tree matched it.

Asked from the `git` command rather than a library so that what is recorded is
exactly what a developer sees with `git status`. On a GitHub pull_request
event the checkout is a merge commit nobody will ever check out again, so the
recorded `commit` is the PR head (from the CI facts) and the merge commit is
kept beside it. Untracked files do not make the tree dirty (mlci's own out
folder and downloaded data are usually untracked) but are listed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlci.errors import InputError

MAX_PATHS = 1000  # a tree with more changes than this is summarised by its count


def _git(cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}  # read-only: no index refresh
    try:
        return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, encoding="utf-8", errors="surrogateescape",
                              check=False)
    except FileNotFoundError as exc:
        raise InputError("git: command not found; install git, or pass --no-git to record "
                         "lineage without git facts") from exc


def _out(cwd: str, *args: str) -> str | None:
    proc = _git(cwd, *args)
    return proc.stdout.strip() if proc.returncode == 0 else None


def strip_credentials(url: str) -> str:
    """Drop user:password@ (tokens live there in CI clones) and any query string."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url  # scp-like `git@host:org/repo.git` carries no secret
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def toplevel(cwd: str) -> str:
    proc = _git(cwd, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "git failed"
        raise InputError(f"{Path(cwd).resolve()}: not a git checkout ({reason}); run mlci "
                         "lineage tag inside the repository, or pass --no-git to record "
                         "lineage without git facts")
    return proc.stdout.strip()


def _status(cwd: str) -> tuple[list[str], list[str]]:
    proc = _git(cwd, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    if proc.returncode != 0:
        raise InputError(f"{cwd}: git status failed: {proc.stderr.strip()}")
    changed: list[str] = []
    untracked: list[str] = []
    records = proc.stdout.split("\0")
    index = 0
    while index < len(records):
        record = records[index]
        index += 1
        if len(record) < 4:
            continue
        code, path = record[:2], record[3:]
        if code == "??":
            untracked.append(path)
            continue
        changed.append(path)
        if "R" in code or "C" in code:
            index += 1  # the next record is the rename/copy source
    return changed, untracked


def describe(cwd: str, facts: Mapping[str, Any], ignore: list[str] | None = None
             ) -> dict[str, Any]:
    """The `git` section of lineage.json; raises InputError outside a checkout.

    `ignore` lists folders (any form of path) holding mlci's own output, whose
    untracked files say nothing about the source."""
    top = toplevel(cwd)
    head = _out(cwd, "rev-parse", "--verify", "HEAD")
    if head is None:
        raise InputError(f"{top}: the git repository has no commits yet; commit first, or "
                         "pass --no-git")
    head_sha = facts.get("head_sha")
    if isinstance(head_sha, str) and head_sha and head_sha != head:
        commit, merge_commit = head_sha, head  # PR head vs the merge commit GitHub built
    else:
        commit, merge_commit = head, None
    branch = _out(cwd, "symbolic-ref", "-q", "--short", "HEAD")
    ref = facts.get("ref") if isinstance(facts.get("ref"), str) else None
    changed, untracked = _status(cwd)
    skip = [Path(os.path.relpath(os.path.realpath(p), top)).as_posix() + "/"
            for p in (ignore or [])]
    skip = [s for s in skip if not s.startswith("../")]
    untracked = [p for p in untracked if not any(p.startswith(s) for s in skip)]
    remote_name = "origin" if _out(cwd, "remote", "get-url", "origin") else None
    if remote_name is None:
        remotes = (_out(cwd, "remote") or "").split()
        remote_name = remotes[0] if remotes else None
    remote_url = _out(cwd, "remote", "get-url", remote_name) if remote_name else None
    return {
        "recorded": True,
        "commit": commit,
        "checkout": head,
        "merge_commit": merge_commit,
        "ref": ref or (f"refs/heads/{branch}" if branch else None),
        "branch": branch,
        "dirty": bool(changed),
        "changed": changed[:MAX_PATHS],
        "changed_count": len(changed),
        "untracked": untracked[:MAX_PATHS],
        "untracked_count": len(untracked),
        "remote": strip_credentials(remote_url) if remote_url else None,
    }


def not_recorded() -> dict[str, Any]:
    return {"recorded": False, "reason": "--no-git"}
