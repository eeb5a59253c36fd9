"""GitLab CI: outputs as a dotenv report, annotations as log lines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mlci.ci.base import Facts, Platform


def dotenv_key(step: str, key: str) -> str:
    """`validate` + `result-path` → `MLCI_VALIDATE_RESULT_PATH` (GitLab variable names)."""
    return re.sub(r"[^A-Z0-9_]", "_", f"MLCI_{step}_{key}".upper())


def write_dotenv(step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
    """`<out>/<step>.env`, what GitLab's `artifacts: reports: dotenv:` reads (one-line values)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{dotenv_key(step, k)}={' '.join(v.splitlines())}" for k, v in outputs.items()]
    (out_dir / f"{step}.env").write_text("\n".join(lines) + "\n", encoding="utf-8")


class GitLab(Platform):
    name = "gitlab"

    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        write_dotenv(step, outputs, out_dir)

    def facts(self) -> Facts:
        sha = self._get("CI_COMMIT_SHA")
        return Facts(platform=self.name,
                     run_url=self._get("CI_JOB_URL") or self._get("CI_PIPELINE_URL"),
                     actor=self._get("GITLAB_USER_LOGIN"), event=self._get("CI_PIPELINE_SOURCE"),
                     sha=sha, head_sha=self._get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or sha,
                     ref=self._get("CI_COMMIT_REF_NAME"),
                     repository=self._get("CI_PROJECT_PATH"),
                     pipeline_id=self._get("CI_PIPELINE_ID"), job_id=self._get("CI_JOB_ID"))
