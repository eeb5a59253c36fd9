"""What every CI platform must provide to the steps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypedDict

Level = Literal["error", "warning", "notice"]


class Facts(TypedDict):
    """Facts about the run that lineage, history and reports record."""

    platform: str
    run_url: str | None
    actor: str | None
    event: str | None
    sha: str | None  # the commit being built (a merge commit on GitHub PRs)
    head_sha: str | None  # the PR/MR head commit; equals sha outside PRs
    ref: str | None
    repository: str | None
    pipeline_id: str | None
    job_id: str | None


class Platform(ABC):
    name: str = "local"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = dict(environ)

    @abstractmethod
    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        """Expose step outputs (`verdict`, `result-path`, …) to later steps or jobs."""

    def write_summary(self, markdown: str) -> None:  # noqa: B027 - optional hook
        """Show the step's markdown where the platform shows summaries (no-op by default)."""

    def annotate(self, level: Level, message: str, file: str | None = None,  # noqa: B027
                 line: int | None = None) -> None:
        """Attach a message to a file line in the platform's UI (no-op where there is
        none: the step's own log lines already say it)."""

    def mask(self, secret: str) -> None:  # noqa: B027 - optional hook
        """Keep a secret out of the log (no-op where the platform cannot)."""

    @abstractmethod
    def facts(self) -> Facts:
        """Facts about this run; values the platform does not know are None."""

    def _get(self, key: str) -> str | None:
        return self.env.get(key) or None
