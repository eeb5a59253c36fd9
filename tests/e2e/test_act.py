"""The GitHub actions under the real `act`: the example project's workflow
(examples/.github/workflows/mlci.yml: validate → compare → lineage tag in the
training job, lineage verify in a later job that gets the model as an artifact)
with a good model, a weak one, a broken config and data tampered with between the
jobs; the project's own workflow (./validate, ./compare, ./lineage and the
umbrella ./ from the working tree); and setup/install.sh, which installs mlci
once per job.

Jobs run on the host with the test venv first on PATH, so `python` and `mlci`
come from it and the actions' setup step skips the install — except in
test_setup_installs_once_then_skips, which installs for real (about a minute).
The good and weak runs are made once per module and serve several tests.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ActRun, make_example_project

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
ARTIFACT = "model-with-lineage"  # what the example's training job hands to the verify job
# The example's mlci steps: validate, compare, lineage tag (training job); lineage verify.
MLCI_STEPS = 4
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
    """The log lines of one job (act prefixes each with `[<workflow>/<job name>]`)."""
    return [line for line in run.log.splitlines() if f"/{job}] " in line]


def test_good_model_passes(good_run: ActRun, mlci_version: str) -> None:
    run = good_run
    assert run.succeeded, run.log
    assert len(run.lines("🏁  Job succeeded")) == 2, run.log  # the training job and verify
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
    training = job_lines(run, "model tests")
    # no MLCI_SIGNING_KEY secret under act: the example makes a throwaway key pair
    assert any("new ECDSA P-256 signing key" in line for line in training), run.log
    assert any("PASS  signature: signed sha256:" in line for line in training)
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
    # compare runs after a failed model test (its `if:`), and fails on its own account
    assert run.lines("❌  Failure - Main Compare with the baseline"), run.log
    annotations = run.lines("::error::mlci compare: accuracy: delta -")
    assert len(annotations) == 1, run.log
    assert "worse than the baseline" in annotations[0]
    assert any("mlci compare: fail" in line for line in run.lines("⚙  Summary - "))
    assert run.lines("| compare with the baseline: verdict 'fail'")
    # nothing is signed or handed over, and the verify job never starts
    assert "⭐ Run Main Record lineage and sign the model" not in run.log
    assert not job_lines(run, "verify lineage"), run.log


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
    signature = json.loads((artifacts / ARTIFACT / "model" / "mlci.sig").read_text())

    def commit_public_key(project: Path) -> None:
        (project / "keys").mkdir()
        (project / "keys" / "mlci-signing.pub.pem").write_text(signature["public_key"])

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
