"""Fixtures for promote/rollback/history: real MLflow servers (SQLite and PostgreSQL
backends, started once per session) and a `Lab` that makes runs, versions, result
documents and signed models, and runs the steps in-process against them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlci import runner
from mlci.options import Common
from tests.promote.servers import MlflowServer, Postgres, postgres_bindir

CI_VARIABLES = ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
                "GITHUB_ENV", "MLCI_CONFIG", "MLCI_OUT", "MLFLOW_TRACKING_URI",
                "MLFLOW_REGISTRY_URI", "MLCI_REGISTRY", "MLCI_REGISTRY_RETRIES",
                "GITHUB_RUN_ID", "GITHUB_JOB", "GITHUB_REPOSITORY", "CI_PIPELINE_ID",
                "CI_JOB_NAME", "CI_PROJECT_ID", "CI_PROJECT_PATH")


@pytest.fixture(autouse=True)
def laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No CI variables, a known user, and a working folder without an mlci.yml."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def in_github_job(monkeypatch: pytest.MonkeyPatch, folder: Path, run_id: str = "4242",
                  job: str = "promote") -> str:
    """Make this process look like a step of a GitHub Actions job (each attempt of a
    re-run has the same run ID and job); returns the run URL history entries record."""
    for name, value in {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.example",
                        "GITHUB_REPOSITORY": "org/fraud", "GITHUB_RUN_ID": run_id,
                        "GITHUB_JOB": job, "GITHUB_ACTOR": "octocat",
                        "GITHUB_OUTPUT": str(folder / "gh-output"),
                        "GITHUB_STEP_SUMMARY": str(folder / "gh-summary")}.items():
        monkeypatch.setenv(name, value)
    return f"https://github.example/org/fraud/actions/runs/{run_id}"


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("mlflow-sqlite")
    server = MlflowServer(f"sqlite:///{root}/mlflow.db", root).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found: run scripts/tools/postgresql.sh")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("psycopg2 is not installed (pip install psycopg2-binary)")
    database = Postgres(bindir).start()
    root = tmp_path_factory.mktemp("mlflow-postgres")
    try:
        server = MlflowServer(database.url, root).start()
    except Exception:
        database.stop()
        raise
    yield server
    server.stop()
    database.stop()


@dataclass
class Invocation:
    code: int
    stdout: str
    stderr: str
    out: Path

    def doc(self, step: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / f"{step}.json").read_text())
        return loaded

    def outputs(self, step: str) -> dict[str, str]:
        lines = (self.out / f"{step}.env").read_text().splitlines()
        prefix = f"MLCI_{step.upper()}_"
        return {k[len(prefix):]: v for k, _, v in (line.partition("=") for line in lines)
                if k.startswith(prefix)}


class Lab:
    """One registered model on one server, and the out folder of one CI job."""

    def __init__(self, url: str, root: Path) -> None:
        from mlflow.tracking import MlflowClient

        self.url = url
        self.root = root
        self.name = f"m-{uuid.uuid4().hex[:10]}"
        self.made = 0
        self.out = root / ".mlci"
        self.client = MlflowClient(tracking_uri=url, registry_uri=url)
        experiment = self.client.get_experiment_by_name("Default")
        self.experiment_id = experiment.experiment_id if experiment else "0"

    # -- models and versions -----------------------------------------------------

    def model_dir(self, label: str, key_pem: str | None = None) -> Path:
        folder = self.root / "models" / label
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text("flavors: {}\n")
        (folder / "weights.bin").write_bytes(f"weights of {label}".encode())
        if key_pem is not None:
            sign(folder, key_pem)
        return folder

    def log_run(self, folder: Path) -> str:
        run = self.client.create_run(self.experiment_id)
        self.client.log_artifacts(run.info.run_id, str(folder), "model")
        self.client.set_terminated(run.info.run_id)
        return str(run.info.run_id)

    def run_uri(self, label: str, key_pem: str | None = None) -> str:
        return f"runs:/{self.log_run(self.model_dir(label, key_pem))}/model"

    def register(self, run_uri: str) -> int:
        run_id = run_uri.split("/")[1]
        if not self.client.search_registered_models(f"name = '{self.name}'"):
            self.client.create_registered_model(self.name)
        version = self.client.create_model_version(self.name, run_uri, run_id)
        return int(version.version)

    def versions(self, count: int) -> list[int]:
        made = []
        for _ in range(count):
            self.made += 1
            made.append(self.register(self.run_uri(f"model-{self.made}")))
        return made

    def version_count(self) -> int:
        if not self.client.search_registered_models(f"name = '{self.name}'"):
            return 0
        return len(self.client.search_model_versions(f"name = '{self.name}'"))

    # -- registry state as mlci sees it -----------------------------------------

    def alias(self, alias: str) -> int | None:
        found = self.client.get_registered_model(self.name).aliases.get(alias)
        return None if found is None else int(found)

    def tags(self) -> dict[str, str]:
        return dict(self.client.get_registered_model(self.name).tags)

    def history(self, alias: str) -> list[dict[str, Any]]:
        from mlci.registry import history

        return history.public_list(history.read(self.tags(), alias).entries)

    def tickets(self, alias: str) -> list[str]:
        return [k for k in self.tags() if k.startswith(f"mlci.lock.{alias}.")]

    # -- result documents --------------------------------------------------------

    def write_result(self, step: str, verdict: str = "pass", model: str | None = None,
                     digest: str | None = None, **fields: Any) -> Path:
        from mlci.result import Check, Result, write_json

        subject: dict[str, Any] = {"model": model, "inputs": {}}
        if digest is not None:
            subject["model_digest"] = digest
        status = verdict if verdict in ("pass", "warn", "fail") else "skip"
        result = Result(step=step, checks=[Check("a check", status, "as written by the test")],
                        summary=f"{step} said {verdict}", subject=subject, extra=fields)
        return write_json(result, self.out)

    # -- the steps, in-process ---------------------------------------------------

    def common(self, out: Path | None = None) -> Common:
        return Common(config=None, out=str(out or self.out), debug=False)

    def promote(self, alias: str, *, out: Path | None = None, **options: Any) -> Invocation:
        from mlci.promote.options import PromoteOptions
        from mlci.promote.run import run

        options.setdefault("name", self.name)
        options.setdefault("registry", self.url)
        return _capture(out or self.out, lambda: runner.run(
            "promote", self.common(out), run, PromoteOptions(alias=alias, **options)))

    def rollback(self, alias: str, reason: str, *, out: Path | None = None,
                 **options: Any) -> Invocation:
        from mlci.promote.options import RollbackOptions
        from mlci.promote.run import run_rollback

        options.setdefault("name", self.name)
        options.setdefault("registry", self.url)
        return _capture(out or self.out, lambda: runner.run(
            "rollback", self.common(out), run_rollback,
            RollbackOptions(alias=alias, reason=reason, **options)))

    def history_cmd(self, alias: str, **options: Any) -> Invocation:
        """`mlci history`, as its command runs it: no result document, out folder untouched."""
        from mlci.promote.options import HistoryOptions
        from mlci.promote.run import run_history

        options.setdefault("name", self.name)
        options.setdefault("registry", self.url)
        return _capture(self.out, lambda: runner.run(
            "history", self.common(), run_history, HistoryOptions(alias=alias, **options),
            document=False, uses_out=False))


def _capture(out: Path, call: Any) -> Invocation:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = call()
    return Invocation(code, stdout.getvalue(), stderr.getvalue(), out)


def sign(folder: Path, key_pem: str) -> str:
    """Sign a model folder exactly as `mlci lineage tag --model DIR --key KEY` does."""
    from mlci.lineage import signing
    from mlci.lineage.hashing import snapshot

    snap = snapshot(folder, exclude=[signing.SIGNATURE_NAME])
    document = signing.sign(signing.load_private_key(key_pem), snap.id, snap.entries)
    signing.write(signing.signature_path(folder), document)
    return snap.id


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_path: Path
    key_id: str


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    from mlci.lineage import signing

    folder = tmp_path_factory.mktemp("keys")
    pairs: dict[str, KeyPair] = {}
    for label in ("ours", "theirs"):
        private, public, kid = signing.generate()
        path = folder / f"{label}.pub.pem"
        path.write_bytes(public)
        pairs[label] = KeyPair(private.decode(), path, kid)
    return pairs


@pytest.fixture
def lab(sqlite_server: MlflowServer, laptop: Path) -> Lab:
    return Lab(sqlite_server.url, laptop)


def mlci_command(step: str) -> list[str]:
    """`python -m mlci STEP` once the step is in the CLI, else its click command directly."""
    from mlci.cli import COMMANDS

    if step in COMMANDS:
        return [sys.executable, "-m", "mlci", step]
    return [sys.executable, "-c", f"import sys; sys.argv[0] = 'mlci {step}'; "
            f"from mlci.commands.{step} import {step}; {step}()"]


def run_cli(step: str, *args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    full_env.update(env or {})
    return subprocess.run([*mlci_command(step), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
