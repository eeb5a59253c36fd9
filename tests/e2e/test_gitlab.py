"""GitLab CI/CD components, proven with the real gitlab-ci-local.

The example pipeline (examples/.gitlab-ci.yml) includes the validate, compare,
lineage (twice: tag, then verify in a later job), promote, rollback and report
components exactly as a user would — `component: $CI_SERVER_FQDN/org/mlci/<step>@1.0.0`
— and gitlab-ci-local resolves them offline to this checkout's templates/. Jobs run
in the shell (no Docker) with the test venv's mlci and python. Each pipeline runs
once per module and serves several tests: the good one promotes into mlci's embedded
SQLite registry; the failed-deploy one into the session's real `mlflow server`, where
production already holds a version for the rollback job to return to. The
tampered-data case reruns only the verify job of a copy of the good pipeline, and the
report job is rerun alone on a copy of the good pipeline too: gitlab-ci-local never
starts a job that needs a job that never ran (here the rollback job of a green
pipeline), where GitLab counts that job as skipped and runs the report.

The static checks (schema, component rules, no inputs in scripts) need no
gitlab-ci-local and are not marked e2e."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import mlci
from tests.tools import find_tool as tool

from .conftest import MODEL_NAME, Registry
from .gitlab_helpers import (
    EXAMPLES,
    GLOBAL_KEYWORDS,
    TEMPLATES,
    Pipeline,
    clean_env,
    component,
    fake_mlci_wheel,
    gitlab_example_project,
    load_documents,
    preview,
    render,
    run_pipeline,
    script_lines,
    used_inputs,
)

TEMPLATE_FILES = sorted(TEMPLATES.glob("*.yml"))
STEP_TEMPLATES = [p for p in TEMPLATE_FILES if p.stem != "setup"]
VALIDATE_JOB = "mlci-validate"
COMPARE_JOB = "mlci-compare"
TAG_JOB = "mlci-lineage-tag"
VERIFY_JOB = "mlci-lineage-verify"
PROMOTE_JOB = "mlci-promote"
ROLLBACK_JOB = "rollback"  # the example names the rollback component's job so
REPORT_JOB = "mlci-report"
RESOURCE_GROUP = f"mlci-registry-{MODEL_NAME}"
GATES = ["validate", "compare", "lineage", "signature"]
INSTALLED = re.compile(r"^installing \S+ into ", re.M)  # what setup.yml prints when it installs
# Inputs that configure the job rather than the mlci command.
JOB_SETTINGS = {"stage", "job-name", "needs", "image", "mlci-version", "mlci-source",
                "resource-group", "when", "rules"}


def test_there_are_templates() -> None:
    for name in ("setup", "validate", "compare", "lineage", "promote", "rollback", "report",
                 "canary"):
        assert TEMPLATES / f"{name}.yml" in TEMPLATE_FILES


# --- pipelines in the real gitlab-ci-local -----------------------------------------------


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return run_pipeline(gitlab_example_project(tmp_path_factory.mktemp("gl") / "good"))


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return run_pipeline(gitlab_example_project(tmp_path_factory.mktemp("gl") / "weak"),
                        "MODEL_VARIANT=weak")


@dataclass
class ProjectKey:
    private: Path  # outside the project, as a File variable's file is
    key_id: str


@pytest.fixture(scope="module")
def project_key(tmp_path_factory: pytest.TempPathFactory) -> ProjectKey:
    folder = tmp_path_factory.mktemp("project-key")
    done = subprocess.run([tool("mlci"), "lineage", "keygen", "--dir", str(folder / "keys"),
                           "--out", str(folder / "out")],
                          capture_output=True, text=True, env=clean_env(os.environ["PATH"]),
                          timeout=60, check=True)
    key_id = re.search(r"signing key (sha256:[0-9a-f]{64})", done.stdout)
    assert key_id, done.stdout
    return ProjectKey(folder / "keys" / "mlci-signing.pem", key_id.group(1))


@dataclass
class DeployFails:
    pipeline: Pipeline
    registry: Registry
    before: int  # the version production held before the pipeline
    history_before: int  # entries in the alias history before the pipeline


# Appended to train.py in the deploy-fails project: the merge request's own code looks
# for the signing key in its environment, as a hostile train.py would.
LOOK_FOR_THE_KEY = """
import os as _os
_found = sorted(k for k, v in _os.environ.items() if "PRIVATE KEY" in v or "SIGNING" in k)
print(f"train.py looked for the signing key: {_found or 'not here'}")
"""


def scoped_file_variable(project: Path, name: str, environment: str, content: str) -> None:
    """A File variable scoped to one environment, kept where GitLab keeps CI/CD variables:
    outside the repository (gitlab-ci-local's variables file in its --home)."""
    home = project.parent / f"{project.name}-gcl-home" / ".gitlab-ci-local"
    home.mkdir(parents=True, exist_ok=True)
    (home / "variables.yml").write_text(yaml.safe_dump(
        {"global": {name: {"type": "file", "values": {environment: content}}}}))


@pytest.fixture(scope="module")
def deploy_fails_run(tmp_path_factory: pytest.TempPathFactory, project_key: ProjectKey,
                     registry: Registry) -> DeployFails:
    """The deploy job fails (DEPLOY_FAIL=1); and the project is set up as docs/gitlab.md
    says for real use: its public key committed as keys/mlci-signing.pub.pem, its private
    key the File variable MLCI_SIGNING_KEY scoped to the environment mlci-signing, and
    a real registry, the CI/CD variable MLFLOW_TRACKING_URI, where production already holds
    a version. Its train.py also looks for the key."""

    def set_up(project: Path) -> None:
        (project / "keys").mkdir()
        shutil.copy(project_key.private.with_name("mlci-signing.pub.pem"), project / "keys")
        with (project / "train.py").open("a", encoding="utf-8") as train:
            train.write(LOOK_FOR_THE_KEY)

    before = registry.ensure_production()
    history_before = len(registry.history())
    project = gitlab_example_project(tmp_path_factory.mktemp("gl") / "deploy-fails", set_up)
    scoped_file_variable(project, "MLCI_SIGNING_KEY", "mlci-signing",
                         project_key.private.read_text())
    pipeline = run_pipeline(project, "DEPLOY_FAIL=1", f"MLFLOW_TRACKING_URI={registry.url}")
    return DeployFails(pipeline, registry, before, history_before)


@pytest.fixture(scope="module")
def deploy_fails(deploy_fails_run: DeployFails) -> Pipeline:
    return deploy_fails_run.pipeline


@pytest.fixture(scope="module")
def good_report(good: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The report job alone, on a copy of the good pipeline (see the module docstring)."""
    project = tmp_path_factory.mktemp("gl") / "good-report"
    shutil.copytree(good.project, project, symlinks=True)
    return run_pipeline(project, jobs=(REPORT_JOB,))


@pytest.fixture(scope="module")
def tampered(good: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """A copy of the good pipeline whose training data changed by one byte after the
    tag job recorded it (in the train job's artifacts); then only the verify job runs."""
    project = tmp_path_factory.mktemp("gl") / "tampered"
    shutil.copytree(good.project, project, symlinks=True)
    # keys/ is the signing-key job's artifact, which gitlab-ci-local leaves in the folder;
    # not a committed file, which is what GitLab's `rules: exists` reads (it would skip
    # the signing-key job, whose artifact the verify job needs)
    shutil.rmtree(project / "keys")
    with (project / ".gitlab-ci-local" / "artifacts" / "train" / "data" / "train.csv").open(
            "ab") as data:
        data.write(b"\n")
    return run_pipeline(project, jobs=(VERIFY_JOB,))


@pytest.mark.e2e
def test_good_model_passes_the_whole_pipeline(good: Pipeline) -> None:
    assert good.returncode == 0, good.describe()
    statuses = good.statuses
    assert {"train", "signing-key", VALIDATE_JOB, COMPARE_JOB, TAG_JOB, VERIFY_JOB, "verdict",
            "deploy"} <= set(statuses), good.describe()
    assert set(statuses.values()) == {"PASS"}, good.describe()
    log = good.log(VALIDATE_JOB)
    assert "mlci validate: PASS" in log
    # the component's install step saw the test venv's mlci of the pinned version
    assert f"mlci {mlci.__version__} is already on PATH" in log and not INSTALLED.search(log)
    assert "mlci compare: PASS" in good.log(COMPARE_JOB)


@pytest.mark.e2e
def test_dotenv_outputs_reach_downstream_jobs(good: Pipeline) -> None:
    verdict = good.log("verdict")
    assert "mlci validate verdict=pass result=.mlci/validate.json" in verdict, good.describe()
    assert "mlci compare verdict=pass result=.mlci/compare.json" in verdict
    assert re.search(r"mlci lineage data=sha256:[0-9a-f]{64} model=sha256:[0-9a-f]{64}", verdict)
    assert "deploying the model (validate verdict pass)" in good.log("deploy")
    dotenv = good.artifact(VALIDATE_JOB, ".gitlab-ci-reports/dotenv/.mlci/validate.env")
    assert "MLCI_VALIDATE_VERDICT=pass" in dotenv.read_text().splitlines()
    compare_env = good.artifact(COMPARE_JOB, ".gitlab-ci-reports/dotenv/.mlci/compare.env")
    assert "MLCI_COMPARE_VERDICT=pass" in compare_env.read_text().splitlines()


@pytest.mark.e2e
def test_lineage_is_signed_then_verified_in_a_later_job(good: Pipeline) -> None:
    # the throwaway key the example makes when the project has no MLCI_SIGNING_KEY
    assert "new ECDSA P-256 signing key" in good.log("signing-key"), good.describe()
    tag = good.log(TAG_JOB)
    assert "mlci lineage-tag: PASS" in tag and "PASS  signature: signed sha256:" in tag, tag
    # lineage.json and the signature travel as the tag job's artifacts
    lineage = json.loads(good.artifact(TAG_JOB, ".mlci/lineage.json").read_text())
    assert [entry["path"] for entry in lineage["data"]] == ["data/train.csv", "eval/holdout.csv"]
    assert lineage["ci"]["platform"] == "gitlab"
    assert good.artifact(TAG_JOB, "model/mlci.sig").is_file()
    tag_env = good.artifact(TAG_JOB, ".gitlab-ci-reports/dotenv/.mlci/lineage-tag.env")
    assert f"MLCI_LINEAGE_TAG_DATA_ID={lineage['data_id']}" in tag_env.read_text().splitlines()
    verify = good.log(VERIFY_JOB)
    assert "mlci lineage-verify: PASS" in verify, verify
    assert "PASS  signature: model/mlci.sig: valid signature of sha256:" in verify
    junit = ET.parse(good.artifact(VERIFY_JOB, ".mlci/lineage-verify.junit.xml")).getroot()
    assert not [case for case in junit.iter("testcase") if case.find("failure") is not None]


@pytest.mark.e2e
def test_data_tampered_with_between_the_jobs_fails_verify(tampered: Pipeline) -> None:
    assert tampered.returncode != 0, tampered.describe()
    assert tampered.statuses == {VERIFY_JOB: "FAIL"}, tampered.describe()
    log = tampered.log(VERIFY_JOB)
    assert "mlci lineage-verify: FAIL" in log
    assert "FAIL  data changed: data/train.csv: data/train.csv changed since lineage" in log
    assert "PASS  signature: model/mlci.sig: valid signature" in log  # the model is intact
    dotenv = tampered.artifact(VERIFY_JOB, ".gitlab-ci-reports/dotenv/.mlci/lineage-verify.env")
    assert "MLCI_LINEAGE_VERIFY_VERDICT=fail" in dotenv.read_text().splitlines()


@pytest.mark.e2e
def test_junit_and_result_documents_are_artifacts(good: Pipeline) -> None:
    result = good.artifact(VALIDATE_JOB, ".mlci/validate.json")
    junit = good.artifact(VALIDATE_JOB, ".mlci/validate.junit.xml")
    assert result.is_file() and junit.is_file(), good.describe()
    assert good.artifact(VALIDATE_JOB, ".mlci/validate.md").is_file()
    doc = json.loads(result.read_text())
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert doc["verdict"] == "pass"
    assert len(cases) == len(doc["checks"]), "one JUnit test case per check"


@pytest.mark.e2e
def test_weak_model_fails_the_gate_and_nothing_deploys(weak: Pipeline) -> None:
    assert weak.returncode != 0, weak.describe()
    statuses = weak.statuses
    assert statuses.get("train") == "PASS", weak.describe()
    assert statuses.get(VALIDATE_JOB) == "FAIL", weak.describe()
    assert "deploy" not in statuses and "rollback" not in statuses, weak.describe()
    assert PROMOTE_JOB not in statuses, weak.describe()  # a failed gate: nothing is promoted
    assert "FAIL  accuracy" in weak.log(VALIDATE_JOB)
    # artifacts are kept on failure, so the verdict still reaches later jobs
    assert "mlci validate verdict=fail" in weak.log("verdict"), weak.describe()
    junit = ET.parse(weak.artifact(VALIDATE_JOB, ".mlci/validate.junit.xml")).getroot()
    assert any(case.find("failure") is not None for case in junit.iter("testcase"))


@pytest.mark.e2e
def test_weak_model_fails_the_compare_gate(weak: Pipeline) -> None:
    assert weak.statuses.get(COMPARE_JOB) == "FAIL", weak.describe()
    log = weak.log(COMPARE_JOB)
    assert "mlci compare: FAIL" in log
    # roc_auc is worse than the earlier baseline's; accuracy is lower, but inconclusive
    # on 171 rows
    assert re.search(r"FAIL  roc_auc: delta -0\.\d+ .* worse than the baseline", log), log
    assert re.search(r"WARN  accuracy: delta -0\.\d+ .* inconclusive", log), log
    assert "mlci compare verdict=fail result=.mlci/compare.json" in weak.log("verdict")
    junit = ET.parse(weak.artifact(COMPARE_JOB, ".mlci/compare.junit.xml")).getroot()
    failed = {case.get("name") for case in junit.iter("testcase")
              if case.find("failure") is not None}
    assert any("roc_auc" in str(name) for name in failed), failed
    # lineage does not judge quality: the weak model is still recorded and verifies
    assert weak.statuses.get(TAG_JOB) == "PASS" and weak.statuses.get(VERIFY_JOB) == "PASS"


@pytest.mark.e2e
def test_rollback_job_runs_after_a_failed_deploy(deploy_fails: Pipeline) -> None:
    statuses = deploy_fails.statuses
    assert deploy_fails.returncode != 0, deploy_fails.describe()
    assert statuses.get(VALIDATE_JOB) == "PASS", deploy_fails.describe()
    assert statuses.get("deploy") == "FAIL", deploy_fails.describe()
    assert statuses.get("rollback") == "PASS", deploy_fails.describe()
    assert "mlci rollback: PASS — rolled production back to v" in deploy_fails.log("rollback")


@pytest.mark.e2e
def test_the_signing_key_reaches_only_the_signing_job(deploy_fails: Pipeline) -> None:
    """train runs the project's code and never holds the key: it is scoped to the
    environment that only mlci-lineage-tag names."""
    assert "train.py looked for the signing key: not here" in deploy_fails.log("train"), \
        deploy_fails.describe()
    for job in deploy_fails.statuses:
        assert "PRIVATE KEY" not in deploy_fails.log(job), job


@pytest.mark.e2e
def test_a_project_signing_key_replaces_the_throwaway_one(deploy_fails: Pipeline,
                                                          project_key: ProjectKey) -> None:
    # the variable wins over the component's signing-key input; with the public key
    # committed, no throwaway key is made
    assert "signing-key" not in deploy_fails.statuses, deploy_fails.describe()
    assert f"with key {project_key.key_id} → model/mlci.sig" in deploy_fails.log(TAG_JOB)
    verify = deploy_fails.log(VERIFY_JOB)  # against the committed public key
    assert "PASS  signature: model/mlci.sig: valid signature of sha256:" in verify, verify
    assert f"by key {project_key.key_id}" in verify


@pytest.mark.e2e
def test_rollback_job_does_not_run_in_a_green_pipeline(good: Pipeline) -> None:
    assert "rollback" not in good.statuses, good.describe()


@pytest.mark.e2e
def test_good_model_is_promoted_then_deployed(good: Pipeline) -> None:
    """No MLFLOW_TRACKING_URI: mlci's embedded registry, which the job keeps as an artifact."""
    assert good.statuses.get(PROMOTE_JOB) == "PASS", good.describe()
    assert "no MLFLOW_TRACKING_URI: mlci-promote registers the folder model/" in good.log(
        "log-model")
    log = good.log(PROMOTE_JOB)
    assert f"mlci promote: PASS — promoted {MODEL_NAME} v1 to production" in log, log
    for gate in GATES:
        assert re.search(rf"^  PASS  {gate}: ", log, re.M), (gate, log)
    assert "PASS  alias: production: (none) → v1" in log
    assert good.artifact(PROMOTE_JOB, ".mlci/registry.db").is_file()
    dotenv = good.artifact(PROMOTE_JOB, ".gitlab-ci-reports/dotenv/.mlci/promote.env")
    lines = dotenv.read_text().splitlines()
    assert {"MLCI_PROMOTE_VERDICT=pass", "MLCI_PROMOTE_VERSION=1",
            "MLCI_PROMOTE_PREVIOUS_VERSION="} <= set(lines), lines
    junit = ET.parse(good.artifact(PROMOTE_JOB, ".mlci/promote.junit.xml")).getroot()
    assert {case.get("name") for case in junit.iter("testcase")} >= {*GATES, "alias"}
    # the deploy job reads the promote job's dotenv outputs
    assert "deploying models:/breast-cancer@production (v1, was vnone)" in good.log("deploy")


@pytest.mark.e2e
def test_promote_and_rollback_jobs_share_the_models_resource_group(good: Pipeline) -> None:
    """As gitlab-ci-local resolves the example: both jobs that move the model's aliases
    are in one resource group, so GitLab runs them one at a time."""
    jobs = preview(good.project)
    assert jobs[PROMOTE_JOB]["resource_group"] == RESOURCE_GROUP
    assert jobs[ROLLBACK_JOB]["resource_group"] == RESOURCE_GROUP
    assert jobs[ROLLBACK_JOB]["when"] == "on_failure"
    assert jobs[PROMOTE_JOB]["variables"]["MLCI_MODEL"] == "$MODEL_URI"
    assert jobs[COMPARE_JOB]["variables"]["MLCI_MODEL"] == "model"  # the component's input
    assert jobs[COMPARE_JOB]["variables"]["MLCI_CANDIDATE"] == "eval/predictions.csv"
    assert jobs[REPORT_JOB]["stage"] == ".post"


@pytest.mark.e2e
def test_report_job_renders_every_result(good_report: Pipeline) -> None:
    assert good_report.statuses == {REPORT_JOB: "PASS"}, good_report.describe()
    report = good_report.artifact(REPORT_JOB, ".mlci/report.md").read_text(encoding="utf-8")
    assert report.splitlines()[0] == (
        "### ✅ mlci: pass — validate passed · compare passed · lineage-tag passed · "
        "lineage-verify passed · promote passed")
    for step in ("validate", "compare", "lineage-tag", "lineage-verify", "promote"):
        assert f"\n#### ✅ {step}: pass\n" in report, step
    assert "```mermaid\nxychart-beta" in report and "\n#### 🧬 Lineage\n" in report
    log = good_report.log(REPORT_JOB)
    # no MLCI_TOKEN: the example's rules leave --post off (GitLab has no step summary)
    assert "SKIP  post: not requested" in log, log
    dotenv = good_report.artifact(REPORT_JOB, ".gitlab-ci-reports/dotenv/.mlci/report.env")
    assert {"MLCI_REPORT_OVERALL_VERDICT=pass", "MLCI_REPORT_REPORT_PATH=.mlci/report.md",
            "MLCI_REPORT_COMMENT_URL="} <= set(dotenv.read_text().splitlines())
    assert good_report.artifact(REPORT_JOB, ".mlci/report.json").is_file()


@pytest.mark.e2e
def test_failed_deploy_is_rolled_back_in_the_real_registry(deploy_fails_run: DeployFails) -> None:
    pipeline, registry, before = (deploy_fails_run.pipeline, deploy_fails_run.registry,
                                  deploy_fails_run.before)
    statuses = pipeline.statuses
    assert statuses.get(PROMOTE_JOB) == "PASS" and statuses.get("deploy") == "FAIL", \
        pipeline.describe()
    logged = re.search(r"logged the signed model as (runs:/[0-9a-f]+/model)",
                       pipeline.log("log-model"))
    assert logged, pipeline.log("log-model")
    promote = pipeline.log(PROMOTE_JOB)
    moved = re.search(rf"mlci promote: PASS — promoted {MODEL_NAME} v(\d+) to production",
                      promote)
    assert moved, promote
    new = int(moved.group(1))
    assert f"PASS  alias: production: v{before} → v{new}" in promote
    assert f"(v{new}, was v{before})" in pipeline.log("deploy")
    rollback = pipeline.log(ROLLBACK_JOB)
    assert f"mlci rollback: PASS — rolled production back to v{before}" in rollback, rollback
    assert f"PASS  rollback: production: v{new} → v{before}" in rollback
    dotenv = pipeline.artifact(ROLLBACK_JOB, ".gitlab-ci-reports/dotenv/.mlci/rollback.env")
    assert {"MLCI_ROLLBACK_VERDICT=pass", f"MLCI_ROLLBACK_VERSION={before}",
            f"MLCI_ROLLBACK_PREVIOUS_VERSION={new}"} <= set(dotenv.read_text().splitlines())
    # the registry afterwards: the alias is back, and the history says why
    assert registry.alias_version() == before
    entries = registry.history()[deploy_fails_run.history_before:]
    assert [(e["action"], e["from_version"], e["to_version"]) for e in entries] == [
        ("promote", before, new), ("rollback", new, before)], entries
    assert entries[0]["gates"] == GATES
    assert re.fullmatch(r"deploy failed in pipeline \d+", entries[1]["reason"] or ""), entries
    # here the report job runs in the pipeline (every job it needs ran) and shows both moves
    assert statuses.get(REPORT_JOB) == "PASS", pipeline.describe()
    report = pipeline.artifact(REPORT_JOB, ".mlci/report.md").read_text(encoding="utf-8")
    assert "\n#### ✅ promote: pass\n" in report and "\n#### ✅ rollback: pass\n" in report


# --- the install logic shared by every component (templates/setup.yml) ----------------


def _setup_script() -> str:
    body = component(TEMPLATES / "setup.yml").body
    lines = body[".mlci-setup"]["before_script"]
    return "set -eo pipefail\n" + "\n".join(lines) + "\necho \"PATH_AFTER=$PATH\"\n"


@pytest.mark.e2e
def test_setup_skips_installs_reuses_and_refuses_another_version(tmp_path: Path) -> None:
    script = tmp_path / "setup.sh"
    script.write_text(_setup_script())
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "python3").symlink_to(sys.executable)
    bare_path = os.pathsep.join([str(tools), "/usr/bin", "/bin"])
    version = mlci.__version__
    wheel = fake_mlci_wheel(tmp_path, version)
    project = tmp_path / "project"
    project.mkdir()

    def run(path: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(script)], cwd=project, capture_output=True, text=True,
                              env={**clean_env(path), "PIP_NO_INDEX": "1", **env}, timeout=180)

    # 1. mlci of the pinned version already on PATH: nothing is installed
    on_path = run(os.pathsep.join([str(Path(sys.executable).parent), bare_path]),
                  MLCI_INSTALL_VERSION=version)
    assert on_path.returncode == 0, on_path.stderr
    assert f"mlci {version} is already on PATH" in on_path.stdout
    assert not (project / ".cache").exists()

    # 2. no mlci: installed from the given source into .cache/mlci-venv
    assert subprocess.run(["bash", "-c", "command -v mlci"], env=clean_env(bare_path),
                          capture_output=True).returncode != 0, "mlci found on the bare PATH"
    fresh = run(bare_path, MLCI_INSTALL_VERSION=version, MLCI_INSTALL_SOURCE=str(wheel))
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert INSTALLED.search(fresh.stdout) and f"mlci, version {version}" in fresh.stdout
    assert f"PATH_AFTER={project}/.cache/mlci-venv/bin:" in fresh.stdout

    # 3. the venv already holds that version: reused, not reinstalled
    again = run(bare_path, MLCI_INSTALL_VERSION=version, MLCI_INSTALL_SOURCE=str(wheel))
    assert again.returncode == 0, again.stderr
    assert not INSTALLED.search(again.stdout)
    assert f"mlci {version} is already installed in {project}/.cache/mlci-venv" in again.stdout

    # 4. the source gives another version than the job pins: exit 2, says which
    other = run(bare_path, MLCI_INSTALL_VERSION="9.9.9", MLCI_INSTALL_SOURCE=str(wheel),
                MLCI_INSTALL_VENV=str(tmp_path / "venv2"))
    assert other.returncode == 2, other.stdout + other.stderr
    assert f"installed mlci '{version}', but the job pins mlci-version 9.9.9" in other.stderr


def test_setup_keeps_the_venv_in_the_job_cache() -> None:
    """The venv goes where `cache:` picks it up between pipelines, under a key that names
    the pinned mlci version (tests/e2e/test_install.py restores it for real)."""
    setup = component(TEMPLATES / "setup.yml").body[".mlci-setup"]
    assert setup["cache"] == {"key": "mlci-$MLCI_INSTALL_VERSION-$MLCI_INSTALL_CACHE",
                              "paths": [".cache/mlci-venv"]}
    assert setup["variables"] == {"MLCI_INSTALL_CACHE": "venv"}
    assert 'mlci_venv="${MLCI_INSTALL_VENV:-$PWD/.cache/mlci-venv}"' in setup["before_script"][0]


# --- static checks: schema and GitLab's component rules -------------------------------


def test_templates_pass_the_gitlab_ci_schema(tmp_path: Path) -> None:
    """check-jsonschema reads one YAML document per file, so a component's spec header
    and its body are checked apart; the body as GitLab sees it after interpolating
    the inputs (defaults, or a sample value for a required input), since an array
    input is only an array once interpolated. The example pipeline is checked whole."""
    files: list[str] = [str(EXAMPLES / ".gitlab-ci.yml")]
    for path in TEMPLATE_FILES:
        comp = component(path)
        if comp.header is not None:
            header = tmp_path / f"{path.stem}.spec.yml"
            header.write_text(yaml.safe_dump(comp.header, sort_keys=False))
            files.append(str(header))
        body = tmp_path / f"{path.stem}.rendered.yml"
        body.write_text(yaml.safe_dump(render(comp), sort_keys=False))
        files.append(str(body))
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                           "--data-transform", "gitlab-ci", *files],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_no_script_line_interpolates_inputs(path: Path) -> None:
    """Inputs reach scripts through the job's `variables:` only; `$[[ inputs.x ]]` in a
    script line would splice user text into the shell."""
    offenders = [f"{job}.{key}: {line}" for job, key, line in script_lines(component(path).body)
                 if "$[[" in line]
    assert not offenders, offenders


def test_example_pipeline_scripts_do_not_interpolate_inputs() -> None:
    doc = load_documents(EXAMPLES / ".gitlab-ci.yml")[0]
    assert not [line for _, _, line in script_lines(doc) if "$[[" in line]


# The dotenv report(s) of a component whose step writes under another name than
# `<out>/<template>.env`: mlci names the file after the step that ran.
DOTENV = {
    "compare": ["$[[ inputs.out ]]/compare.env", "$[[ inputs.out ]]/drift.env",  # drift: true
                "$[[ inputs.out ]]/shadow.env"],  # shadow: true
    "lineage": ["$[[ inputs.out ]]/lineage-$[[ inputs.command ]].env"],  # tag or verify
}


@pytest.mark.parametrize("path", STEP_TEMPLATES, ids=lambda p: p.name)
def test_step_components_follow_the_rules(path: Path) -> None:
    comp = component(path)
    assert comp.spec is not None, f"{path.name}: a step component has `spec: inputs:`"
    inputs = comp.inputs
    for name, decl in inputs.items():
        assert decl.get("description"), f"{path.name}: input {name} has no description"
        assert decl.get("type", "string") in ("string", "number", "boolean", "array"), name
    for required in ("stage", "job-name", "needs", "image", "mlci-version", "mlci-source",
                     "config", "out"):
        assert required in inputs, f"{path.name}: no `{required}` input"
    assert inputs["needs"].get("type") == "array"
    used = used_inputs(comp.body)
    assert used <= set(inputs), f"undeclared inputs: {used - set(inputs)}"
    assert set(inputs) <= used, f"declared but unused inputs: {set(inputs) - used}"
    assert not set(comp.body) & set(GLOBAL_KEYWORDS), "components set no global keywords"
    # one job, named by the job-name input, installing through the shared setup
    jobs = {k: v for k, v in comp.body.items() if k not in ("include",)}
    assert list(jobs) == ["$[[ inputs.job-name ]]"]
    job = jobs["$[[ inputs.job-name ]]"]
    assert job["extends"] == ".mlci-setup"
    assert {"local": "/templates/setup.yml"} in comp.body["include"]
    # outputs per the issue: dotenv + junit reports, documents kept on failure
    assert job["artifacts"]["when"] == "always"
    dotenv = job["artifacts"]["reports"]["dotenv"]
    assert (dotenv if isinstance(dotenv, list) else [dotenv]) == DOTENV.get(
        path.stem, [f"$[[ inputs.out ]]/{path.stem}.env"])
    junit = job["artifacts"]["reports"].get("junit")
    if junit is not None:  # the JUnit files are kept as plain artifacts too
        assert set(junit if isinstance(junit, list) else [junit]) <= set(job["artifacts"]["paths"])


@pytest.mark.parametrize("path", STEP_TEMPLATES, ids=lambda p: p.name)
def test_components_pin_the_package_version(path: Path) -> None:
    """A component release installs the mlci of the same release."""
    assert component(path).inputs["mlci-version"]["default"] == mlci.__version__


def test_validate_component_passes_inputs_through_variables() -> None:
    comp = component(TEMPLATES / "validate.yml")
    job: dict[str, Any] = render(comp, {"needs": ["train"], "predictions": "eval/p.csv",
                                        "job-name": "check"})["check"]
    assert job["needs"] == ["train"]
    assert job["variables"]["MLCI_PREDICTIONS"] == "eval/p.csv"
    assert job["variables"]["MLCI_OUT"] == ".mlci"
    assert job["script"] == ["mlci validate"]
    assert job["artifacts"]["reports"]["junit"] == ".mlci/validate.junit.xml"


def test_compare_component_passes_inputs_through_variables() -> None:
    comp = component(TEMPLATES / "compare.yml")
    job: dict[str, Any] = render(comp, {"needs": ["train"], "candidate": "eval/p.csv",
                                        "baseline": "git:origin/main:eval/p.csv"})[COMPARE_JOB]
    assert job["needs"] == ["train"]
    assert job["variables"]["MLCI_CANDIDATE"] == "eval/p.csv"
    assert job["variables"]["MLCI_BASELINE"] == "git:origin/main:eval/p.csv"
    assert job["variables"]["MLCI_DRIFT"] is False  # a boolean input keeps its type
    assert job["script"] == ["mlci compare"]
    assert job["artifacts"]["reports"]["junit"] == [".mlci/compare.junit.xml",
                                                    ".mlci/drift.junit.xml",
                                                    ".mlci/shadow.junit.xml"]
    drift = render(comp, {"needs": ["train"], "drift": True, "reference": "a.csv",
                          "current": "b.csv"})[COMPARE_JOB]
    assert drift["variables"]["MLCI_DRIFT"] is True
    assert drift["variables"]["MLCI_REFERENCE"] == "a.csv"
    shadow = render(comp, {"needs": ["train"], "shadow": True, "champion": "models:/m@prod",
                           "candidate": "runs:/1/model", "data": "logs.csv"})[COMPARE_JOB]
    assert shadow["variables"]["MLCI_SHADOW"] is True
    assert shadow["variables"]["MLCI_CHAMPION"] == "models:/m@prod"
    assert ".mlci/shadow.json" in shadow["artifacts"]["paths"]
    # every input except the job's own settings is a flag of `mlci compare`
    flags = {name for name in comp.inputs if name not in JOB_SETTINGS}
    assert {f"MLCI_{name.upper().replace('-', '_')}" for name in flags} <= set(job["variables"])


def test_lineage_component_runs_the_chosen_command() -> None:
    comp = component(TEMPLATES / "lineage.yml")
    assert comp.inputs["command"]["options"] == ["tag", "verify"]
    tag: dict[str, Any] = render(comp, {"needs": ["train"], "data": "data/ eval/h.csv",
                                        "model": "model"})["mlci-lineage"]
    assert tag["variables"]["MLCI_LINEAGE_COMMAND"] == "tag"
    assert tag["variables"]["MLCI_DATA"] == "data/ eval/h.csv"
    assert tag["variables"]["MLCI_NO_GIT"] is False
    assert tag["script"] == ['mlci lineage "$MLCI_LINEAGE_COMMAND"']
    assert tag["artifacts"]["reports"] == {"dotenv": ".mlci/lineage-tag.env",
                                           "junit": ".mlci/lineage-tag.junit.xml"}
    assert ".mlci/lineage.json" in tag["artifacts"]["paths"]
    assert "**/mlci.sig" in tag["artifacts"]["paths"]  # the signature tag writes into the model
    verify = render(comp, {"needs": ["train", "mlci-lineage"], "command": "verify",
                           "job-name": "check", "lineage": ".mlci/lineage.json"})["check"]
    assert verify["variables"]["MLCI_LINEAGE_COMMAND"] == "verify"
    assert verify["variables"]["MLCI_LINEAGE"] == ".mlci/lineage.json"
    assert verify["artifacts"]["reports"]["dotenv"] == ".mlci/lineage-verify.env"
    flags = {name for name in comp.inputs if name not in JOB_SETTINGS | {"command"}}
    assert {f"MLCI_{name.upper().replace('-', '_')}" for name in flags} <= set(tag["variables"])


def cli_flags(argv: list[str]) -> dict[str, str | None]:
    """`--some-flag` → the variable it reads, for `mlci <argv>`."""
    import click

    from mlci.cli import main

    command: Any = main
    for word in argv:
        command = command.get_command(click.Context(main), word)
    return {opt[2:]: getattr(p, "envvar", None) for p in command.params for opt in p.opts
            if opt.startswith("--")}


@pytest.mark.parametrize("step", ["promote", "rollback", "report"])
def test_component_inputs_are_flags_of_the_mlci_step(step: str) -> None:
    """Every input but the job's own settings is a flag of `mlci <step>`, and reaches it
    through the job's variables as that flag's variable."""
    comp = component(TEMPLATES / f"{step}.yml")
    variables = comp.body["$[[ inputs.job-name ]]"]["variables"]
    flags = cli_flags([step])
    for name in set(comp.inputs) - JOB_SETTINGS:
        assert name in flags, f"{step}.yml: input {name} is not a flag of mlci {step}"
        assert flags[name] == f"MLCI_{name.upper().replace('-', '_')}"
        assert variables[flags[name]] == f"$[[ inputs.{name} ]]", name
    job: dict[str, Any] = render(comp, {"needs": ["train"]})[f"mlci-{step}"]
    assert job["script"] == [f"mlci {step}"]
    assert job["artifacts"]["when"] == "always"


def test_promote_and_rollback_components_serialize_on_the_model() -> None:
    promote = render(component(TEMPLATES / "promote.yml"),
                     {"needs": ["train"], "name": "fraud", "alias": "production",
                      "require": "validate compare"})["mlci-promote"]
    assert promote["resource_group"] == "mlci-registry-fraud"
    assert promote["variables"]["MLCI_NAME"] == "fraud"
    assert promote["variables"]["MLCI_REQUIRE"] == "validate compare"
    assert promote["variables"]["MLCI_ALLOW_WARN"] is False
    assert promote["variables"]["MLCI_REASON"] == "pipeline $CI_PIPELINE_URL"
    assert promote["artifacts"]["reports"] == {"dotenv": ".mlci/promote.env",
                                               "junit": ".mlci/promote.junit.xml"}
    # the embedded registry travels to the rollback job
    assert ".mlci/registry.db" in promote["artifacts"]["paths"]
    rollback = render(component(TEMPLATES / "rollback.yml"),
                      {"needs": ["mlci-promote", "deploy"], "name": "fraud",
                       "alias": "production", "resource-group": "prod-mlflow"})["mlci-rollback"]
    assert rollback["resource_group"] == "prod-mlflow-fraud"
    assert rollback["when"] == "on_failure"
    assert rollback["needs"] == ["mlci-promote", "deploy"]
    assert rollback["variables"]["MLCI_REASON"].startswith("rolled back by job $CI_JOB_NAME")
    assert ".mlci/registry.db" in rollback["artifacts"]["paths"]
    for comp in ("promote", "rollback"):
        inputs = component(TEMPLATES / f"{comp}.yml").inputs
        assert "default" not in inputs["name"] and "default" not in inputs["alias"]
        assert inputs["resource-group"]["default"] == "mlci-registry"


def test_report_component_runs_always_and_keeps_the_report() -> None:
    comp = component(TEMPLATES / "report.yml")
    job: dict[str, Any] = render(comp, {"needs": ["mlci-validate"]})["mlci-report"]
    assert job["stage"] == ".post"
    assert job["rules"] == [{"when": "always"}]  # after failed jobs too
    assert "when" not in job  # so that users can pass their own rules
    assert job["variables"]["MLCI_POST"] is True and job["variables"]["MLCI_DRY_RUN"] is False
    assert "MLCI_TOKEN" not in job["variables"]  # a masked CI/CD variable, never an input
    assert job["artifacts"]["when"] == "always"
    assert {".mlci/report.md", ".mlci/report.json", ".mlci/*.png"} <= set(
        job["artifacts"]["paths"])
    assert job["artifacts"]["reports"] == {"dotenv": ".mlci/report.env"}


def test_example_pipeline_includes_each_component_as_a_user_would() -> None:
    doc = load_documents(EXAMPLES / ".gitlab-ci.yml")[0]
    components = [item["component"] for item in doc["include"]]
    assert components == [f"$CI_SERVER_FQDN/org/mlci/{name}@1.0.0"
                          for name in ("validate", "compare", "lineage", "lineage", "promote",
                                       "rollback", "report")]
    verify = next(item["inputs"] for item in doc["include"]
                  if item["inputs"].get("command") == "verify")
    assert TAG_JOB in verify["needs"] and verify["job-name"] == VERIFY_JOB
    # nothing deploys unless every gate passed, verify included
    assert {VALIDATE_JOB, COMPARE_JOB, VERIFY_JOB} <= set(doc["deploy"]["needs"])
    inputs = {item["component"].rsplit("/", 1)[1].split("@")[0]: item["inputs"]
              for item in doc["include"]}
    # the gates' documents name the model, so promote can tie them to it
    assert inputs["validate"]["model"] == "model"
    assert inputs["compare"]["model"] == "model"
    assert COMPARE_JOB not in doc  # nothing overrides the component's job
    # promote needs every gate's job (their documents) and gates on all of them
    promote = inputs["promote"]
    assert {"train", VALIDATE_JOB, COMPARE_JOB, TAG_JOB, VERIFY_JOB} <= set(
        need if isinstance(need, str) else need["job"] for need in promote["needs"])
    assert promote["require"].split() == GATES and promote["alias"] == "production"
    assert PROMOTE_JOB in doc["deploy"]["needs"]
    # rollback: the promote job's promote.json, and the deploy whose failure triggers it
    assert inputs["rollback"]["needs"] == [PROMOTE_JOB, "deploy"]
    assert inputs["rollback"]["job-name"] == ROLLBACK_JOB
    assert inputs["rollback"]["name"] == promote["name"] == MODEL_NAME
    # the report needs every job with result documents, and runs always
    assert {VALIDATE_JOB, COMPARE_JOB, TAG_JOB, VERIFY_JOB, PROMOTE_JOB, ROLLBACK_JOB} == set(
        inputs["report"]["needs"])
    assert all(rule.get("when") == "always" for rule in inputs["report"]["rules"])
