"""The canary component (templates/canary.yml) in a real gitlab-ci-local pipeline.

The test writes a small project of its own: mlci.yml with a `canary:` section,
stable samples, a slow canary (latency 1.5 × on a `critical: true` metric) and a
healthy one, and a .gitlab-ci.yml that includes the component twice, as a user
would (`component: $CI_SERVER_FQDN/org/mlci/canary@1.0.0`, resolved offline to
this checkout's templates/), once per canary. After each judge job, a job that
runs on success (the promotion) and one that runs `when: on_failure` (the
rollback) echo the dotenv variables they got.

A second pipeline is the traffic-step rollout of docs/canary.md ("In CI",
GitLab): one stage per step, each job (extending the setup component's
`.mlci-setup`) judges its step and, on a fail verdict, rolls the alias back in
an MLflow registry (mlci's embedded SQLite registry in a file, seeded with
`production` promoted 1 → 2). The canary is healthy at 5 % and slow at 25 %: the
25 % job fails and rolls back, 50 % and 100 % never start.

Each pipeline runs once per module (shell executor, the test venv's mlci) and
serves several tests; about 20 s in all.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.tools import find_tool as tool

from .gitlab_helpers import Pipeline, clean_env, git, lay_components, run_pipeline, venv_bin
from .test_act_canary import CONFIG, write_samples  # the same mlci.yml and samples

pytestmark = pytest.mark.e2e

SLOW, HEALTHY = "canary-slow", "canary-healthy"
PIPELINE = """\
stages: [canary, decide]

include:
  - component: $CI_SERVER_FQDN/org/mlci/canary@1.0.0
    inputs:
      stage: canary
      job-name: canary-slow
      needs: []                  # the samples are committed
      stable: metrics/stable.csv
      canary: metrics/slow.csv
      model: models:/fraud/2
      weight: "25"
  - component: $CI_SERVER_FQDN/org/mlci/canary@1.0.0
    inputs:
      stage: canary
      job-name: canary-healthy
      needs: []
      stable: metrics/stable.csv
      canary: metrics/healthy.csv
      model: models:/fraud/3
      weight: "25"

.decide:
  stage: decide
  script:
    - echo "$ACTION after canary verdict=$MLCI_CANARY_VERDICT score=$MLCI_CANARY_SCORE"
      "result=$MLCI_CANARY_RESULT_PATH"

promote-slow:
  extends: .decide
  needs: [canary-slow]
  variables: {ACTION: promoting}
rollback-slow:
  extends: .decide
  needs: [canary-slow]
  when: on_failure
  variables: {ACTION: rolling back}
promote-healthy:
  extends: .decide
  needs: [canary-healthy]
  variables: {ACTION: promoting}
rollback-healthy:
  extends: .decide
  needs: [canary-healthy]
  when: on_failure
  variables: {ACTION: rolling back}
"""


# docs/canary.md's GitLab rollout, with the deploy tool's commands echoed instead of
# run, no wait for metrics, and each step's samples from a file of its own.
ROLLOUT = """\
stages: [canary-5, canary-25, canary-50, canary-100]

include:
  - component: $CI_SERVER_FQDN/org/mlci/setup@1.0.0

.canary-step:
  extends: .mlci-setup
  resource_group: fraud-canary
  variables:
    MLCI_INSTALL_VERSION: "0.1.0"
    MLCI_STABLE: metrics/stable.csv
    MLCI_MODEL: models:/fraud/2
  script:
    - echo ./deploy/set-traffic.sh "$MLCI_WEIGHT"
    - |
      status=0
      mlci canary --canary "metrics/canary-$MLCI_WEIGHT.csv" || status=$?
      if [ "$status" -eq 1 ]; then
        echo ./deploy/set-traffic.sh 0
        mlci rollback --name fraud --alias production --reason "canary failed at $MLCI_WEIGHT%"
      fi
      exit "$status"
  artifacts:
    when: always
    paths: [.mlci/]
    reports:
      dotenv: .mlci/canary.env
      junit: .mlci/canary.junit.xml

canary-5:   {extends: .canary-step, stage: canary-5,   variables: {MLCI_WEIGHT: "5"}}
canary-25:  {extends: .canary-step, stage: canary-25,  variables: {MLCI_WEIGHT: "25"}}
canary-50:  {extends: .canary-step, stage: canary-50,  variables: {MLCI_WEIGHT: "50"}}
canary-100: {extends: .canary-step, stage: canary-100, variables: {MLCI_WEIGHT: "100"}}
"""


def canary_project(project: Path, pipeline: str, samples: dict[str, float]) -> Path:
    """A user's project: the pipeline, mlci.yml and the samples (file → latency scale),
    committed, with this checkout's templates where the component includes resolve."""
    (project / "metrics").mkdir(parents=True)
    (project / ".gitlab-ci.yml").write_text(pipeline, encoding="utf-8")
    (project / "mlci.yml").write_text(CONFIG, encoding="utf-8")
    rng = np.random.default_rng(20240508)
    for name, scale in samples.items():
        write_samples(project / "metrics" / name, rng, scale)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "canary project")
    lay_components(project)
    return project


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    project = canary_project(tmp_path_factory.mktemp("gl-canary") / "project", PIPELINE,
                             {"stable.csv": 1.0, "slow.csv": 1.5, "healthy.csv": 1.0})
    return run_pipeline(project, timeout=180)


@dataclass(frozen=True)
class Registry:
    """mlci's embedded SQLite registry in a file outside the project (the jobs get its
    URI as MLFLOW_TRACKING_URI), and the test venv's mlci to look into it."""

    uri: str
    scratch: Path

    def mlci(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([tool("mlci"), *args, "--registry", self.uri],
                              cwd=self.scratch, capture_output=True, text=True, timeout=120,
                              env=clean_env(f"{venv_bin()}:/usr/bin:/bin"),
                              stdin=subprocess.DEVNULL)

    def history(self) -> list[dict[str, Any]]:
        done = self.mlci("history", "--name", "fraud", "--alias", "production",
                         "--format", "json", "--out", str(self.scratch / "history"))
        assert done.returncode == 0, done.stdout + done.stderr
        entries: list[dict[str, Any]] = json.loads(done.stdout)
        return entries


@dataclass(frozen=True)
class Rollout:
    pipeline: Pipeline
    registry: Registry


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> Rollout:
    base = tmp_path_factory.mktemp("gl-rollout")
    scratch = base / "registry"
    scratch.mkdir()
    registry = Registry(f"sqlite:///{scratch}/registry.db", scratch)
    for number in (1, 2):  # production: (none) → 1 → 2
        model = scratch / f"model-{number}"
        model.mkdir()
        (model / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
        (model / "weights.bin").write_bytes(f"version {number}".encode())
        done = registry.mlci("promote", "--name", "fraud", "--model", str(model), "--alias",
                             "production", "--reason", f"release {number}",
                             "--out", str(scratch / f"out-{number}"))
        assert done.returncode == 0, done.stdout + done.stderr
    project = canary_project(base / "project", ROLLOUT, {
        "stable.csv": 1.0, "canary-5.csv": 1.0, "canary-25.csv": 1.5, "canary-50.csv": 1.5,
        "canary-100.csv": 1.5})
    return Rollout(run_pipeline(project, f"MLFLOW_TRACKING_URI={registry.uri}", timeout=180),
                   registry)


def test_the_slow_canary_fails_its_job_and_the_rollback_job_runs(pipeline: Pipeline) -> None:
    statuses = pipeline.statuses
    assert pipeline.returncode != 0, pipeline.describe()
    assert statuses.get(SLOW) == "FAIL", pipeline.describe()
    assert statuses.get("rollback-slow") == "PASS", pipeline.describe()
    assert "promote-slow" not in statuses, pipeline.describe()
    log = pipeline.log(SLOW)
    assert "mlci canary: FAIL — score 0" in log, log
    assert "FAIL  latency_ms: High (critical)" in log, log
    # the verdict reaches the on_failure job through the dotenv report
    assert ("rolling back after canary verdict=fail score=0 result=.mlci/canary.json"
            in pipeline.log("rollback-slow")), pipeline.describe()


def test_the_healthy_canary_passes_and_only_the_promotion_runs(pipeline: Pipeline) -> None:
    statuses = pipeline.statuses
    assert statuses.get(HEALTHY) == "PASS", pipeline.describe()
    assert statuses.get("promote-healthy") == "PASS", pipeline.describe()
    assert "rollback-healthy" not in statuses, pipeline.describe()
    assert "mlci canary: PASS — score 100" in pipeline.log(HEALTHY)
    assert ("promoting after canary verdict=pass score=100 result=.mlci/canary.json"
            in pipeline.log("promote-healthy")), pipeline.describe()


@pytest.mark.parametrize(("job", "verdict"), [(SLOW, "fail"), (HEALTHY, "pass")])
def test_reports_and_documents_are_kept(pipeline: Pipeline, job: str, verdict: str) -> None:
    """The dotenv and JUnit reports, and the result document, also of the failed job."""
    dotenv = pipeline.artifact(job, ".gitlab-ci-reports/dotenv/.mlci/canary.env")
    assert dotenv.is_file(), pipeline.describe()
    values = dict(line.split("=", 1) for line in dotenv.read_text().splitlines() if line)
    assert values["MLCI_CANARY_VERDICT"] == verdict
    assert values["MLCI_CANARY_JUNIT_PATH"] == ".mlci/canary.junit.xml"
    doc = json.loads(pipeline.artifact(job, ".mlci/canary.json").read_text())
    assert doc["verdict"] == verdict
    assert doc["traffic"] == {"canary": 25, "stable": 75}  # the weight input reached mlci
    assert doc["subject"]["model"].startswith("models:/fraud/")
    junit = ET.parse(pipeline.artifact(job, ".mlci/canary.junit.xml")).getroot()
    failed = {case.get("name") for case in junit.iter("testcase")
              if case.find("failure") is not None}
    assert bool(failed) == (verdict == "fail"), failed
    assert pipeline.artifact(job, ".mlci/canary.md").is_file()


def test_the_rollout_stops_at_the_failing_step_and_rolls_back(rollout: Rollout) -> None:
    pipeline = rollout.pipeline
    assert pipeline.returncode != 0, pipeline.describe()
    assert pipeline.statuses == {"canary-5": "PASS", "canary-25": "FAIL"}, pipeline.describe()
    five = pipeline.log("canary-5")
    assert "mlci canary: PASS" in five and "mlci rollback" not in five, five
    log = pipeline.log("canary-25")
    assert "mlci canary: FAIL — score 0" in log, log
    assert "./deploy/set-traffic.sh 0" in log
    assert "mlci rollback: PASS — rolled production back to v1" in log, log
    history = rollout.registry.history()
    assert [(e["action"], e["from_version"], e["to_version"]) for e in history] == [
        ("promote", None, 1), ("promote", 1, 2), ("rollback", 2, 1)], history
    assert history[-1]["reason"] == "canary failed at 25%"
    # the judgement of the failed step is kept, with its traffic split
    doc = json.loads(pipeline.artifact("canary-25", ".mlci/canary.json").read_text())
    assert doc["verdict"] == "fail" and doc["traffic"] == {"canary": 25, "stable": 75}
