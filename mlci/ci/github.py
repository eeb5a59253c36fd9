"""GitHub Actions: workflow commands, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci.ci.base import Facts, Level, Platform


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


class GitHub(Platform):
    name = "github"

    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        path = self._get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as handle:
            for key, value in outputs.items():
                # The heredoc form is safe for any value, including newlines.
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
                handle.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")

    def write_summary(self, markdown: str) -> None:
        path = self._get("GITHUB_STEP_SUMMARY")
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(markdown.rstrip("\n") + "\n")

    def annotate(self, level: Level, message: str, file: str | None = None,
                 line: int | None = None) -> None:
        props = []
        if file:
            props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
        sep = " " if props else ""
        print(f"::{level}{sep}{','.join(props)}::{_escape_data(message)}", flush=True)

    def mask(self, secret: str) -> None:
        for part in secret.splitlines():
            if part.strip():
                print(f"::add-mask::{part}", flush=True)

    def event(self) -> dict[str, Any]:
        path = self._get("GITHUB_EVENT_PATH")
        if not path:
            return {}
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def facts(self) -> Facts:
        server, repo, run = (self._get("GITHUB_SERVER_URL"), self._get("GITHUB_REPOSITORY"),
                             self._get("GITHUB_RUN_ID"))
        run_url = f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
        sha = self._get("GITHUB_SHA")
        head = (self.event().get("pull_request") or {}).get("head", {}).get("sha")
        return Facts(platform=self.name, run_url=run_url, actor=self._get("GITHUB_ACTOR"),
                     event=self._get("GITHUB_EVENT_NAME"), sha=sha, head_sha=head or sha,
                     ref=self._get("GITHUB_REF"), repository=repo, pipeline_id=run,
                     job_id=self._get("GITHUB_JOB"))
