"""The GitHub actions under the real `act`: the example project's workflow
(examples/.github/workflows/mlci.yml: validate → compare in the training job,
which gets no secret; lineage tag and signing in a job of their own, the only one
with the signing key; lineage verify in a later job that gets the model as an
artifact; promote → deploy → rollback on failure in the next, and a report job
that always runs) with a good model, a weak one, a broken config, data tampered with between
the jobs, and a failed deploy against a real `mlflow server`; the project's own
workflow (./validate, ./compare, ./lineage, ./promote, ./rollback, ./report and
the umbrella ./ from the working tree); and setup/install.sh, which installs mlci
once per job.

Jobs run on the host with the test venv first on PATH, so `python` and `mlci`
come from it and the actions' setup step skips the install — except in
test_setup_installs_once_then_skips, which installs for real (about a minute).
The good, weak and failed-deploy runs are made once per module and serve several
tests; the good one promotes into mlci's embedded SQLite registry, the
failed-deploy one into the real server (MLFLOW_TRACKING_URI passed with --env).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.report import documents, render

from .conftest import MODEL_NAME, ActRun, Registry, make_example_project

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SH = ROOT / "setup" / "install.sh"
VENV_BIN = Path(sys.executable).parent
EXAMPLE_WORKFLOW = ".github/workflows/mlci.yml"


def config_line(config: Path, pattern: str) -> int:
    """1-based line of the first line of `config` matching `pattern`."""
    for number, line in enumerate(config.read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"{pattern!r} not in {config}")


EXAMPLE_CONFIG = ROOT / "examples" / "mlci.yml"
ARTIFACT = "model-with-lineage"  # what the example's signing job hands to the verify job
TRAINED = "trained-model"  # what the training job hands to the signing job
# The example's mlci steps: validate, compare (training job); lineage tag (signing job);
# lineage verify; promote (and rollback, only after a failed deploy); report.
MLCI_STEPS = 6
JOBS = 5  # model tests, record lineage and sign, verify lineage, promote and deploy, report
SIGN_JOB = "record lineage and sign"
GATES = ["validate", "compare", "lineage", "signature"]
ACT_PREFIX = re.compile(r"^\[[^\]]*\] ")  # `[workflow/job] ` before every line act prints
ACCURACY_LINE = config_line(EXAMPLE_CONFIG, r"^\s*-\s*metric:\s*accuracy\s*$")
ACCURACY_INDEX = next(i for i, test in enumerate(yaml.safe_load(EXAMPLE_CONFIG.read_text())
                                                  ["tests"]) if test.get("metric") == "accuracy")


# ---------------------------------------------------------------- the example project


@pytest.fixture(scope="module")
def good_run(module_act: Callable[..., ActRun], tmp_path_factory: pytest.TempPathFactory,
             venv_mlci: None) -> ActRun:
    project = make_example_project(tmp_path_factory.mktemp("good") / "project")
    return module_act(project, EXAMPLE_WORKFLOW, env={"MODEL_VARIANT": "good"})


@pytest.fixture(scope="module")
def weak_run(module_act: Callable[..., ActRun], tmp_path_factory: pytest.TempPathFactory,
             venv_mlci: None) -> ActRun:
    project = make_example_project(tmp_path_factory.mktemp("weak") / "project")
    return module_act(project, EXAMPLE_WORKFLOW, env={"MODEL_VARIANT": "weak"})


def job_lines(run: ActRun, job: str) -> list[str]:
    """The log lines of one job (act prefixes each with `[<workflow>/<job name>]`, the
    name sometimes padded with spaces)."""
    prefix = re.compile(rf"^\[[^\]]*/{re.escape(job)} *\] ")
    return [line for line in run.log.splitlines() if prefix.match(line)]


def step_summaries(run: ActRun, job: str) -> list[str]:
    """The step summaries one job wrote, as act echoes them: `⚙  Summary - <first line>`,
    then the other lines without act's prefix (a composite action's summary is echoed
    once for its inner step and once for the action)."""
    lines = run.log.splitlines()
    job_prefix = re.compile(rf"^\[[^\]]*/{re.escape(job)} *\] ")
    found = []
    for index, line in enumerate(lines):
        if not job_prefix.match(line) or "⚙  Summary - " not in line:
            continue
        block = [line.split("⚙  Summary - ", 1)[1]]
        for following in lines[index + 1:]:
            if ACT_PREFIX.match(following):
                break
            block.append(following)
        found.append("\n".join(block).strip())
    return found


def report_summary(run: ActRun) -> str:
    """The summary the report job wrote: the one whole report."""
    reports = [text for text in step_summaries(run, "report") if text.startswith("### ")
               and " mlci: " in text.splitlines()[0]]
    assert reports, f"no report in the step summary of the report job:\n{run.log}"
    assert len(set(reports)) == 1, reports
    return reports[0]


def rendered_from_artifacts(run: ActRun, summary: str, tmp_path: Path) -> str:
    """What `mlci report` renders from the result documents every job uploaded, with the
    run link the summary shows: the summary must be exactly this text."""
    merged = tmp_path / "results"
    for artifact in sorted((run.base / "artifacts").glob("mlci-results-*")):
        shutil.copytree(artifact, merged, dirs_exist_ok=True)
    link = re.search(r"\[CI run\]\((https://\S+?)\)", summary)
    assert link, summary[-500:]
    return render.assemble(render.render(documents.load(str(merged)), run_url=link.group(1)))


def test_good_model_passes(good_run: ActRun, mlci_version: str) -> None:
    run = good_run
    assert run.succeeded, run.log
    assert len(run.lines("🏁  Job succeeded")) == JOBS, run.log
    # every mlci step's setup found this mlci on PATH; nothing was installed
    assert len(run.lines(f"mlci {mlci_version} is already on PATH")) == MLCI_STEPS
    assert not run.lines("Installing mlci")
    assert len(run.lines("::set-output:: verdict=pass")) >= 1
    assert any("mlci validate" in line for line in run.lines("⚙  Summary - "))
    assert run.lines("| mlci verdict is pass (details in .mlci/validate.json)")
    assert "⭐ Run Main On failure" not in run.log


def test_good_model_passes_the_compare_gate(good_run: ActRun) -> None:
    assert good_run.lines("| compare verdict is pass (details in .mlci/compare.json)"), \
        good_run.log
    assert any("mlci compare: pass" in line for line in good_run.lines("⚙  Summary - "))
    assert not good_run.lines("::error")


def test_lineage_is_signed_then_verified_in_a_later_job(good_run: ActRun) -> None:
    run = good_run
    recorded = run.lines("| lineage recorded in .mlci/lineage.json (data sha256:")
    assert len(recorded) == 1 and ", model sha256:" in recorded[0], run.log
    signing = job_lines(run, SIGN_JOB)
    # no MLCI_SIGNING_KEY secret under act: the example makes a throwaway key pair
    assert any("| no secret MLCI_SIGNING_KEY: signing with a throwaway key pair" in line
               for line in signing), run.log
    assert any("PASS  signature: signed sha256:" in line for line in signing)
    assert any("download-artifact stand-in: trained-model into ." in line for line in signing)
    # the training job, which runs the project's code, signs nothing
    assert not [line for line in job_lines(run, "model tests") if "signature" in line]
    verify = job_lines(run, "verify lineage")
    assert any("download-artifact stand-in: model-with-lineage into ." in line for line in verify)
    assert any("PASS  signature: model/mlci.sig: valid signature of sha256:" in line
               for line in verify), run.log
    assert any("| lineage verify verdict is pass" in line for line in verify), run.log
    assert any("🏁  Job succeeded" in line for line in verify)
    assert "⭐ Run Main If verification failed" not in run.log


def test_the_artifact_carries_model_signature_and_lineage_but_no_private_key(
        good_run: ActRun) -> None:
    stored = good_run.artifact(ARTIFACT)
    files = sorted(str(p.relative_to(stored)) for p in stored.rglob("*") if p.is_file())
    assert {".mlci/lineage.json", "data/train.csv", "eval/holdout.csv", "model/MLmodel",
            "model/mlci.sig"} <= set(files), files
    assert not [name for name in files if name.endswith(".pem")], files
    assert not [p for p in stored.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
    lineage = json.loads((stored / ".mlci" / "lineage.json").read_text(encoding="utf-8"))
    assert [entry["path"] for entry in lineage["data"]] == ["data/train.csv", "eval/holdout.csv"]
    assert lineage["model"]["signature"]["path"] == "model/mlci.sig"
    assert lineage["git"]["recorded"] and lineage["ci"]["platform"] == "github"
    # what the training job handed over: the model as trained, not signed there
    trained = good_run.artifact(TRAINED)
    assert (trained / "model" / "MLmodel").is_file() and (trained / ".mlci" /
                                                          "validate.json").is_file()
    assert not (trained / "model" / "mlci.sig").exists()
    assert not [p for p in trained.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]


def test_weak_model_fails_with_annotation_and_failure_step(weak_run: ActRun) -> None:
    run = weak_run
    assert run.failed, run.log
    annotations = run.lines(f"::error file=mlci.yml,line={ACCURACY_LINE}::")
    assert len(annotations) == 1, run.log
    assert "::mlci validate: accuracy: " in annotations[0]
    assert run.lines("::set-output:: verdict=fail")
    assert "⭐ Run Main Verdict" not in run.log
    assert "⭐ Run Main On failure" in run.log
    assert run.lines("| model tests failed (verdict 'fail')")


def test_weak_model_fails_the_compare_step(weak_run: ActRun) -> None:
    run = weak_run
    # compare runs after a failed model test (its `if:`), and fails on its own account:
    # against the earlier baseline (accuracy 0.708) the weak model's roc_auc is worse;
    # its accuracy (0.626) is lower too, but 171 rows cannot show it beyond the margin
    assert run.lines("❌  Failure - Main Compare with the baseline"), run.log
    annotations = run.lines("::error::mlci compare: roc_auc: delta -")
    assert len(annotations) == 1, run.log
    assert run.lines("::warning::mlci compare: accuracy: delta -"), run.log
    assert "worse than the baseline" in annotations[0]
    assert any("mlci compare: fail" in line for line in run.lines("⚙  Summary - "))
    assert run.lines("| compare with the baseline: verdict 'fail'")
    # nothing is signed or handed over: the signing and verify jobs never start
    assert "⭐ Run Main Record lineage and sign the model" not in run.log
    assert not job_lines(run, SIGN_JOB) and not job_lines(run, "verify lineage"), run.log


# ---------------------------------------------------------------- promote, deploy, report


def test_good_model_is_promoted_through_every_gate_and_deployed(good_run: ActRun) -> None:
    run = good_run
    promote = job_lines(run, "promote and deploy")
    text = "\n".join(promote)
    # no MLFLOW_TRACKING_URI: the embedded registry in the job's .mlci/registry.db
    assert ("| no MLFLOW_TRACKING_URI: registering the folder model/ in the embedded registry"
            in run.log)
    assert f"| mlci promote: PASS — promoted {MODEL_NAME} v1 to production" in text, run.log
    for gate in GATES:
        assert re.search(rf"\|   PASS  {gate}: ", text), (gate, text)
    assert "model digest sha256:" in text and "matches model (sha256:" in text
    assert "|   PASS  alias: production: (none) → v1" in text
    assert "⚙  ::set-output:: version=1" in text and "⚙  ::set-output:: previous-version=" in text
    assert "| deployed v1" in text
    assert "⭐ Run Main Roll back after a failed deploy" not in run.log
    assert any("🏁  Job succeeded" in line for line in promote)


def test_report_job_writes_the_whole_report_to_the_step_summary(
        good_run: ActRun, tmp_path: Path) -> None:
    """The report job gets every job's result documents as artifacts; its step summary
    is byte for byte what mlci renders from them, verdict line first."""
    summary = report_summary(good_run)
    assert summary.splitlines()[0] == (
        "### ✅ mlci: pass — validate passed · compare passed · lineage-tag passed · "
        "lineage-verify passed · promote passed")
    for step in ("validate", "compare", "lineage-tag", "lineage-verify", "promote"):
        assert f"\n#### ✅ {step}: pass\n" in summary, step
    assert "\n#### 🧬 Lineage\n" in summary
    assert "| ✅ | accuracy | 0.9766 | 0.93 | accuracy 0.9766 >= 0.93 |" in summary
    assert "```mermaid\nxychart-beta" in summary  # charts inline, no image host
    assert summary == rendered_from_artifacts(good_run, summary, tmp_path).strip()
    report = "\n".join(job_lines(good_run, "report"))
    assert "⚙  ::set-output:: overall-verdict=pass" in report
    assert "| overall verdict pass (report in .mlci/report.md)" in report
    # a push, not a pull request: only shown what would be posted, nothing sent
    assert "| dry run: nothing is sent" in report
    assert "|   token: none found (set GITHUB_TOKEN or MLCI_TOKEN): a real run would fail" \
        in report
    assert "| <!-- mlci-report:model tests -->" in report
    assert any("🏁  Job succeeded" in line for line in job_lines(good_run, "report"))


def test_report_runs_after_a_failed_gate_and_nothing_is_promoted(weak_run: ActRun) -> None:
    run = weak_run
    assert not job_lines(run, "promote and deploy"), run.log
    summary = report_summary(run)
    first = summary.splitlines()[0]
    assert first.startswith("### ❌ mlci: fail — validate failed: accuracy, roc_auc"), first
    # roc_auc fails; whether the south slice's interval also clears the margin sits at
    # the boundary (upper end about -0.02) and may differ with library versions
    assert " · compare failed: roc_auc" in first
    assert "\n#### ❌ validate: fail\n" in summary and "\n#### ❌ compare: fail\n" in summary
    assert "| ❌ | accuracy | 0.6257 | 0.93 | accuracy 0.6257 is below the minimum 0.93 |" \
        in summary
    assert "promote" not in summary
    # the report itself exits 0: its job succeeds while the gates' job failed
    assert "⚙  ::set-output:: overall-verdict=fail" in "\n".join(job_lines(run, "report"))
    assert any("🏁  Job succeeded" in line for line in job_lines(run, "report")), run.log


@dataclass
class DeployRun:
    run: ActRun
    registry: Registry
    before: int  # the version production held before the run
    history_before: int  # entries in the alias history before the run
    key_id: str  # the project's signing key, given as the secret MLCI_SIGNING_KEY


# Appended to train.py in the failed-deploy project: the pull request's own code looks
# for the signing key in its environment, as a hostile train.py would.
LOOK_FOR_THE_KEY = """
import os as _os
_found = sorted(k for k, v in _os.environ.items() if "PRIVATE KEY" in v or "SIGNING" in k)
print(f"train.py looked for the signing key: {_found or 'not here'}")
"""


@pytest.fixture(scope="module")
def failed_deploy_run(module_act: Callable[..., ActRun], registry: Registry,
                      tmp_path_factory: pytest.TempPathFactory, venv_mlci: None) -> DeployRun:
    """The whole example workflow against the real MLflow server (MLFLOW_TRACKING_URI via
    act --env), in which production already holds a version: the good model is promoted,
    then the deploy fails (DEPLOY_FAIL=1). The project is set up as docs/github.md says
    for real use: its private key is the secret MLCI_SIGNING_KEY (act --secret), its
    public key committed as keys/mlci-signing.pub.pem."""
    keys = tmp_path_factory.mktemp("project-key")
    made = subprocess.run([str(VENV_BIN / "mlci"), "lineage", "keygen", "--dir", str(keys),
                           "--out", str(keys / "out")], capture_output=True, text=True,
                          timeout=60, check=True)
    key_id = re.search(r"signing key (sha256:[0-9a-f]{64})", made.stdout)
    assert key_id, made.stdout

    def set_up(project: Path) -> None:
        (project / "keys").mkdir()
        shutil.copy(keys / "mlci-signing.pub.pem", project / "keys")
        with (project / "train.py").open("a", encoding="utf-8") as train:
            train.write(LOOK_FOR_THE_KEY)

    before = registry.ensure_production()
    history_before = len(registry.history())
    project = make_example_project(tmp_path_factory.mktemp("failed-deploy") / "project", set_up)
    run = module_act(project, EXAMPLE_WORKFLOW, timeout=240,
                     env={"MODEL_VARIANT": "good", "DEPLOY_FAIL": "1",
                          "MLFLOW_TRACKING_URI": registry.url},
                     secrets={"MLCI_SIGNING_KEY": (keys / "mlci-signing.pem").read_text()})
    return DeployRun(run, registry, before, history_before, key_id.group(1))


def test_the_signing_key_reaches_only_the_signing_job(failed_deploy_run: DeployRun) -> None:
    """The training job runs the project's code and never holds the key; the signing
    job signs with it, and the committed public key verifies that signature."""
    run = failed_deploy_run.run
    training = job_lines(run, "model tests")
    assert any("| train.py looked for the signing key: not here" in line for line in training), \
        run.log
    signing = "\n".join(job_lines(run, SIGN_JOB))
    key_id = failed_deploy_run.key_id
    assert "| signing with the secret MLCI_SIGNING_KEY" in signing, signing
    assert f"with key {key_id} → model/mlci.sig" in signing and "throwaway" not in signing
    verify = "\n".join(job_lines(run, "verify lineage"))
    assert re.search(r"PASS  signature: model/mlci\.sig: valid signature of sha256:[0-9a-f]{64} "
                     rf"\(\d+ file\(s\)\) by key {re.escape(key_id)}", verify), verify
    assert "PRIVATE KEY" not in run.log


def test_failed_deploy_rolls_production_back_in_the_real_registry(
        failed_deploy_run: DeployRun) -> None:
    from mlflow.tracking import MlflowClient

    run, registry, before = failed_deploy_run.run, failed_deploy_run.registry, \
        failed_deploy_run.before
    assert run.failed, run.log
    promote = "\n".join(job_lines(run, "promote and deploy"))
    # the promote job logged the signed model to the server and registered that run
    logged = re.search(r"\| logged the signed model as (runs:/[0-9a-f]+/model)", run.log)
    assert logged, run.log
    moved = re.search(rf"\| mlci promote: PASS — promoted {MODEL_NAME} v(\d+) to production",
                      promote)
    assert moved, promote
    new = int(moved.group(1))
    assert new > before
    for gate in GATES:
        assert re.search(rf"\|   PASS  {gate}: ", promote), (gate, promote)
    assert f"|   PASS  alias: production: v{before} → v{new}" in promote
    assert "❌  Failure - Main Deploy" in promote and "| deploy failed (DEPLOY_FAIL=1)" in promote
    assert "⭐ Run Main Roll back after a failed deploy" in promote
    assert f"| mlci rollback: PASS — rolled production back to v{before}" in promote
    assert f"|   PASS  rollback: production: v{new} → v{before}" in promote
    assert f"| production is back on v{before} (rolled back from v{new})" in promote
    assert "🏁  Job failed" in promote
    # the gates' jobs and the report succeeded; only the deploying job failed
    for job in ("model tests", SIGN_JOB, "verify lineage", "report"):
        assert any("🏁  Job succeeded" in line for line in job_lines(run, job)), job

    # afterwards, read from the server: the alias is back, the new version stays registered
    assert registry.alias_version() == before
    client = MlflowClient(tracking_uri=registry.url, registry_uri=registry.url)
    version = client.get_model_version(MODEL_NAME, str(new))
    assert version.run_id == logged.group(1).split("/")[1]
    assert version.tags["mlci.model_digest"].startswith("sha256:")
    assert version.tags["mlci.signature.key_id"] == failed_deploy_run.key_id

    # and the history holds the promotion, then the rollback with its reason
    entries = registry.history()[failed_deploy_run.history_before:]
    assert [(e["action"], e["from_version"], e["to_version"]) for e in entries] == [
        ("promote", before, new), ("rollback", new, before)], entries
    promoted, rolled_back = entries
    assert promoted["gates"] == GATES
    assert promoted["reason"].startswith("model tests passed on ")
    assert rolled_back["gates"] == []
    reason = re.fullmatch(r"deploy failed in run (\d+)", rolled_back["reason"] or "")
    assert reason, rolled_back
    assert promoted["run_url"] == rolled_back["run_url"]
    assert rolled_back["run_url"].endswith(f"/actions/runs/{reason.group(1)}")


def test_report_after_the_failed_deploy_shows_promote_and_rollback(
        failed_deploy_run: DeployRun, tmp_path: Path) -> None:
    run = failed_deploy_run.run
    summary = report_summary(run)
    assert summary.splitlines()[0] == (
        "### ✅ mlci: pass — validate passed · compare passed · lineage-tag passed · "
        "lineage-verify passed · promote passed · rollback passed"), summary[:300]
    assert "\n#### ✅ promote: pass\n" in summary and "\n#### ✅ rollback: pass\n" in summary
    assert re.search(r"\| ✅ \| alias \|.*production: v\d+ → v\d+ \|", summary), summary
    assert re.search(r"\| ✅ \| rollback \|.*production: v\d+ → v\d+[^|]*\|", summary), summary
    assert summary == rendered_from_artifacts(run, summary, tmp_path).strip()


def verify_only_workflow(project: Path) -> str:
    """The example's verify job as a workflow of its own (act -j would run the jobs it
    needs too): the same steps, without `needs`, so the public key comes from the
    committed-key fallback, keys/mlci-signing.pub.pem."""
    workflow = yaml.safe_load((project / EXAMPLE_WORKFLOW).read_text(encoding="utf-8"))
    job = workflow["jobs"]["verify"]
    job.pop("needs")
    name = ".github/workflows/verify-only.yml"
    (project / name).write_text(yaml.safe_dump({"name": "verify only", "on": "push",
                                                "jobs": {"verify": job}}, sort_keys=False),
                                encoding="utf-8")
    return name


def test_data_tampered_with_between_the_jobs_fails_verify(
        good_run: ActRun, module_act: Callable[..., ActRun], tmp_path: Path) -> None:
    """The verify job alone, on the good run's artifact with one byte appended to the
    training data: verify names the file and fails the job."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(good_run.artifact(ARTIFACT), artifacts / ARTIFACT)
    with (artifacts / ARTIFACT / "data" / "train.csv").open("ab") as data:
        data.write(b"\n")
    lineage = json.loads((artifacts / ARTIFACT / ".mlci" / "lineage.json").read_text())

    def commit_public_key(project: Path) -> None:
        (project / "keys").mkdir()
        (project / "keys" / "mlci-signing.pub.pem").write_text(
            lineage["model"]["signature"]["public_key"])

    project = make_example_project(tmp_path / "project", commit_public_key)
    run = module_act(project, verify_only_workflow(project), artifacts=artifacts)

    assert run.failed, run.log
    changed = run.lines("FAIL  data changed: data/train.csv: data/train.csv changed since")
    assert changed, run.log
    assert run.lines("PASS  signature: model/mlci.sig: valid signature")  # the model is intact
    assert run.lines("::set-output:: verdict=fail")
    assert "⭐ Run Main Verified" not in run.log
    assert run.lines("| the model or its data changed after lineage was recorded "
                     "(verdict 'fail')")


def test_config_error_fails_job_naming_file_line_and_field(
        example_project: Callable[..., Path], run_act: Callable[..., Any],
        venv_mlci: None) -> None:
    def misspell(project: Path) -> None:
        config = project / "mlci.yml"
        config.write_text(config.read_text(encoding="utf-8")
                          .replace("metric: accuracy", "metric: acuracy", 1), encoding="utf-8")

    run = run_act(example_project(misspell), EXAMPLE_WORKFLOW)

    assert run.failed, run.log
    annotations = run.lines(f"::error file=mlci.yml,line={ACCURACY_LINE}::")
    assert len(annotations) == 1, run.log
    assert f"mlci.yml:{ACCURACY_LINE}: tests[{ACCURACY_INDEX}].metric: 'acuracy'" in annotations[0]
    assert "⭐ Run Main On failure" in run.log


# ---------------------------------------------------------------- the project's own workflow


def test_project_workflow_runs_the_actions_from_the_working_tree(
        mlci_checkout: Path, run_act: Callable[..., Any], venv_mlci: None) -> None:
    run = run_act(mlci_checkout, ".github/workflows/ci.yml")

    assert run.succeeded, run.log
    assert len(run.lines("🏁  Job succeeded")) == 2, run.log
    assert run.lines("| validate: verdict=pass result=examples/.mlci/validate.json "
                     "junit=examples/.mlci/validate.junit.xml")
    assert run.lines("| umbrella: verdict=pass result=examples/.mlci-umbrella/validate.json")
    assert run.lines("| compare: verdict=pass result=examples/.mlci/compare.json "
                     "junit=examples/.mlci/compare.junit.xml")
    assert run.lines("| drift: verdict=pass result=examples/.mlci/drift.json")
    assert run.lines("| lineage tag: verdict=pass result=examples/.mlci/lineage-tag.json "
                     "lineage=examples/.mlci/lineage.json")
    # upload-artifact keeps paths relative to their common folder (examples/), and the
    # verify job downloads them back into examples/
    assert run.lines("| download-artifact stand-in: example-model-with-lineage into examples")
    assert run.lines("| lineage verify: verdict=pass result=examples/.mlci/lineage-verify.json")
    # ./promote through every gate into the embedded registry, a second version, ./rollback
    assert run.lines("| promote: verdict=pass version=1 previous=none "
                     "result=examples/.mlci/promote.json")
    assert run.lines("|   PASS  alias: production: v1 → v2")
    assert run.lines("| rollback: verdict=pass version=1 previous=2 "
                     "result=examples/.mlci/rollback.json")
    assert run.lines("| ci-example@production holds v1; 3 history entries (oldest first)")
    assert re.search(r"\|       reason: ci run \d+ exercises rollback", run.log), run.log
    # ./report: a dry run of the sticky comment, and the outputs
    assert run.lines("|   token: none found (set GITHUB_TOKEN or MLCI_TOKEN): a real run "
                     "would fail")
    assert run.lines("| <!-- mlci-report:ci -->")
    # overall warn: the second version was promoted on trust (no gate), as it says
    assert run.lines("| report: verdict=pass overall=warn report=examples/.mlci/report.md "
                     "result=examples/.mlci/report.json comment=none")


# ---------------------------------------------------------------- setup/install.sh

SETUP_WORKFLOW = """\
on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: first
        uses: org/mlci/setup@v1
        with:
          python: {python}
      - id: second
        uses: org/mlci/setup@v1
      - id: validate
        uses: org/mlci/validate@v1
        with:
          predictions: predictions.csv
      - env:
          FIRST: ${{{{ steps.first.outputs.mlci-version }}}}
          SECOND: ${{{{ steps.second.outputs.mlci-version }}}}
          VERDICT: ${{{{ steps.validate.outputs.verdict }}}}
        run: |
          echo "first=$FIRST second=$SECOND verdict=$VERDICT mlci=$(command -v mlci)"
          mlci --version
"""


def test_setup_installs_once_then_skips(tmp_path: Path, run_act: Callable[..., Any],
                                        commit_all: Callable[[Path], None],
                                        path_without_mlci: list[str], mlci_version: str) -> None:
    project = tmp_path / "project"
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "setup.yml").write_text(
        SETUP_WORKFLOW.format(python=sys.executable), encoding="utf-8")
    (project / "mlci.yml").write_text(
        "version: 1\ntask: binary\ntests:\n  - metric: accuracy\n    min: 0.5\n", encoding="utf-8")
    (project / "predictions.csv").write_text("y_true,y_pred\n0,0\n1,1\n1,1\n0,1\n",
                                             encoding="utf-8")
    commit_all(project)

    run = run_act(project, ".github/workflows/setup.yml", path=path_without_mlci, timeout=480)

    venv_bin = f"{tmp_path}/act-cache/act/"  # RUNNER_TEMP lives in act's cache folder
    assert run.succeeded, run.log
    assert len(run.lines(f"Installing mlci {mlci_version} from ")) == 1
    added = {line.split("::add-path::")[1].strip() for line in run.lines("::add-path::")}
    assert len(added) == 1 and added.pop().endswith(f"/mlci-{mlci_version}-bin"), run.log
    skipped = run.lines(f"mlci {mlci_version} is already on PATH (")
    assert len(skipped) == 2, run.log  # the second setup and validate's own setup
    assert all(f"/mlci-{mlci_version}-bin/mlci); not installing" in line for line in skipped)
    summary = run.lines(f"| first={mlci_version} second={mlci_version} verdict=pass mlci=")
    assert len(summary) == 1 and venv_bin in summary[0], run.log
    assert run.lines(f"| mlci, version {mlci_version}")


def run_install(tmp_path: Path, path: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    base = {"PATH": ":".join(path), "RUNNER_TEMP": str(runner_temp),
            "GITHUB_PATH": str(tmp_path / "github_path"),
            "GITHUB_OUTPUT": str(tmp_path / "github_output")}
    return subprocess.run(["bash", str(INSTALL_SH)], env={**base, **env}, capture_output=True,
                          text=True, timeout=60)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_setup_script_skips_when_mlci_is_on_path(tmp_path: Path, mlci_version: str,
                                                 venv_mlci: None) -> None:
    done = run_install(tmp_path, [str(VENV_BIN), "/usr/bin", "/bin"])

    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"mlci {mlci_version} is already on PATH ({VENV_BIN}/mlci); "
                           "not installing\n")
    assert read(tmp_path / "github_path") == ""
    assert read(tmp_path / "github_output") == f"mlci-version={mlci_version}\n"


def test_setup_script_reuses_the_venv_in_runner_temp(tmp_path: Path, mlci_version: str,
                                                     path_without_mlci: list[str]) -> None:
    venv_bin = tmp_path / "runner-temp" / f"mlci-{mlci_version}" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "mlci").write_text(f"#!/bin/sh\necho 'mlci, version {mlci_version}'\n",
                                   encoding="utf-8")
    (venv_bin / "mlci").chmod(0o755)
    # the stamp an install (or the cache) leaves: the key of what the venv was built from
    key = subprocess.run(["bash", str(INSTALL_SH), "key"],
                         env={"PATH": ":".join(path_without_mlci),
                              "RUNNER_TEMP": str(tmp_path / "runner-temp")},
                         capture_output=True, text=True, timeout=60, check=True).stdout
    (venv_bin.parent / "mlci-setup.key").write_text(key, encoding="utf-8")

    done = run_install(tmp_path, path_without_mlci)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (f"mlci {mlci_version} is already installed in "
                                           f"{venv_bin.parent}")
    link_dir = tmp_path / "runner-temp" / f"mlci-{mlci_version}-bin"
    assert read(tmp_path / "github_path") == f"{link_dir}\n"
    # only `mlci` goes on PATH, never the venv's python or pip
    assert sorted(p.name for p in link_dir.iterdir()) == ["mlci"]
    assert (link_dir / "mlci").resolve() == (venv_bin / "mlci").resolve()
    assert read(tmp_path / "github_output") == f"mlci-version={mlci_version}\n"


def test_setup_script_names_a_missing_interpreter(tmp_path: Path,
                                                  path_without_mlci: list[str]) -> None:
    done = run_install(tmp_path, path_without_mlci, MLCI_SETUP_PYTHON="/nonexistent/python3")

    assert done.returncode == 2
    assert done.stdout == ("::error title=mlci setup::python interpreter '/nonexistent/python3' "
                           "not found (input python; mlci needs Python 3.10 or newer)\n")
    assert read(tmp_path / "github_path") == ""
    assert not (tmp_path / "runner-temp" / "mlci-0.1.0").exists()
