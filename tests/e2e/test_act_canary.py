"""The canary pattern under the real `act`, against a real `mlflow server`.

tests/e2e/workflows/canary.yml is what docs/canary.md ("In CI") tells users to
write: a plan job (`mlci canary plan` after org/mlci/setup) whose weights become
the matrix of the canary job; each step judges the canary with org/mlci/canary
(`id: judge`) and, `if: failure() && steps.judge.outputs.verdict == 'fail'`,
moves the registry alias back with org/mlci/rollback.

A module fixture starts `mlflow server` (SQLite backend, 127.0.0.1, a free port).
Each case registers its own model with two versions and promotes `production`
to version 1, then to 2 with `mlci promote`, so the alias history has two
entries and a rollback has somewhere to go. Then act runs the workflow in a
fresh project with the samples the test wrote:

- a deliberately slow canary (latency 1.5 ×, on a `critical: true` metric), planned
  at 25 % then 100 %: the judge fails the first step (exit 1), the rollback step
  runs, the alias is back on version 1 and the history says `rollback` 2 → 1 with
  the reason `canary failed`. act ignores `fail-fast` and runs the 100 % step too;
  its rollback is a no-op (same reason, same run), so the alias moves back once;
- a healthy canary, planned at 10 % then 50 %: both steps pass, the rollback step
  is skipped, the alias and its history are untouched.

About 35 s on 2 cores: the server, four `mlci promote` calls, two act runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.promote.servers import MlflowServer

from .conftest import ActRun, find_tool, git_commit_all, run_mlci

pytestmark = pytest.mark.e2e

WORKFLOW_SOURCE = Path(__file__).resolve().parent / "workflows" / "canary.yml"
WORKFLOW = ".github/workflows/canary.yml"
ALIAS = "production"
SAMPLES = 120  # per side; min_samples is 50
ROLLBACK_STEP = "Roll back the failed canary"
JUDGE_STEP = "Judge the canary"

CONFIG = """\
version: 1
canary:
  metrics:
    latency_ms:
      direction: increase
      allowed_increase: 10%
      critical: true          # a slower canary fails the run on its own
    cpu_pct:
      direction: increase
      allowed_increase: 20%
"""


def write_samples(path: Path, rng: np.random.Generator, latency_scale: float) -> None:
    latency = rng.lognormal(np.log(40.0), 0.2, SAMPLES) * latency_scale
    cpu = rng.normal(55.0, 5.0, SAMPLES)
    rows = zip(latency, cpu, strict=True)
    lines = ["latency_ms,cpu_pct", *(f"{lat:.2f},{c:.2f}" for lat, c in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the registry


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("canary-mlflow")
    started = MlflowServer(f"sqlite:///{root}/mlflow.db", root).start()
    yield started
    started.stop()


@dataclass(frozen=True)
class Model:
    """One registered model on the server, `production` promoted 1 → 2 by mlci."""

    name: str
    url: str
    scratch: Path

    def alias_version(self) -> int | None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.url, registry_uri=self.url)
        held = client.get_registered_model(self.name).aliases.get(ALIAS)
        return None if held is None else int(held)

    def history(self) -> list[dict[str, Any]]:
        done = run_mlci("history", "--name", self.name, "--alias", ALIAS, "--registry",
                        self.url, "--format", "json", "--out", str(self.scratch / "history"),
                        cwd=self.scratch)
        assert done.returncode == 0, done.stdout + done.stderr
        entries: list[dict[str, Any]] = json.loads(done.stdout)
        return entries


def registered_model(server: MlflowServer, name: str, scratch: Path) -> Model:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    client.create_registered_model(name)
    for number in (1, 2):
        folder = scratch / f"model-{number}"
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
        (folder / "weights.bin").write_bytes(f"{name} version {number}".encode())
        run_id = client.create_run("0").info.run_id
        client.log_artifacts(run_id, str(folder), "model")
        client.set_terminated(run_id)
        made = client.create_model_version(name, f"runs:/{run_id}/model", run_id)
        assert int(made.version) == number
    for number in (1, 2):
        done = run_mlci("promote", "--name", name, "--version", str(number), "--alias", ALIAS,
                        "--registry", server.url, "--reason", f"release {number}",
                        "--out", str(scratch / f"promote-{number}"), cwd=scratch)
        assert done.returncode == 0, done.stdout + done.stderr
    model = Model(name, server.url, scratch)
    assert model.alias_version() == 2
    assert [(e["action"], e["from_version"], e["to_version"]) for e in model.history()] == [
        ("promote", None, 1), ("promote", 1, 2)], model.history()
    return model


# ---------------------------------------------------------------- the act runs


@dataclass(frozen=True)
class CanaryRun:
    run: ActRun
    model: Model
    project: Path


def canary_project(dest: Path, canary_latency: float) -> Path:
    """A user's project: the workflow, mlci.yml and the two sides' samples."""
    (dest / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW_SOURCE, dest / WORKFLOW)
    (dest / "mlci.yml").write_text(CONFIG, encoding="utf-8")
    (dest / "metrics").mkdir()
    rng = np.random.default_rng(20240508)
    write_samples(dest / "metrics" / "stable.csv", rng, 1.0)
    write_samples(dest / "metrics" / "canary.csv", rng, canary_latency)
    git_commit_all(dest)
    return dest


def run_case(module_act: Callable[..., ActRun], server: MlflowServer,
             tmp_path_factory: pytest.TempPathFactory, case: str, canary_latency: float,
             steps: str) -> CanaryRun:
    base = tmp_path_factory.mktemp(f"canary-{case}")
    model = registered_model(server, f"fraud-{case}", base / "registry")
    project = canary_project(base / "project", canary_latency)
    run = module_act(project, WORKFLOW, timeout=150,
                     env={"MLFLOW_TRACKING_URI": server.url, "MODEL_NAME": model.name,
                          "CANARY_STEPS": steps})
    return CanaryRun(run, model, project)


@pytest.fixture(scope="module")
def slow_canary(module_act: Callable[..., ActRun], server: MlflowServer,
                tmp_path_factory: pytest.TempPathFactory, venv_mlci: None) -> CanaryRun:
    return run_case(module_act, server, tmp_path_factory, "failing", 1.5, "25,100")


@pytest.fixture(scope="module")
def healthy_canary(module_act: Callable[..., ActRun], server: MlflowServer,
                   tmp_path_factory: pytest.TempPathFactory, venv_mlci: None) -> CanaryRun:
    return run_case(module_act, server, tmp_path_factory, "healthy", 1.0, "10,50")


MATRIX = re.compile(r"^\[canary/canary(?:-\d+)? *\] 🧪  Matrix: map\[weight:(\d+)\]")


def canary_job_lines(run: ActRun) -> list[str]:
    """Log lines of the canary job(s) (act names matrix jobs `canary-1`, `canary-2`, …)."""
    prefix = re.compile(r"^\[canary/canary(-\d+)? *\] ")
    return [line for line in run.log.splitlines() if prefix.match(line)]


def job_lines(run: ActRun, index: int) -> list[str]:
    """Log lines of the index-th matrix job of the canary job (1-based)."""
    prefix = re.compile(rf"^\[canary/canary-{index} *\] ")
    return [line for line in run.log.splitlines() if prefix.match(line)]


def step_ran(lines: list[str], step: str) -> bool:
    return any(f"⭐ Run Main {step}" in line for line in lines)


def step_succeeded(lines: list[str], step: str) -> bool:
    return any(f"✅  Success - Main {step}" in line for line in lines)


# ---------------------------------------------------------------- tests


def test_the_workflow_passes_the_linters() -> None:
    """What users copy from docs/canary.md must lint clean."""
    for cmd in ([find_tool("actionlint"), "-no-color", str(WORKFLOW_SOURCE)],
                [find_tool("zizmor"), "--offline", "--no-progress", str(WORKFLOW_SOURCE)],
                [find_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 str(WORKFLOW_SOURCE)]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"{cmd[0]}\n{done.stdout}\n{done.stderr}"


def test_a_failing_canary_rolls_the_alias_back(slow_canary: CanaryRun) -> None:
    run, model = slow_canary.run, slow_canary.model
    assert run.failed, run.log
    first = job_lines(run, 1)  # the first traffic step, 25 %
    assert "🧪  Matrix: map[weight:25]" in "\n".join(first), run.log
    # the judge failed the job with verdict fail and score 0 (the critical metric)
    assert any("::set-output:: verdict=fail" in line for line in first), run.log
    assert any("::set-output:: score=0" in line for line in first), run.log
    assert any("FAIL  latency_ms: High (critical)" in line for line in first), run.log
    assert any(f"❌  Failure - Main {JUDGE_STEP}" in line for line in first), run.log
    # … and the rollback step ran, and succeeded, in the same job
    assert step_ran(first, ROLLBACK_STEP) and step_succeeded(first, ROLLBACK_STEP), run.log
    assert any("::set-output:: version=1" in line for line in first), run.log
    kept = run.artifact("canary-25")
    judged = json.loads((kept / "canary.json").read_text())
    assert judged["verdict"] == "fail" and judged["score"] == 0
    rollback = json.loads((kept / "rollback.json").read_text())
    assert rollback["verdict"] == "pass", rollback

    assert model.alias_version() == 1
    history = model.history()
    assert [(e["action"], e["from_version"], e["to_version"]) for e in history] == [
        ("promote", None, 1), ("promote", 1, 2), ("rollback", 2, 1)], history
    assert history[-1]["reason"] == "canary failed"


def test_a_later_step_that_still_runs_does_not_roll_back_twice(slow_canary: CanaryRun) -> None:
    """GitHub's fail-fast cancels the queued 100 % step; act runs it anyway. Either way
    the alias moves back once: the same reason in the same run is a no-op."""
    run = slow_canary.run
    later = job_lines(run, 2)
    if not later:  # cancelled, as on GitHub
        return
    assert "🧪  Matrix: map[weight:100]" in "\n".join(later), run.log
    assert any("nothing to roll back for production" in line for line in later), run.log
    assert [e["action"] for e in slow_canary.model.history()].count("rollback") == 1


def test_the_plan_feeds_the_matrix(slow_canary: CanaryRun, healthy_canary: CanaryRun) -> None:
    """`mlci canary plan` → `weights` → one matrix job per step, in order, each judged at
    its weight (recorded as the result's traffic split) and keeping its own artifact."""
    for case, weights in ((slow_canary, [25, 100]), (healthy_canary, [10, 50])):
        run = case.run
        plan = [line for line in run.log.splitlines() if line.startswith("[canary/plan")]
        assert any(f"::set-output:: weights={json.dumps(weights)}" in line
                   for line in plan), run.log
        matrix = [int(m.group(1)) for line in run.log.splitlines()
                  for m in [MATRIX.search(line)] if m]
        assert matrix == weights[:len(matrix)] and matrix, run.log  # in order; later may be
        for weight in matrix:                                      # cancelled after a fail
            doc = json.loads((run.artifact(f"canary-{weight}") / "canary.json").read_text())
            assert doc["traffic"] == {"canary": weight, "stable": 100 - weight}
            assert doc["subject"]["model"] == f"models:/{case.model.name}/2"
    assert len(healthy_canary.run.lines("🧪  Matrix: ")) == 2


def test_a_healthy_canary_passes_and_nothing_rolls_back(healthy_canary: CanaryRun) -> None:
    run, model = healthy_canary.run, healthy_canary.model
    assert run.succeeded, run.log
    lines = canary_job_lines(run)
    assert len([line for line in lines if "| mlci canary: PASS" in line]) == 2, run.log
    for weight in (10, 50):
        kept = run.artifact(f"canary-{weight}")
        assert json.loads((kept / "canary.json").read_text())["verdict"] == "pass"
        assert not (kept / "rollback.json").exists()
    assert not step_ran(lines, ROLLBACK_STEP), run.log
    assert model.alias_version() == 2
    assert [(e["action"], e["from_version"], e["to_version"]) for e in model.history()] == [
        ("promote", None, 1), ("promote", 1, 2)]
