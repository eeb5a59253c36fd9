"""A laptop or an unknown CI: outputs go to a dotenv file in the out folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlci.ci.base import Facts, Platform
from mlci.ci.gitlab import write_dotenv


class Local(Platform):
    name = "local"

    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        write_dotenv(step, outputs, out_dir)

    def facts(self) -> Facts:
        return Facts(platform=self.name, run_url=None, actor=self._get("USER"), event=None,
                     sha=None, head_sha=None, ref=None, repository=None, pipeline_id=None,
                     job_id=None)
