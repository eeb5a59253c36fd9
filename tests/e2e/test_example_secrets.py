"""The example pipelines keep secrets away from the pull/merge request's code.

Static checks of examples/.github/workflows/mlci.yml and examples/.gitlab-ci.yml
(the e2e runs in test_act.py and test_gitlab.py show the same at run time: the
example's own train.py looks for the key and finds nothing). A job that runs the
project's code — train.py, `pip install -r requirements.txt` — gets no secret;
the signing key is named in one job only, which runs nothing but mlci, and is
kept behind an environment (GitHub) or an environment-scoped variable (GitLab)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .gitlab_helpers import load_documents

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROJECT_CODE = re.compile(r"\b(train\.py|pip install|python -m pip|pytest|make|npm)\b")
SECRET = re.compile(r"\$\{\{[^}]*\bsecrets\.")
MLCI_ACTION = re.compile(r"^org/mlci/[a-z]+@")
SAFE_ACTIONS = ("actions/checkout@", "actions/download-artifact@", "actions/upload-artifact@")


def github_jobs() -> dict[str, Any]:
    workflow = yaml.safe_load((EXAMPLES / ".github" / "workflows" / "mlci.yml").read_text())
    jobs: dict[str, Any] = workflow["jobs"]
    return jobs


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_github_secrets_appear_only_in_the_signing_job() -> None:
    jobs = github_jobs()
    with_secrets = sorted(name for name, job in jobs.items() if SECRET.search(yaml.safe_dump(job)))
    assert with_secrets == ["sign"]
    assert "secrets." not in yaml.safe_dump({k: v for k, v in jobs.items() if k != "sign"})


def test_github_jobs_that_run_project_code_have_no_secret_and_no_environment() -> None:
    jobs = github_jobs()
    running_code = [name for name, job in jobs.items() if PROJECT_CODE.search(runs(job))]
    assert "model-tests" in running_code
    for name in running_code:
        assert name != "sign"
        assert "environment" not in jobs[name], name
        assert not SECRET.search(yaml.safe_dump(jobs[name])), name


def test_github_signing_job_runs_only_mlci_behind_its_environment() -> None:
    sign = github_jobs()["sign"]
    assert sign["environment"] == "mlci-signing"
    assert sign["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert sign["needs"] == "model-tests"
    assert not PROJECT_CODE.search(runs(sign)), runs(sign)
    for step in sign["steps"]:
        uses = step.get("uses")
        if uses:
            assert MLCI_ACTION.match(uses) or uses.startswith(SAFE_ACTIONS), uses
        else:  # shell: only the throwaway key pair, never the project's code
            assert set(re.findall(r"^\s*(\w+)", step["run"], re.M)) <= {
                "if", "echo", "else", "keys", "mkdir", "openssl", "fi", "cat"}, step["run"]
    # the secret only in the steps that need it, as step env or input
    named = [step.get("name") for step in sign["steps"] if SECRET.search(yaml.safe_dump(step))]
    assert named == ["Signing key", "Record lineage and sign the model"]


def test_gitlab_only_the_tag_job_names_the_signing_environment() -> None:
    doc = load_documents(EXAMPLES / ".gitlab-ci.yml")[0]
    jobs = {name: job for name, job in doc.items() if isinstance(job, dict) and (
        "script" in job or "environment" in job or "extends" in job)}
    named = {name: job["environment"] for name, job in jobs.items() if "environment" in job}
    assert named == {"mlci-lineage-tag": {"name": "mlci-signing", "action": "prepare"}}
    assert PROJECT_CODE.search(" ".join(map(str, jobs["train"]["script"])))
    # no job of the file defines the key itself: it comes from the scoped variable
    text = (EXAMPLES / ".gitlab-ci.yml").read_text()
    assert not re.search(r"^\s*MLCI_SIGNING_KEY\s*:", text, re.M)
    rules = jobs["signing-key"]["rules"]
    assert rules[0] == {"exists": ["keys/mlci-signing.pub.pem"], "when": "never"}
