"""Fixtures for `mlci report`: result documents, a fake Git host, CI environments."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlci.commands.report import report
from tests.report.fake_hosts import FakeHosts

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
GITHUB_TOKEN = "ghs_FAKE0123456789abcdefTOKENsecret"
GITLAB_TOKEN = "glpat-FAKE0123456789TOKENsecret"
SHA = "0123456789abcdef0123456789abcdef01234567"
PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "MLCI_", "RUNNER_")


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    workdir: Path

    @property
    def out(self) -> Path:
        return self.workdir / ".mlci"

    def doc(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / "report.json").read_text())
        return loaded

    def check(self, name: str) -> dict[str, Any]:
        return next(c for c in self.doc()["checks"] if c["name"] == name)


@pytest.fixture
def clean_env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No CI variables at all, whatever the machine running the tests has."""
    for name in list(os.environ):
        if name.startswith(PREFIXES) or name == "GITLAB_CI":
            monkeypatch.delenv(name, raising=False)
    return workdir


@pytest.fixture
def results(clean_env: Path) -> Path:
    """`.mlci/` with valid documents of four steps (no invalid one)."""
    out = clean_env / ".mlci"
    out.mkdir()
    for name in ("validate.json", "compare.json", "drift.json", "lineage-tag.json"):
        shutil.copy(FIXTURES / "full" / name, out / name)
    return out


@pytest.fixture
def run_report(clean_env: Path) -> Callable[..., Run]:
    """`mlci report ARGS` in-process with `env` (the click command itself, so it works
    before `report` is registered in mlci/cli.py)."""

    def run(*args: str, env: dict[str, str] | None = None) -> Run:
        result = CliRunner().invoke(report, list(args), env=env, catch_exceptions=False,
                                    prog_name="mlci report")
        return Run(result.exit_code, result.stdout, result.stderr, clean_env)

    return run


@pytest.fixture
def hosts() -> Iterator[FakeHosts]:
    fake = FakeHosts(GITHUB_TOKEN, GITLAB_TOKEN).start()
    yield fake
    fake.stop()
    assert not fake.errors, "requests that do not match the documented API:\n" + "\n".join(
        fake.errors)


def pr_event(number: int = 5, head_repo: str = "o/r") -> dict[str, Any]:
    return {"pull_request": {"number": number, "head": {"sha": SHA, "repo": {
        "full_name": head_repo}}}, "repository": {"full_name": "o/r"}}


@pytest.fixture
def github_env(clean_env: Path, hosts: FakeHosts) -> Callable[..., dict[str, str]]:
    def make(event: dict[str, Any] | None = None, event_name: str = "pull_request",
             token: str | None = GITHUB_TOKEN, **extra: str) -> dict[str, str]:
        event_path = clean_env / "event.json"
        event_path.write_text(json.dumps(pr_event() if event is None else event))
        env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": hosts.github_api,
               "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": event_name,
               "GITHUB_EVENT_PATH": str(event_path), "GITHUB_SHA": SHA,
               "GITHUB_WORKFLOW": "CI", "GITHUB_SERVER_URL": "https://github.example",
               "GITHUB_RUN_ID": "42", "GITHUB_OUTPUT": str(clean_env / "github_output"),
               "GITHUB_STEP_SUMMARY": str(clean_env / "step_summary.md")}
        if token is not None:
            env["GITHUB_TOKEN"] = token
        env.update(extra)
        return env

    return make


@pytest.fixture
def gitlab_env(clean_env: Path, hosts: FakeHosts) -> Callable[..., dict[str, str]]:
    def make(token: str | None = GITLAB_TOKEN, **extra: str) -> dict[str, str]:
        env = {"GITLAB_CI": "true", "CI_API_V4_URL": hosts.gitlab_api, "CI_PROJECT_ID": "77",
               "CI_MERGE_REQUEST_PROJECT_ID": "77", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "77",
               "CI_MERGE_REQUEST_IID": "9", "CI_JOB_NAME": "report",
               "CI_PROJECT_URL": "https://gitlab.example/g/p",
               "CI_PIPELINE_URL": "https://gitlab.example/g/p/-/pipelines/3",
               "CI_JOB_URL": "https://gitlab.example/g/p/-/jobs/11",
               "CI_JOB_TOKEN": "job-token-not-for-notes", "CI_COMMIT_SHA": SHA}
        if token is not None:
            env["MLCI_TOKEN"] = token
        env.update(extra)
        return env

    return make


def files_containing(root: Path, needle: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(path)
    return found


def assert_secret_absent(run: Run, token: str) -> None:
    """The token appears nowhere, except in GitHub's own `::add-mask::` command, which
    the runner consumes (it is how a value gets masked)."""
    lines = [line for line in (run.stdout + run.stderr).splitlines()
             if token in line and line != f"::add-mask::{token}"]
    assert lines == []
    assert files_containing(run.workdir, token) == []


def big_document(checks: int = 200, failing: int = 10) -> dict[str, Any]:
    """A compare document with many checks and long messages: far over 65,536 bytes
    as a report."""
    items = []
    for i in range(checks):
        status = "fail" if i % (checks // failing) == 0 else "pass"
        items.append({"name": f"recall[segment={i:03d}]", "metric": "recall",
                      "slice": {"column": "segment", "value": f"{i:03d}"}, "status": status,
                      "value": 0.8 + i / 10_000, "baseline": 0.81, "delta": i / 10_000 - 0.01,
                      "ci": [i / 10_000 - 0.03, i / 10_000 + 0.01], "threshold": -0.005,
                      "confidence": 0.95,
                      "message": f"segment {i:03d}: " + "the interval lies above the margin; "
                      * 8})
    return {"schema": "mlci/result/v1", "step": "compare", "verdict": "fail",
            "summary": f"{failing} of {checks} slices are worse than the baseline",
            "checks": items, "subject": {"model": "m", "model_digest": "sha256:" + "ab" * 32},
            "lineage": {}, "mlci_version": "0.1.0", "started_at": "2026-01-05T10:00:00+00:00",
            "duration_s": 1.0}


@pytest.fixture
def big_result() -> dict[str, Any]:
    return big_document()
