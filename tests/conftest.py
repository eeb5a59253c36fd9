"""Small, composable fixtures shared by the unit tests."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from mlci.cli import main

REPO = Path(__file__).resolve().parent.parent

# What makes a test slow: a real CI runner (act, gitlab-ci-local), a real server
# (mlflow, PostgreSQL, Prometheus) or the linters. `pytest -m "not slow"` is the
# fast loop; the README's test command runs everything.
SLOW_FIXTURES = frozenset({"sqlite_server", "postgres_server", "fragile_server", "race_server",
                           "prometheus", "lab"})
SLOW_FILES = frozenset({
    "test_actions_lint.py",
    # real git clones, child processes measured for memory, MLflow model logging,
    # embedded registries created and killed, docs snippets run in a trained project
    "test_git_refs.py", "test_hostile_inputs.py", "test_redact.py", "test_shadow.py",
    "test_content.py", "test_faults.py", "test_snippets.py", "test_out_folder.py",
    "test_lineage_mlflow.py", "test_validate_model.py", "test_post_github.py",
    "test_post_gitlab.py",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if (item.get_closest_marker("e2e") or fixtures & SLOW_FIXTURES
                or item.path.name in SLOW_FILES):
            item.add_marker(pytest.mark.slow)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    out: Path

    def doc(self, step: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / f"{step}.json").read_text())
        return loaded


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working folder with no CI variables, as on a laptop."""
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
                 "MLCI_CONFIG", "MLCI_OUT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def write_config(workdir: Path) -> Callable[[str], Path]:
    def write(body: str, name: str = "mlci.yml") -> Path:
        path = workdir / name
        path.write_text(textwrap.dedent(body).lstrip("\n"))
        return path

    return write


@pytest.fixture
def write_table(workdir: Path) -> Callable[..., Path]:
    def write(frame: pd.DataFrame | dict[str, Any], name: str = "predictions.csv") -> Path:
        frame = pd.DataFrame(frame)
        path = workdir / name
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        elif path.suffix == ".jsonl":
            frame.to_json(path, orient="records", lines=True)
        else:
            frame.to_csv(path, index=False)
        return path

    return write


@pytest.fixture
def mlci(workdir: Path) -> Callable[..., Run]:
    """Run the CLI in-process, the way a user types it."""

    def run(*args: str, env: dict[str, str] | None = None) -> Run:
        runner = CliRunner()
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False, prog_name="mlci")
        return Run(result.exit_code, result.stdout, result.stderr, workdir / ".mlci")

    return run
