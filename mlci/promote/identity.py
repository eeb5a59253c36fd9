"""Which CI run and job this process belongs to, the same in every attempt of them.

A re-run of a failed job must recognise what its earlier attempt left in the
registry: its queue ticket (so it never waits on itself) and its half-made
move (so it completes it). And a rollback must tell this run's `promote.json`
from one that came from elsewhere (a laptop's old out folder, another run's
artifact). Outside CI there is no such identity: None, and those rules fall
back to what can be checked on the machine itself."""

from __future__ import annotations

import os
from collections.abc import Mapping


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def run(environ: Mapping[str, str] | None = None) -> str | None:
    """The workflow run (GitHub) or pipeline (GitLab): shared by its jobs and attempts."""
    env = _env(environ)
    if env.get("GITHUB_ACTIONS") == "true":
        return _join("github:", env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID"))
    if env.get("GITLAB_CI") == "true":
        return _join("gitlab:", env.get("CI_PROJECT_ID") or env.get("CI_PROJECT_PATH"),
                     env.get("CI_PIPELINE_ID"))
    return None


def job(environ: Mapping[str, str] | None = None) -> str | None:
    """One job of that run, across its attempts: GitHub's job id (`GITHUB_JOB`), GitLab's
    job name (a retry gets a new job ID, not name). A GitHub matrix's legs share the job
    id and no variable tells them apart, so a matrix that moves an alias sets
    `MLCI_JOB_KEY` (e.g. `${{ matrix.weight }}`) in the job's env: without it, one leg
    would take another's move for its own earlier attempt."""
    env = _env(environ)
    pipeline = run(env)
    if pipeline is None:
        return None
    name = env.get("GITHUB_JOB") if pipeline.startswith("github:") else env.get("CI_JOB_NAME")
    joined = _join(pipeline + "/", name)
    key = env.get("MLCI_JOB_KEY", "").strip()
    return f"{joined}#{key}" if joined and key else joined


def _join(start: str, *parts: str | None) -> str | None:
    if not all(parts):
        return None
    return start + "/".join(str(p) for p in parts)
